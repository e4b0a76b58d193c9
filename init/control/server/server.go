// Package server serves ginit's control socket: it accepts connections
// (root and ginit's own uid only), reads requests with bounded memory and
// time, and hands each to a Backend — the service manager in ginit, a fake
// in tests.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/control"
)

// Server limits.
const (
	// writeTimeout bounds each response write: a client that stops reading
	// loses its connection instead of holding a goroutine forever. A slow
	// reader that keeps draining is fine: the deadline is per write call of
	// at most one response.
	writeTimeout = 60 * time.Second
	// frameTimeout bounds a request from its first byte to its last: a peer
	// that announces a frame and stalls loses its connection. Local clients
	// send a request in microseconds.
	frameTimeout = 10 * time.Second
	// idleTimeout closes an accepted connection that sends no request for
	// this long (ginitctl and sessiond make one connection per request;
	// a pass-cs-fd connection is not accepted and never idles out).
	idleTimeout = 5 * time.Minute
	// maxConns bounds the accepted connections served at once. At the
	// limit the one stalled longest (waiting for a request, or in the
	// middle of one, not one whose request is being carried out) is closed
	// to admit the next, so a flood of stalled peers cannot lock ginitctl
	// out; when every connection is busy, new ones wait in the backlog.
	maxConns = 256
	// listenBacklog is how many connections may wait for accept: room for
	// a burst of clients while the accept loop makes room for them.
	listenBacklog = 1024
)

// Backend executes requests. The service manager implements it; the server
// calls Do from one goroutine per connection, so Do must be safe for
// concurrent use (the manager serialises requests through its own loop).
// Do blocks until the request is complete (for start/stop without NoWait,
// until the service reached its target or failed) or ctx ends.
type Backend interface {
	Do(ctx context.Context, req control.Request) control.Response
}

// Streamer is a Backend that also serves attach sessions (control.OpAttach):
// Stream owns c for the session, writes the response frame itself, and
// returns when the session ends; the server then closes c. A connection in
// a session counts as busy, so it is never evicted.
type Streamer interface {
	Stream(ctx context.Context, req control.Request, c *net.UnixConn)
}

// Logger receives the server's few messages (accept errors, floods).
type Logger interface {
	Printf(format string, args ...any)
}

// Server serves the control socket. Access: only root and the daemon's own
// uid may connect (checked with SO_PEERCRED); anyone else gets a Refused
// response and is disconnected. The socket file itself is mode 0600.
type Server struct {
	path    string
	backend Backend
	log     Logger
	ln      *net.UnixListener

	// The limits, constants outside tests.
	maxConns     int
	frameTimeout time.Duration
	idleTimeout  time.Duration

	mu       sync.Mutex // guards everything below
	freed    *sync.Cond // on mu: a connection ended, or the server closed
	conns    map[*conn]struct{}
	accepted int     // connections in conns that count against maxConns
	stamp    uint64  // progress counter: orders connections by last progress
	full     bool    // the limit was reached and has not eased since
	evicted  int     // stalled connections closed while full
	evicting int     // of those, the ones whose goroutine has not ended yet
	cands    []*conn // stalledLocked's scratch list
	done     bool
	wg       sync.WaitGroup
}

// conn is one served connection; its fields but c are guarded by Server.mu.
type conn struct {
	c        *net.UnixConn
	accepted bool   // counts against maxConns and may be evicted
	busy     bool   // its request is being carried out
	evicted  bool   // closed to make room
	midFrame bool   // a request frame has begun and not yet arrived whole
	last     uint64 // Server.stamp at its last progress
}

// NewServer creates the socket at path (mode 0600, umask-independent) and
// returns a server ready to Serve. It refuses when another instance answers
// on path and removes a stale socket file otherwise.
func NewServer(path string, backend Backend, logger Logger) (*Server, error) {
	ln, err := listen(path)
	if err != nil {
		return nil, err
	}
	s := &Server{path: path, backend: backend, log: logger, ln: ln, conns: map[*conn]struct{}{},
		maxConns: maxConns, frameTimeout: frameTimeout, idleTimeout: idleTimeout}
	s.freed = sync.NewCond(&s.mu)
	return s, nil
}

