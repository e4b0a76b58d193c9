#!/bin/bash
# run.sh — the graphical login test (make desktop-test): builds or reuses the
# cached base and desktop images in .cache/boot, then runs test/desktop's
# tests under qemu. Needs root and qemu-system-x86, debootstrap, e2fsprogs,
# util-linux. Screenshots and logs: .cache/desktop-artifacts/TEST/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export GINIT_DESKTOP_TEST=1
export GINIT_BIN=${GINIT_BIN:-$repo/bin}
exec go test -count=1 -v -timeout 60m "$@" ./test/desktop
