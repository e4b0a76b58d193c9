package sessiond

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fifoHandle is sessiond's read end of a session's reference FIFO. The
// session's PAM process holds the write end; when every copy of it is
// closed the read end reports EOF and the session stops.
type fifoHandle struct {
	f *os.File
}

func (h fifoHandle) close() {
	if h.f != nil {
		_ = h.f.Close()
	}
}

// createFIFO makes path, opens its read end (kept, for watching) and a
// write end to hand to the caller.
func createFIFO(path string) (fifoHandle, *os.File, error) {
	if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fifoHandle{}, nil, fmt.Errorf("mkfifo %s: %w", path, err)
	}
	r, err := openFIFORead(path)
	if err != nil {
		return fifoHandle{}, nil, err
	}
	w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		r.close()
		return fifoHandle{}, nil, fmt.Errorf("open %s for writing: %w", path, err)
	}
	return r, w, nil
}

// openFIFORead opens the read end without blocking; the Go poller then
// waits for data or EOF.
func openFIFORead(path string) (fifoHandle, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fifoHandle{}, fmt.Errorf("open %s for reading: %w", path, err)
	}
	return fifoHandle{f: f}, nil
}

// watch blocks until every writer is gone (or the handle is closed),
// then calls eof unless the handle was closed by us.
func (h fifoHandle) watch(eof func()) {
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
