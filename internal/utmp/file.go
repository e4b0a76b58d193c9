package utmp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"
)

// open opens a login record file with flag, creating it as Debian's
// login tools expect it: mode 0664 whatever the umask, owned by root and
// the utmp group (where there is one), so that utempter and terminal
// emulators of that group can write their records.
func open(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_CLOEXEC, 0)
	if !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	f, err = os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, os.ErrExist) {
		// Another writer created it meanwhile.
		return os.OpenFile(path, flag|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, err
	}
	if g, gerr := user.LookupGroup("utmp"); gerr == nil {
		if gid, perr := strconv.Atoi(g.Gid); perr == nil && os.Geteuid() == 0 {
			_ = f.Chown(0, gid)
		}
	}
	if err := f.Chmod(0o664); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// AppendWtmp appends r to the wtmp file at path under a write lock, so
// concurrent writers (login, getty, PID 1) never interleave records.
func AppendWtmp(path string, r Record) error {
	f, err := open(path, os.O_WRONLY|os.O_APPEND)
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
	f, err := open(path, os.O_RDWR)
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

// maxRecords bounds ReadAll: a utmp file holds one record per terminal.
const maxRecords = 1 << 16

// ReadAll returns the records of the utmp (or wtmp) file at path, read
// under a shared lock; a missing file has none.
func ReadAll(path string) ([]Record, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("utmp: %w", err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_RDLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk); err != nil {
		return nil, fmt.Errorf("utmp: lock %s: %w", path, err)
	}
	var out []Record
	buf := make([]byte, Size)
	for len(out) < maxRecords {
		if _, err := io.ReadFull(f, buf); err != nil {
			break // a short last record is a writer's torn append: ignored
		}
		if r, err := Decode(buf); err == nil {
			out = append(out, r)
		}
	}
	return out, nil
}
