package control

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	reqs := []Request{
		{Op: OpStatus, Service: "foo"},
		{Op: OpStop, Service: "a", Pin: true, Force: true, NoWait: true, IgnoreUnstarted: true},
		{Op: OpAddDep, Service: "a", DepType: "waits-for", DepTarget: "b"},
		{Op: OpSignal, Service: "x", Signal: 9},
		{Op: OpSetEnv, Env: []string{"A=1", "B="}},
		{Op: OpEnable, Service: "b", From: "boot"},
		{Op: OpCatLog, Service: "l", Clear: true},
		{Op: OpShutdown, Shutdown: "reboot"},
	}
	for _, r := range reqs {
		got, err := DecodeRequest(AppendRequest(nil, &r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("request %+v: got %+v, %v", r, got, err)
		}
	}
	resps := []Response{
		{},
		{Code: Refused, Message: "no", Dependents: []string{"x", "y"}},
		{Code: OK, Log: []byte("hello\n"), Truncated: true, Env: []string{"A=1"}},
		{Services: []ServiceInfo{{Name: "a", Type: "process", State: "started", Target: "started", Active: true,
			PinStart: true, PinStop: true, Failed: true, Skipped: true, PID: 123, ExitStatus: "exited 1",
			StopReason: "failed", StatusText: "ok", File: "/etc/ginit.d/a", Deps: []string{"b"},
			Dependents: []string{"c"}, Triggered: true}, {Name: "b", PID: -1}}},
		{Code: NoService, Message: strings.Repeat("x", 300)},
	}
	for _, r := range resps {
		got, err := DecodeResponse(AppendResponse(nil, &r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("response %+v: got %+v, %v", r, got, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := AppendRequest(nil, &Request{Op: OpStart, Service: "s"})
	bad := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"short":    good[:5],
		"magic":    bad(func(b []byte) []byte { b[0] = 'x'; return b }),
		"version":  bad(func(b []byte) []byte { b[2] = 9; return b }),
		"kind":     bad(func(b []byte) []byte { b[3] = 'R'; return b }),
		"length":   bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], 99); return b }),
		"field":    bad(func(b []byte) []byte { b[HeaderSize+1] = 100; return b }),
		"noop":     AppendRequest(nil, &Request{Service: "s"}),
		"boolean":  append(append([]byte(nil), good...), tqPin, 1, 7),
		"hugeSize": bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], 1<<31); return b }),
	}
	for name, b := range cases {
		if name == "boolean" {
			binary.BigEndian.PutUint32(b[4:], uint32(len(b)-HeaderSize))
		}
		if _, err := DecodeRequest(b); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(AppendRequest(nil, &Request{Op: OpStart, Service: "s", Env: []string{"A=1"}, Signal: 3}))
	f.Add([]byte("gC\x01Q\x00\x00\x00\x02\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err == nil {
			if _, err := DecodeRequest(AppendRequest(nil, &r)); err != nil {
				t.Fatalf("re-encoding %+v: %v", r, err)
			}
		}
		DecodeRequestPayload(b)
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(AppendResponse(nil, &Response{Code: Failed, Message: "m", Services: []ServiceInfo{{Name: "a", PID: 2}}, Log: []byte("x")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err == nil {
			if _, err := DecodeResponse(AppendResponse(nil, &r)); err != nil {
				t.Fatalf("re-encoding %+v: %v", r, err)
			}
		}
		DecodeResponsePayload(b)
	})
}

// fakeBackend answers from a function and records requests.
type fakeBackend struct {
	mu   sync.Mutex
	reqs []Request
	fn   func(Request) Response
}

func (b *fakeBackend) Do(ctx context.Context, r Request) Response {
	b.mu.Lock()
	b.reqs = append(b.reqs, r)
	fn := b.fn
	b.mu.Unlock()
	if fn == nil {
		return Response{Code: OK, Message: string(r.Op) + " " + r.Service}
	}
	return fn(r)
}

func (b *fakeBackend) last() Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		return Request{}
	}
	return b.reqs[len(b.reqs)-1]
}

type tlog struct{ t *testing.T }

func (l tlog) Printf(f string, a ...any) { l.t.Logf(f, a...) }

func startServer(t testing.TB, b Backend) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ginitctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	var lg tlog
	if tt, ok := t.(*testing.T); ok {
		lg.t = tt
	}
	var logger interface{ Printf(string, ...any) }
	if lg.t != nil {
		logger = lg
	}
	s, err := NewServer(path, b, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return path
}

