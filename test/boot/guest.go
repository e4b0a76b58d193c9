package boot

// Helpers shared by the boot test and the desktop test (test/desktop):
// the serial console, debugfs overlays, the accelerator probe.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Console collects what the guest writes on ttyS0 and lets the test wait for
// patterns in it, from a moving cursor (so each expectation consumes output).
type Console struct {
	conn net.Conn
	mu   sync.Mutex // guards buf, cur, done
	buf  bytes.Buffer
	cur  int
	done bool
	ch   chan struct{} // poked on every read
	log  *os.File
}

func DialConsole(ctx context.Context, path string, logf *os.File) (*Console, error) {
	var conn net.Conn
	var err error
	for ctx.Err() == nil {
		if conn, err = net.Dial("unix", path); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if conn == nil {
		return nil, fmt.Errorf("serial socket %s: %w", path, err)
	}
	c := &Console{conn: conn, ch: make(chan struct{}, 1), log: logf}
	go c.read()
	return c, nil
}

func (c *Console) read() {
	b := make([]byte, 4096)
	for {
		n, err := c.conn.Read(b)
		c.mu.Lock()
		c.buf.Write(b[:n])
		if c.log != nil {
			c.log.Write(b[:n])
		}
		if err != nil {
			c.done = true
		}
		c.mu.Unlock()
		select {
		case c.ch <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// Expect waits for re after the cursor and moves the cursor past it.
func (c *Console) Expect(t testing.TB, re string, d time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(d)
	for {
		c.mu.Lock()
		data := c.buf.Bytes()[c.cur:]
		if loc := rx.FindIndex(data); loc != nil {
			m := string(data[loc[0]:loc[1]])
			c.cur += loc[1]
			c.mu.Unlock()
			return m
		}
		done := c.done
		c.mu.Unlock()
		if done {
			t.Fatalf("console closed while waiting for %q", re)
		}
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %q on the console", d, re)
		}
	}
}

// Send writes s to the guest's serial port.
func (c *Console) Send(t testing.TB, s string) {
	t.Helper()
	// A short pause lets agetty/login switch terminal modes before input.
	time.Sleep(300 * time.Millisecond)
	if _, err := c.conn.Write([]byte(s)); err != nil {
		t.Fatalf("write to console: %v", err)
	}
}

// All is everything the guest wrote so far.
func (c *Console) All() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// Run runs a host command and fails the test, with its output, if it fails.
func Run(t testing.TB, ctx context.Context, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Overlay writes the files to install into the image with debugfs -w: far
// faster than rebuilding the ext4 image.
func Overlay(t testing.TB, ctx context.Context, img string, files map[string]string, modes map[string]string) {
	OverlayLinks(t, ctx, img, files, modes, nil)
}

// OverlayLinks is Overlay with symbolic links too (image path -> target).
func OverlayLinks(t testing.TB, ctx context.Context, img string, files, modes, links map[string]string) {
	var cmds strings.Builder
	dirs := map[string]bool{}
	for dst, src := range files {
		for d := filepath.Dir(dst); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		fmt.Fprintf(&cmds, "rm %s\nwrite %s %s\nsif %s mode %s\n", dst, src, dst, dst, modes[dst])
	}
	for dst, target := range links {
		for d := filepath.Dir(dst); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		fmt.Fprintf(&cmds, "rm %s\nsymlink %s %s\n", dst, dst, target)
	}
	var mk strings.Builder
	for d := range dirs {
		fmt.Fprintf(&mk, "mkdir %s\n", d)
	}
	// mkdir of a parent must come first; sort by depth.
	ds := strings.Split(strings.TrimSpace(mk.String()), "\n")
	sortByDepth(ds)
	script := filepath.Join(t.TempDir(), "debugfs.cmds")
	if err := os.WriteFile(script, []byte(strings.Join(ds, "\n")+"\n"+cmds.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	Run(t, ctx, "debugfs", "-w", "-f", script, img)
}

func sortByDepth(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && strings.Count(s[j], "/") < strings.Count(s[j-1], "/"); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Accelerator picks kvm when /dev/kvm opens and the CPU shows hardware
// virtualization (vmx/svm): a /dev/kvm without them is a nested set-up
// where guests were seen to hang in the firmware. GINIT_BOOT_ACCEL overrides.
func Accelerator() string {
	if a := os.Getenv("GINIT_BOOT_ACCEL"); a != "" {
		return a
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg"
	}
	f.Close()
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || !regexp.MustCompile(`(?m)^flags\s*:.*\b(vmx|svm)\b`).Match(info) {
		return "tcg"
	}
	return "kvm"
}

// LastLine is s's last non-empty line.
func LastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Tail is the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
