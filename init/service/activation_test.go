package service

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"ginit/internal/power"
)

// fakeSockets records what the manager asks of its sockets and holds the
// armed watch so a test can make a socket readable.
type fakeSockets struct {
	mu       sync.Mutex
	failOpen error
	calls    []string
	watch    func()
	pending  int // connections waiting on an Accept socket
}

func (f *fakeSockets) Accept(d *Description, name func(local, remote string) string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == 0 {
		return "", nil
	}
	f.pending--
	n := name("127.0.0.1:22", "[::1]:4000")
	f.calls = append(f.calls, "accept "+n)
	return n, nil
}

// connect queues a client and fires the watch.
func (f *fakeSockets) connect() bool {
	f.mu.Lock()
	f.pending++
	f.mu.Unlock()
	return f.readable()
}

func (f *fakeSockets) log(c string) { f.mu.Lock(); f.calls = append(f.calls, c); f.mu.Unlock() }

func (f *fakeSockets) Open(d *Description) error {
	f.log("open " + d.Name)
	return f.failOpen
}

func (f *fakeSockets) Watch(d *Description, readable func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "watch "+d.Name)
	f.watch = readable
}

func (f *fakeSockets) Unwatch(d *Description) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "unwatch "+d.Name)
	f.watch = nil
}

func (f *fakeSockets) Close(d *Description) { f.log("close " + d.Name) }

// readable fires the armed watch, as the real one does once (it is
// one-shot); false when none is armed.
func (f *fakeSockets) readable() (fired bool) {
	f.mu.Lock()
	w := f.watch
	f.watch = nil
	f.mu.Unlock()
	if w != nil {
		w()
	}
	return w != nil
}

func (f *fakeSockets) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func socketDesc(name, target string) *Description {
	d := svcDesc(name, TypeSocket)
	d.Command = nil
	d.Socket = &SocketSpec{Target: target, Listen: []Listen{{Kind: ListenStream, Addr: "/run/" + name, UID: -1, GID: -1}}}
	return d
}

func newSocketHarness(t *testing.T, fs *fakeSockets, descs ...*Description) *harness {
	return newHarnessCfg(t, func(c *Config) { c.Sockets = fs }, descs...)
}

