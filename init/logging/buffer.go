package logging

import (
	"bytes"
	"io"
	"sync"
)

// Buffer is a bounded in-memory log (dinit's log-type = buffer). Output past
// its size is discarded and the buffer remembers that it was truncated. It is
// safe for concurrent use: a pump goroutine writes, control requests read.
type Buffer struct {
	mu        sync.Mutex // guards the fields below
	max       int
	tail      bool // keep the newest output, not the oldest
	data      []byte
	truncated bool
}

// TailSize is what a service without log-type keeps: 4 KiB, dinit's default
// log-buffer-size, holds the last few dozen lines of a typical error report
// (enough to explain a failed start) and costs at most 4 MiB for a thousand
// services; it grows only as output arrives.
const TailSize = 4096

// NewTail returns a buffer that keeps the newest max bytes (4096 when
// max <= 0): older output is dropped by whole lines where a line fits, and
// the buffer remembers that it was truncated.
func NewTail(max int) *Buffer {
	b := NewBuffer(max)
	b.tail = true
	return b
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
	if b.tail {
		b.keepLast(p)
		return len(p), nil
	}
	room := b.max - len(b.data)
	if len(p) > room {
		b.truncated = true
		b.data = append(b.data, p[:room]...)
	} else {
		b.data = append(b.data, p...)
	}
	return len(p), nil
}

// keepLast appends p and drops the oldest output past max, cutting after a
// newline so the buffer starts at a line (unless one line is longer than max).
func (b *Buffer) keepLast(p []byte) {
	b.data = append(b.data, p...)
	over := len(b.data) - b.max
	if over <= 0 {
		return
	}
	b.truncated = true
	if b.data[over-1] != '\n' { // not already at a line start
		if i := bytes.IndexByte(b.data[over:], '\n'); i >= 0 && over+i+1 < len(b.data) {
			over += i + 1
		}
	}
	b.data = b.data[:copy(b.data, b.data[over:])]
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
