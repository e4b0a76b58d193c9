package supervise

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"ginit/init/logging"
)

// sockFile is a unix socket that ginit bound at base in dir. remove
// unlinks the name only while it still holds that very file (device and
// inode), so a file someone put there since is left alone.
type sockFile struct {
	dir      *logging.Dir
	base     string
	dev, ino uint64
}

// bindSocket makes a unix socket of typ (a SOCK_STREAM one listens) named
// base in dir, with mode perm and owner uid:gid (-1 keeps ginit's), and
// returns its descriptor. A stale socket there is replaced; anything else
// is refused.
//
// The directory may be writable by a less privileged user (the service's),
// so no step goes through a name that user could swap: the socket is bound
// in a fresh directory of its own that only ginit can write, with its mode
// set by the umask of the binding thread (a chmod by name could follow a
// link put in its place), chowned there, and renamed into dir, which
// replaces a directory entry and never follows a link.
func bindSocket(dir *logging.Dir, base string, typ int, perm uint32, uid, gid int) (int, *sockFile, error) {
	dfd := dir.Fd()
	if err := checkStale(dfd, base); err != nil {
		return -1, nil, err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := ".ginit-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(rnd[:])
	if err := unix.Mkdirat(dfd, tmp, 0o700); err != nil {
		return -1, nil, fmt.Errorf("temporary directory %s: %w", tmp, err)
	}
	defer unix.Unlinkat(dfd, tmp, unix.AT_REMOVEDIR)
	pfd, err := unix.Openat(dfd, tmp, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, nil, fmt.Errorf("temporary directory %s: %w", tmp, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return -1, nil, fmt.Errorf("temporary directory %s: %w", tmp, err)
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		return -1, nil, fmt.Errorf("temporary directory %s was replaced", tmp)
	}
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, err
	}
	const name = "s"
	bound := false
	fail := func(err error) (int, *sockFile, error) {
		unix.Close(fd)
		if bound {
			_ = unix.Unlinkat(pfd, name, 0)
		}
		return -1, nil, err
	}
	// umask and the working directory are per-thread only after
	// unshare(CLONE_FS), on a thread that is then thrown away.
	onThrowawayThread(func() {
		if err = unix.Unshare(unix.CLONE_FS); err != nil {
			err = fmt.Errorf("unshare(CLONE_FS): %w", err)
			return
		}
		if err = unix.Fchdir(pfd); err != nil {
			err = fmt.Errorf("fchdir: %w", err)
			return
		}
		unix.Umask(int(0o777 &^ (perm & 0o777)))
		err = unix.Bind(fd, &unix.SockaddrUnix{Name: name})
	})
	if err != nil {
		return fail(err)
	}
	bound = true
	if uid >= 0 || gid >= 0 {
		if err := unix.Fchownat(pfd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fail(fmt.Errorf("chown: %w", err))
		}
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
			return fail(fmt.Errorf("listen: %w", err))
		}
	}
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fail(err)
	}
	if err := unix.Renameat(pfd, name, dfd, base); err != nil {
		return fail(err)
	}
	return fd, &sockFile{dir: dir, base: base, dev: st.Dev, ino: st.Ino}, nil
}

// checkStale allows base in dir to be missing or a socket.
func checkStale(dfd int, base string) error {
	var st unix.Stat_t
	err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return errors.New("exists and is not a socket")
	}
	return nil
}

// remove unlinks the socket if its name still holds it, and closes the
// directory.
func (sf *sockFile) remove() error {
	defer sf.dir.Close()
	var st unix.Stat_t
	err := unix.Fstatat(sf.dir.Fd(), sf.base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return err
	}
	if st.Dev != sf.dev || st.Ino != sf.ino {
		return errors.New("replaced by another file; left in place")
	}
	return unix.Unlinkat(sf.dir.Fd(), sf.base, 0)
}
