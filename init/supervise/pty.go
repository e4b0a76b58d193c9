package supervise

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/control"
	"ginit/init/service"
)

// Terminals (terminal = pty | vt:N). A pty service's start command gets
// the slave side of a pseudo-terminal as stdin, stdout and stderr, in a
// session of its own with it as controlling terminal. ginit holds the
// master: one goroutine reads the output into a replay buffer and hands
// it to every attached client; clients' input and window sizes are
// written to the master. ginit also keeps a slave descriptor of its own,
// so the master never hangs up while no process has the terminal open
// (between runs, or after a restart). The terminal is made at the first
// start and kept with the service's record, like its log buffer, so
// attaching to a stopped service still shows what it last wrote.

// termReplay is how much recent output an attach is shown first.
const termReplay = 64 << 10

// clientQueue is how many output chunks a client may lag behind; then the
// output waits for it, as a real terminal holds up a program writing
// faster than it shows, but for clientStall at most: a client that has
// read nothing for that long is dropped, so a stalled client holds up the
// service's output once, briefly, and never for good.
const (
	clientQueue = 256
	clientStall = 2 * time.Second
)

// clientWrite bounds one write to a client.
const clientWrite = 10 * time.Second

type terminal struct {
	name   string
	master *os.File
	peer   *os.File // ginit's own slave end
	// input is written to the master by one goroutine (feed): a service
	// that does not read its input blocks that one, never a session.
	input chan []byte

	mu      sync.Mutex
	ring    []byte
	clients map[*termClient]struct{}
}

type termClient struct {
	out     chan []byte
	gone    chan struct{} // closed when the session ends
	dropped chan struct{} // closed by pump when it gives up on the client
}

// openPTY opens a new pseudo-terminal: its master (pollable, so Close ends
// a blocked Read) and a slave descriptor.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("terminal: open /dev/ptmx: %w", unwrapPath(err))
	}
	slave, err = ptyPeer(master)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// ptyPeer opens another slave descriptor of master (TIOCGPTPEER: no
// /dev/pts path to look up, so no race with another pts mount).
func ptyPeer(master *os.File) (*os.File, error) {
	rc, err := master.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd int
	var ioErr error
	cerr := rc.Control(func(m uintptr) {
		if ioErr = unix.IoctlSetPointerInt(int(m), unix.TIOCSPTLCK, 0); ioErr != nil {
			ioErr = fmt.Errorf("terminal: unlockpt: %w", ioErr)
			return
		}
		r, _, e := unix.Syscall(unix.SYS_IOCTL, m, unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
		if e != 0 {
			ioErr = fmt.Errorf("terminal: TIOCGPTPEER: %w", e)
			return
		}
		fd = int(r)
	})
	if cerr != nil {
		return nil, cerr
	}
	if ioErr != nil {
		return nil, ioErr
	}
	return os.NewFile(uintptr(fd), "pty-slave"), nil
}

// terminalFor returns the service's terminal, made at its first start.
func (s *Supervisor) terminalFor(name string) (*terminal, error) {
	s.mu.Lock()
	u := s.unitLocked(name)
	t := u.term
	s.mu.Unlock()
	if t != nil {
		return t, nil
	}
	master, peer, err := openPTY()
	if err != nil {
		return nil, err
	}
	t = &terminal{name: name, master: master, peer: peer, clients: map[*termClient]struct{}{}, input: make(chan []byte, 64)}
	s.mu.Lock()
	if u.term != nil { // made meanwhile
		s.mu.Unlock()
		master.Close()
		peer.Close()
		return u.term, nil
	}
	u.term = t
	s.mu.Unlock()
	go t.pump()
	go t.feed()
	return t, nil
}

// feed writes the clients' input to the master.
func (t *terminal) feed() {
	for p := range t.input {
		if _, err := t.master.Write(p); err != nil {
			return
		}
	}
}

// terminalStdio gives a start command its terminal as stdin, stdout and
// stderr and the controlling terminal of a new session.
func (s *Supervisor) terminalStdio(d *service.Description, st *setup) error {
	var f *os.File
	switch d.Terminal {
	case service.TerminalPTY:
		t, err := s.terminalFor(d.Name)
		if err != nil {
			return err
		}
		if f, err = ptyPeer(t.master); err != nil {
			return err
		}
	case service.TerminalVT:
		path := fmt.Sprintf("/dev/tty%d", d.Ext().VT)
		var err error
		if f, err = os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0); err != nil {
			return fmt.Errorf("terminal vt:%d: %w", d.Ext().VT, err)
		}
	default:
		return fmt.Errorf("terminal kind %d", d.Terminal)
	}
	st.close = append(st.close, f)
	st.setFD(0, f)
	st.setFD(1, f)
	st.setFD(2, f)
	st.sys.Setsid, st.sys.Setctty, st.sys.Ctty = true, true, 0
	return nil
}

