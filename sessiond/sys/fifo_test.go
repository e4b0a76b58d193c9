package sys

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFIFO: the read end reports EOF once every copy of the write end is
// closed, and not when sessiond closes its own end; a stray byte changes
// nothing.
func TestFIFO(t *testing.T) {
	for _, c := range []struct {
		name    string
		end     func(r *FIFO, w, dup *os.File)
		wantEOF bool
	}{
		{"writers gone", func(r *FIFO, w, dup *os.File) { w.Write([]byte("x")); w.Close(); dup.Close() }, true},
		{"one writer left", func(r *FIFO, w, dup *os.File) { w.Close() }, false},
		{"closed by us", func(r *FIFO, w, dup *os.File) { r.Close() }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "1.ref")
			r, w, err := CreateFIFO(path)
			if err != nil {
				t.Fatal(err)
			}
			fd, err := syscall.Dup(int(w.Fd()))
			if err != nil {
				t.Fatal(err)
			}
			dup := os.NewFile(uintptr(fd), "dup")
			eof := make(chan struct{}, 1)
			go r.Watch(func() { eof <- struct{}{} })
			c.end(r, w, dup)
			select {
			case <-eof:
				if !c.wantEOF {
					t.Error("EOF reported")
				}
			case <-time.After(200 * time.Millisecond):
				if c.wantEOF {
					t.Error("no EOF")
				}
			}
			r.Close()
			w.Close()
			dup.Close()
			if again, err := OpenFIFO(path); err != nil {
				t.Errorf("reopen by path (a restarted sessiond): %v", err)
			} else {
				again.Close()
			}
		})
	}
	if _, err := OpenFIFO(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing FIFO: %v", err)
	}
	var none *FIFO
	none.Close() // no FIFO: nothing to close
}
