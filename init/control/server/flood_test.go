package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"ginit/init/control"
	"ginit/init/control/server"
	"ginit/init/control/server/servertest"
)

func dialRaw(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed fails unless the server closes c within 10 s.
func waitClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// A close with our bytes unread reaches us as a reset.
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("%s: the server did not close the connection: %v", what, err)
	}
}

// A server reading connections that announce 1 MiB and send one byte
// allocates nothing like a megabyte each.
func TestServerStalledFramesCostNoAnnouncedBuffer(t *testing.T) {
	_, path := servertest.Start(t, &servertest.Backend{}, nil)
	const conns = 32
	n := servertest.Allocated(func() {
		for i := 0; i < conns; i++ {
			c := dialRaw(t, path)
			if _, err := c.Write(servertest.StalledFrame()); err != nil {
				t.Fatal(err)
			}
			c.CloseWrite() // the server reads the header, then EOF mid-payload
			waitClosed(t, c, "truncated frame")
			c.Close()
		}
	})
	t.Logf("%d connections with a stalled 1 MiB frame: %d bytes allocated", conns, n)
	if n > 8<<20 {
		t.Errorf("%d stalled frames cost %d bytes: announced lengths were allocated", conns, n)
	}
}

// A frame that has begun must finish within frameTimeout; an accepted
// connection idle for idleTimeout is closed; a pass-cs-fd connection may
// idle for ever.
func TestServerTimeouts(t *testing.T) {
	const idle = 200 * time.Millisecond
	s, path := servertest.Start(t, &servertest.Backend{}, func(s *server.Server) {
		server.SetLimits(s, 0, 50*time.Millisecond, idle)
	})
	stalled := dialRaw(t, path)
	if _, err := stalled.Write(servertest.StalledFrame()); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, stalled, "stalled frame")
	waitClosed(t, dialRaw(t, path), "idle accepted connection")

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := unixConn(t, fds[0]), unixConn(t, fds[1])
	if err := s.ServeConn(context.Background(), theirs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * idle)
	if r := rawExchange(t, mine, control.AppendRequest(nil, &control.Request{Op: control.OpStatus, Service: "p"})); r.Message != "status p" {
		t.Fatalf("pass-cs-fd connection after idling: %+v", r)
	}
}

func unixConn(t *testing.T, fd int) *net.UnixConn {
	t.Helper()
	f := os.NewFile(uintptr(fd), "pair")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UnixConn)
}

// At the connection limit the longest-stalled connection makes room, so a
// flood of stalled peers neither grows the goroutine count nor locks a
// real client out; a connection whose request is being carried out is
// never the one closed.
func TestServerConnectionLimit(t *testing.T) {
	release := make(chan struct{})
	b := &servertest.Backend{Fn: func(r control.Request) control.Response {
		if r.Op == control.OpStart {
			<-release
		}
		return control.Response{Message: string(r.Op) + " " + r.Service}
	}}
	const limit = 4
	s, path := servertest.Start(t, b, func(s *server.Server) { server.SetLimits(s, limit, 0, 0) })
	released := false
	t.Cleanup(func() { // before the server's cleanup, which waits for the request
		if !released {
			close(release)
		}
	})

	busy := dialRaw(t, path)
	if _, err := busy.Write(control.AppendRequest(nil, &control.Request{Op: control.OpStart, Service: "slow"})); err != nil {
		t.Fatal(err)
	}
	for b.Last().Op != control.OpStart {
		time.Sleep(time.Millisecond)
	}
	var flood []*net.UnixConn
	for i := 0; i < 50; i++ {
		c := dialRaw(t, path)
		if _, err := c.Write(servertest.StalledFrame()); err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
	}
	cl, err := control.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r, err := cl.Do(ctx, control.Request{Op: control.OpList}); err != nil || r.Message != "list " {
		t.Fatalf("list during the flood: %+v, %v", r, err)
	}
	n := server.Accepted(s)
	if n > limit {
		t.Errorf("%d connections served at once, limit %d", n, limit)
	}
	for _, c := range flood[:len(flood)-limit] {
		waitClosed(t, c, "stalled flood connection")
	}
	close(release)
	released = true
	if r := rawExchange(t, busy, nil); r.Message != "start slow" {
		t.Fatalf("the busy connection's answer: %+v", r)
	}
	if r := rawExchange(t, busy, control.AppendRequest(nil, &control.Request{Op: control.OpVersion})); r.Message != "version " {
		t.Fatalf("the busy connection was closed: %+v", r)
	}
}

// At the limit a half-sent frame is closed before a connection that has
// sent nothing yet, however old: a client's request may simply not have
// been read yet while a flood keeps the server busy.
func TestServerEvictsMidFrameFirst(t *testing.T) {
	b := &servertest.Backend{Fn: func(r control.Request) control.Response {
		return control.Response{Message: string(r.Op)}
	}}
	const limit = 3
	s, path := servertest.Start(t, b, func(s *server.Server) { server.SetLimits(s, limit, 0, 0) })
	quiet := dialRaw(t, path) // oldest, sends nothing yet
	for server.Accepted(s) != 1 {
		time.Sleep(time.Millisecond)
	}
	var half []*net.UnixConn
	for i := 0; i < limit-1; i++ {
		c := dialRaw(t, path)
		if _, err := c.Write(servertest.StalledFrame()); err != nil {
			t.Fatal(err)
		}
		half = append(half, c)
	}
	for deadline := time.Now().Add(10 * time.Second); server.MidFrame(s) != limit-1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections mid-frame, want %d", server.MidFrame(s), limit-1)
		}
	}
	// A newcomer at the limit: the oldest half-sent frame makes room.
	late := dialRaw(t, path)
	waitClosed(t, half[0], "the oldest half-sent frame")
	if r := rawExchange(t, quiet, control.AppendRequest(nil, &control.Request{Op: control.OpVersion})); r.Message != "version" {
		t.Fatalf("the quiet connection: %+v", r)
	}
	if r := rawExchange(t, late, control.AppendRequest(nil, &control.Request{Op: control.OpList})); r.Message != "list" {
		t.Fatalf("the newcomer: %+v", r)
	}
}
