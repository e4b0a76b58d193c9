package sys

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// FIFO is sessiond's read end of a reference FIFO (a session's or an
// inhibitor lock's). The client holds the write end; when every copy of
// it is closed the read end reports EOF and the session or lock ends.
//
// The read end is a bare descriptor, not an *os.File: a file costs a
// runtime poll descriptor, its cleanup record and the file's own structs
// (~0.4 KiB a session, in a sessiond that keeps one per session) for a
// read that only the FIFOPoller's epoll set, or Watch's file, waits on.
type FIFO struct {
	mu     sync.Mutex  // guards fd, f, poller and key; held across a read so Close cannot free fd under it
	fd     int         // -1 once closed, or once f owns it
	f      *os.File    // Watch's file, made from fd (the goroutine-per-FIFO fallback)
	poller *FIFOPoller // watching it, if any (FIFOPoller.Watch)
	key    int32
}

// Close closes the read end (and ends its watch); a nil FIFO is none.
func (h *FIFO) Close() {
	if h == nil {
		return
	}
	h.mu.Lock()
	p, key := h.poller, h.key
	h.poller = nil
	fd, f := h.fd, h.f
	h.fd, h.f = -1, nil
	// Closing the descriptor also takes it out of the poller's epoll set.
	if fd >= 0 {
		_ = unix.Close(fd)
	}
	h.mu.Unlock()
	if p != nil {
		p.forget(key)
	}
	if f != nil {
		_ = f.Close() // outside mu: it wakes Watch's read, which takes no lock
	}
}

// CreateFIFO makes path, opens its read end (kept, for watching) and a
// write end to hand to the caller.
func CreateFIFO(path string) (*FIFO, *os.File, error) {
	if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, syscall.EEXIST) {
		return nil, nil, fmt.Errorf("mkfifo %s: %w", path, err)
	}
	r, err := OpenFIFO(path)
	if err != nil {
		return nil, nil, err
	}
	w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("open %s for writing: %w", path, err)
	}
	return r, w, nil
}

// OpenFIFO opens the read end of an existing FIFO without blocking; the
// Go poller then waits for data or EOF.
func OpenFIFO(path string) (*FIFO, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	return &FIFO{fd: fd}, nil
}

// Watch blocks until every writer is gone (or the handle is closed),
// then calls eof unless the handle was closed by us.
func (h *FIFO) Watch(eof func()) {
	h.mu.Lock()
	if h.fd >= 0 {
		h.f, h.fd = os.NewFile(uintptr(h.fd), "fifo"), -1
	}
	f := h.f
	h.mu.Unlock()
	if f == nil {
		return // closed by us
	}
	buf := make([]byte, 64)
	for {
		_, err := f.Read(buf)
		if err == nil {
			continue // clients do not write; ignore stray bytes
		}
		if errors.Is(err, io.EOF) {
			eof()
		}
		return
	}
}
