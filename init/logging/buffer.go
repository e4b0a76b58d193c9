package logging

import (
	"io"
	"sync"
)

// Buffer is a bounded in-memory log (dinit's log-type = buffer). Output past
// its size is discarded and the buffer remembers that it was truncated. It is
// safe for concurrent use: a pump goroutine writes, control requests read.
type Buffer struct {
	mu        sync.Mutex // guards the fields below
	max       int
	data      []byte
	truncated bool
}

// NewBuffer returns a buffer that keeps at most max bytes (4096 when max <= 0).
func NewBuffer(max int) *Buffer {
	if max <= 0 {
		max = 4096
	}
	return &Buffer{max: max}
}

// Write keeps what fits and drops the rest; it never fails, so a service's
// output pipe is always drained.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - len(b.data)
	if len(p) > room {
		b.truncated = true
		b.data = append(b.data, p[:room]...)
	} else {
		b.data = append(b.data, p...)
	}
	return len(p), nil
}

// Read returns a copy of the contents and whether output was discarded;
// clear empties the buffer and resets the flag.
func (b *Buffer) Read(clear bool) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := append([]byte(nil), b.data...)
	tr := b.truncated
	if clear {
		b.data, b.truncated = b.data[:0], false
	}
	return out, tr
}

// Pump copies r into w until r ends, then closes r. Used for the read end of
// a service's output pipe.
func Pump(w io.Writer, r io.ReadCloser) {
	defer r.Close()
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_, _ = w.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}
