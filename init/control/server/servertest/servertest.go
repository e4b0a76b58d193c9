// Package servertest runs a control server on a temporary socket, with a
// Backend that records what it was asked, for the tests of the server and
// of its clients (ginitctl's CLI and front-ends). Only tests import it.
package servertest

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"ginit/init/control"
	"ginit/init/control/server"
)

// Backend records every request and answers with Fn, or when Fn is nil
// with OK and the message "OP SERVICE". Change Fn with SetFn once the
// server runs.
type Backend struct {
	Fn func(control.Request) control.Response

	mu   sync.Mutex
	reqs []control.Request
}

// Do implements server.Backend.
func (b *Backend) Do(_ context.Context, r control.Request) control.Response {
	b.mu.Lock()
	b.reqs = append(b.reqs, r)
	fn := b.Fn
	b.mu.Unlock()
	if fn == nil {
		return control.Response{Code: control.OK, Message: string(r.Op) + " " + r.Service}
	}
	return fn(r)
}

// SetFn replaces Fn while the server may be calling Do.
func (b *Backend) SetFn(fn func(control.Request) control.Response) {
	b.mu.Lock()
	b.Fn = fn
	b.mu.Unlock()
}

// Requests returns a copy of every request so far, oldest first.
func (b *Backend) Requests() []control.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]control.Request(nil), b.reqs...)
}

// Last is the latest request, or the zero Request before the first.
func (b *Backend) Last() control.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		return control.Request{}
	}
	return b.reqs[len(b.reqs)-1]
}

// logger sends the server's messages to the test log.
type logger struct{ t testing.TB }

func (l logger) Printf(f string, a ...any) { l.t.Logf(f, a...) }

// Start serves b on a socket in a new temporary directory until the test
// ends; tweak, when not nil, may change the server before it serves. The
// directory is a short one under $TMPDIR, not t.TempDir: a socket path
// must fit in sun_path.
func Start(t testing.TB, b server.Backend, tweak func(*server.Server)) (*server.Server, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ginitctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	var lg server.Logger
	if _, ok := t.(*testing.T); ok { // a benchmark's log would only slow it
		lg = logger{t}
	}
	s, err := server.NewServer(path, b, lg)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, path
}

// StalledFrame is a request header announcing a MaxRequestSize payload
// followed by one byte of it: the flood that used to cost a megabyte per
// connection.
func StalledFrame() []byte {
	b := control.AppendRequest(nil, &control.Request{Op: control.OpStart})
	binary.BigEndian.PutUint32(b[4:8], control.MaxRequestSize)
	return b[:control.HeaderSize+1]
}

// Allocated returns the bytes the process allocated while f ran.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
