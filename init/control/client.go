package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// defaultSystemSocket is the system instance's socket path. It is link-time
// configuration (go build -ldflags "-X ginit/init/control.defaultSystemSocket=/path"),
// never changed at run time.
var defaultSystemSocket = "/run/ginitctl"

// DefaultSystemSocket returns the build-time default system socket path.
func DefaultSystemSocket() string { return defaultSystemSocket }

// SocketPath resolves the socket path: flag if set, else $GINIT_SOCKET_PATH,
// else for a user instance $XDG_RUNTIME_DIR/ginitctl (or $HOME/.ginitctl),
// else the build-time default. getenv is usually os.Getenv.
func SocketPath(flag string, user bool, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	if p := getenv("GINIT_SOCKET_PATH"); p != "" {
		return p
	}
	if user {
		if d := getenv("XDG_RUNTIME_DIR"); d != "" {
			return filepath.Join(d, "ginitctl")
		}
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, ".ginitctl")
		}
	}
	return defaultSystemSocket
}

// Client is one connection to the control socket. It is not safe for
// concurrent use; open one per goroutine.
type Client struct {
	conn *net.UnixConn
	// sync is DialSync's blocking socket, used instead of conn.
	sync *os.File
	buf  []byte
}

// FromFD makes a client of an inherited, already connected control socket
// (a service with options pass-cs-fd gets one in $GINIT_CS_FD/$DINIT_CS_FD).
func FromFD(fd int) (*Client, error) {
	f := os.NewFile(uintptr(fd), "control")
	if f == nil {
		return nil, fmt.Errorf("fd %d: not open", fd)
	}
	defer f.Close() // FileConn holds its own copy
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("fd %d: %w", fd, err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("fd %d: not a unix socket", fd)
	}
	return &Client{conn: uc}, nil
}

// Dial connects to the control socket at path.
func Dial(path string) (*Client, error) {
	// A full listen backlog fails a non-blocking connect with EAGAIN where
	// a blocking one would wait: wait too (ginit is making room), but not
	// for ever.
	wait := 5 * time.Millisecond
	deadline := time.Now().Add(dialRetry)
	for {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
		if err == nil {
			return &Client{conn: c}, nil
		}
		if !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// DialSync connects to the control socket at path with a blocking socket,
// for a client that makes a request or two and exits (ginitctl): each is
// then one write and plain reads, with no poller set up, no goroutine
// parked and no thread woken to finish it, which was most of ginitctl's
// cost beyond the runtime's start. Do still ends with its context: the
// socket is shut down, which wakes the blocked read. Attach needs Dial.
func DialSync(path string) (*Client, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	// A full listen backlog blocks the connect (as Dial waits on EAGAIN),
	// but not for ever; afterwards no timeout, as with Dial.
	tv := unix.NsecToTimeval(dialRetry.Nanoseconds())
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "connect", Path: path, Err: err}
	}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &unix.Timeval{})
	return &Client{sync: os.NewFile(uintptr(fd), path)}, nil
}

// dialRetry is how long Dial keeps trying while the server's backlog is full.
const dialRetry = 10 * time.Second

// Close closes the connection.
func (c *Client) Close() error {
	if c.sync != nil {
		return c.sync.Close()
	}
	return c.conn.Close()
}

// Do sends req and waits for the response or the end of ctx. After an error
// the connection is unusable and should be closed.
func (c *Client) Do(ctx context.Context, req Request) (Response, error) {
	return c.DoEach(ctx, req, nil)
}

// DoEach is Do, except that with each set the answer's services are handed
// to each as they are decoded, instead of gathered in Services (a list of
// thousands is printed without holding them all); si is each's only
// during the call.
func (c *Client) DoEach(ctx context.Context, req Request, each func(si *ServiceInfo)) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	var rw io.ReadWriter = c.conn
	if c.sync != nil {
		rw = c.sync
		sc, err := c.sync.SyscallConn()
		if err != nil {
			return Response{}, err
		}
		stop := context.AfterFunc(ctx, func() {
			_ = sc.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_RDWR) })
		})
		defer stop()
	} else {
		dl, _ := ctx.Deadline()
		c.conn.SetDeadline(dl) // zero: none
		stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
	}

	c.buf = AppendRequest(c.buf, &req)
	if len(c.buf)-HeaderSize > MaxRequestSize {
		return Response{}, fmt.Errorf("%s request: %w (%d bytes)", req.Op, ErrTooLarge, len(c.buf)-HeaderSize)
	}
	if _, err := rw.Write(c.buf); err != nil {
		return Response{}, c.ctxErr(ctx, err)
	}
	var err error
	c.buf, err = ReadResponse(rw, c.buf)
	if err != nil {
		return Response{}, c.ctxErr(ctx, fmt.Errorf("reading response: %w", err))
	}
	resp, err := DecodeResponseEach(c.buf, each)
	c.buf = Recycle(c.buf)
	if err != nil {
		return Response{}, fmt.Errorf("decoding response: %w", err)
	}
	return resp, nil
}

func (c *Client) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, os.ErrDeadlineExceeded) || c.sync != nil) {
		return ctx.Err()
	}
	return err
}
