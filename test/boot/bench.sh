#!/bin/bash
# bench.sh — time from kernel start to the ttyS0 login prompt, for ginit and
# for Debian's systemd, booting the same image with the same kernel and qemu
# settings (KVM when usable). Figures only; nothing is asserted.
#   RUNS=3 test/boot/bench.sh
# "kernel start" is when the first kernel line ("Linux version") reaches the
# serial port, so qemu and firmware start-up are left out.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-3}
cache=${GINIT_BOOT_CACHE:-$repo/.cache/boot}
dir=$("$repo/test/boot/build-image.sh" "$cache" 2>/dev/null | tail -n1)
work=$(mktemp -d)
qpid=
cleanup() { [ -n "$qpid" ] && kill "$qpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

have_ginit=1
cp --sparse=always "$dir/base.img" "$work/ginit.img"
"$repo/test/boot/install.sh" "$work/ginit.img" || have_ginit=

# KVM only when the CPU shows vmx/svm (a nested /dev/kvm without them hangs
# guests); GINIT_BOOT_ACCEL overrides. Same rule as the Go boot test.
acc=tcg
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then acc=kvm; fi
accel=(-accel "${GINIT_BOOT_ACCEL:-$acc}")

now() { date +%s.%N; }

# boot IMG INIT: prints seconds from "Linux version" to "login:".
boot() {
	local img=$1 init=$2 log=$work/serial.log t0= t1=
	: >"$log"
	qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 -nographic -no-reboot -monitor none \
		-serial "file:$log" -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
		-append "console=ttyS0 root=/dev/vda ro init=$init panic=-1" \
		-drive "file=$img,format=raw,if=virtio,snapshot=on" -nic none >/dev/null 2>&1 &
	qpid=$!
	local limit=$(($(date +%s) + 600))
	while [ "$(date +%s)" -lt "$limit" ]; do
		if [ -z "$t0" ] && [ -s "$log" ]; then t0=$(now); fi
		if grep -q 'login: ' "$log"; then t1=$(now); break; fi
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.02
	done
	kill "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	qpid=
	if [ -z "$t1" ] || [ -z "$t0" ]; then echo "n/a"; return; fi
	echo "$t1 - $t0" | bc
}

printf '%-8s %s\n' init "seconds to login prompt (${accel[1]})"
for i in $(seq "$runs"); do
	if [ -n "$have_ginit" ]; then
		printf '%-8s %s\n' ginit "$(boot "$work/ginit.img" /sbin/init)"
	else
		printf '%-8s %s\n' ginit "n/a (make build first)"
	fi
	printf '%-8s %s\n' systemd "$(boot "$dir/base.img" /lib/systemd/systemd)"
done
