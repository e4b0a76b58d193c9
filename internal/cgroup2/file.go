package cgroup2

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// readFile reads a small interface file (cgroup.procs, cgroup.events,
// /proc/PID/cgroup) with plain open/read/close. os.ReadFile would hand a
// cgroupfs file to the runtime's poller (kernfs files are pollable): two
// fcntls, an epoll_ctl add and delete and an fstat more, for each of the
// files read per service at start and stop. Errors are *fs.PathError, so
// errors.Is(err, fs.ErrNotExist) holds as with os.ReadFile.
func readFile(path string) ([]byte, error) {
	return readFileAt(unix.AT_FDCWD, path, path)
}

// readFileAt is readFile of rel below the directory open as dirfd; name
// is the path its errors give.
func readFileAt(dirfd int, rel, name string) ([]byte, error) {
	fd, err := openAtRetry(dirfd, rel, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

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
	for {
		fd, err := unix.Openat(dirfd, path, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
