package service

import (
	"errors"
	"reflect"
	"syscall"
	"testing"
	"time"

	"ginit/internal/power"
)

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

func TestBGProcess(t *testing.T) {
	d := svcDesc("bg", TypeBGProcess)
	d.ExtMut().PIDFile = "/run/bg.pid"
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

func TestChainTo(t *testing.T) {
	a := svcDesc("a", TypeProcess)
	a.ExtMut().ChainTo = "next"
	h := newHarness(t, a, svcDesc("next", TypeInternal))
	h.m.Start(h.ctx, "a", StartOpts{})
	h.exit("a", ProcStart, exited(0))
	h.waitFor("next", func(in Info) bool { return in.State == Started })
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

func TestDecideExit(t *testing.T) {
	now := time.Unix(5000, 0)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name         string
		restart      RestartMode
		smooth       bool
		limit        int // restart-limit-count (interval 10s)
		chainTo      string
		alwaysChain  bool
		pinStart     bool
		pinStop      bool
		shuttingDown bool
		status       ExitStatus
		history      []time.Time
		want         exitDecision
	}{
		{name: "no restart, clean exit", restart: RestartNo, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "no restart, failure", restart: RestartNo, status: exited(1),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "no restart, pinned started still stops", restart: RestartNo, pinStart: true, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "yes, clean exit", limit: 3, restart: RestartYes, status: exited(0),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "on-failure, clean exit", restart: RestartOnFailure, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "on-failure, exit code", limit: 3, restart: RestartOnFailure, status: exited(3),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "on-failure, SIGKILL", limit: 3, restart: RestartOnFailure, status: killedBy(int(syscall.SIGKILL)),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "on-failure, SIGSEGV", limit: 3, restart: RestartOnFailure, status: killedBy(int(syscall.SIGSEGV)),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "on-failure, deliberate SIGTERM", restart: RestartOnFailure, status: killedBy(int(syscall.SIGTERM)),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "on-failure, deliberate SIGHUP", restart: RestartOnFailure, status: killedBy(int(syscall.SIGHUP)),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "on-failure, exec error", limit: 3, restart: RestartOnFailure, status: ExitStatus{ExecErr: syscall.ENOENT},
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "smooth recovery", limit: 3, restart: RestartYes, smooth: true, status: exited(1),
			want: exitDecision{action: exitSmooth, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "pinned stopped is not wanted", restart: RestartYes, pinStop: true, status: exited(1),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "shutting down", restart: RestartYes, shuttingDown: true, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "limit reached", restart: RestartYes, limit: 3, status: exited(1),
			history: []time.Time{ago(9 * time.Second), ago(5 * time.Second), ago(time.Second)},
			want: exitDecision{action: exitGiveUp, reason: ReasonRestartLimit, failed: true,
				restarts: []time.Time{ago(9 * time.Second), ago(5 * time.Second), ago(time.Second)}}},
		{name: "limit reached beats smooth recovery", restart: RestartYes, smooth: true, limit: 1, status: exited(1),
			history: []time.Time{ago(time.Second)},
			want:    exitDecision{action: exitGiveUp, reason: ReasonRestartLimit, failed: true, restarts: []time.Time{ago(time.Second)}}},
		{name: "old restarts leave the window", restart: RestartYes, limit: 3, status: exited(1),
			history: []time.Time{ago(30 * time.Second), ago(10 * time.Second), ago(2 * time.Second)},
			want:    exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{ago(2 * time.Second), now}}},
		{name: "no limit keeps no history", restart: RestartYes, limit: 0, status: exited(1),
			history: []time.Time{ago(3 * time.Second), ago(2 * time.Second), ago(time.Second)},
			want:    exitDecision{action: exitRestart, reason: ReasonTerminated}},
		{name: "only the newest limit-count restarts are kept", restart: RestartYes, limit: 2, status: exited(1),
			history: []time.Time{ago(9 * time.Second), ago(8 * time.Second), ago(7 * time.Second), ago(30 * time.Second), ago(time.Second)},
			want:    exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{ago(time.Second), now}}},
		{name: "chain after a clean exit", restart: RestartNo, chainTo: "b", status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, chain: true}},
		{name: "no chain after a failure", restart: RestartNo, chainTo: "b", status: exited(1),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "always-chain after a failure", restart: RestartNo, chainTo: "b", alwaysChain: true, status: exited(1),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true, chain: true}},
		{name: "no chain while shutting down", restart: RestartNo, chainTo: "b", shuttingDown: true, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "no chain when restarting", limit: 3, restart: RestartYes, chainTo: "b", status: exited(0),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := svcDesc("a", TypeProcess)
			d.Restart, d.SmoothRecovery, d.RestartLimitCount = tc.restart, tc.smooth, tc.limit
			d.ExtMut().ChainTo, d.Options.AlwaysChain = tc.chainTo, tc.alwaysChain
			s := &svc{desc: d, explicit: true, pinStart: tc.pinStart, pinStop: tc.pinStop}
			history := append([]time.Time(nil), tc.history...)
			got := decideExit(exitFacts{
				desc: d, status: tc.status, wanted: (&Manager{}).wanted(s),
				shuttingDown: tc.shuttingDown, now: now, restarts: history,
			})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decideExit = %+v, want %+v", got, tc.want)
			}
			if !reflect.DeepEqual(history, append([]time.Time(nil), tc.history...)) {
				t.Errorf("decideExit changed the history it was given: %v", history)
			}
		})
	}
}

// TestRestartKeepsSpawnerResources: a restart keeps what the spawner holds
// for the service (its cgroup, sockets) for the next spawn instead of
// releasing and making it again; it is released once the service stays
// down: stopped for good, stopped in its restart delay, or at shutdown.
func TestRestartKeepsSpawnerResources(t *testing.T) {
	released := func(h *harness, name string) int {
		h.sync()
		h.sp.mu.Lock()
		defer h.sp.mu.Unlock()
		n := 0
		for _, r := range h.sp.released {
			if r == name {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name string
		// down takes the restarted service b down; ok: b was released once.
		down func(h *harness)
	}{
		{"stopped after the restart", func(h *harness) {
			h.clock.Advance(6 * time.Second) // the restart delay passes: spawned again
			if err := h.m.Stop(h.ctx, "b", StopOpts{NoWait: true}); err != nil {
				t.Fatal(err)
			}
			h.exit("b", ProcStart, killedBy(sigterm))
		}},
		{"stopped in its restart delay", func(h *harness) {
			if err := h.m.Stop(h.ctx, "b", StopOpts{NoWait: true}); err != nil {
				t.Fatal(err)
			}
		}},
		{"shutdown in its restart delay", func(h *harness) {
			if err := h.m.Shutdown(h.ctx, power.Halt); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := svcDesc("b", TypeProcess)
			b.Restart = RestartYes
			b.RestartDelay = 5 * time.Second
			h := newHarness(t, b)
			if err := h.m.Start(h.ctx, "b", StartOpts{}); err != nil {
				t.Fatal(err)
			}
			h.clock.Advance(time.Second)
			h.exit("b", ProcStart, exited(1)) // restarts after RestartDelay
			h.wantState("b", Stopped)
			if n := released(h, "b"); n != 0 {
				t.Fatalf("released %d times across a restart, want 0", n)
			}
			tc.down(h)
			if n := released(h, "b"); n != 1 {
				t.Fatalf("released %d times once down, want 1", n)
			}
		})
	}
}
