package sys

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"ginit/internal/kfile"
)

// WriteFileAtomic replaces path with data (mode perm) by writing a
// temporary file beside it and renaming it over path, so readers see the
// old file or the new one, never half of one. It uses the bare system
// calls: a state file is written a few times per login, and os.CreateTemp
// and os.Rename cost six more (the poller's registration attempt and its
// fcntls, the destination's lstat) than the open, write, fchmod, close
// and rename that are needed.
func WriteFileAtomic(path string, data []byte, perm uint32) error {
	dir, base := filepath.Split(path)
	var (
		tmp string
		fd  int
		err error
	)
	for range 16 {
		tmp = dir + "." + base + ".tmp" + strconv.FormatUint(uint64(rand.Uint32()), 10)
		fd, err = unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	werr := writeAll(fd, data)
	// The mode is set explicitly: open's is reduced by the umask.
	if err := unix.Fchmod(fd, perm); werr == nil && err != nil {
		werr = fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := unix.Close(fd); werr == nil && err != nil {
		werr = fmt.Errorf("close %s: %w", tmp, err)
	}
	if werr == nil {
		if err := unix.Rename(tmp, path); err != nil {
			werr = fmt.Errorf("rename %s: %w", tmp, err)
		}
	}
	if werr != nil {
		_ = unix.Unlink(tmp)
	}
	return werr
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		b = b[n:]
	}
	return nil
}

// readProcFile reads a small /proc file without the runtime's poller
// (kfile): CreateSession reads several about its leader.
func readProcFile(path string) ([]byte, error) { return kfile.Read(path) }
