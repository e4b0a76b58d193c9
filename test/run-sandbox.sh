#!/usr/bin/env bash
# make run: ginit as PID 1 of private PID and mount namespaces, running the
# sample services of units/sample, driven from outside with ginitctl; and,
# when dbus-daemon and sessiond are available, sessiond on a private bus.
# RUN_SHELL=1 leaves you in a shell with GINIT_SOCKET_PATH set instead of
# shutting down at once.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${GINIT_BIN:-$PWD/bin}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

ns=(--pid --fork --mount --mount-proc --kill-child)
[ "$(id -u)" = 0 ] || ns=(--user --map-root-user "${ns[@]}")

sock=$tmp/ginitctl
if [ ! -x "$BIN/ginit" ]; then
	echo "bin/ginit is not built yet (init/cmd/ginit is still being written); nothing to run" >&2
	exit 1
fi
echo "== ginit as PID 1 in a private namespace (services: units/sample)"
unshare "${ns[@]}" -- "$BIN/ginit" --container -d "$PWD/units/sample" -p "$sock" -l "$tmp/ginit.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
ctl() { "$BIN/ginitctl" -p "$sock" "$@"; }
sleep 0.5
echo "== ginitctl list"
ctl list
echo "== ginitctl status greeter"
ctl status greeter
echo "== ginitctl catlog greeter"
ctl catlog greeter || true

if command -v dbus-daemon >/dev/null && [ -x "$BIN/sessiond" ]; then
	echo "== sessiond on a private system bus"
	cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow eavesdrop="true"/></policy>
</busconfig>
CONF
	dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$tmp/bus" ] && break; sleep 0.05; done
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/bus
	mkdir -p "$tmp/run"
	"$BIN/sessiond" --help >/dev/null 2>&1 || true
	unshare --mount -- sh -c "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd && exec '$BIN/sessiond'" >"$tmp/sessiond.log" 2>&1 &
	pids+=($!)
	sleep 1
	if command -v busctl >/dev/null; then
		busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.freedesktop.login1 /org/freedesktop/login1 \
			org.freedesktop.login1.Manager ListSeats || cat "$tmp/sessiond.log"
	fi
fi

if [ "${RUN_SHELL:-0}" = 1 ]; then
	echo "== a shell: try ginitctl list / status / stop / start; exit to shut down"
	GINIT_SOCKET_PATH=$sock PATH=$BIN:$PATH PS1='ginit-sandbox$ ' bash --norc -i || true
fi
echo "== ginitctl shutdown"
ctl shutdown halt || true
wait "${pids[0]}" 2>/dev/null || true
echo "== ginit log"
cat "$tmp/ginit.log" 2>/dev/null || true