// pump copies the terminal's output to the replay buffer and the clients.
// A terminal is kept for good, so pump runs for the life of ginit.
func (t *terminal) pump() {
	buf := make([]byte, 32<<10)
	for {
		n, err := t.master.Read(buf)
		if n > 0 {
			t.output(append([]byte(nil), buf[:n]...))
		}
		if err != nil {
			if errors.Is(err, syscall.EIO) {
				// Only without any slave open, which ginit's own prevents.
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return
		}
	}
}

// output keeps chunk for the replay and hands it to every client. Only
// pump calls it, so each client gets the chunks in order.
func (t *terminal) output(chunk []byte) {
	t.mu.Lock()
	t.ring = append(t.ring, chunk...)
	if len(t.ring) > 2*termReplay {
		t.ring = append([]byte(nil), t.ring[len(t.ring)-termReplay:]...)
	}
	clients := make([]*termClient, 0, len(t.clients))
	for c := range t.clients {
		clients = append(clients, c)
	}
	t.mu.Unlock()
	for _, c := range clients {
		select {
		case c.out <- chunk:
			continue
		case <-c.gone:
			continue
		default:
		}
		stall := time.NewTimer(clientStall)
		select {
		case c.out <- chunk:
		case <-c.gone:
		case <-stall.C:
			t.mu.Lock()
			delete(t.clients, c)
			t.mu.Unlock()
			close(c.dropped)
		}
		stall.Stop()
	}
}

// replay is the recent output, oldest first.
func (t *terminal) replay() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.ring[max(0, len(t.ring)-termReplay):]...)
}

// leave ends c's session.
func (t *terminal) leave(c *termClient) {
	t.mu.Lock()
	delete(t.clients, c)
	t.mu.Unlock()
	close(c.gone)
}

// setSize sets the terminal's window size; the kernel tells the
// foreground process group (SIGWINCH).
func (t *terminal) setSize(w control.Winsize) error {
	rc, err := t.master.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) {
		ioErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: w.Rows, Col: w.Cols, Xpixel: w.XPixel, Ypixel: w.YPixel})
	}); err != nil {
		return err
	}
	return ioErr
}

// attach runs one client's session on conn: hello (the OK response) and
// the replay first, then live output; input and window sizes from the
// client's frames. It returns when the client leaves or ctx ends.
func (t *terminal) attach(ctx context.Context, conn net.Conn, hello []byte) {
	c := &termClient{out: make(chan []byte, clientQueue), gone: make(chan struct{}), dropped: make(chan struct{})}
	t.mu.Lock()
	first := append(hello, t.ring[max(0, len(t.ring)-termReplay):]...)
	t.clients[c] = struct{}{}
	t.mu.Unlock()

	write := func(p []byte) bool {
		conn.SetWriteDeadline(time.Now().Add(clientWrite))
		_, err := conn.Write(p)
		return err == nil
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		defer conn.Close() // a failed write or a drop ends the session
		if !write(first) {
			return
		}
		for {
			select {
			case chunk := <-c.out:
				if !write(chunk) {
					return
				}
			case <-c.dropped:
				return
			case <-c.gone:
				return
			}
		}
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReader(conn)
	var buf []byte
	for {
		kind, p, win, err := control.ReadAttachFrame(r, buf)
		if err != nil {
			break
		}
		if kind == control.AttachWindow {
			_ = t.setSize(win)
			continue
		}
		select {
		case t.input <- append([]byte(nil), p...):
			buf = p[:0]
			continue
		case <-time.After(clientWrite):
			// The service has not read its input for that long: this
			// session ends rather than wait for ever (the service and
			// the terminal go on).
		}
		break
	}
	t.leave(c)
	conn.Close()
	<-wrote
}

// Attach serves an attach session with name's terminal on conn; hello is
// written first. It fails, writing nothing, when name has no terminal.
func (s *Supervisor) Attach(ctx context.Context, name string, conn net.Conn, hello []byte) error {
	s.mu.Lock()
	var t *terminal
	if u := s.units[name]; u != nil {
		t = u.term
	}
	s.mu.Unlock()
	if t == nil {
		return fmt.Errorf("service '%s' has no terminal to attach to (terminal = pty, started at least once)", name)
	}
	t.attach(ctx, conn, hello)
	return nil
}
