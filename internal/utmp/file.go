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

// WriteUtmp stores r in the utmp file at path, replacing the entry with the
// same ID (or, without an ID, the same Line), else reusing an empty slot, else
// appending; the whole file is write-locked meanwhile.
func WriteUtmp(path string, r Record) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o664)
	if err != nil {
		return fmt.Errorf("utmp: %w", err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk); err != nil {
		return fmt.Errorf("utmp: lock %s: %w", path, err)
	}
	buf := make([]byte, Size)
	var off, free int64 = 0, -1
	for ; ; off += Size {
		n, _ := f.ReadAt(buf, off)
		if n < Size {
			break
		}
		old, _ := Decode(buf)
		if old.Type == Empty && free < 0 {
			free = off
		}
		if old.Type != Empty && ((r.ID != "" && old.ID == r.ID) || (r.ID == "" && old.Line == r.Line)) {
			free = off
			break
		}
	}
	if free < 0 {
		free = off
	}
	if _, err := f.WriteAt(r.Encode(), free); err != nil {
		return fmt.Errorf("utmp: write %s: %w", path, err)
	}
	return nil
}
