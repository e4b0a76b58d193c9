#!/bin/bash
# install.sh IMG [BINDIR] — put the project into an ext4 image built by
# build-image.sh, in place, with debugfs -w (no mount, no rebuild):
#   BINDIR/ginit            -> /usr/sbin/init and /usr/sbin/ginit
#   BINDIR/ginitctl         -> /usr/sbin/ginitctl
#   BINDIR/ginit-automount  -> /usr/sbin/ginit-automount  (if built)
#   BINDIR/sessiond         -> /usr/sbin/sessiond          (if built)
#   BINDIR/pam_sessiond.so  -> /usr/lib/x86_64-linux-gnu/security/ (if built)
#   units/*                 -> /etc/ginit.d/
#   units/user/*            -> /etc/ginit.d/user/      (the user manager's)
#   units/dbus-policy/*.conf-> /etc/dbus-1/system.d/
# (/sbin is a symlink to /usr/sbin in bookworm, so /sbin/init is ginit.)
# The Go boot test does the same itself; bench.sh uses this script.
set -euo pipefail
img=${1:?usage: install.sh IMG [BINDIR]}
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${2:-${GINIT_BIN:-$repo/bin}}
cmds=$(mktemp)
trap 'rm -f "$cmds"' EXIT
put() { # src dst mode
	[ -f "$1" ] || { echo "install.sh: missing $1 (make build)" >&2; exit 1; }
	printf 'rm %s\nwrite %s %s\nsif %s mode %s\n' "$2" "$1" "$2" "$2" "$3" >>"$cmds"
}
echo "mkdir /etc/ginit.d" >>"$cmds"
put "$bin/ginit" /usr/sbin/init 0100755
put "$bin/ginit" /usr/sbin/ginit 0100755
put "$bin/ginitctl" /usr/sbin/ginitctl 0100755
[ -f "$bin/ginit-automount" ] && put "$bin/ginit-automount" /usr/sbin/ginit-automount 0100755
[ -f "$bin/sessiond" ] && put "$bin/sessiond" /usr/sbin/sessiond 0100755
[ -f "$bin/pam_sessiond.so" ] && put "$bin/pam_sessiond.so" /usr/lib/x86_64-linux-gnu/security/pam_sessiond.so 0100644
for u in "$repo"/units/* "$repo"/units/sessiond/*; do
	[ -f "$u" ] && put "$u" "/etc/ginit.d/$(basename "$u")" 0100644
done
echo "mkdir /etc/ginit.d/user" >>"$cmds"
for u in "$repo"/units/user/*; do
	[ -f "$u" ] && put "$u" "/etc/ginit.d/user/$(basename "$u")" 0100644
done
for p in "$repo"/units/dbus-policy/*.conf; do
	[ -f "$p" ] && put "$p" "/etc/dbus-1/system.d/$(basename "$p")" 0100644
done
debugfs -w -f "$cmds" "$img" >/dev/null
