package service

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"ginit/internal/power"
)

const sigterm, sigkill = int(syscall.SIGTERM), int(syscall.SIGKILL)

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
	d.TermSignal = int(syscall.SIGHUP)
	d.Options.SignalProcessOnly = true
	e := svcDesc("e", TypeProcess)
	e.StopCommand = []string{"/bin/stop-e"}
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

func TestRestartAndDependents(t *testing.T) {
	tests := []struct {
		name              string
		smooth            bool
		wantDependentStop bool
	}{
		{"restart stops and restarts hard dependents", false, true},
		{"smooth recovery leaves dependents alone", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := svcDesc("b", TypeProcess)
			b.Restart = RestartYes
			b.SmoothRecovery = tc.smooth
			h := newHarness(t, svcDesc("a", TypeProcess, need("b")), b)
			if err := h.m.Start(h.ctx, "a", StartOpts{}); err != nil {
				t.Fatal(err)
			}
			h.clock.Advance(time.Second)
			h.exit("b", ProcStart, exited(1))
			a1 := h.sp.last("a", ProcStart)
			if got := len(a1.treeSigs()) > 0; got != tc.wantDependentStop {
				t.Fatalf("dependent signalled=%v", got)
			}
			if tc.wantDependentStop {
				h.exit("a", ProcStart, killedBy(sigterm))
			}
			h.clock.Advance(time.Second)
			h.sync()
			if n := h.sp.count("b", ProcStart); n != 2 {
				t.Fatalf("b spawned %d times", n)
			}
			h.wantState("b", Started)
			h.wantState("a", Started)
			wantA := 1
			if tc.wantDependentStop {
				wantA = 2
			}
			if n := h.sp.count("a", ProcStart); n != wantA {
				t.Fatalf("a spawned %d times, want %d", n, wantA)
			}
		})
	}
}

func TestRestartDelay(t *testing.T) {
	b := svcDesc("b", TypeProcess)
	b.Restart = RestartYes
	b.RestartDelay = 5 * time.Second
	h := newHarness(t, b)
	h.m.Start(h.ctx, "b", StartOpts{})
	h.clock.Advance(time.Second)
	h.exit("b", ProcStart, exited(0))
	h.wantState("b", Stopped)
	h.clock.Advance(3 * time.Second)
	h.sync()
	if n := h.sp.count("b", ProcStart); n != 1 {
		t.Fatalf("restarted before the delay: %d", n)
	}
	h.clock.Advance(2 * time.Second)
	h.sync()
	if n := h.sp.count("b", ProcStart); n != 2 {
		t.Fatalf("not restarted after the delay: %d", n)
	}
}

func TestRestartLimit(t *testing.T) {
	b := svcDesc("b", TypeProcess)
	b.Restart = RestartYes
	h := newHarness(t, b)
	h.m.Start(h.ctx, "b", StartOpts{})
	for i := 0; i < 4; i++ {
		h.clock.Advance(time.Second)
		h.exit("b", ProcStart, exited(2))
		h.clock.Advance(time.Second)
		h.sync()
	}
	in := h.wantState("b", Stopped)
	if in.Reason != ReasonRestartLimit || !in.Failed || in.Explicit {
		t.Fatalf("after crash loop: %+v", in)
	}
	if n := h.sp.count("b", ProcStart); n != 4 {
		t.Fatalf("spawned %d times, want 1 + 3 restarts", n)
	}
}

func TestRestartPolicy(t *testing.T) {
	tests := []struct {
		mode        RestartMode
		exit        ExitStatus
		wantRestart bool
	}{
		{RestartNo, exited(1), false},
		{RestartYes, exited(0), true},
		{RestartOnFailure, exited(0), false},
		{RestartOnFailure, exited(1), true},
		{RestartOnFailure, killedBy(sigterm), false},
		{RestartOnFailure, killedBy(int(syscall.SIGSEGV)), true},
	}
	for _, tc := range tests {
		b := svcDesc("b", TypeProcess)
		b.Restart = tc.mode
		h := newHarness(t, b)
		h.m.Start(h.ctx, "b", StartOpts{})
		h.clock.Advance(time.Second)
		h.exit("b", ProcStart, tc.exit)
		h.clock.Advance(time.Second)
		h.sync()
		if got := h.sp.count("b", ProcStart) == 2; got != tc.wantRestart {
			t.Errorf("mode %d exit %s: restarted=%v", tc.mode, tc.exit, got)
		}
	}
}

// A process that ends for good takes its hard dependents down, even when it
// was stopped on purpose (exit 0, or a signal sent by the user).
func TestProcessDeathForceStopsDependents(t *testing.T) {
	for _, st := range []ExitStatus{exited(0), killedBy(sigterm)} {
		h := newHarness(t, svcDesc("a", TypeProcess, need("b")), svcDesc("b", TypeProcess),
			svcDesc("w", TypeInternal, waitsFor("b")))
		h.m.Start(h.ctx, "a", StartOpts{})
		h.m.Start(h.ctx, "w", StartOpts{})
		h.exit("b", ProcStart, st)
		h.wantState("a", Stopping)
		h.exit("a", ProcStart, killedBy(sigterm))
		a := h.wantState("a", Stopped)
		if a.Explicit {
			t.Errorf("%s: a kept its activation", st)
		}
		h.wantState("b", Stopped)
		h.wantState("w", Started) // waits-for is not a hard dependency
	}
}

