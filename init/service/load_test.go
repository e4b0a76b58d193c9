package service

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// hangGuard bounds a wait that only fails when something hangs; no speed
// is asserted.
const hangGuard = 20 * time.Second

// loadGate makes the loader's read of one service wait until released, as
// a slow disk or a hostile file would.
type loadGate struct {
	block   string
	entered chan struct{} // a value each time a read of block starts
	release chan struct{} // closed to let those reads finish
	once    sync.Once
}

func newLoadGate(block string) *loadGate {
	return &loadGate{block: block, entered: make(chan struct{}, 16), release: make(chan struct{})}
}

// open lets the gated reads finish.
func (g *loadGate) open() { g.once.Do(func() { close(g.release) }) }

// newGatedHarness is newHarnessCfg with g on the loader; the gate opens at
// cleanup, before the manager is stopped, so that a manager stuck in the
// loader (as it was when it read files on its own goroutine) fails the
// test instead of hanging it.
func newGatedHarness(t *testing.T, g *loadGate, tweak func(*Config), descs ...*Description) *harness {
	t.Helper()
	h := newHarnessCfg(t, func(c *Config) {
		if tweak != nil {
			tweak(c)
		}
		g.tweak(c)
	}, descs...)
	t.Cleanup(g.open)
	return h
}

func (g *loadGate) tweak(c *Config) {
	load := c.Load
	c.Load = func(name string) ([]*Description, error) {
		if name == g.block {
			g.entered <- struct{}{}
			<-g.release
		}
		return load(name)
	}
}

// waitEntered waits for n reads of the gated service to be under way.
func (g *loadGate) waitEntered(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-g.entered:
		case <-time.After(hangGuard):
			t.Fatalf("%d of %d reads of %s started", i, n, g.block)
		}
	}
}

// answers runs a request with a deadline that only a hung manager misses.
func answers(t *testing.T, h *harness, what string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, hangGuard)
	defer cancel()
	if err := f(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s got no answer while a load was blocked", what)
		}
		t.Fatalf("%s: %v", what, err)
	}
}

// Every request that may load reads the files on its own goroutine: while
// one is stuck in the loader, the manager keeps answering others.
func TestBlockedLoadDelaysOnlyItsRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		desc *Description
		op   func(ctx context.Context, m *Manager) error
	}{
		{"start", svcDesc("slow", TypeProcess), func(ctx context.Context, m *Manager) error {
			return m.Start(ctx, "slow", StartOpts{NoWait: true})
		}},
		{"status", svcDesc("slow", TypeProcess), func(ctx context.Context, m *Manager) error {
			_, err := m.Status(ctx, "slow")
			return err
		}},
		{"load", svcDesc("slow", TypeProcess), func(ctx context.Context, m *Manager) error { return m.Load(ctx, "slow") }},
		{"reload", svcDesc("slow", TypeProcess), func(ctx context.Context, m *Manager) error { return m.Reload(ctx, "slow") }},
		{"trigger", svcDesc("slow", TypeTriggered), func(ctx context.Context, m *Manager) error { return m.Trigger(ctx, "slow", true) }},
		{"add-dep", svcDesc("slow", TypeProcess), func(ctx context.Context, m *Manager) error {
			return m.DepOp(ctx, true, DepWaitsFor, "other", "slow")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newLoadGate("slow")
			h := newGatedHarness(t, g, nil, tc.desc, svcDesc("other", TypeProcess))
			done := make(chan error, 1)
			go func() { done <- tc.op(h.ctx, h.m) }()
			g.waitEntered(t, 1)
			answers(t, h, "list", func(ctx context.Context) error { _, err := listAll(ctx, h.m); return err })
			answers(t, h, "start other", func(ctx context.Context) error {
				return h.m.Start(ctx, "other", StartOpts{NoWait: true})
			})
			g.open()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s once released: %v", tc.name, err)
				}
			case <-time.After(hangGuard):
				t.Fatalf("%s did not finish once released", tc.name)
			}
			h.wantState("other", Started)
			h.status("slow")
		})
	}
}

// Two requests for the same service while it is read share the one read
// (each read of a big closure is garbage the heap keeps as fragmentation);
// both are answered from it.
func TestConcurrentLoadsOfOneService(t *testing.T) {
	g := newLoadGate("a")
	h := newGatedHarness(t, g, nil, svcDesc("a", TypeProcess, need("b")), svcDesc("b", TypeInternal))
	errs := make(chan error, 2)
	start := func() { errs <- h.m.Start(h.ctx, "a", StartOpts{NoWait: true}) }
	go start()
	g.waitEntered(t, 1)
	go start()
	// Until the second request has joined the read, or (the fault) begun
	// a read of its own.
	for joined := false; !joined; {
		if len(g.entered) > 0 {
			t.Fatal("the second request read a again while the first read it")
		}
		if err := h.m.call(h.ctx, func() { joined = h.m.reads["a"] != nil && h.m.reads["a"].waiters == 1 }); err != nil {
			t.Fatal(err)
		}
		if !joined {
			time.Sleep(time.Millisecond)
		}
	}
	g.open()
	for i := 0; i < 2; i++ {
		if err := recv(t, errs); err != nil {
			t.Fatal(err)
		}
	}
	if len(g.entered) > 0 {
		t.Fatal("a was read twice")
	}
	list, err := listAll(h.ctx, h.m)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "b" && list[1].Name != "b" {
		t.Fatalf("loaded %+v, want a and b once each", list)
	}
	if in := h.wantState("a", Started); len(in.Deps) != 1 || in.Deps[0] != "b" {
		t.Fatalf("a depends on %v, want [b]", in.Deps)
	}
	if n := h.sp.count("a", ProcStart); n != 1 {
		t.Fatalf("a spawned %d times", n)
	}
}

