package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxLinks bounds the symbolic links followed in one path, as the kernel does.
const maxLinks = 40

// Dir is a directory opened (O_PATH) for files that root creates or opens
// on behalf of a less privileged service: log files here, sockets in
// supervise. Every later step is relative to it (openat, renameat,
// unlinkat), so a directory renamed or replaced afterwards by someone who
// can write its parent does not redirect them.
type Dir struct {
	fd   int
	path string
}

// OpenDir opens the directory path, one component at a time, without
// following a symbolic link that a less privileged user could have made:
// only links owned by root (or by ginit's own user) are followed. Such a
// link cannot be planted by a service user in a directory they can write,
// which a plain open would follow to anywhere. Errors name the component.
func OpenDir(path string) (*Dir, error) {
	fd, err := walkDir(path)
	if err != nil {
		return nil, err
	}
	return &Dir{fd: fd, path: path}, nil
}

func walkDir(path string) (int, error) {
	if path == "" {
		return -1, errors.New("empty directory name")
	}
	done := "."
	if filepath.IsAbs(path) {
		done = "/"
	}
	cur, err := unix.Open(done, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("%s: %w", done, err)
	}
	euid := uint32(os.Geteuid())
	rest := strings.Split(path, "/")
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c == "" || c == "." {
			continue
		}
		here := filepath.Join(done, c)
		// O_PATH|O_NOFOLLOW opens a link itself, so what is checked below
		// is what was found, not what a second lookup finds.
		next, err := unix.Openat(cur, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(cur)
			return -1, fmt.Errorf("%s: %w", here, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			unix.Close(cur)
			return -1, fmt.Errorf("%s: fstat: %w", here, err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			unix.Close(cur)
			cur, done = next, here
			continue
		case unix.S_IFLNK:
		default:
			unix.Close(next)
			unix.Close(cur)
			return -1, fmt.Errorf("%s: %w", here, unix.ENOTDIR)
		}
		if st.Uid != 0 && st.Uid != euid {
			unix.Close(next)
			unix.Close(cur)
			return -1, fmt.Errorf("%s is a symbolic link owned by uid %d (only root's are followed)", here, st.Uid)
		}
		target, err := readLink(next)
		unix.Close(next)
		if links++; err == nil && links > maxLinks {
			err = unix.ELOOP
		}
		if err != nil {
			unix.Close(cur)
			return -1, fmt.Errorf("%s: %w", here, err)
		}
		if filepath.IsAbs(target) {
			root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			unix.Close(cur)
			if err != nil {
				return -1, fmt.Errorf("/: %w", err)
			}
			cur, done = root, "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return cur, nil
}

// readLink reads the link open (O_PATH|O_NOFOLLOW) at fd.
func readLink(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", fmt.Errorf("readlink: %w", err)
	}
	if n == 0 {
		return "", unix.ENOENT
	}
	return string(buf[:n]), nil
}

// Fd is the directory's descriptor, for *at calls; it stays owned by d.
func (d *Dir) Fd() int { return d.fd }

// Path is the name the directory was opened by.
func (d *Dir) Path() string { return d.path }

// Close closes the directory.
func (d *Dir) Close() error {
	if d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	return err
}

// splitPath returns the directory and the last component of a file path,
// refusing names that are no file of a directory ("/", ".", "..").
func splitPath(path string) (dir, base string, err error) {
	clean := filepath.Clean(path)
	base = filepath.Base(clean)
	if base == "." || base == ".." || base == "/" {
		return "", "", errors.New("not a file name")
	}
	return filepath.Dir(clean), base, nil
}

// OpenParent opens the directory of path (as OpenDir) and returns the last
// component of path, to be used relative to it.
func OpenParent(path string) (*Dir, string, error) {
	dir, base, err := splitPath(path)
	if err != nil {
		return nil, "", err
	}
	d, err := OpenDir(dir)
	if err != nil {
		return nil, "", err
	}
	return d, base, nil
}

// fileKind names a file type for an error.
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return fmt.Sprintf("of type %#o", mode&unix.S_IFMT)
}
