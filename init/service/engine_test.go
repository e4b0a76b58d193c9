package service

import (
	"errors"
	"fmt"
	"reflect"
	"syscall"
	"testing"
	"time"
)

func TestDependencyOrder(t *testing.T) {
	h := newHarness(t,
		svcDesc("a", TypeProcess, need("b")),
		svcDesc("b", TypeScripted, need("c")),
		svcDesc("c", TypeProcess),
	)
	ch := h.startAsync("a", StartOpts{})
	h.sync()
	if got := h.sp.order(); !reflect.DeepEqual(got, []string{"c", "b"}) {
		t.Fatalf("spawned %v, want c then b (a waits for scripted b)", got)
	}
	h.wantState("a", Starting)
	h.exit("b", ProcStart, exited(0))
	if err := recv(t, ch); err != nil {
		t.Fatalf("start a: %v", err)
	}
	if got := h.sp.order(); !reflect.DeepEqual(got, []string{"c", "b", "a"}) {
		t.Fatalf("spawned %v", got)
	}
	in := h.wantState("a", Started)
	if !in.Explicit {
		t.Error("a should be explicitly active")
	}
	if h.status("c").Explicit {
		t.Error("c is only required, not explicit")
	}
}

func TestDependencyFailure(t *testing.T) {
	tests := []struct {
		name      string
		dep       Dep
		wantStart bool
	}{
		{"depends-on fails the dependent", need("b"), false},
		{"depends-ms fails the dependent", Dep{Name: "b", Kind: DepMilestone}, false},
		{"waits-for tolerates failure", waitsFor("b"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, svcDesc("a", TypeInternal, tc.dep), svcDesc("b", TypeScripted))
			ch := h.startAsync("a", StartOpts{})
			h.sync()
			h.exit("b", ProcStart, exited(1))
			err := recv(t, ch)
			if tc.wantStart {
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				h.wantState("a", Started)
			} else {
				if startReason(err) != ReasonDepFailed {
					t.Fatalf("start error %v, want dependency failed", err)
				}
				h.wantState("a", Stopped)
			}
			b := h.wantState("b", Stopped)
			if !b.Failed || b.Reason != ReasonFailed {
				t.Errorf("b: failed=%v reason=%s", b.Failed, b.Reason)
			}
		})
	}
}

func TestExecFailure(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeProcess))
	h.sp.failExec["a"] = true
	err := h.m.Start(h.ctx, "a", StartOpts{})
	if startReason(err) != ReasonExecFailed {
		t.Fatalf("err %v", err)
	}
	in := h.wantState("a", Stopped)
	if !in.HasExit || in.Exit.ExecErr == nil {
		t.Errorf("exec error not recorded: %+v", in)
	}
}

func TestStopTimeoutEscalates(t *testing.T) {
	d := svcDesc("a", TypeProcess)
	d.StopTimeout = 3 * time.Second
	h := newHarness(t, d)
	h.m.Start(h.ctx, "a", StartOpts{})
	h.m.Stop(h.ctx, "a", StopOpts{NoWait: true})
	p := h.sp.last("a", ProcStart)
	h.clock.Advance(2 * time.Second)
	h.sync()
	if !reflect.DeepEqual(p.treeSigs(), []int{sigterm}) {
		t.Fatalf("before timeout: %v", p.treeSigs())
	}
	h.clock.Advance(2 * time.Second)
	h.sync()
	if !reflect.DeepEqual(p.treeSigs(), []int{sigterm, sigkill}) {
		t.Fatalf("after timeout: %v", p.treeSigs())
	}
	// KillTree reaches the main process too (supervise's contract, tested
	// there); the manager does not signal it a second time.
	if len(p.sigs()) != 0 {
		t.Fatalf("main process signalled besides its tree: %v", p.sigs())
	}
	h.exit("a", ProcStart, killedBy(sigkill))
	h.wantState("a", Stopped)
}

func TestTermSignalAndStopCommand(t *testing.T) {
	d := svcDesc("a", TypeProcess)
	d.TermSignal = int32(syscall.SIGHUP)
	d.Options.SignalProcessOnly = true
	e := svcDesc("e", TypeProcess)
	e.ExtMut().StopCommand = []string{"/bin/stop-e"}
	h := newHarness(t, d, e)
	h.m.Start(h.ctx, "a", StartOpts{})
	h.m.Start(h.ctx, "e", StartOpts{})
	h.m.Stop(h.ctx, "a", StopOpts{NoWait: true})
	h.m.Stop(h.ctx, "e", StopOpts{NoWait: true})
	if p := h.sp.last("a", ProcStart); !reflect.DeepEqual(p.sigs(), []int{int(syscall.SIGHUP)}) || len(p.treeSigs()) != 0 {
		t.Fatalf("a: signals %v trees %v", p.sigs(), p.treeSigs())
	}
	if h.sp.last("e", ProcStop) == nil || len(h.sp.last("e", ProcStart).treeSigs()) != 0 {
		t.Fatal("e: stop-command should replace the signal")
	}
	h.exit("e", ProcStop, exited(0))
	h.wantState("e", Stopping) // still waits for the main process
	h.exit("e", ProcStart, exited(0))
	h.wantState("e", Stopped)
}