// A chain-to target is read off the loop too; an instance that exits when
// idle waits for it rather than leaving while it is read.
func TestChainToReadOffTheLoop(t *testing.T) {
	a := svcDesc("a", TypeProcess)
	a.ExtMut().ChainTo = "next"
	g := newLoadGate("next")
	h := newGatedHarness(t, g, func(c *Config) { c.ExitWhenIdle = true }, a, svcDesc("next", TypeProcess))
	if err := h.m.Start(h.ctx, "a", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	p := h.sp.last("a", ProcStart)
	p.n.Exited(p, exited(0)) // no h.exit: its sync would wait on a stuck loop
	g.waitEntered(t, 1)
	answers(t, h, "list", func(ctx context.Context) error { _, err := listAll(ctx, h.m); return err })
	select {
	case <-h.done:
		t.Fatal("the manager exited while chain-to was being read")
	default:
	}
	g.open()
	h.waitFor("next", func(in Info) bool { return in.State == Started })
}

// A chain-to target that fails to load is logged and nothing else changes.
func TestChainToLoadError(t *testing.T) {
	a := svcDesc("a", TypeProcess)
	a.ExtMut().ChainTo = "missing"
	h := newHarness(t, a)
	if err := h.m.Start(h.ctx, "a", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	h.exit("a", ProcStart, exited(0))
	for i := 0; ; i++ {
		h.sync()
		if h.logs.has("chain-to") {
			break
		}
		if i > 5000 {
			t.Fatal("no chain-to error logged")
		}
		time.Sleep(time.Millisecond)
	}
	if list, _ := listAll(h.ctx, h.m); len(list) != 1 {
		t.Fatalf("loaded %+v", list)
	}
}

func TestLoadErrorChangesNothing(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeInternal, need("missing")), svcDesc("ok", TypeInternal))
	if err := h.m.Start(h.ctx, "ok", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Start(h.ctx, "a", StartOpts{}); err == nil {
		t.Fatal("start of a service with a missing dependency succeeded")
	}
	list, _ := listAll(h.ctx, h.m)
	if len(list) != 1 || list[0].Name != "ok" {
		t.Fatalf("loaded set changed: %+v", list)
	}
}

func TestAddRemoveDep(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeInternal), svcDesc("b", TypeInternal))
	h.m.Start(h.ctx, "a", StartOpts{})
	if err := h.m.DepOp(h.ctx, true, DepWaitsFor, "a", "b"); err != nil {
		t.Fatal(err)
	}
	h.wantState("b", Stopped) // as dinit: the new edge does not start it
	if err := h.m.Wake(h.ctx, "b", false); err != nil {
		t.Fatal(err)
	}
	h.wantState("b", Started)
	if err := h.m.DepOp(h.ctx, true, DepRegular, "b", "a"); err == nil {
		t.Fatal("cycle accepted")
	}
	if err := h.m.DepOp(h.ctx, false, DepWaitsFor, "a", "b"); err != nil {
		t.Fatal(err)
	}
	h.wantState("b", Stopped)
}

// add-dep to a started service does not start a stopped target (dinit);
// wake then starts it and the new edge keeps it up.
func TestAddDepDoesNotStartTarget(t *testing.T) {
	h := newHarness(t, svcDesc("main", TypeInternal), svcDesc("secondary", TypeInternal))
	if err := h.m.Start(h.ctx, "main", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Load(h.ctx, "secondary"); err != nil {
		t.Fatal(err)
	}
	if err := h.m.DepOp(h.ctx, true, DepWaitsFor, "main", "secondary"); err != nil {
		t.Fatal(err)
	}
	h.wantState("secondary", Stopped)
	if err := h.m.Wake(h.ctx, "secondary", false); err != nil {
		t.Fatal(err)
	}
	h.wantState("secondary", Started)
	if err := h.m.DepOp(h.ctx, false, DepWaitsFor, "main", "secondary"); err != nil {
		t.Fatal(err)
	}
	h.wantState("secondary", Stopped) // nothing wants it any more
}

// listAll collects ListFunc's snapshots.
func listAll(ctx context.Context, m *Manager) ([]Info, error) {
	var out []Info
	err := m.ListFunc(ctx, func(_, _ int, in *Info) { out = append(out, *in) })
	return out, err
}
