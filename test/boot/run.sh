#!/bin/bash
# run.sh — the real-kernel boot tests (make boot-test): builds or reuses the
# cached image in .cache/boot, then runs TestPid1Real and TestBoot under qemu.
# Needs root and qemu-system-x86, debootstrap, e2fsprogs, util-linux.
# GINIT_BOOT_INIT=standin boots the stand-in init instead of ginit.
# TestBoot installs what `make install DESTDIR=` installs; GINIT_BOOT_INSTALL=deb
# the files of the .deb `make deb` left in bin, =copy the old hand-made list.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export GINIT_BOOT_TEST=1
export GINIT_BIN=${GINIT_BIN:-$repo/bin}
exec go test -count=1 -v -timeout 45m "$@" ./test/boot
