package utmp

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// AppendWtmp appends r to the wtmp file at path under a write lock, so
// concurrent writers (login, getty, PID 1) never interleave records.
func AppendWtmp(path string, r Record) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o664)
	if err != nil {
		return fmt.Errorf("utmp: %w", err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk); err != nil {
		return fmt.Errorf("utmp: lock %s: %w", path, err)
	}
	if _, err := f.Write(r.Encode()); err != nil {
		return fmt.Errorf("utmp: write %s: %w", path, err)
	}
	return nil
}