func listen(path string) (*net.UnixListener, error) {
	// Only a socket file can have an instance behind it: without one there
	// is nothing to ask (the usual start), and the question is a bare
	// connect rather than net.Dial's resolver, context and poller.
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		if answering(path) {
			return nil, fmt.Errorf("control socket %s: another instance is answering", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: removing stale socket: %w", path, err)
		}
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	// Linux creates the socket inode with the mode of the socket fd minus the
	// umask, so fchmod before bind means the file is never more open than
	// 0600, whatever the umask (no window, no process-wide umask change).
	if err := unix.Fchmod(fd, 0o600); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("control socket %s: fchmod: %w", path, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("control socket %s: bind: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: chmod: %w", path, err)
	}
	// The kernel caps the backlog at net.core.somaxconn.
	if err := unix.Listen(fd, listenBacklog); err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: listen: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(true)
	return ul, nil
}

// answering reports whether a listener is behind the socket at path: the
// connect is non-blocking, and a full backlog (EAGAIN) is a listener too,
// whose socket must not be taken from it.
func answering(path string) bool {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
	return err == nil || err == unix.EAGAIN || err == unix.EINPROGRESS
}

// Path is the socket path.
func (s *Server) Path() string { return s.path }

// Serve accepts connections until ctx ends or Close is called. It returns
// nil after a Close or the end of ctx.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			s.mu.Lock()
			done := s.done
			s.mu.Unlock()
			if done || errors.Is(err, net.ErrClosed) {
				s.wg.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.logf("control: accept: %v", err)
			// EMFILE and friends: back off rather than spin.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if s.admit() {
			s.serve(ctx, c, true)
		} else {
			c.Close()
		}
	}
}

// admit waits until another accepted connection may be served, closing the
// longest-stalled one at the limit. It reports false once the server is
// closing.
func (s *Server) admit() bool {
	s.mu.Lock()
	var msg string
	for s.accepted >= s.maxConns && !s.done {
		if !s.full {
			s.full = true
			msg = fmt.Sprintf("control: %d connections open (the limit): closing the longest stalled ones to admit new ones", s.accepted)
		}
		// One at a time: a wake-up for another reason while the last
		// victim is still on its way out must not close a second one.
		if s.evicting == 0 {
			v, unreadOnly := s.stalledLocked()
			if v != nil {
				v.evicted = true
				s.evicted++
				s.evicting++
				v.c.Close()
			} else if unreadOnly {
				// Every candidate has a request its goroutine has yet
				// to read; nothing will signal once it has.
				s.mu.Unlock()
				time.Sleep(time.Millisecond)
				s.mu.Lock()
				continue
			}
		}
		// Wait for a connection's goroutine to end: the evicted one, or
		// one that finishes its request when all are busy.
		s.freed.Wait()
	}
	ok := !s.done
	s.mu.Unlock()
	if msg != "" {
		s.logf("%s", msg)
	}
	return ok
}

// stalledLocked picks the accepted connection that made no progress for the
// longest, not counting those being served or already closed, nor those
// with bytes waiting in their socket: a request that arrived whole but
// whose goroutine has not run yet (the accept loop can outpace it on a
// busy machine) is no stall, however old its connection. One stuck in the
// middle of a frame goes before one that has sent nothing yet: a client
// such as ginitctl sends its request whole right after connecting.
// unreadOnly reports that every candidate had bytes waiting.
func (s *Server) stalledLocked() (v *conn, unreadOnly bool) {
	s.cands = s.cands[:0]
	for k := range s.conns {
		if k.accepted && !k.busy && !k.evicted {
			s.cands = append(s.cands, k)
		}
	}
	slices.SortFunc(s.cands, func(a, b *conn) int {
		if a.midFrame != b.midFrame {
			if a.midFrame {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.last, b.last)
	})
	for _, k := range s.cands {
		if !unread(k.c) {
			return k, false
		}
	}
	return nil, len(s.cands) > 0
}

// unread reports whether c's socket holds bytes not read yet.
func unread(c *net.UnixConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	if err := rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil {
		return false
	}
	return n > 0
}

// closeGrace is how long Close lets connections whose request is being
// carried out write their answer: the daemon closes the socket right after
// a shutdown it was asked for, and ginitctl shutdown must hear its OK.
const closeGrace = time.Second

// Close stops accepting, closes every idle connection, gives the busy ones
// closeGrace to write their answer, closes what is left and removes the
// socket.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return nil
	}
	s.done = true
	busy := 0
	for k := range s.conns {
		if k.busy {
			busy++
		} else {
			k.c.Close()
		}
	}
	s.freed.Broadcast()
	s.mu.Unlock()
	err := s.ln.Close()
	if busy > 0 {
		ended := make(chan struct{})
		go func() { s.wg.Wait(); close(ended) }()
		t := time.NewTimer(closeGrace)
		select {
		case <-ended:
		case <-t.C:
			s.mu.Lock()
			for k := range s.conns {
				k.c.Close()
			}
			s.mu.Unlock()
			<-ended
		}
		t.Stop()
	}
	return err
}

func (s *Server) logf(format string, args ...any) {
	if s.log != nil {
		s.log.Printf(format, args...)
	}
}

// peerAllowed reports whether the connecting process is root or our uid.
func peerAllowed(c *net.UnixConn) (uid uint32, ok bool, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	var cred *unix.Ucred
	var serr error
	if err := rc.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, false, err
	}
	if serr != nil {
		return 0, false, serr
	}
	return cred.Uid, cred.Uid == 0 || int(cred.Uid) == os.Getuid(), nil
}

