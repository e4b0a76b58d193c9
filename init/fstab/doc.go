// Package fstab turns /etc/fstab into ginit services: one scripted service
// per file system (`fsck` first when its pass number asks, then `mount`;
// `umount` to stop), named as systemd names mount units (/var/lib →
// var-lib.mount), ordered below the mount of its parent directory, after
// the network for network file systems, with x-systemd.requires/after/before
// as edges; and a service "fstab" that starts every entry without noauto
// (an entry with nofail may fail). An entry with x-systemd.automount (or
// ginit's own x-ginit.automount) is instead a process service running
// ginit-automount on the mount point, which mounts it on first access and
// unmounts it after x-systemd.idle-timeout. A Source implements
// loader.UnitSource.
package fstab
