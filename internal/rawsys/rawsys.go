// Package rawsys makes the few system calls that never wait (on tmpfs,
// cgroupfs and procfs files, pipes' fcntl and nonblocking reads, an epoll
// poll with no timeout, and wait4 with WNOHANG) as raw system calls.
//
// The runtime's ordinary syscall path (entersyscall) wakes a sysmon that
// sleeps because every P was idle; sysmon then naps in 20 µs steps until
// the daemon is idle again. For a daemon that wakes, makes a few quick
// calls and sleeps again (a respawn, a state-file write, a stopped
// service's exit) those naps were 10-20% of its CPU. A raw call keeps its
// P for the call's length, so it is only for calls that cannot block.
// Each call is made again when a signal interrupts it.
package rawsys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// call makes a raw system call of up to six arguments, again on EINTR.
func call(trap, a1, a2, a3, a4 uintptr) (uintptr, error) {
	for {
		r, _, e := unix.RawSyscall6(trap, a1, a2, a3, a4, 0, 0)
		switch e {
		case 0:
			return r, nil
		case unix.EINTR:
			continue
		}
		return r, e
	}
}

// Openat opens path relative to dirfd (unix.AT_FDCWD: the working dir).
func Openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	r, err := call(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(mode))
	if err != nil {
		return -1, err
	}
	return int(r), nil
}

// Read reads into b once.
func Read(fd int, b []byte) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	r, err := call(unix.SYS_READ, uintptr(fd), uintptr(p), uintptr(len(b)), 0)
	if err != nil {
		return 0, err
	}
	return int(r), nil
}

// Pread reads into b once, at offset off (a kernfs file read at 0 is
// generated afresh: cgroup.events kept open and read again).
func Pread(fd int, b []byte, off int64) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	r, err := call(unix.SYS_PREAD64, uintptr(fd), uintptr(p), uintptr(len(b)), uintptr(off))
	if err != nil {
		return 0, err
	}
	return int(r), nil
}

// WriteAll writes all of b.
func WriteAll(fd int, b []byte) error {
	for len(b) > 0 {
		r, err := call(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0)
		if err != nil {
			return err
		}
		b = b[r:]
	}
	return nil
}

// Close closes fd. It is not made again on EINTR: the descriptor is gone
// either way.
func Close(fd int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0); e != 0 {
		return e
	}
	return nil
}

// Fchmod sets fd's mode.
func Fchmod(fd int, mode uint32) error {
	_, err := call(unix.SYS_FCHMOD, uintptr(fd), uintptr(mode), 0, 0)
	return err
}

// Unlinkat removes path relative to dirfd; flags unix.AT_REMOVEDIR
// removes a directory (a cgroup: kernfs, no disk behind it).
func Unlinkat(dirfd int, path string, flags int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	_, err = call(unix.SYS_UNLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), 0)
	return err
}

// Renameat renames from (relative to fromfd) to to (relative to tofd).
func Renameat(fromfd int, from string, tofd int, to string) error {
	f, err := unix.BytePtrFromString(from)
	if err != nil {
		return err
	}
	t, err := unix.BytePtrFromString(to)
	if err != nil {
		return err
	}
	_, err = call(unix.SYS_RENAMEAT, uintptr(fromfd), uintptr(unsafe.Pointer(f)), uintptr(tofd), uintptr(unsafe.Pointer(t)))
	return err
}

// Wait4NoHang reaps one exited child of any pid, never waiting: pid 0
// when none is left to reap.
func Wait4NoHang(ws *unix.WaitStatus) (int, error) {
	var status int32
	r, err := call(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&status)), unix.WNOHANG, 0)
	if err != nil {
		return -1, err
	}
	*ws = unix.WaitStatus(status)
	return int(r), nil
}

// SetNonblock sets O_NONBLOCK on a descriptor with no other status flags
// (a pipe end just made): one fcntl, not F_GETFL first.
func SetNonblock(fd int) error {
	_, err := call(unix.SYS_FCNTL, uintptr(fd), unix.F_SETFL, unix.O_NONBLOCK, 0)
	return err
}

// Dup duplicates fd (close-on-exec, at 3 or above).
func Dup(fd int) (int, error) {
	r, err := call(unix.SYS_FCNTL, uintptr(fd), unix.F_DUPFD_CLOEXEC, 3, 0)
	if err != nil {
		return -1, err
	}
	return int(r), nil
}

// EpollPoll collects the ready events of epoll set ep, never waiting
// (a timeout of 0): the Go poller does the waiting on ep itself.
func EpollPoll(ep int, events []unix.EpollEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	// No signal mask (the fifth argument): epoll_wait's semantics.
	r, err := call(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0)
	if err != nil {
		return 0, err
	}
	return int(r), nil
}
