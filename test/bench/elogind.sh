#!/bin/sh
# The elogind anchor of `make bench` (test/bench/sdbench).
#
#   elogind.sh           unpacks Debian's elogind, libelogind0 and
#                        libpam-elogind (apt-get download, dpkg -x) into
#                        .cache/elogind/root, never installing anything;
#                        prints that root. Does nothing when it is there.
#   elogind.sh run ROOT UNIFIED LEGACY
#                        runs that elogind in the foreground, confined:
#                        it joins the cgroups UNIFIED and LEGACY ("none":
#                        no legacy hierarchy) given by the bench, then a
#                        new cgroup and mount namespace whose
#                        /sys/fs/cgroup is the unified hierarchy mounted
#                        again (so its root is the bench's subtree, never
#                        the host's), with a logind.conf that leaves keys,
#                        lid, VTs and idle alone. The caller provides the private /run and
#                        system bus (DBUS_SYSTEM_BUS_ADDRESS).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
root="$top/.cache/elogind/root"

if [ "${1:-}" != run ]; then
	if [ -x "$root/lib/elogind/elogind" ]; then
		echo "$root"
		exit 0
	fi
	dl="$top/.cache/elogind/deb"
	rm -rf "$dl" "$root"
	mkdir -p "$dl" "$root"
	(cd "$dl" && apt-get download elogind libelogind0 libpam-elogind >&2)
	for deb in "$dl"/*.deb; do
		dpkg -x "$deb" "$root"
	done
	echo "$root"
	exit 0
fi

[ $# -eq 4 ] || { echo "usage: $0 run ROOT UNIFIED LEGACY" >&2; exit 2; }
root=$2 unified=$3 legacy=$4
echo $$ >"$unified/cgroup.procs"
if [ "$legacy" != none ]; then
	echo $$ >"$legacy/cgroup.procs"
fi
conf=/run/elogind/logind.conf.d
mkdir -p "$conf"
cat >"$conf/bench.conf" <<'CONF'
[Login]
KillUserProcesses=no
HandlePowerKey=ignore
HandleSuspendKey=ignore
HandleHibernateKey=ignore
HandleLidSwitch=ignore
HandleLidSwitchExternalPower=ignore
HandleLidSwitchDocked=ignore
IdleAction=ignore
RemoveIPC=no
CONF
# Pure unified mode: cgroup2 itself on /sys/fs/cgroup. (Given the host's
# hybrid layout elogind mounts a name=elogind hierarchy with a release
# agent, which a cgroup namespace forbids.)
# elogind takes PID 1's cgroup as the root of its own, and PID 1 is
# outside the namespace ("0::/.."): its view of /proc/1/cgroup is
# replaced by one naming the namespace's root.
exec unshare --cgroup --mount --propagation private sh -c '
	set -e
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
	echo "0::/" >/run/elogind/pid1-cgroup
	mount --bind /run/elogind/pid1-cgroup /proc/1/cgroup
	exec env LD_LIBRARY_PATH="$0/lib/x86_64-linux-gnu:$0/lib/elogind" "$0/lib/elogind/elogind"
' "$root"
