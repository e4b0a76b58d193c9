// Package pid1 holds the duties that only the process with pid 1 has:
// mounting the early API filesystems, taking over the console, routing
// ctrl-alt-del, turning signals into manager actions, the final shutdown
// (kill everything, remount read-only, reboot(2)) and never exiting.
//
// In --container mode (ginit as PID 1 of a container, told so or found out
// by DetectContainer) the caller skips EarlyMounts and FinalShutdown: the
// runtime mounted /proc and friends already, the mounts and the reboot(2)
// in reach are the host's, and "powering off" a container means exiting.
//
// The package links neither cgo nor godbus; syscalls go through small
// interfaces so that the sequences are tested with fakes.
package pid1