// ServeConn serves one connection made elsewhere (options pass-cs-fd: one
// end of a socket pair given to a service) on its own goroutine until it
// closes or the server is closed. Such a connection does not count against
// the limit of accepted ones and may stay idle for as long as it likes.
func (s *Server) ServeConn(ctx context.Context, c *net.UnixConn) error {
	return s.serve(ctx, c, false)
}

func (s *Server) serve(ctx context.Context, c *net.UnixConn, accepted bool) error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		c.Close()
		return net.ErrClosed
	}
	k := &conn{c: c, accepted: accepted}
	s.progressLocked(k, false)
	s.conns[k] = struct{}{}
	if accepted {
		s.accepted++
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		s.serveConn(ctx, k)
		c.Close()
		s.mu.Lock()
		delete(s.conns, k)
		if k.evicted {
			s.evicting--
		}
		var msg string
		if accepted {
			s.accepted--
			// The pressure is over once half the slots are free again.
			if s.full && s.accepted <= s.maxConns/2 {
				msg = fmt.Sprintf("control: connections back to %d: %d stalled ones were closed", s.accepted, s.evicted)
				s.full, s.evicted = false, 0
			}
		}
		s.freed.Broadcast()
		s.mu.Unlock()
		if msg != "" {
			s.logf("%s", msg)
		}
	}()
	return nil
}

// progress records that k finished a step (connected, answered) and whether
// it is now carrying out a request. It reports whether the server is
// closing (the connection then ends: Close left it open for its answer).
func (s *Server) progress(k *conn, busy bool) (closing bool) {
	s.mu.Lock()
	s.progressLocked(k, busy)
	closing = s.done
	s.mu.Unlock()
	return closing
}

func (s *Server) progressLocked(k *conn, busy bool) {
	s.stamp++
	k.last, k.busy, k.midFrame = s.stamp, busy, false
}

func (s *Server) serveConn(ctx context.Context, k *conn) {
	c := k.c
	var out []byte
	write := func(r *control.Response) bool {
		out = control.AppendResponse(out, r)
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(out); err != nil {
			s.logf("control: writing response: %v", err)
			return false
		}
		out = control.Recycle(out)
		return true
	}
	uid, ok, err := peerAllowed(c)
	if err != nil {
		if !errors.Is(err, net.ErrClosed) { // closed: evicted before it began
			s.logf("control: peer credentials: %v", err)
		}
		return
	}
	if !ok {
		write(&control.Response{Code: control.Refused, Message: fmt.Sprintf("permission denied: uid %d may not use the control socket", uid)})
		return
	}
	begun := func() {
		c.SetReadDeadline(time.Now().Add(s.frameTimeout))
		s.mu.Lock()
		k.midFrame = true
		s.mu.Unlock()
	}
	var in []byte
	for {
		var idle time.Time // zero: no deadline
		if k.accepted {
			idle = time.Now().Add(s.idleTimeout)
		}
		c.SetReadDeadline(idle)
		var err error
		in, err = control.ReadRequest(c, in, begun)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
				// Gone, evicted, idle or stalled mid-frame: nothing to answer
				// (and nothing to log: a flood would fill the log).
				return
			case errors.Is(err, control.ErrVersion), errors.Is(err, control.ErrBadKind):
				// Framing intact: answer and keep the connection.
				if !write(&control.Response{Code: control.BadRequest, Message: err.Error()}) {
					return
				}
				s.progress(k, false)
				continue
			case errors.Is(err, control.ErrBadMagic), errors.Is(err, control.ErrTooLarge):
				write(&control.Response{Code: control.BadRequest, Message: err.Error()})
				return
			default:
				// Truncated frame or a read error: nothing sane to answer.
				return
			}
		}
		s.progress(k, true)
		req, err := control.DecodeRequestPayload(in)
		in = control.Recycle(in)
		var resp control.Response
		if err != nil {
			resp = control.Response{Code: control.BadRequest, Message: err.Error()}
		} else if !req.Op.Known() {
			resp = control.Response{Code: control.BadRequest, Message: fmt.Sprintf("unknown op %q", req.Op)}
		} else if req.Op == control.OpAttach {
			st, ok := s.backend.(Streamer)
			if ok {
				c.SetDeadline(time.Time{})
				st.Stream(ctx, req, c)
				return
			}
			resp = control.Response{Code: control.Unsupported, Message: "attach is not served here"}
		} else {
			resp = s.backend.Do(ctx, req)
		}
		// Busy until the answer is written: marked idle before the write,
		// a connection could be evicted at the limit in the middle of its
		// own answer (TestControlFlood's list read EOF once). A peer that
		// does not read is still bounded by writeTimeout.
		if !write(&resp) || s.progress(k, false) {
			return
		}
	}
}
