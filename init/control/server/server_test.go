package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/control"
	"ginit/init/control/server"
	"ginit/init/control/server/servertest"
)

func TestServerBasics(t *testing.T) {
	b := &servertest.Backend{}
	_, path := servertest.Start(t, b, nil)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	if _, err := server.NewServer(path, b, nil); err == nil {
		t.Fatal("second server on a live socket started")
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := control.Dial(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for j := 0; j < 20; j++ {
				name := fmt.Sprintf("s%d-%d", i, j)
				r, err := c.Do(context.Background(), control.Request{Op: control.OpStatus, Service: name})
				if err != nil || r.Message != "status "+name {
					t.Errorf("got %+v, %v", r, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}

func TestStaleSocketRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	s, err := server.NewServer(path, &servertest.Backend{}, nil)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	s.Close()
}

func rawExchange(t *testing.T, c net.Conn, frame []byte) control.Response {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	b, err := control.ReadResponse(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := control.DecodeResponsePayload(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestServerBadInput(t *testing.T) {
	b := &servertest.Backend{}
	_, path := servertest.Start(t, b, nil)
	dial := func() net.Conn {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// Garbage: an error answer, then the connection is closed.
	c := dial()
	r := rawExchange(t, c, []byte("GET / HTTP/1.0\r\n\r\n"))
	if r.Code != control.BadRequest || !strings.Contains(r.Message, "magic") {
		t.Fatalf("garbage: %+v", r)
	}
	// Huge length: refused before allocation, disconnected.
	c = dial()
	r = rawExchange(t, c, []byte{'g', 'C', 1, 'Q', 0xff, 0xff, 0xff, 0xff})
	if r.Code != control.BadRequest || !strings.Contains(r.Message, "too large") {
		t.Fatalf("huge: %+v", r)
	}
	// Version mismatch, unknown op and a malformed payload keep the connection.
	c = dial()
	f := control.AppendRequest(nil, &control.Request{Op: control.OpStatus, Service: "x"})
	f[2] = 7
	if r = rawExchange(t, c, f); r.Code != control.BadRequest || !strings.Contains(r.Message, "version 7") {
		t.Fatalf("version: %+v", r)
	}
	if r = rawExchange(t, c, control.AppendRequest(nil, &control.Request{Op: "frobnicate"})); r.Code != control.BadRequest || !strings.Contains(r.Message, "frobnicate") {
		t.Fatalf("op: %+v", r)
	}
	if r = rawExchange(t, c, []byte{'g', 'C', 1, 'Q', 0, 0, 0, 2, 1 /* the op tag */, 5}); r.Code != control.BadRequest || !strings.Contains(r.Message, "malformed") {
		t.Fatalf("malformed: %+v", r)
	}
	if r = rawExchange(t, c, control.AppendRequest(nil, &control.Request{Op: control.OpStatus, Service: "y"})); r.Code != control.OK || r.Message != "status y" {
		t.Fatalf("after errors: %+v", r)
	}
	// A new connection still gets answers.
	cl, err := control.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if r, err := cl.Do(context.Background(), control.Request{Op: control.OpVersion}); err != nil || r.Code != control.OK {
		t.Fatalf("new connection: %+v %v", r, err)
	}
}

func TestSlowReaderBigList(t *testing.T) {
	var list []control.ServiceInfo
	for i := 0; i < 1000; i++ {
		list = append(list, control.ServiceInfo{Name: fmt.Sprintf("service-number-%04d", i), State: "started",
			Target: "started", PID: 1000 + i, File: "/etc/ginit.d/" + strings.Repeat("x", 100)})
	}
	b := &servertest.Backend{Fn: func(r control.Request) control.Response {
		if r.Op == control.OpList {
			return control.Response{Services: list}
		}
		return control.Response{Message: "pong"}
	}}
	_, path := servertest.Start(t, b, nil)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(control.AppendRequest(nil, &control.Request{Op: control.OpList})); err != nil {
		t.Fatal(err)
	}
	// Let the server fill the socket buffer, then read in small pieces.
	time.Sleep(50 * time.Millisecond)
	br := bufio.NewReaderSize(slowReader{c}, 16)
	frame, err := control.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(frame) < 100000 {
		t.Fatalf("list response only %d bytes; test needs one bigger than the socket buffer", len(frame))
	}
	r, err := control.DecodeResponsePayload(frame)
	if err != nil || len(r.Services) != 1000 {
		t.Fatalf("list: %d services, %v", len(r.Services), err)
	}
	if r = rawExchange(t, c, control.AppendRequest(nil, &control.Request{Op: control.OpVersion})); r.Message != "pong" {
		t.Fatalf("after list: %+v", r)
	}
}

type slowReader struct{ c net.Conn }

func (s slowReader) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	return s.c.Read(p)
}

func BenchmarkRoundTrip(b *testing.B) {
	_, path := servertest.Start(b, &servertest.Backend{Fn: func(r control.Request) control.Response {
		return control.Response{Services: []control.ServiceInfo{{Name: r.Service, State: "started", Target: "started", PID: 42}}}
	}}, nil)
	c, err := control.Dial(path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Do(ctx, control.Request{Op: control.OpStatus, Service: "foo"}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSocketModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "s")
	s, err := server.NewServer(path, &servertest.Backend{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("mode under umask 0: %v %v", fi.Mode(), err)
	}
}

func TestRefusesNonSocketPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := server.NewServer(path, &servertest.Backend{}, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("regular file at socket path: %v", err)
	}
}

// TestCloseAnswersBusy: a request being carried out when the server closes
// still gets its answer (the daemon closes the socket right after the
// shutdown it was asked for); an idle connection is closed at once.
func TestCloseAnswersBusy(t *testing.T) {
	inDo := make(chan struct{})
	release := make(chan struct{})
	b := &servertest.Backend{Fn: func(r control.Request) control.Response {
		close(inDo)
		<-release
		return control.Response{Code: control.OK, Message: "bye"}
	}}
	s, path := servertest.Start(t, b, nil)
	idle, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	c, err := control.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan error, 1)
	go func() {
		r, err := c.Do(context.Background(), control.Request{Op: control.OpShutdown, Shutdown: "halt"})
		if err == nil && r.Message != "bye" {
			err = fmt.Errorf("answer %+v", r)
		}
		got <- err
	}()
	<-inDo
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	// The idle connection goes first, while the busy one is still busy.
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Fatal("idle connection still open after Close")
	}
	close(release)
	if err := <-got; err != nil {
		t.Fatalf("busy request at Close: %v", err)
	}
	<-closed
}

// NewServer takes a path that is free or holds a dead socket, and refuses
// one a listener answers on (its backlog full or not) or a file that is
// not a socket.
func TestNewServerPath(t *testing.T) {
	for _, c := range []struct {
		name    string
		prepare func(t *testing.T, path string)
		refused string
	}{
		{"absent", func(*testing.T, string) {}, ""},
		{"stale socket", func(t *testing.T, path string) {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			l.(*net.UnixListener).SetUnlinkOnClose(false)
			l.Close()
		}, ""},
		{"live listener", func(t *testing.T, path string) {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}, "another instance is answering"},
		{"full backlog", func(t *testing.T, path string) {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Close(fd) })
			if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
				t.Fatal(err)
			}
			if err := unix.Listen(fd, 0); err != nil {
				t.Fatal(err)
			}
			// Never accepted: a few connections fill a backlog of 0.
			for i := 0; i < 4; i++ {
				s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { unix.Close(s) })
				_ = unix.Connect(s, &unix.SockaddrUnix{Name: path})
			}
		}, "another instance is answering"},
		{"regular file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a socket"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s")
			c.prepare(t, path)
			s, err := server.NewServer(path, &servertest.Backend{}, nil)
			if c.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("taken, want refused (%s)", c.refused)
			}
			if !strings.Contains(err.Error(), c.refused) {
				t.Errorf("error %q, want %q", err, c.refused)
			}
		})
	}
}