// TestSocketActivationCycle drives a socket through its states: the
// target starts only on a readable event, gets the sockets, is not
// watched for while it runs, and is watched for again once it stops.
func TestSocketActivationCycle(t *testing.T) {
	fs := &fakeSockets{}
	h := newSocketHarness(t, fs, socketDesc("d.socket", "d"), svcDesc("d", TypeProcess))
	if err := h.m.Start(h.ctx, "d.socket", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	h.wantState("d.socket", Started)
	if got := fs.took(); !slices.Equal(got, []string{"open d.socket", "watch d.socket"}) {
		t.Fatalf("socket start: %q", got)
	}
	if h.sp.count("d", ProcStart) != 0 {
		t.Fatal("the target started before any connection")
	}
	for run := 1; run <= 2; run++ {
		if !fs.readable() {
			t.Fatalf("run %d: no watch armed", run)
		}
		h.waitFor("d", func(in Info) bool { return in.State == Started })
		p := h.sp.last("d", ProcStart)
		if p == nil || h.sp.count("d", ProcStart) != run {
			t.Fatalf("run %d: %d starts of the target", run, h.sp.count("d", ProcStart))
		}
		if !slices.Equal(p.sockets, []string{"d.socket"}) {
			t.Fatalf("run %d: target got sockets %q", run, p.sockets)
		}
		if got := fs.took(); !slices.Equal(got, nil) {
			t.Fatalf("run %d: while the target runs: %q", run, got)
		}
		h.exit("d", ProcStart, exited(0))
		h.wantState("d", Stopped)
		if got := fs.took(); !slices.Equal(got, []string{"watch d.socket"}) {
			t.Fatalf("run %d: after the target stopped: %q", run, got)
		}
	}
	if err := h.m.Stop(h.ctx, "d.socket", StopOpts{}); err != nil {
		t.Fatal(err)
	}
	h.wantState("d.socket", Stopped)
	if got := fs.took(); !slices.Equal(got, []string{"unwatch d.socket", "close d.socket"}) {
		t.Fatalf("socket stop: %q", got)
	}
}

// TestSocketActivationCases covers the other paths, table-driven.
func TestSocketActivationCases(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, h *harness, fs *fakeSockets)
	}{
		{"open fails", func(t *testing.T, h *harness, fs *fakeSockets) {
			fs.failOpen = errors.New("listen /run/d.socket: address in use")
			err := h.m.Start(h.ctx, "d.socket", StartOpts{})
			if !isStartErr(err) || startReason(err) != ReasonExecFailed {
				t.Fatalf("start: %v", err)
			}
			if got := fs.took(); !slices.Equal(got, []string{"open d.socket"}) {
				t.Fatalf("calls: %q", got)
			}
		}},
		{"target started by hand gets the sockets, stale readable ignored", func(t *testing.T, h *harness, fs *fakeSockets) {
			if err := h.m.Start(h.ctx, "d.socket", StartOpts{}); err != nil {
				t.Fatal(err)
			}
			fs.mu.Lock()
			stale := fs.watch
			fs.mu.Unlock()
			fs.took()
			if err := h.m.Start(h.ctx, "d", StartOpts{}); err != nil {
				t.Fatal(err)
			}
			if got := fs.took(); !slices.Equal(got, []string{"unwatch d.socket"}) {
				t.Fatalf("target started: %q", got)
			}
			stale()
			h.sync()
			if n := h.sp.count("d", ProcStart); n != 1 {
				t.Fatalf("%d starts of the target", n)
			}
			if p := h.sp.last("d", ProcStart); !slices.Equal(p.sockets, []string{"d.socket"}) {
				t.Fatalf("target got sockets %q", p.sockets)
			}
		}},
		{"target loaded on the first connection", func(t *testing.T, h *harness, fs *fakeSockets) {
			if err := h.m.Start(h.ctx, "d.socket", StartOpts{}); err != nil {
				t.Fatal(err)
			}
			fs.readable()
			h.waitFor("d", func(in Info) bool { return in.State == Started })
		}},
		{"no watch during shutdown", func(t *testing.T, h *harness, fs *fakeSockets) {
			if err := h.m.Start(h.ctx, "d.socket", StartOpts{}); err != nil {
				t.Fatal(err)
			}
			fs.readable()
			h.waitFor("d", func(in Info) bool { return in.State == Started })
			fs.took()
			if err := h.m.Shutdown(h.ctx, power.Remain); err != nil {
				t.Fatal(err)
			}
			h.exit("d", ProcStart, killedBy(sigterm))
			for _, c := range fs.took() {
				if c == "watch d.socket" {
					t.Fatal("watching again during shutdown")
				}
			}
		}},
	}
	cases = append(cases, struct {
		name string
		run  func(t *testing.T, h *harness, fs *fakeSockets)
	}{"every socket of the target is passed, by name", func(t *testing.T, h *harness, fs *fakeSockets) {
		h.m.cfg.Load = func(name string) ([]*Description, error) {
			switch name {
			case "d.socket", "c.socket":
				return []*Description{socketDesc(name, "d")}, nil
			}
			return []*Description{svcDesc(name, TypeProcess)}, nil
		}
		for _, n := range []string{"d.socket", "c.socket"} {
			if err := h.m.Start(h.ctx, n, StartOpts{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.m.Start(h.ctx, "d", StartOpts{}); err != nil {
			t.Fatal(err)
		}
		if p := h.sp.last("d", ProcStart); !slices.Equal(p.sockets, []string{"c.socket", "d.socket"}) {
			t.Fatalf("target got sockets %q", p.sockets)
		}
	}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := &fakeSockets{}
			h := newSocketHarness(t, fs, socketDesc("d.socket", "d"), svcDesc("d", TypeProcess))
			c.run(t, h, fs)
		})
	}
}

// FuzzParseListen: any address is either refused or gives a path or an
// internet address with a port, never a panic.
func FuzzParseListen(f *testing.F) {
	for _, s := range []string{"/run/a", "@abs", "22", "0.0.0.0:22", "[::]:22", "[::1", "x:y", "", "65536"} {
		f.Add(0, s)
	}
	f.Fuzz(func(t *testing.T, k int, addr string) {
		in, inet, err := ParseListen(ListenKind(k&3), addr)
		if err == nil && inet && in.Port == 0 {
			t.Fatalf("%q: port 0 accepted", addr)
		}
		if err == nil && !inet && addr[0] != '/' && addr[0] != '@' {
			t.Fatalf("%q: neither path nor address", addr)
		}
	})
}

// TestSocketTriggerLimit: a target that never serves the waiting client
// is started at most TriggerBurst times within TriggerInterval; the next
// trigger stops the socket service.
func TestSocketTriggerLimit(t *testing.T) {
	fs := &fakeSockets{}
	sd := socketDesc("d.socket", "d")
	sd.Socket.TriggerBurst = 3
	h := newSocketHarness(t, fs, sd, svcDesc("d", TypeProcess))
	if err := h.m.Start(h.ctx, "d.socket", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if !fs.readable() {
			t.Fatalf("trigger %d: no watch armed", i)
		}
		h.waitFor("d", func(in Info) bool { return in.State == Started })
		h.exit("d", ProcStart, exited(1))
		h.wantState("d", Stopped)
	}
	if !fs.readable() {
		t.Fatal("no watch armed after 3 runs")
	}
	h.waitFor("d.socket", func(in Info) bool { return in.State == Stopped })
	if in := h.status("d.socket"); in.Reason != ReasonRestartLimit {
		t.Fatalf("socket stopped with reason %s", in.Reason)
	}
	if n := h.sp.count("d", ProcStart); n != 3 {
		t.Fatalf("%d starts, want 3", n)
	}
	// Time passes: a new start of the socket has a fresh budget.
	h.clock.Advance(3 * time.Second)
	if err := h.m.Start(h.ctx, "d.socket", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	if !fs.readable() {
		t.Fatal("restarted socket does not watch")
	}
	h.waitFor("d", func(in Info) bool { return in.State == Started })
}

// TestSocketAccept: each connection of an Accept socket starts its own
// instance of the template, with the connection; at MaxConnections the
// socket stops watching until an instance ends; a stopped instance is
// closed and unloaded.
func TestSocketAccept(t *testing.T) {
	fs := &fakeSockets{}
	sd := socketDesc("e.socket", "e")
	sd.Socket.Accept, sd.Socket.MaxConnections = true, 2
	tmpl := svcDesc("e@", TypeProcess)
	h := newSocketHarness(t, fs, sd)
	h.m.cfg.Load = func(name string) ([]*Description, error) {
		if name == "e.socket" {
			return []*Description{sd}, nil
		}
		d := *tmpl
		d.Name = name
		return []*Description{&d}, nil
	}
	if err := h.m.Start(h.ctx, "e.socket", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	names := []string{"e@1-127.0.0.1_22-___1__4000", "e@2-127.0.0.1_22-___1__4000"}
	for _, n := range names {
		if !fs.connect() {
			t.Fatalf("%s: no watch armed", n)
		}
		h.waitFor(n, func(in Info) bool { return in.State == Started })
		if p := h.sp.last(n, ProcStart); p == nil || !slices.Equal(p.sockets, []string{n}) {
			t.Fatalf("%s: spawned %+v", n, p)
		}
	}
	h.sync()
	if fs.connect() {
		t.Fatal("watching past MaxConnections")
	}
	h.exit(names[0], ProcStart, exited(0))
	h.sync()
	// The third client, waiting since, is taken now.
	if !fs.readable() {
		t.Fatal("no watch once an instance ended")
	}
	h.waitFor("e@3-127.0.0.1_22-___1__4000", func(in Info) bool { return in.State == Started })
	got := fs.took()
	if !slices.Contains(got, "close "+names[0]) {
		t.Fatalf("the first connection was not closed: %q", got)
	}
	loaded := func() bool {
		list, _ := listAll(h.ctx, h.m)
		for _, in := range list {
			if in.Name == names[0] {
				return true
			}
		}
		return false
	}
	// The unload is an event of its own, posted from a goroutine.
	for i := 0; i < 5000 && loaded(); i++ {
		time.Sleep(time.Millisecond)
	}
	if loaded() {
		t.Fatalf("%s still loaded after it stopped", names[0])
	}
}
