#!/usr/bin/env bash
# deps.sh [boot] — make sure the Debian packages the build and the tests use
# are installed (the boot test's too with "boot"). As root with apt-get it
# installs what is missing; otherwise it only says what is missing (the
# tests that need it then skip, naming it). Used by make and by .ci/run.
set -euo pipefail
# openssh-client (ssh-keygen) and iproute2 (ip) are for test/initns's run
# of Debian's own sshd, nginx and rsyslog, whose packages
# test/debian-units.sh fetches at test time (apt-get download, not installed).
pkgs=(dbus dbus-bin pamtester libpam0g-dev libpam-modules systemd libpam-systemd
	libsystemd-dev util-linux procps psmisc busybox-static gcc libc6-dev make
	e2fsprogs bc polkitd ca-certificates go-md2man acl
	libglib2.0-bin dbus-daemon gettext bash-completion
	openssh-client iproute2)
if [ "${1:-}" = boot ]; then
	pkgs+=(qemu-system-x86 debootstrap dpkg-dev debhelper fakeroot lintian)
fi
if [ "${1:-}" = deb ]; then
	pkgs+=(dpkg-dev debhelper fakeroot lintian)
fi
command -v dpkg-query >/dev/null || { echo "deps.sh: not a Debian system; install the equivalents of: ${pkgs[*]}" >&2; exit 0; }
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "deps.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
else
	echo "deps.sh: missing packages (tests needing them will skip): ${missing[*]}" >&2
fi