func TestScriptedRunOnce(t *testing.T) {
	d := svcDesc("mount", TypeScripted)
	d.ExtMut().StopCommand = []string{"/bin/umount"}
	d.Options.RunOnce = true
	plain := svcDesc("plain", TypeScripted)
	plain.ExtMut().StopCommand = []string{"/bin/stop"}
	h := newHarness(t, d, plain)
	for i := 0; i < 2; i++ {
		for _, n := range []string{"mount", "plain"} {
			ch := h.startAsync(n, StartOpts{})
			h.sync()
			if h.sp.count(n, ProcStart) > i {
				h.exit(n, ProcStart, exited(0))
			}
			if err := recv(t, ch); err != nil {
				t.Fatal(err)
			}
			h.m.Stop(h.ctx, n, StopOpts{NoWait: true})
			if p := h.sp.last(n, ProcStop); p != nil && h.sp.count(n, ProcStop) > i {
				h.exit(n, ProcStop, exited(0))
			}
			h.wantState(n, Stopped)
		}
	}
	if n := h.sp.count("mount", ProcStart); n != 1 {
		t.Errorf("run-once command ran %d times", n)
	}
	if n := h.sp.count("mount", ProcStop); n != 0 {
		t.Errorf("run-once stop command ran %d times outside shutdown", n)
	}
	if n := h.sp.count("plain", ProcStart); n != 2 {
		t.Errorf("plain scripted ran %d times", n)
	}
	if n := h.sp.count("plain", ProcStop); n != 2 {
		t.Errorf("plain stop command ran %d times", n)
	}
}

func TestTriggered(t *testing.T) {
	h := newHarness(t, svcDesc("t", TypeTriggered), svcDesc("a", TypeInternal, need("t")))
	ch := h.startAsync("a", StartOpts{})
	h.sync()
	h.wantState("t", Starting)
	h.wantState("a", Starting)
	if err := h.m.Trigger(h.ctx, "t", true); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, ch); err != nil {
		t.Fatal(err)
	}
	h.wantState("a", Started)
	if err := h.m.Trigger(h.ctx, "a", true); !errors.Is(err, ErrBadArgument) {
		t.Errorf("trigger of internal: %v", err)
	}
}

func TestStartTimeout(t *testing.T) {
	d := svcDesc("s", TypeScripted)
	d.StartTimeout = 5 * time.Second
	h := newHarness(t, d)
	ch := h.startAsync("s", StartOpts{})
	h.sync()
	h.clock.Advance(6 * time.Second)
	h.sync()
	p := h.sp.last("s", ProcStart)
	if !reflect.DeepEqual(p.treeSigs(), []int{sigterm}) {
		t.Fatalf("timed-out command not signalled: %v", p.treeSigs())
	}
	h.exit("s", ProcStart, killedBy(sigterm))
	if err := recv(t, ch); startReason(err) != ReasonTimedOut {
		t.Fatalf("err %v", err)
	}
	h.wantState("s", Stopped)
}

func TestReadiness(t *testing.T) {
	d := svcDesc("n", TypeProcess)
	d.ExtMut().ReadyNotification = "pipefd:3"
	h := newHarness(t, d)
	ch := h.startAsync("n", StartOpts{})
	h.sync()
	h.wantState("n", Starting)
	p := h.sp.last("n", ProcStart)
	p.n.Ready(p)
	if err := recv(t, ch); err != nil {
		t.Fatal(err)
	}
	h.wantState("n", Started)
}

func TestOrdering(t *testing.T) {
	a := svcDesc("a", TypeScripted, Dep{Name: "b", Kind: DepAfter})
	b := svcDesc("b", TypeScripted)
	boot := svcDesc("boot", TypeInternal, need("a"), need("b"))
	h := newHarness(t, boot, a, b)
	ch := h.startAsync("boot", StartOpts{})
	h.sync()
	if got := h.sp.order(); !reflect.DeepEqual(got, []string{"b"}) {
		t.Fatalf("spawned %v; a must wait for b", got)
	}
	h.exit("b", ProcStart, exited(0))
	h.exit("a", ProcStart, exited(0))
	if err := recv(t, ch); err != nil {
		t.Fatal(err)
	}
}

