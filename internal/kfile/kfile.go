// Package kfile reads the small files the kernel serves (cgroupfs
// interface files, /proc/PID/...) with plain open, read and close.
// os.ReadFile would hand such a file to the runtime's poller (kernfs
// files are pollable): two fcntls, an epoll_ctl add and delete and an
// fstat more for each read, which ginit pays per service at start and
// stop and sessiond per CreateSession.
package kfile

import (
	"io/fs"

	"golang.org/x/sys/unix"

	"ginit/internal/rawsys"
)

// Read reads the file at path. Errors are *fs.PathError, so
// errors.Is(err, fs.ErrNotExist) holds as with os.ReadFile.
func Read(path string) ([]byte, error) {
	return ReadAt(unix.AT_FDCWD, path, path)
}

// ReadAt reads rel below the directory open as dirfd; name is the path
// its errors give.
func ReadAt(dirfd int, rel, name string) ([]byte, error) {
	fd, err := OpenAt(dirfd, rel, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer rawsys.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rawsys.Read(fd, buf[len(buf):cap(buf)])
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// ReadFirstAt reads the start of rel below dirfd into buf with one read
// and returns it: for a kernfs file whose first line is all a caller
// needs (cgroup.events), it saves the read that would only find EOF.
func ReadFirstAt(dirfd int, rel, name string, buf []byte) ([]byte, error) {
	fd, err := OpenAt(dirfd, rel, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer rawsys.Close(fd)
	n, err := rawsys.Read(fd, buf)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return buf[:n], nil
}

// OpenAt is openat(2) repeated while a signal interrupts it.
func OpenAt(dirfd int, path string, flags int) (int, error) {
	return rawsys.Openat(dirfd, path, flags, 0)
}
