package logging

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBuffer: log-type = buffer keeps the first max bytes; the default
// (tail) keeps the newest, cut at a line start where one fits.
func TestBuffer(t *testing.T) {
	tests := []struct {
		tail   bool
		max    int
		writes []string
		want   string
		trunc  bool
	}{
		{false, 8, []string{"abc", "def"}, "abcdef", false},
		{false, 8, []string{"abcdef", "ghij"}, "abcdefgh", true},
		{false, 4, []string{"abcd"}, "abcd", false},
		{false, 4, []string{"abcd", "e"}, "abcd", true},
		{true, 8, []string{"abc", "def"}, "abcdef", false},
		{true, 8, []string{"a\nb\n", "c\n", "d\n"}, "a\nb\nc\nd\n", false},
		{true, 8, []string{"one\ntwo\n", "three\n"}, "three\n", true},
		{true, 8, []string{"l1\nl2\nl3\n", "l4\n"}, "l3\nl4\n", true},
		{true, 4, []string{"abcdefgh"}, "efgh", true},       // one long line: its end
		{true, 6, []string{"ab\ncdefgh"}, "cdefgh", true},   // the cut lands on a line start
		{true, 5, []string{"abc\ndefgh\n"}, "efgh\n", true}, // no whole line fits
		{true, 0, []string{strings.Repeat("x\n", 3000)}, strings.Repeat("x\n", 2048), true},
	}
	for _, tc := range tests {
		b := NewBuffer(tc.max)
		if tc.tail {
			b = NewTail(tc.max)
		}
		for _, w := range tc.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		got, tr := b.Read(true)
		if string(got) != tc.want || tr != tc.trunc {
			t.Errorf("tail %v %.40q: Read = %.40q, %v; want %.40q, %v", tc.tail, tc.writes, got, tr, tc.want, tc.trunc)
		}
		if got, tr := b.Read(false); len(got) != 0 || tr {
			t.Errorf("after clear: %q, %v", got, tr)
		}
	}
}

// TestRotatingNoLineLost writes well past the size limit from several
// writers and counts every line across the current and rotated files.
func TestRotatingNoLineLost(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "svc.log")
	const max, keep, lines = 1000, 3, 120 // 120 lines of ~20 bytes: ~2.4 KB over 3 files of 1 KB
	r, err := OpenRotating(path, 0o640, -1, -1, max, keep)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&buf, "line %04d xxxxxxxxx\n", i)
	}
	// Write in odd-sized chunks so that lines straddle writes.
	data := buf.Bytes()
	for len(data) > 0 {
		n := min(37, len(data))
		if _, err := r.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	r.Close()
	seen := map[string]bool{}
	for _, name := range []string{path + ".2", path + ".1", path} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fi, _ := f.Stat()
		if fi.Size() > max {
			t.Errorf("%s is %d bytes, over %d", name, fi.Size(), max)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if !strings.HasPrefix(sc.Text(), "line ") || len(sc.Text()) != 19 {
				t.Errorf("%s: split line %q", name, sc.Text())
			}
			seen[sc.Text()] = true
		}
		f.Close()
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Errorf("more than %d files kept", keep)
	}
	// Only the oldest lines may have rotated out past keep files.
	missing := 0
	for i := lines - 1; i >= 0; i-- {
		if !seen[fmt.Sprintf("line %04d xxxxxxxxx", i)] {
			missing = i + 1
			break
		}
	}
	kept := lines - missing
	if kept < 2*max/20 {
		t.Fatalf("only the last %d lines kept", kept)
	}
	for i := missing; i < lines; i++ {
		if !seen[fmt.Sprintf("line %04d xxxxxxxxx", i)] {
			t.Fatalf("line %d lost", i)
		}
	}
}

// TestRotatingAllLinesWhenKeepIsEnough: with enough old files every line is kept.
func TestRotatingAllLinesWhenKeepIsEnough(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.log")
	r, err := OpenRotating(path, 0o600, -1, -1, 200, 50)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		fmt.Fprintf(r, "%d\n", i)
	}
	r.Close()
	var all []string
	for i := 50; i >= 0; i-- {
		name := path
		if i > 0 {
			name = fmt.Sprintf("%s.%d", path, i)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		all = append(all, strings.Fields(string(b))...)
	}
	if len(all) != 300 {
		t.Fatalf("%d lines across files, want 300", len(all))
	}
	for i, l := range all {
		if l != fmt.Sprint(i) {
			t.Fatalf("line %d = %q (out of order or lost)", i, l)
		}
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestMainAttachFile(t *testing.T) {
	var console lockedBuf
	m := NewMain(&console)
	m.Printf("early %d", 1)
	m.Printf("early %d", 2)
	path := filepath.Join(t.TempDir(), "ginit.log")
	if err := m.AttachFile(path); err != nil {
		t.Fatal(err)
	}
	m.Printf("late")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{"early 1", "early 2", "late"}
	if len(lines) != len(want) {
		t.Fatalf("file = %q", b)
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], " "+w) {
			t.Errorf("line %d = %q, want suffix %q", i, lines[i], w)
		}
	}
	if c := console.String(); strings.Count(c, "\n") != 3 || !strings.Contains(c, "late") {
		t.Errorf("console = %q", c)
	}
}

// stuckWriter blocks until released, like a console nobody reads.
type stuckWriter struct{ release chan struct{} }

func (s stuckWriter) Write(p []byte) (int, error) {
	<-s.release
	return len(p), nil
}

// TestMainStuckConsole: a console that never accepts output does not block
// Printf; the lines are counted as dropped and still reach the file.
func TestMainStuckConsole(t *testing.T) {
	w := stuckWriter{release: make(chan struct{})}
	m := NewMain(w)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 3*consoleQueue; i++ {
			m.Printf("line %d", i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Printf blocked on a stuck console")
	}
	if m.Dropped() == 0 {
		t.Fatal("no console lines counted as dropped")
	}
	path := filepath.Join(t.TempDir(), "ginit.log")
	if err := m.AttachFile(path); err != nil {
		t.Fatal(err)
	}
	close(w.release)
	m.Close()
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 3*consoleQueue {
		t.Fatalf("file has %d lines, want %d", n, 3*consoleQueue)
	}
}

func TestPump(t *testing.T) {
	b := NewBuffer(100)
	Pump(b, io.NopCloser(strings.NewReader("hello")))
	if got, _ := b.Read(false); string(got) != "hello" {
		t.Fatalf("Pump copied %q", got)
	}
}

// TestAttachSyslog: lines kept from before (no file) and later lines
// reach a syslog socket as daemon.info messages without our time stamp.
func TestAttachSyslog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := NewMain(nil)
	defer m.Close()
	m.Printf("early %d", 1)
	if err := m.AttachSyslog(path); err != nil {
		t.Fatal(err)
	}
	m.Printf("later %d", 2)
	buf := make([]byte, 512)
	want := fmt.Sprintf("<30>ginit[%d]: ", os.Getpid())
	for _, text := range []string{"early 1", "later 2"} {
		_ = l.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := l.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != want+text {
			t.Errorf("syslog got %q, want %q", got, want+text)
		}
	}
	if err := m.AttachSyslog(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("attaching a missing socket succeeded")
	}
}
