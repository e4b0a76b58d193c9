package initns

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/control"
)

// ptyClient runs `ginitctl attach` on a pseudo-terminal of the test's own,
// as a person at a terminal would: keys are written to its master, the
// screen is what the master reads.
type ptyClient struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	screen bytes.Buffer
	done   chan error
}

func (in *instance) attach(t *testing.T, name string, rows, cols uint16) *ptyClient {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := &ptyClient{t: t, master: master, done: make(chan error, 1)}
	c.cmd = exec.Command(filepath.Join(in.bin, "ginitctl"), "-p", in.sock, "attach", name)
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = slave, slave, slave
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The test keeps its slave open: once none is, Linux may drop output
	// the master has not read yet (the detach message).
	go func() { c.done <- c.cmd.Wait() }()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			c.mu.Lock()
			c.screen.Write(buf[:n])
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		master.Close()
		slave.Close()
	})
	c.waitFor("attached to '" + name + "'")
	return c
}

func (c *ptyClient) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.screen.String()
}

// tail is the last n bytes on the screen.
func (c *ptyClient) tail(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.screen.Bytes()
	return string(b[max(0, len(b)-n):])
}

func (c *ptyClient) waitFor(s string) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.text(), s) {
		if time.Now().After(deadline) {
			c.t.Fatalf("the attached terminal never showed %q; it shows %q", s, c.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *ptyClient) typeKeys(s string) {
	c.t.Helper()
	if _, err := c.master.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *ptyClient) wait() error {
	c.t.Helper()
	select {
	case err := <-c.done:
		return err
	case <-time.After(10 * time.Second):
		c.t.Fatal("ginitctl attach did not end")
		return nil
	}
}

// A shell on a ginit-held terminal: typed input reaches it and its output
// the attached terminal, with the window size of the attaching terminal;
// Ctrl-] d detaches and leaves it running; a second attach replays the
// recent output; two attaches see the same screen; a client killed with
// SIGKILL leaves the terminal and the shell alive.
func TestAttachTerminal(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":  "type = internal\nwaits-for: shell\n",
		"shell": "type = process\ncommand = /bin/sh\nterminal = pty\nrestart = no\nterm-signal = HUP\n", // an interactive shell ignores TERM
	})
	in.waitState("shell", "started")
	pid := in.mustCtl("status", "shell").out

	a := in.attach(t, "shell", 33, 101)
	a.typeKeys("echo ab''cd; stty size\r")
	a.waitFor("abcd")
	a.waitFor("33 101")
	a.typeKeys("\x1dd")
	if err := a.wait(); err != nil {
		t.Fatalf("detach: %v; screen %q", err, a.text())
	}
	a.waitFor("detached from 'shell'") // read off the master after ginitctl ended
	if st := in.state("shell"); st != "started" {
		t.Fatalf("shell is %s after the detach", st)
	}

	b := in.attach(t, "shell", 24, 80)
	b.waitFor("abcd") // the replay
	c := in.attach(t, "shell", 24, 80)
	b.typeKeys("echo sh''ared\r")
	b.waitFor("shared")
	c.waitFor("shared")
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.wait()
	b.typeKeys("echo st''ill\r")
	b.waitFor("still")
	b.typeKeys("\x1dd")
	if err := b.wait(); err != nil {
		t.Fatal(err)
	}
	if after := in.mustCtl("status", "shell").out; in.state("shell") != "started" || pidLine(after) != pidLine(pid) {
		t.Fatalf("the shell did not survive its clients:\nbefore %s\nafter %s", pid, after)
	}
	if log := in.mustCtl("catlog", "shell").out; !strings.Contains(log, "still") {
		t.Errorf("catlog does not show the terminal's output: %q", log)
	}
	// attach to a service without a terminal is refused with a reason.
	if r := in.ctl("attach", "boot"); r.code == 0 || !strings.Contains(r.err, "no terminal") {
		t.Errorf("attach to boot: %s", r)
	}
}

func pidLine(status string) string {
	for _, l := range strings.Split(status, "\n") {
		if strings.Contains(l, "Process ID") {
			return l
		}
	}
	return ""
}

// Hostile attach clients: garbage frames end only their own session, and
// a client that never reads is dropped instead of holding up the
// service's output, which another client still sees in full.
func TestAttachHostileClients(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":  "type = internal\nwaits-for: shell\n",
		"shell": "type = process\ncommand = /bin/sh\nterminal = pty\nrestart = no\nterm-signal = HUP\n",
	})
	in.waitState("shell", "started")
	dial := func() net.Conn {
		c, err := control.Dial(in.sock)
		if err != nil {
			t.Fatal(err)
		}
		conn, resp, err := c.Attach(context.Background(), "shell")
		if err != nil || resp.Code != control.OK {
			t.Fatalf("attach: %v %+v", err, resp)
		}
		return conn
	}
	bad := dial()
	if _, err := bad.Write([]byte("zz\x00garbage")); err != nil {
		t.Fatal(err)
	}
	bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, bad); err != nil {
		t.Fatalf("ginit did not end the garbage session: %v", err)
	}
	bad.Close()

	stalled := dial() // never read
	defer stalled.Close()
	good := in.attach(t, "shell", 24, 80)
	// 4 MB of output, more than the stalled client's queue (256 reads of
	// at most 4 KiB from a pty) and its socket buffers hold.
	good.typeKeys("i=0; while [ $i -lt 4 ]; do head -c 1000000 /dev/zero | tr '\\\\0' x; i=$((i+1)); done; echo; echo en''d\r")
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(good.tail(64), "\r\nend\r\n") {
		if time.Now().After(deadline) {
			t.Fatalf("the output never finished: %d bytes seen", len(good.text()))

		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := in.state("shell"); st != "started" {
		t.Fatalf("shell is %s", st)
	}
}

// A client typing into a service that never reads its input is cut off
// after a while instead of holding a connection (and a slot of the control
// socket) for ever; the service and its terminal go on.
func TestAttachInputNobodyReads(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\nwaits-for: deaf\n",
		"deaf": "type = process\ncommand = /bin/sleep 1000\nterminal = pty\nrestart = no\n",
	})
	in.waitState("deaf", "started")
	c, err := control.Dial(in.sock)
	if err != nil {
		t.Fatal(err)
	}
	conn, resp, err := c.Attach(context.Background(), "deaf")
	if err != nil || resp.Code != control.OK {
		t.Fatalf("attach: %v %+v", err, resp)
	}
	defer conn.Close()
	frame := control.AppendAttachInput(nil, bytes.Repeat([]byte("y"), control.MaxAttachInput))
	conn.SetWriteDeadline(time.Now().Add(40 * time.Second))
	t0 := time.Now()
	var werr error
	for werr == nil {
		_, werr = conn.Write(frame)
	}
	if errors.Is(werr, os.ErrDeadlineExceeded) {
		t.Fatalf("ginit still holds the session after %v", time.Since(t0))
	}
	t.Logf("the session ended after %v: %v", time.Since(t0).Round(time.Millisecond), werr)
	if st := in.state("deaf"); st != "started" {
		t.Fatalf("deaf is %s", st)
	}
	again := in.attach(t, "deaf", 24, 80) // the terminal still serves
	again.typeKeys("\x1dd")
	if err := again.wait(); err != nil {
		t.Fatal(err)
	}
}
