package utmp

import "golang.org/x/sys/unix"

// KernelRelease is the running kernel's release (uname -r), which boot,
// runlevel and shutdown records carry in their host field; "" if unknown.
func KernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
