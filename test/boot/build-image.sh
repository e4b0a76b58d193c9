#!/bin/bash
# build-image.sh OUTDIR — build (once) the Debian root filesystem the boot test
# boots, and cache it in OUTDIR keyed on this script's hash.
#
# Result, in OUTDIR/base-<hash>/:
#   base.img   ext4 image of a debootstrapped bookworm (minbase + kernel,
#              login, PAM, dbus, util-linux, procps, systemd for the bench)
#   vmlinuz    the kernel from the image's /boot
#   initrd.img its initramfs (virtio_blk and ext4 are modules in Debian's kernel)
# and OUTDIR/current is a symlink to that directory.
#
# Users in the image: root / root, tester / tester-pw (bash).
# Mirror: $MIRROR, else the first Debian URI in the host's apt sources.
set -euo pipefail

out=${1:?usage: build-image.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
hash=$(sha256sum "$here/build-image.sh" | cut -c1-16)
dir=$out/base-$hash
mkdir -p "$out"
if [ -f "$dir/done" ]; then
	ln -sfn "base-$hash" "$out/current"
	echo "$dir"
	exit 0
fi

if [ -z "${MIRROR:-}" ]; then
	MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' |
		grep -v security | head -n1 || true)
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}

tmp=$(mktemp -d "$out/build.XXXXXX")
trap 'umount -R "$tmp/root/proc" "$tmp/root/sys" "$tmp/root/dev" 2>/dev/null || true; rm -rf "$tmp"' EXIT
root=$tmp/root

pkgs=linux-image-amd64,initramfs-tools,util-linux,login,passwd,libpam-modules,libpam-runtime,dbus,procps,systemd,libpam-systemd,kmod,e2fsprogs,iproute2
echo "build-image: debootstrap bookworm from $MIRROR" >&2
debootstrap --variant=minbase --include="$pkgs" bookworm "$root" "$MIRROR" >&2

echo ginit-test > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 ginit-test\n' > "$root/etc/hosts"
printf '/dev/vda / ext4 defaults 0 1\n' > "$root/etc/fstab"
: > "$root/etc/machine-id"
chroot "$root" /bin/sh -e -c '
	echo root:root | chpasswd
	useradd -m -s /bin/bash tester
	echo tester:tester-pw | chpasswd
	install -d -m 0755 /etc/ginit.d
	touch /var/log/wtmp /var/log/btmp
	chgrp utmp /var/log/wtmp /var/log/btmp
	chmod 0664 /var/log/wtmp; chmod 0660 /var/log/btmp
'
# systemd-sysv is not installed: /sbin/init is ours; the bench boots
# init=/lib/systemd/systemd on the same image.
kver=$(ls "$root/lib/modules" | sort -V | tail -n1)
mkdir -p "$tmp/out"
cp "$root/boot/vmlinuz-$kver" "$tmp/out/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$tmp/out/initrd.img"
chmod 0644 "$tmp/out/vmlinuz" "$tmp/out/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/boot/*
mkfs.ext4 -q -F -L ginit-root -d "$root" "$tmp/out/base.img" 2G >&2
touch "$tmp/out/done"
rm -rf "$dir"
mv "$tmp/out" "$dir"
ln -sfn "base-$hash" "$out/current"
echo "$dir"