// Services that become ready together are spawned as one batch (in
// parallel here); each still gets exactly one process, failures stay
// per-service, and "started" is reported in queue order.
func TestParallelSpawnBatch(t *testing.T) {
	var descs []*Description
	var deps []Dep
	for i := 0; i < 50; i++ {
		n := fmt.Sprintf("leaf%02d", i)
		descs = append(descs, svcDesc(n, TypeProcess))
		deps = append(deps, need(n))
	}
	descs = append(descs, svcDesc("target", TypeInternal, deps...))
	h := newHarnessCfg(t, func(c *Config) { c.SpawnParallel = 4 }, descs...)
	h.sp.mu.Lock()
	h.sp.failExec["leaf07"] = true
	h.sp.mu.Unlock()
	err := h.m.Start(h.ctx, "target", StartOpts{})
	if err == nil {
		t.Fatal("target started although leaf07 could not be executed")
	}
	for i := 0; i < 50; i++ {
		n := fmt.Sprintf("leaf%02d", i)
		if i == 7 {
			if st := h.status(n); st.State != Stopped || st.Reason != ReasonExecFailed {
				t.Errorf("leaf07: %+v", st)
			}
			continue
		}
		if c := h.sp.count(n, ProcStart); c != 1 {
			t.Errorf("%s spawned %d times", n, c)
		}
	}
	// The other leaves were stopped with the target; their (fake)
	// processes end on the signal.
	for i := 0; i < 50; i++ {
		if i != 7 {
			h.exit(fmt.Sprintf("leaf%02d", i), ProcStart, killedBy(sigterm))
		}
	}
	h.sp.mu.Lock()
	h.sp.failExec["leaf07"] = false
	h.sp.mu.Unlock()
	if err := h.m.Start(h.ctx, "target", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	h.wantState("target", Started)
}

// kill-all-on-stop: the stop waits for KillAll before running the stop
// command.
func TestKillAllOnStop(t *testing.T) {
	d := svcDesc("final", TypeScripted)
	d.ExtMut().StopCommand = []string{"/bin/umount-all"}
	d.Options.KillAllOnStop = true
	killed := make(chan func(), 1)
	h := newHarnessCfg(t, func(c *Config) { c.KillAll = func(done func()) { killed <- done } }, d)
	if err := h.m.Start(h.ctx, "final", StartOpts{NoWait: true}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("final", func(Info) bool { return h.sp.count("final", ProcStart) == 1 })
	h.exit("final", ProcStart, exited(0))
	h.wantState("final", Started)
	h.m.Stop(h.ctx, "final", StopOpts{NoWait: true})
	var done func()
	select {
	case done = <-killed:
	case <-time.After(5 * time.Second):
		t.Fatal("KillAll not called")
	}
	h.sync()
	if n := h.sp.count("final", ProcStop); n != 0 {
		t.Fatalf("stop command ran before KillAll finished")
	}
	done()
	h.waitFor("final", func(Info) bool { return h.sp.count("final", ProcStop) == 1 })
	h.exit("final", ProcStop, exited(0))
	h.wantState("final", Stopped)
}

// prepared-by: a restart of the dependent (here ginitctl restart) redoes
// the dependency first; the first start runs it once; smooth recovery
// would not count (not exercised here).
func TestPreparedBy(t *testing.T) {
	app := svcDesc("app", TypeProcess, Dep{Name: "prep", Kind: DepRegular, Prepared: true})
	prep := svcDesc("prep", TypeScripted)
	h := newHarness(t, app, prep)
	if err := h.m.Start(h.ctx, "app", StartOpts{NoWait: true}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("prep", func(Info) bool { return h.sp.count("prep", ProcStart) == 1 })
	h.exit("prep", ProcStart, exited(0))
	h.wantState("app", Started)
	done := make(chan error, 1)
	go func() { done <- h.m.Restart(h.ctx, "app", StopOpts{}) }()
	h.waitFor("app", func(in Info) bool { return in.State == Stopping })
	h.exit("app", ProcStart, killedBy(sigterm))
	// prep is run again before app's second start.
	h.waitFor("prep", func(Info) bool { return h.sp.count("prep", ProcStart) == 2 })
	if n := h.sp.count("app", ProcStart); n != 1 {
		t.Fatalf("app started again before prep was redone (%d starts)", n)
	}
	h.exit("prep", ProcStart, exited(0))
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	if n := h.sp.count("app", ProcStart); n != 2 {
		t.Errorf("app started %d times, want 2", n)
	}
}

// A burst of spawns leaves no burst-sized queue behind: the manager keeps
// its spawn queue for its whole life.
func TestSpawnQueueReleasedAfterBurst(t *testing.T) {
	var descs []*Description
	var deps []Dep
	for i := 0; i < 2*maxKeptSpawnQueue; i++ {
		n := fmt.Sprintf("leaf%03d", i)
		descs = append(descs, svcDesc(n, TypeProcess))
		deps = append(deps, need(n))
	}
	descs = append(descs, svcDesc("target", TypeInternal, deps...))
	h := newHarness(t, descs...)
	if err := h.m.Start(h.ctx, "target", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	var kept int
	if err := h.m.call(h.ctx, func() { kept = cap(h.m.pendingSpawns) }); err != nil {
		t.Fatal(err)
	}
	if kept > maxKeptSpawnQueue {
		t.Errorf("spawn queue keeps room for %d after the burst, want at most %d", kept, maxKeptSpawnQueue)
	}
}
