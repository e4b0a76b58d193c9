package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/service"
)

// Server timeouts.
const (
	// writeTimeout bounds each response write: a client that stops reading
	// loses its connection instead of holding a goroutine forever. A slow
	// reader that keeps draining is fine: the deadline is per write call of
	// at most one response.
	writeTimeout = 60 * time.Second
)

// Server serves the control socket. Access: only root and the daemon's own
// uid may connect (checked with SO_PEERCRED); anyone else gets a Refused
// response and is disconnected. The socket file itself is mode 0600.
type Server struct {
	path    string
	backend Backend
	log     service.Logger
	ln      *net.UnixListener

	mu    sync.Mutex // guards conns and closed
	conns map[net.Conn]struct{}
	done  bool
	wg    sync.WaitGroup
}

// NewServer creates the socket at path (mode 0600, umask-independent) and
// returns a server ready to Serve. It refuses when another instance answers
// on path and removes a stale socket file otherwise.
func NewServer(path string, backend Backend, logger service.Logger) (*Server, error) {
	ln, err := listen(path)
	if err != nil {
		return nil, err
	}
	return &Server{path: path, backend: backend, log: logger, ln: ln, conns: map[net.Conn]struct{}{}}, nil
}

func listen(path string) (*net.UnixListener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another instance is answering", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
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
	if err := unix.Listen(fd, 64); err != nil {
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
		_ = s.ServeConn(ctx, c) // closes c if the server is closing
	}
}

// Close stops accepting, closes every connection and removes the socket.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return nil
	}
	s.done = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	return s.ln.Close()
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

// ServeConn serves one connection, accepted or made elsewhere (options
// pass-cs-fd: one end of a socket pair given to a service), on its own
// goroutine until it closes or the server is closed.
func (s *Server) ServeConn(ctx context.Context, c *net.UnixConn) error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		c.Close()
		return net.ErrClosed
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		s.serveConn(ctx, c)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	return nil
}

func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	var out []byte
	write := func(r *Response) bool {
		out = AppendResponse(out, r)
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(out); err != nil {
			s.logf("control: writing response: %v", err)
			return false
		}
		// Do not keep a huge list buffer alive for an idle connection.
		if cap(out) > 64<<10 {
			out = nil
		}
		return true
	}
	uid, ok, err := peerAllowed(c)
	if err != nil {
		s.logf("control: peer credentials: %v", err)
		return
	}
	if !ok {
		write(&Response{Code: Refused, Message: fmt.Sprintf("permission denied: uid %d may not use the control socket", uid)})
		return
	}
	var in []byte
	for {
		var err error
		in, err = readFrame(c, in, kindRequest, MaxRequestSize)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
				return
			case errors.Is(err, ErrVersion), errors.Is(err, ErrBadKind):
				// Framing intact: answer and keep the connection.
				if !write(&Response{Code: BadRequest, Message: err.Error()}) {
					return
				}
				continue
			case errors.Is(err, ErrBadMagic), errors.Is(err, ErrTooLarge):
				write(&Response{Code: BadRequest, Message: err.Error()})
				return
			default:
				// Truncated frame or a read error: nothing sane to answer.
				return
			}
		}
		req, err := DecodeRequestPayload(in)
		if cap(in) > 64<<10 {
			in = nil
		}
		var resp Response
		if err != nil {
			resp = Response{Code: BadRequest, Message: err.Error()}
		} else if !knownOp(req.Op) {
			resp = Response{Code: BadRequest, Message: fmt.Sprintf("unknown op %q", req.Op)}
		} else {
			resp = s.backend.Do(ctx, req)
		}
		if !write(&resp) {
			return
		}
	}
}

func knownOp(op Op) bool {
	switch op {
	case OpVersion, OpStart, OpStop, OpRestart, OpWake, OpRelease, OpUnpin, OpStatus,
		OpList, OpReload, OpUnload, OpAddDep, OpRmDep, OpEnable, OpDisable, OpSetEnv,
		OpUnsetEnv, OpTrigger, OpUntrigger, OpSignal, OpCatLog, OpShutdown:
		return true
	}
	return false
}
