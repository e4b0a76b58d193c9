package sys

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestFIFO: the read end reports EOF once every copy of the write end is
// closed, and not when sessiond closes its own end; a stray byte changes
// nothing.
// Both ways of watching: a goroutine per FIFO (Watch) and the shared
// FIFOPoller.
func TestFIFO(t *testing.T) {
	p, err := NewFIFOPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, polled := range []bool{false, true} {
		t.Run(map[bool]string{false: "goroutine", true: "poller"}[polled], func(t *testing.T) { testFIFO(t, p, polled) })
	}
	if _, err := OpenFIFO(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing FIFO: %v", err)
	}
	var none *FIFO
	none.Close() // no FIFO: nothing to close
}

func testFIFO(t *testing.T, p *FIFOPoller, polled bool) {
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
			if polled {
				if err := p.Watch(r, func() { eof <- struct{}{} }); err != nil {
					t.Fatal(err)
				}
			} else {
				go r.Watch(func() { eof <- struct{}{} })
			}
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
}

// TestFIFOPollerMany: a thousand FIFOs on one poller; each reports its
// own EOF exactly once, whichever order their writers go in, and closing
// the poller with watches left returns.
func TestFIFOPollerMany(t *testing.T) {
	p, err := NewFIFOPoller()
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	dir := t.TempDir()
	got := make(chan int, 2*n)
	var ws []*os.File
	var rs []*FIFO
	for i := 0; i < n; i++ {
		r, w, err := CreateFIFO(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Watch(r, func() { got <- i }); err != nil {
			t.Fatal(err)
		}
		rs, ws = append(rs, r), append(ws, w)
	}
	for i := n - 1; i >= n/2; i-- { // the second half's writers go
		ws[i].Close()
	}
	seen := map[int]bool{}
	for len(seen) < n/2 {
		select {
		case i := <-got:
			if seen[i] || i < n/2 {
				t.Fatalf("EOF of %d (again or still written)", i)
			}
			seen[i] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d EOFs", len(seen), n/2)
		}
	}
	select {
	case i := <-got:
		t.Fatalf("extra EOF of %d", i)
	case <-time.After(100 * time.Millisecond):
	}
	// Reopened by path with no writer (a restarted sessiond whose client
	// is gone): EOF at once.
	again, err := OpenFIFO(filepath.Join(dir, "0"))
	if err != nil {
		t.Fatal(err)
	}
	ws[0].Close()
	if err := p.Watch(again, func() { got <- -1 }); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if i == -1 {
			break
		}
		if i != 0 {
			t.Fatalf("EOF of %d", i)
		}
	}
	again.Close()
	p.Close()
	for i := range rs {
		rs[i].Close()
		ws[i].Close()
	}
}

// TestOpenFIFOAllocs: a kept read end is a descriptor and its FIFO, not an
// *os.File (its structs, cleanup record and runtime poll descriptor), as
// sessiond keeps one per session and inhibitor lock.
func TestOpenFIFOAllocs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ref")
	r, w, err := CreateFIFO(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()
	allocs := testing.AllocsPerRun(50, func() {
		h, err := OpenFIFO(path)
		if err != nil {
			t.Fatal(err)
		}
		h.Close()
	})
	// The path's C string and the FIFO.
	if allocs > 2 {
		t.Errorf("OpenFIFO and Close allocate %.0f objects, want at most 2", allocs)
	}
}
