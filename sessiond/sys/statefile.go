package sys

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"ginit/internal/kfile"
	"ginit/internal/rawsys"
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
		fd, err = rawsys.Openat(unix.AT_FDCWD, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	werr := rawsys.WriteAll(fd, data)
	if werr != nil {
		werr = fmt.Errorf("write %s: %w", tmp, werr)
	}
	// The mode is set explicitly: open's is reduced by the umask.
	if err := rawsys.Fchmod(fd, perm); werr == nil && err != nil {
		werr = fmt.Errorf("chmod %s: %w", tmp, err)
	}
	// close is not repeated on EINTR: the descriptor is gone either way.
	if err := rawsys.Close(fd); werr == nil && err != nil {
		werr = fmt.Errorf("close %s: %w", tmp, err)
	}
	if werr == nil {
		if err := rawsys.Renameat(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path); err != nil {
			werr = fmt.Errorf("rename %s: %w", tmp, err)
		}
	}
	if werr != nil {
		_ = rawsys.Unlinkat(unix.AT_FDCWD, tmp, 0)
	}
	return werr
}

// readProcFile reads a small /proc file without the runtime's poller
// (kfile): CreateSession reads several about its leader.
func readProcFile(path string) ([]byte, error) { return kfile.Read(path) }
