// Package sys is sessiond's syscall edge, as init/supervise is ginit's.
// Host holds session scopes (through internal/cgroup2) and the cgroup
// path that names a process's session, users' runtime directories (tmpfs)
// and the user database, signals, and the DRM, evdev and hidraw nodes
// handed to session controllers (found through sysfs and udev's database,
// access given and revoked by ioctl), uaccess ACLs (the POSIX ACL
// xattr). Beside it: udev's database, netlink monitor and seat rules
// (Udev), the virtual terminals and their handover to a controller,
// the power keys and switches, the reference FIFOs, backlight writes, and
// power actions (ginit's control socket, reboot(2), /sys/power). The
// session logic in package sessiond reaches all of it through narrow
// interfaces, so it is tested with fakes.
package sys
