#!/bin/bash
# build-image.sh OUTDIR — build (once) the desktop image the desktop test
# boots: the boot test's base image (test/boot/build-image.sh, cached in
# OUTDIR too) plus Debian's desktop packages, cached in OUTDIR keyed on the
# hash of this script and of the base image's directory name.
#
# Result, in OUTDIR/desktop-<hash>/:
#   desktop.img  ext4, 5 GiB sparse: base + udev, greetd, cage, sway, foot,
#                lightdm, Xorg, mesa, acl, kbd, ...
#   vmlinuz, initrd.img  the base image's kernel and initramfs
# and OUTDIR/desktop-current is a symlink to that directory.
#
# The packages are installed by apt-get in a chroot of the image, mounted
# on a loop device inside a private mount namespace (unshare -m), so nothing
# of it is ever visible on the host's mount table; the image is copied only
# after the loop device is gone (a copy taken while it lingered was stale).
set -euo pipefail

out=${1:?usage: build-image.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
base=$("$here/../boot/build-image.sh" "$out" | tail -n1)
hash=$( (sha256sum "$here/build-image.sh" | cut -c1-64; basename "$base") | sha256sum | cut -c1-16)
dir=$out/desktop-$hash
if [ -f "$dir/done" ]; then
	ln -sfn "desktop-$hash" "$out/desktop-current"
	echo "$dir"
	exit 0
fi

# Debian's names, --no-install-recommends. They pull in systemd-sysv (its
# /sbin/init link is replaced by ginit at each test run) and polkitd.
pkgs=(udev acl kbd greetd cage foot sway swaybg fonts-dejavu-core xwayland
	libegl-mesa0 libgl1-mesa-dri libgles2 lightdm lightdm-gtk-greeter
	xserver-xorg-core xserver-xorg-input-libinput xterm x11-xserver-utils
	xauth dbus-bin)

tmp=$(mktemp -d "$out/dbuild.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
img=$tmp/desktop.img
cp --sparse=always "$base/base.img" "$img"
truncate -s 5G "$img"
e2fsck -fy "$img" >&2 || [ $? -le 1 ]
resize2fs "$img" >&2

cat >"$tmp/inside.sh" <<'EOF'
set -euo pipefail
img=$1 mnt=$2; shift 2
mount -o loop "$img" "$mnt"
mount -t proc proc "$mnt/proc"
mount -t sysfs sys "$mnt/sys"
mount --rbind /dev "$mnt/dev"
cp /etc/resolv.conf "$mnt/etc/resolv.conf"
# No daemon starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d"
chmod 0755 "$mnt/usr/sbin/policy-rc.d"
chroot "$mnt" /bin/sh -e -c '
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "$@"
	apt-get clean
	rm -rf /var/lib/apt/lists/*
' sh "$@" >&2
rm -f "$mnt/usr/sbin/policy-rc.d"
: >"$mnt/etc/resolv.conf"
umount -R "$mnt/dev" "$mnt/sys" "$mnt/proc"
umount "$mnt"
EOF
mkdir -p "$tmp/mnt"
echo "build-image: apt-get install ${pkgs[*]}" >&2
unshare -m bash "$tmp/inside.sh" "$img" "$tmp/mnt" "${pkgs[@]}"
# The loop device goes away asynchronously once the namespace is gone.
for _ in $(seq 100); do
	[ -z "$(losetup -j "$img")" ] && break
	sleep 0.2
done
[ -z "$(losetup -j "$img")" ] || { echo "build-image: $img still on a loop device" >&2; exit 1; }
sync
e2fsck -fn "$img" >&2

mkdir -p "$tmp/out"
mv "$img" "$tmp/out/desktop.img"
cp "$base/vmlinuz" "$base/initrd.img" "$tmp/out/"
touch "$tmp/out/done"
rm -rf "$dir"
mv "$tmp/out" "$dir"
ln -sfn "desktop-$hash" "$out/desktop-current"
echo "$dir"
