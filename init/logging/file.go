package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// OpenFile opens (appending, creating with perm) a service log file and,
// when uid or gid is not -1, gives the file it created that owner.
//
// ginit opens the file as root on behalf of a service that may be able to
// write the log's directory, so nothing there is trusted: the directory is
// reached as OpenDir does; the file is opened without following a symbolic
// link; an existing file must be a regular file with one link, owned by
// root (ginit's user) or by uid; and only a file ginit has just created
// (O_EXCL) is ever chowned. Otherwise the open is refused with an error
// naming the path, and nothing is changed.
func OpenFile(path string, perm os.FileMode, uid, gid int) (*os.File, error) {
	dir, base, err := OpenParent(path)
	if err != nil {
		return nil, fmt.Errorf("log file %s: %w", path, err)
	}
	defer dir.Close()
	f, err := openLog(dir, base, perm, uid, gid)
	if err != nil {
		return nil, fmt.Errorf("log file %s: %w", path, err)
	}
	return f, nil
}

// openLog opens base in dir for OpenFile; errors do not repeat the path.
func openLog(dir *Dir, base string, perm os.FileMode, uid, gid int) (*os.File, error) {
	// O_NONBLOCK: opening a FIFO with no reader fails rather than hangs.
	const flags = unix.O_WRONLY | unix.O_APPEND | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	fd, err := unix.Openat(dir.Fd(), base, flags|unix.O_CREAT|unix.O_EXCL, uint32(perm.Perm()))
	created := err == nil
	if err == unix.EEXIST {
		fd, err = unix.Openat(dir.Fd(), base, flags, 0)
	}
	switch err {
	case nil:
	case unix.ELOOP:
		return nil, errors.New("is a symbolic link")
	case unix.ENXIO, unix.EISDIR:
		var st unix.Stat_t
		if unix.Fstatat(dir.Fd(), base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return nil, fmt.Errorf("not a regular file (%s)", fileKind(st.Mode))
		}
		return nil, err
	default:
		return nil, err
	}
	fail := func(err error) (*os.File, error) {
		unix.Close(fd)
		return nil, err
	}
	if created {
		if uid != -1 || gid != -1 {
			if err := unix.Fchown(fd, uid, gid); err != nil {
				return fail(fmt.Errorf("chown: %w", err))
			}
		}
	} else if err := checkExisting(fd, uid); err != nil {
		return fail(err)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		return fail(err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir.Path(), base)), nil
}

// checkExisting vets a log file that was already there: a service user who
// can write the directory could have left a hard link to a file of root's,
// a FIFO or a device, or a file of another user's, for root to write to.
func checkExisting(fd, uid int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("not a regular file (%s)", fileKind(st.Mode))
	}
	euid := os.Geteuid()
	if own := int(st.Uid); own != 0 && own != euid && (uid == -1 || own != uid) {
		if uid == -1 {
			return fmt.Errorf("owned by uid %d, not by root", own)
		}
		return fmt.Errorf("owned by uid %d, not by root or logfile-uid %d", own, uid)
	}
	if st.Nlink != 1 {
		return fmt.Errorf("has %d hard links", st.Nlink)
	}
	return nil
}

// RotatingFile is a log file that is renamed to path.1 (path.1 to path.2 …,
// keeping Keep old files) once it grows past MaxSize. Rotation happens only
// between whole lines, so no line is split or lost; a single line longer than
// MaxSize is written whole.
//
// The directory is opened once (as OpenFile does) and every rename and
// reopen is relative to it: a directory in the path swapped later for a
// link elsewhere does not move where the files are. Renames never follow a
// link (one planted as path.1 is replaced, not written through), and the
// new file is opened with OpenFile's checks.
type RotatingFile struct {
	mu       sync.Mutex // guards the fields below
	path     string
	dir      *Dir
	base     string
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
	dir, base, err := OpenParent(path)
	if err != nil {
		return nil, fmt.Errorf("log file %s: %w", path, err)
	}
	r := &RotatingFile{path: path, dir: dir, base: base, perm: perm, uid: uid, gid: gid, max: max, keep: keep}
	if err := r.open(); err != nil {
		dir.Close()
		return nil, err
	}
	return r, nil
}

func (r *RotatingFile) open() error {
	f, err := openLog(r.dir, r.base, r.perm, r.uid, r.gid)
	if err != nil {
		return fmt.Errorf("log file %s: %w", r.path, err)
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
	dfd := r.dir.Fd()
	name := func(i int) string { return r.base + "." + strconv.Itoa(i) }
	for i := r.keep - 1; i >= 1; i-- {
		_ = unix.Renameat(dfd, name(i), dfd, name(i+1))
	}
	if err := unix.Renameat(dfd, r.base, dfd, name(1)); err != nil {
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
	r.dir.Close()
	return r.f.Close()
}
