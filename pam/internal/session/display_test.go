package session

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestX11Socket(t *testing.T) {
	for display, want := range map[string]string{
		":0": "/d/X0", ":12.1": "/d/X12", "host:0": "", ":": "", ":x": "", "": "", ":1a": "",
	} {
		got, ok := x11Socket("/d", display)
		if got != want || ok != (want != "") {
			t.Errorf("x11Socket(%q) = %q, %v; want %q", display, got, ok, want)
		}
	}
}

func TestVTOfStat(t *testing.T) {
	tests := []struct {
		stat string
		want uint32 // 0: error
	}{
		{"123 (Xorg) S 1 123 123 1026 123 0", 2},  // 4:2 = tty2
		{"123 (a) b) S 1 123 123 1087 123 0", 63}, // 4:63, a name with ") "
		{"123 (Xorg) S 1 123 123 1024 123 0", 0},  // tty0
		{"123 (Xorg) S 1 123 123 1088 123 0", 0},  // 4:64 = ttyS0
		{"123 (Xorg) S 1 123 123 34816 123 0", 0}, // pts/0 (136:0)
		{"123 (Xorg) S 1 123 123 0 123 0", 0},     // no ctty
		{"123 (Xorg) S 1", 0},                     // truncated
		{"garbage", 0},
	}
	for _, tt := range tests {
		got, err := vtOfStat([]byte(tt.stat))
		if got != tt.want || (err == nil) != (tt.want != 0) {
			t.Errorf("vtOfStat(%q) = %d, %v; want %d", tt.stat, got, err, tt.want)
		}
	}
}

// TestDisplayVTPeer: the lookup reaches the listening process (this
// test), whose controlling terminal is no VT.
func TestDisplayVTPeer(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, "X5"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	n, err := DisplayVT(dir, ":5")
	if n != 0 || err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(syscall.Getpid())) {
		t.Errorf("DisplayVT(:5) = %d, %v; want an error about this process", n, err)
	}
	if _, err := DisplayVT(dir, ":6"); err == nil {
		t.Error("DisplayVT on a display without a socket succeeded")
	}
	if _, err := DisplayVT(dir, "remote:0"); err == nil {
		t.Error("DisplayVT on a remote display succeeded")
	}
}
