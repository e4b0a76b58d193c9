package service

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestPins(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeProcess))
	if err := h.m.Start(h.ctx, "a", StartOpts{Pin: true}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Stop(h.ctx, "a", StopOpts{}); !errors.Is(err, ErrPinnedStarted) {
		t.Fatalf("stop of pinned-started: %v", err)
	}
	if err := h.m.Release(h.ctx, "a", false); err != nil {
		t.Fatal(err)
	}
	h.wantState("a", Started) // pinned: release takes effect only on unpin
	if err := h.m.Unpin(h.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	h.wantState("a", Stopping)
	h.exit("a", ProcStart, killedBy(sigterm))
	h.wantState("a", Stopped)

	if err := h.m.Stop(h.ctx, "a", StopOpts{Pin: true, IgnoreUnstarted: true}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Start(h.ctx, "a", StartOpts{}); !errors.Is(err, ErrPinnedStopped) {
		t.Fatalf("start of pinned-stopped: %v", err)
	}
	h.m.Unpin(h.ctx, "a")
	if err := h.m.Start(h.ctx, "a", StartOpts{}); err != nil {
		t.Fatal(err)
	}
}

func TestStopRefusedWithDependents(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeProcess, need("b")), svcDesc("b", TypeProcess))
	if err := h.m.Start(h.ctx, "a", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	err := h.m.Stop(h.ctx, "b", StopOpts{})
	var de *DependentsError
	if !errors.As(err, &de) || !reflect.DeepEqual(de.Dependents, []string{"a"}) {
		t.Fatalf("gentle stop: %v", err)
	}
	if err := h.m.Stop(h.ctx, "b", StopOpts{Force: true, NoWait: true}); err != nil {
		t.Fatal(err)
	}
	// a stops first; b waits for it.
	if p := h.sp.last("a", ProcStart); !reflect.DeepEqual(p.treeSigs(), []int{sigterm}) {
		t.Fatalf("a signals %v", p.treeSigs())
	}
	if p := h.sp.last("b", ProcStart); len(p.treeSigs()) != 0 {
		t.Fatalf("b signalled before a stopped: %v", p.treeSigs())
	}
	h.exit("a", ProcStart, killedBy(sigterm))
	if p := h.sp.last("b", ProcStart); !reflect.DeepEqual(p.treeSigs(), []int{sigterm}) {
		t.Fatalf("b signals %v", p.treeSigs())
	}
	h.exit("b", ProcStart, killedBy(sigterm))
	h.wantState("b", Stopped)
	a := h.wantState("a", Stopped)
	if a.Explicit || a.Reason != ReasonDepStopped {
		t.Errorf("a keeps activation %v / reason %s", a.Explicit, a.Reason)
	}
}

func TestWakeAndRelease(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeInternal, waitsFor("b")), svcDesc("b", TypeProcess))
	h.m.Start(h.ctx, "a", StartOpts{})
	h.m.Stop(h.ctx, "b", StopOpts{NoWait: true})
	h.exit("b", ProcStart, killedBy(sigterm))
	h.wantState("b", Stopped)
	h.wantState("a", Started)
	if err := h.m.Wake(h.ctx, "b", false); err != nil {
		t.Fatal(err)
	}
	if in := h.wantState("b", Started); in.Explicit {
		t.Error("wake must not activate")
	}
	if err := h.m.Release(h.ctx, "a", false); err != nil {
		t.Fatal(err)
	}
	h.wantState("a", Stopped)
	h.wantState("b", Stopping) // nobody needs it any more
}

func TestManualRestart(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeProcess, need("b")), svcDesc("b", TypeProcess))
	h.m.Start(h.ctx, "a", StartOpts{})
	if err := h.m.Restart(h.ctx, "b", StopOpts{}); err == nil {
		t.Fatal("restart with a hard dependent should be refused without --force")
	}
	if err := h.m.Restart(h.ctx, "b", StopOpts{Force: true, NoWait: true}); err != nil {
		t.Fatal(err)
	}
	h.exit("a", ProcStart, killedBy(sigterm))
	h.exit("b", ProcStart, killedBy(sigterm))
	h.wantState("b", Started)
	if in := h.wantState("a", Started); !in.Explicit {
		t.Error("a lost its activation over a restart")
	}
}

func TestSetEnv(t *testing.T) {
	h := newHarness(t)
	h.m.SetEnv(h.ctx, []string{"A=1", "B=2"}, false)
	h.m.SetEnv(h.ctx, []string{"A=3"}, false)
	h.m.SetEnv(h.ctx, []string{"B"}, true)
	env, _ := h.m.Env(h.ctx)
	if !reflect.DeepEqual(env, []string{"A=3"}) {
		t.Fatalf("env %v", env)
	}
}

// A restart of a process service returns once it is started again (its
// waiter must be told after the batched spawn).
func TestRestartWaitsForStarted(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeProcess))
	if err := h.m.Start(h.ctx, "a", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.m.Restart(h.ctx, "a", StopOpts{}) }()
	h.waitFor("a", func(in Info) bool { return in.State == Stopping })
	h.exit("a", ProcStart, killedBy(sigterm))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("restart did not return after the service started again")
	}
	if c := h.sp.count("a", ProcStart); c != 2 {
		t.Errorf("%d start processes, want 2", c)
	}
}

// A restart of a service whose stop completes at once (internal, triggered,
// scripted without stop-command) returns once it has started again, as
// dinit's "restart" test expects: the waiter must exist before the stop.
func TestRestartOfServiceThatStopsAtOnce(t *testing.T) {
	tests := []struct {
		name  string
		desc  *Description
		setup func(h *harness)
		again func(h *harness) // finishes the new start, if it needs a process
	}{
		{name: "internal", desc: svcDesc("s", TypeInternal)},
		{name: "triggered", desc: svcDesc("s", TypeTriggered), setup: func(h *harness) {
			if err := h.m.Trigger(h.ctx, "s", true); err != nil {
				h.t.Fatal(err)
			}
		}},
		{name: "scripted", desc: svcDesc("s", TypeScripted),
			setup: func(h *harness) { h.sync(); h.exit("s", ProcStart, exited(0)) },
			again: func(h *harness) {
				h.waitFor("s", func(in Info) bool { return h.sp.count("s", ProcStart) == 2 })
				h.exit("s", ProcStart, exited(0))
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.desc)
			ch := h.startAsync("s", StartOpts{})
			if tc.setup != nil {
				tc.setup(h)
			}
			if err := recv(t, ch); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- h.m.Restart(h.ctx, "s", StopOpts{}) }()
			if tc.again != nil {
				tc.again(h)
			}
			if err := recv(t, done); err != nil {
				t.Fatalf("restart: %v", err)
			}
			if in := h.wantState("s", Started); !in.Explicit {
				t.Error("s lost its activation over the restart")
			}
		})
	}
}
