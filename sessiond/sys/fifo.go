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
type FIFO struct {
	f *os.File

	mu     sync.Mutex  // guards poller and key
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
	h.mu.Unlock()
	if p != nil {
		p.forget(key)
	}
	_ = h.f.Close()
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
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	return &FIFO{f: f}, nil
}

// Watch blocks until every writer is gone (or the handle is closed),
// then calls eof unless the handle was closed by us.
func (h *FIFO) Watch(eof func()) {
	buf := make([]byte, 64)
	for {
		_, err := h.f.Read(buf)
		if err == nil {
			continue // clients do not write; ignore stray bytes
		}
		if errors.Is(err, io.EOF) {
			eof()
		}
		return
	}
}
