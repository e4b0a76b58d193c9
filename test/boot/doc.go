// Package boot is the real-kernel boot test: a Debian root filesystem built
// by build-image.sh, ginit as /sbin/init, qemu with the serial console on a
// unix socket, a login through login(1) and PAM, and a power-off through
// ginitctl. It runs only with GINIT_BOOT_TEST=1 (see docs/boot.md).
package boot
