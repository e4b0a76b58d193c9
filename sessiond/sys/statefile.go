package sys

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"ginit/internal/kfile"
)

// WriteFileAtomic replaces path with data (mode perm) by writing a
// temporary file beside it and renaming it over path, so readers see the
// old file or the new one, never half of one. It uses the bare system
// calls: a state file is written a few times per login, and os.CreateTemp
// and os.Rename cost six more (the poller's registration attempt and its
// fcntls, the destination's lstat) than the open, write, fchmod, close
// and rename that are needed. They are raw system calls, outside the
// runtime's syscall state: entering it woke a sleeping sysmon, which then
// spun in 20 µs naps while the owner was busy (a tenth of the daemon's
// CPU per SetLockedHint, perf). The state files live on /run, a tmpfs,
// where none of these calls waits for a device.
func WriteFileAtomic(path string, data []byte, perm uint32) error {
	dir, base := filepath.Split(path)
	var (
		tmp string
		fd  int
		err error
	)
	for range 16 {
		tmp = dir + "." + base + ".tmp" + strconv.FormatUint(uint64(rand.Uint32()), 10)
		fd, err = rawOpen(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	werr := writeAll(fd, data)
	// The mode is set explicitly: open's is reduced by the umask.
	if err := rawCall(unix.SYS_FCHMOD, uintptr(fd), uintptr(perm), 0); werr == nil && err != nil {
		werr = fmt.Errorf("chmod %s: %w", tmp, err)
	}
	// close is not repeated on EINTR: the descriptor is gone either way.
	if _, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0); werr == nil && e != 0 {
		werr = fmt.Errorf("close %s: %w", tmp, e)
	}
	if werr == nil {
		if err := rawRename(tmp, path); err != nil {
			werr = fmt.Errorf("rename %s: %w", tmp, err)
		}
	}
	if werr != nil {
		_ = rawUnlink(tmp)
	}
	return werr
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return fmt.Errorf("write: %w", e)
		}
		b = b[r:]
	}
	return nil
}

// rawCall makes a raw system call that returns only an error, again
// while a signal interrupts it.
func rawCall(trap, a1, a2, a3 uintptr) error {
	for {
		_, _, e := unix.RawSyscall(trap, a1, a2, a3)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

func rawOpen(path string, flags int, mode uint32) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_OPENAT, atCWD(), uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(mode), 0, 0)
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}

func rawRename(from, to string) error {
	f, err := unix.BytePtrFromString(from)
	if err != nil {
		return err
	}
	t, err := unix.BytePtrFromString(to)
	if err != nil {
		return err
	}
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_RENAMEAT, atCWD(), uintptr(unsafe.Pointer(f)), atCWD(), uintptr(unsafe.Pointer(t)), 0, 0)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

func rawUnlink(path string) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	return rawCall(unix.SYS_UNLINKAT, atCWD(), uintptr(unsafe.Pointer(p)), 0)
}

// readProcFile reads a small /proc file without the runtime's poller
// (kfile): CreateSession reads several about its leader.
func readProcFile(path string) ([]byte, error) { return kfile.Read(path) }

// atCWD is AT_FDCWD as a system call argument (a negative constant
// does not convert to uintptr).
func atCWD() uintptr {
	d := unix.AT_FDCWD
	return uintptr(d)
}