func TestServerBasics(t *testing.T) {
	b := &fakeBackend{}
	path := startServer(t, b)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	if _, err := NewServer(path, b, nil); err == nil {
		t.Fatal("second server on a live socket started")
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := Dial(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for j := 0; j < 20; j++ {
				name := fmt.Sprintf("s%d-%d", i, j)
				r, err := c.Do(context.Background(), Request{Op: OpStatus, Service: name})
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
	s, err := NewServer(path, &fakeBackend{}, nil)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	s.Close()
}

func rawExchange(t *testing.T, c net.Conn, frame []byte) Response {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	b, err := readFrame(c, nil, kindResponse, MaxResponseSize, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeResponsePayload(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestServerBadInput(t *testing.T) {
	b := &fakeBackend{}
	path := startServer(t, b)
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
	if r.Code != BadRequest || !strings.Contains(r.Message, "magic") {
		t.Fatalf("garbage: %+v", r)
	}
	// Huge length: refused before allocation, disconnected.
	c = dial()
	r = rawExchange(t, c, []byte{'g', 'C', 1, 'Q', 0xff, 0xff, 0xff, 0xff})
	if r.Code != BadRequest || !strings.Contains(r.Message, "too large") {
		t.Fatalf("huge: %+v", r)
	}
	// Version mismatch, unknown op and a malformed payload keep the connection.
	c = dial()
	f := AppendRequest(nil, &Request{Op: OpStatus, Service: "x"})
	f[2] = 7
	if r = rawExchange(t, c, f); r.Code != BadRequest || !strings.Contains(r.Message, "version 7") {
		t.Fatalf("version: %+v", r)
	}
	if r = rawExchange(t, c, AppendRequest(nil, &Request{Op: "frobnicate"})); r.Code != BadRequest || !strings.Contains(r.Message, "frobnicate") {
		t.Fatalf("op: %+v", r)
	}
	if r = rawExchange(t, c, []byte{'g', 'C', 1, 'Q', 0, 0, 0, 2, tqOp, 5}); r.Code != BadRequest || !strings.Contains(r.Message, "malformed") {
		t.Fatalf("malformed: %+v", r)
	}
	if r = rawExchange(t, c, AppendRequest(nil, &Request{Op: OpStatus, Service: "y"})); r.Code != OK || r.Message != "status y" {
		t.Fatalf("after errors: %+v", r)
	}
	// A new connection still gets answers.
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if r, err := cl.Do(context.Background(), Request{Op: OpVersion}); err != nil || r.Code != OK {
		t.Fatalf("new connection: %+v %v", r, err)
	}
}

func TestSlowReaderBigList(t *testing.T) {
	var list []ServiceInfo
	for i := 0; i < 1000; i++ {
		list = append(list, ServiceInfo{Name: fmt.Sprintf("service-number-%04d", i), State: "started",
			Target: "started", PID: 1000 + i, File: "/etc/ginit.d/" + strings.Repeat("x", 100)})
	}
	b := &fakeBackend{fn: func(r Request) Response {
		if r.Op == OpList {
			return Response{Services: list}
		}
		return Response{Message: "pong"}
	}}
	path := startServer(t, b)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(AppendRequest(nil, &Request{Op: OpList})); err != nil {
		t.Fatal(err)
	}
	// Let the server fill the socket buffer, then read in small pieces.
	time.Sleep(50 * time.Millisecond)
	br := bufio.NewReaderSize(slowReader{c}, 16)
	frame, err := readFrame(br, nil, kindResponse, MaxResponseSize, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(frame) < 100000 {
		t.Fatalf("list response only %d bytes; test needs one bigger than the socket buffer", len(frame))
	}
	r, err := DecodeResponsePayload(frame)
	if err != nil || len(r.Services) != 1000 {
		t.Fatalf("list: %d services, %v", len(r.Services), err)
	}
	if r = rawExchange(t, c, AppendRequest(nil, &Request{Op: OpVersion})); r.Message != "pong" {
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

func TestSocketPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		flag string
		user bool
		env  map[string]string
		want string
	}{
		{"/x", false, map[string]string{"GINIT_SOCKET_PATH": "/y"}, "/x"},
		{"", false, map[string]string{"GINIT_SOCKET_PATH": "/y"}, "/y"},
		{"", true, map[string]string{"XDG_RUNTIME_DIR": "/run/user/1", "HOME": "/h"}, "/run/user/1/ginitctl"},
		{"", true, map[string]string{"HOME": "/h"}, "/h/.ginitctl"},
		{"", false, nil, DefaultSystemSocket()},
	}
	for _, c := range cases {
		if got := SocketPath(c.flag, c.user, env(c.env)); got != c.want {
			t.Errorf("SocketPath(%q,%v,%v) = %q, want %q", c.flag, c.user, c.env, got, c.want)
		}
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	path := startServer(b, backendFunc(func(r Request) Response {
		return Response{Services: []ServiceInfo{{Name: r.Service, State: "started", Target: "started", PID: 42}}}
	}))
	c, err := Dial(path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Do(ctx, Request{Op: OpStatus, Service: "foo"}); err != nil {
			b.Fatal(err)
		}
	}
}

type backendFunc func(Request) Response

func (f backendFunc) Do(_ context.Context, r Request) Response { return f(r) }

func TestSocketModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "s")
	s, err := NewServer(path, &fakeBackend{}, nil)
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
	if _, err := NewServer(path, &fakeBackend{}, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("regular file at socket path: %v", err)
	}
}
