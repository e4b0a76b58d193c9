package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is wrapped by OpenRegular's error for a path that names
// anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens path read-only for root on behalf of a less privileged
// service (an env-file the service user may be able to replace). Links are
// followed as OpenDir follows them, the last component's included: only
// those owned by root or by ginit's own user, so a link that user planted
// to /etc/shadow is refused. Anything but a regular file is refused before
// it is opened (a FIFO would block the reader, a device may never end).
func OpenRegular(path string) (*os.File, error) {
	euid := uint32(os.Geteuid())
	for links := 0; ; links++ {
		if links > maxLinks {
			return nil, fmt.Errorf("%s: %w", path, unix.ELOOP)
		}
		d, base, err := OpenParent(path)
		if err != nil {
			return nil, err
		}
		f, target, err := openLast(d, base, euid)
		d.Close()
		if err != nil || f != nil {
			return f, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(filepath.Clean(path)), target)
		}
		path = target
	}
}

// openLast opens base in d when it is a regular file, or returns the
// target of a link whose owner may be followed.
func openLast(d *Dir, base string, euid uint32) (*os.File, string, error) {
	name := filepath.Join(d.Path(), base)
	// O_PATH|O_NOFOLLOW opens neither a device nor a FIFO, only names it.
	p, err := unix.Openat(d.Fd(), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	defer unix.Close(p)
	var st unix.Stat_t
	if err := unix.Fstat(p, &st); err != nil {
		return nil, "", fmt.Errorf("%s: fstat: %w", name, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK:
		if st.Uid != 0 && st.Uid != euid {
			return nil, "", fmt.Errorf("%s: a symbolic link owned by uid %d (only root's are followed)", name, st.Uid)
		}
		target, err := readLink(p)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		return nil, target, nil
	default:
		return nil, "", fmt.Errorf("%s: %w (%s)", name, ErrNotRegular, fileKind(st.Mode))
	}
	fd, err := unix.Openat(d.Fd(), base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	var again unix.Stat_t
	if err := unix.Fstat(fd, &again); err != nil || again.Dev != st.Dev || again.Ino != st.Ino {
		unix.Close(fd)
		return nil, "", fmt.Errorf("%s: replaced while being opened", name)
	}
	return os.NewFile(uintptr(fd), name), "", nil
}