func TestScriptedRunOnce(t *testing.T) {
	d := svcDesc("mount", TypeScripted)
	d.StopCommand = []string{"/bin/umount"}
	d.Options.RunOnce = true
	plain := svcDesc("plain", TypeScripted)
	plain.StopCommand = []string{"/bin/stop"}
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

func TestSkippable(t *testing.T) {
	d := svcDesc("s", TypeScripted)
	d.Options.Skippable = true
	h := newHarness(t, d)
	ch := h.startAsync("s", StartOpts{})
	h.sync()
	h.exit("s", ProcStart, killedBy(int(syscall.SIGINT)))
	if err := recv(t, ch); err != nil {
		t.Fatal(err)
	}
	if in := h.wantState("s", Started); !in.Skipped {
		t.Error("not marked skipped")
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
	d.ReadyNotification = "pipefd:3"
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

func TestBGProcess(t *testing.T) {
	d := svcDesc("bg", TypeBGProcess)
	d.PIDFile = "/run/bg.pid"
	h := newHarness(t, d)
	ch := h.startAsync("bg", StartOpts{})
	h.sync()
	h.exit("bg", ProcStart, exited(0)) // the launcher
	if err := recv(t, ch); err != nil {
		t.Fatal(err)
	}
	in := h.wantState("bg", Started)
	if in.PID < 5000 {
		t.Fatalf("pid %d is not the adopted daemon", in.PID)
	}
	h.m.Stop(h.ctx, "bg", StopOpts{NoWait: true})
	h.exit("bg", ProcStart, killedBy(sigterm))
	h.wantState("bg", Stopped)
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

func TestLoadErrorChangesNothing(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeInternal, need("missing")), svcDesc("ok", TypeInternal))
	if err := h.m.Start(h.ctx, "ok", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Start(h.ctx, "a", StartOpts{}); err == nil {
		t.Fatal("start of a service with a missing dependency succeeded")
	}
	list, _ := h.m.List(h.ctx)
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

func TestChainTo(t *testing.T) {
	a := svcDesc("a", TypeProcess)
	a.ChainTo = "next"
	h := newHarness(t, a, svcDesc("next", TypeInternal))
	h.m.Start(h.ctx, "a", StartOpts{})
	h.exit("a", ProcStart, exited(0))
	h.waitFor("next", func(in Info) bool { return in.State == Started })
}

func TestShutdown(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeProcess, need("b")), svcDesc("b", TypeProcess))
	h.m.Start(h.ctx, "a", StartOpts{})
	if err := h.m.Shutdown(h.ctx, power.Poweroff); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Start(h.ctx, "b", StartOpts{}); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("start during shutdown: %v", err)
	}
	h.exit("a", ProcStart, killedBy(sigterm))
	h.exit("b", ProcStart, killedBy(sigterm))
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	if h.kind != power.Poweroff {
		t.Fatalf("kind %s", h.kind)
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

func TestStartWaiterSeesFailureOfPlainProcess(t *testing.T) {
	h := newHarness(t, svcDesc("n", TypeScripted))
	ch := h.startAsync("n", StartOpts{})
	h.sync()
	h.exit("n", ProcStart, exited(3))
	err := recv(t, ch)
	if !isStartErr(err) {
		t.Fatalf("err %v", err)
	}
	var se *StartError
	errors.As(err, &se)
	if se.Exit.Code != 3 {
		t.Errorf("exit %v", se.Exit)
	}
}

func TestShutdownReportsAndGivesUp(t *testing.T) {
	stubborn := svcDesc("stubborn", TypeProcess)
	stubborn.StopTimeout = 0 // never escalates to SIGKILL by itself
	h := newHarnessCfg(t, func(c *Config) {
		c.ShutdownReport = 5 * time.Second
		c.ShutdownTimeout = 15 * time.Second
	}, stubborn)
	if err := h.m.Start(h.ctx, "stubborn", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Shutdown(h.ctx, power.Reboot); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(5 * time.Second)
	h.sync()
	h.clock.Advance(5 * time.Second)
	h.sync()
	select {
	case <-h.done:
		t.Fatal("Run returned before the shutdown timeout")
	default:
	}
	h.clock.Advance(5 * time.Second)
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the shutdown timeout")
	}
	if h.kind != power.Reboot {
		t.Errorf("kind %s", h.kind)
	}
	h.logs.mu.Lock()
	defer h.logs.mu.Unlock()
	var waits, gaveUp int
	for _, l := range h.logs.lines {
		if strings.Contains(l, "still waiting for: stubborn (stopping)") {
			waits++
		}
		if strings.Contains(l, "gave up after 15s waiting for: stubborn") {
			gaveUp++
		}
	}
	if waits != 2 || gaveUp != 1 {
		t.Errorf("want 2 progress reports and 1 give-up, got %d and %d: %q", waits, gaveUp, h.logs.lines)
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

// kill-all-on-stop: the stop waits for KillAll before running the stop
// command.
func TestKillAllOnStop(t *testing.T) {
	d := svcDesc("final", TypeScripted)
	d.StopCommand = []string{"/bin/umount-all"}
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
