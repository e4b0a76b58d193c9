package cgroup2

import (
	"io/fs"

	"golang.org/x/sys/unix"

	"ginit/internal/kfile"
)

// readFile reads a small interface file (cgroup.procs, cgroup.events,
// /proc/PID/cgroup) without the runtime's poller (see kfile).
func readFile(path string) ([]byte, error) { return kfile.Read(path) }

// readFileAt is readFile of rel below the directory open as dirfd; name
// is the path its errors give.
func readFileAt(dirfd int, rel, name string) ([]byte, error) { return kfile.ReadAt(dirfd, rel, name) }

// writeFile writes data to an existing interface file in one write(2), as
// the kernel wants each value written (cgroup.kill, cgroup.procs, limits),
// without the poller round trips of os.WriteFile (see readFile).
func writeFile(path string, data []byte) error {
	fd, err := openRetry(path, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, data)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

func openRetry(path string, flags int) (int, error) {
	return openAtRetry(unix.AT_FDCWD, path, flags)
}

func openAtRetry(dirfd int, path string, flags int) (int, error) {
	return kfile.OpenAt(dirfd, path, flags)
}
