package logging

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

// OpenFile opens (appending, creating with perm) a service log file and sets
// its owner when uid or gid is not -1.
func OpenFile(path string, perm os.FileMode, uid, gid int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, perm)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	if uid != -1 || gid != -1 {
		if err := f.Chown(uid, gid); err != nil {
			f.Close()
			return nil, fmt.Errorf("log file %s: %w", path, err)
		}
	}
	return f, nil
}

// RotatingFile is a log file that is renamed to path.1 (path.1 to path.2 …,
// keeping Keep old files) once it grows past MaxSize. Rotation happens only
// between whole lines, so no line is split or lost; a single line longer than
// MaxSize is written whole.
type RotatingFile struct {
	mu       sync.Mutex // guards the fields below
	path     string
	perm     os.FileMode
	uid, gid int
	max      int64
	keep     int
	f        *os.File
	size     int64
	partial  bool // the last write did not end with a newline
}

// OpenRotating opens path for appending; max <= 0 never rotates; keep < 1
// keeps one old file.
func OpenRotating(path string, perm os.FileMode, uid, gid int, max int64, keep int) (*RotatingFile, error) {
	if keep < 1 {
		keep = 1
	}
	r := &RotatingFile{path: path, perm: perm, uid: uid, gid: gid, max: max, keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RotatingFile) open() error {
	f, err := OpenFile(r.path, r.perm, r.uid, r.gid)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file %s: %w", r.path, err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Write appends p, rotating first at a line boundary when the file is full.
func (r *RotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	for len(p) > 0 {
		// Split at the first newline so that rotation can happen between lines.
		n := len(p)
		for i, c := range p {
			if c == '\n' {
				n = i + 1
				break
			}
		}
		if r.max > 0 && !r.partial && r.size > 0 && r.size+int64(n) > r.max {
			if err := r.rotate(); err != nil {
				return total, err
			}
		}
		w, err := r.f.Write(p[:n])
		total += w
		r.size += int64(w)
		if err != nil {
			return total, err
		}
		r.partial = p[n-1] != '\n'
		p = p[n:]
	}
	return total, nil
}

func (r *RotatingFile) rotate() error {
	for i := r.keep - 1; i >= 1; i-- {
		_ = os.Rename(r.path+"."+strconv.Itoa(i), r.path+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(r.path, r.path+".1"); err != nil {
		return fmt.Errorf("rotate %s: %w", r.path, err)
	}
	old := r.f
	if err := r.open(); err != nil {
		r.f = old // keep writing to the renamed file rather than lose lines
		return nil
	}
	old.Close()
	return nil
}

// Close closes the current file.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}
