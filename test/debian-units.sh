#!/bin/sh
# debian-units.sh DIR — fetch, at test time, the Debian packages whose unit
# files and daemons test/initns's unit tests use (apt-get download, the
# host's own archive and versions), unpack them with dpkg -x into DIR/root
# and merge its /lib, /bin, /sbin into /usr as the host has them. Nothing is
# installed. Prints DIR/root. A second run reuses what the first unpacked.
set -eu
dir=${1:?usage: debian-units.sh DIR}
pkgs="openssh-server openssh-sftp-server libwrap0 cron rsyslog libestr0 libfastjson4
nginx nginx-common dbus dbus-daemon dbus-system-bus-common udev systemd-timesyncd chrony systemd"
command -v apt-get >/dev/null && command -v dpkg >/dev/null || { echo "debian-units.sh: needs apt-get and dpkg" >&2; exit 1; }
root=$dir/root
if [ ! -f "$root/.unpacked" ]; then
	mkdir -p "$dir/debs"
	# shellcheck disable=SC2086 # the list is words
	(cd "$dir/debs" && apt-get download -q $pkgs) >&2
	rm -rf "$root"
	mkdir -p "$root"
	for d in "$dir"/debs/*.deb; do
		dpkg -x "$d" "$root"
	done
	for sub in lib bin sbin; do
		if [ -d "$root/$sub" ] && [ ! -L "$root/$sub" ]; then
			mkdir -p "$root/usr/$sub"
			cp -a "$root/$sub/." "$root/usr/$sub/"
			rm -rf "${root:?}/$sub"
		fi
	done
	touch "$root/.unpacked"
fi
echo "$root"
