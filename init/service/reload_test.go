package service

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitSpawns polls until svc has n processes of kind.
func (h *harness) waitSpawns(svc string, kind ProcKind, n int) {
	h.t.Helper()
	for i := 0; i < 5000; i++ {
		if h.sp.count(svc, kind) >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("%s: %d processes of kind %d not reached", svc, n, kind)
}

func TestReloadService(t *testing.T) {
	hup := []string{"/bin/kill", "-HUP", "$MAINPID"}
	note := []string{"/bin/note", "pid=${MAINPID}", "$MAINPIDX"}
	cases := []struct {
		name     string
		cmds     [][]string
		exits    []ExitStatus // of the reload commands that get to run
		execFail bool         // the spawner refuses the first command
		wantArgv [][]string   // "@PID@" stands for the main pid
		wantErr  string       // "" = success
		step     int          // ReloadError.Step
	}{
		{"one command", [][]string{hup}, []ExitStatus{exited(0)},
			false, [][]string{{"/bin/kill", "-HUP", "@PID@"}}, "", 0},
		{"two in order", [][]string{hup, note}, []ExitStatus{exited(0), exited(0)},
			false, [][]string{{"/bin/kill", "-HUP", "@PID@"}, {"/bin/note", "pid=@PID@", "$MAINPIDX"}}, "", 0},
		{"first fails, second not run", [][]string{hup, note}, []ExitStatus{exited(3)},
			false, [][]string{{"/bin/kill", "-HUP", "@PID@"}}, "reload command 1 of 2 (/bin/kill -HUP @PID@) exited 3", 1},
		{"second killed", [][]string{hup, note}, []ExitStatus{exited(0), killedBy(int(syscall.SIGKILL))},
			false, [][]string{{"/bin/kill", "-HUP", "@PID@"}, {"/bin/note", "pid=@PID@", "$MAINPIDX"}},
			"reload command 2 of 2 (/bin/note pid=@PID@ $MAINPIDX) signal 9 (killed)", 2},
		{"exec fails", [][]string{{"/nonexistent"}}, nil,
			true, nil, "reload command (/nonexistent) exec failed", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := svcDesc("d", TypeProcess)
			d.ExtMut().ReloadCommand = c.cmds
			h := newHarness(t, d)
			if err := h.m.Start(h.ctx, "d", StartOpts{}); err != nil {
				t.Fatal(err)
			}
			main := h.sp.last("d", ProcStart)
			pid := strconv.Itoa(main.pid)
			if c.execFail {
				h.sp.mu.Lock()
				h.sp.failExec["d"] = true
				h.sp.mu.Unlock()
			}
			ch := make(chan error, 1)
			go func() { ch <- h.m.ReloadService(h.ctx, "d") }()
			for i, st := range c.exits {
				h.waitSpawns("d", ProcReload, i+1)
				h.exit("d", ProcReload, st)
			}
			err := recv(t, ch)
			var got [][]string
			h.sp.mu.Lock()
			for _, p := range h.sp.spawns {
				if p.kind == ProcReload {
					got = append(got, p.argv)
				}
			}
			h.sp.mu.Unlock()
			var want [][]string
			for _, a := range c.wantArgv {
				w := make([]string, len(a))
				for i, s := range a {
					w[i] = strings.ReplaceAll(s, "@PID@", pid)
				}
				want = append(want, w)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("reload commands %q, want %q", got, want)
			}
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("reload: %v", err)
				}
			} else {
				var re *ReloadError
				if !errors.As(err, &re) || re.Step != c.step || re.Service != "d" {
					t.Fatalf("reload: %v (%#v), want a ReloadError of step %d", err, err, c.step)
				}
				wantMsg := "reload of service 'd' failed: " + strings.ReplaceAll(c.wantErr, "@PID@", pid)
				if got := err.Error(); len(got) < len(wantMsg) || got[:len(wantMsg)] != wantMsg {
					t.Errorf("message %q, want it to begin %q", got, wantMsg)
				}
			}
			// The service keeps running, untouched.
			in := h.wantState("d", Started)
			if in.PID != main.pid || len(main.sigs()) != 0 || len(main.treeSigs()) != 0 {
				t.Errorf("main process: pid %d (want %d), signals %v %v", in.PID, main.pid, main.sigs(), main.treeSigs())
			}
			// Another reload may follow.
			if !c.execFail {
				go func() { ch <- h.m.ReloadService(h.ctx, "d") }()
				for i := range c.cmds {
					h.waitSpawns("d", ProcReload, len(c.exits)+i+1)
					h.exit("d", ProcReload, exited(0))
				}
				if err := recv(t, ch); err != nil {
					t.Fatalf("second reload: %v", err)
				}
			}
		})
	}
}

func TestReloadServiceRefused(t *testing.T) {
	withCmd := func(name string, t Type) *Description {
		d := svcDesc(name, t)
		d.ExtMut().ReloadCommand = [][]string{{"/bin/reload"}}
		return d
	}
	cases := []struct {
		name    string
		svc     string
		prepare func(h *harness)
		want    error
		msg     string
	}{
		{"not loaded", "nope", func(*harness) {}, ErrNotLoaded, "service 'nope': service not loaded"},
		{"no reload-command", "plain", func(h *harness) {
			if err := h.m.Start(h.ctx, "plain", StartOpts{}); err != nil {
				h.t.Fatal(err)
			}
		}, ErrNoReloadCommand, "cannot reload service 'plain': service has no reload-command"},
		{"stopped", "r", func(h *harness) {
			if err := h.m.Load(h.ctx, "r"); err != nil {
				h.t.Fatal(err)
			}
		}, ErrNotStarted, "cannot reload service 'r' (stopped): service is not started"},
		{"starting", "n", func(h *harness) {
			h.startAsync("n", StartOpts{NoWait: true})
			h.wantState("n", Starting)
		}, ErrNotStarted, "cannot reload service 'n' (starting): service is not started"},
		{"already reloading", "r", func(h *harness) {
			if err := h.m.Start(h.ctx, "r", StartOpts{}); err != nil {
				h.t.Fatal(err)
			}
			go func() { _ = h.m.ReloadService(h.ctx, "r") }()
			h.waitSpawns("r", ProcReload, 1)
		}, ErrReloadRunning, "cannot reload service 'r': a reload of the service is still running"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := withCmd("n", TypeProcess)
			n.ExtMut().ReadyNotification = "pipefd:3"
			h := newHarness(t, withCmd("r", TypeProcess), svcDesc("plain", TypeProcess), n)
			c.prepare(h)
			err := h.m.ReloadService(h.ctx, c.svc)
			if !errors.Is(err, c.want) || err.Error() != c.msg {
				t.Fatalf("reload: %v, want %q", err, c.msg)
			}
			if c.svc != "nope" && c.want != ErrReloadRunning && h.sp.count(c.svc, ProcReload) != 0 {
				t.Fatal("a reload command ran")
			}
		})
	}
}

func TestSubstMainPID(t *testing.T) {
	cases := []struct {
		in   []string
		pid  int
		want []string
	}{
		{[]string{"kill", "-HUP", "$MAINPID"}, 42, []string{"kill", "-HUP", "42"}},
		{[]string{"x", "--pid=${MAINPID}", "$MAINPID$MAINPID"}, 7, []string{"x", "--pid=7", "77"}},
		{[]string{"x", "$MAINPIDS", "${MAINPIDS}", "$$MAINPID"}, 7, []string{"x", "$MAINPIDS", "${MAINPIDS}", "$7"}},
		{[]string{"kill", "-HUP", "$MAINPID"}, 0, []string{"kill", "-HUP"}},
		{[]string{"x", "p=${MAINPID}"}, 0, []string{"x", "p="}},
	}
	for _, c := range cases {
		if got := substMainPID(c.in, c.pid); !reflect.DeepEqual(got, c.want) {
			t.Errorf("substMainPID(%q, %d) = %q, want %q", c.in, c.pid, got, c.want)
		}
	}
}

// A reload command that outlives start-timeout is killed (its own process
// group, not the service's tree), and the reload fails saying so.
func TestReloadServiceTimeout(t *testing.T) {
	d := svcDesc("d", TypeProcess)
	d.ExtMut().ReloadCommand = [][]string{{"/bin/hang"}, {"/bin/never"}}
	h := newHarness(t, d)
	if err := h.m.Start(h.ctx, "d", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	main := h.sp.last("d", ProcStart)
	ch := make(chan error, 1)
	go func() { ch <- h.m.ReloadService(h.ctx, "d") }()
	h.waitSpawns("d", ProcReload, 1)
	rp := h.sp.last("d", ProcReload)
	h.clock.Advance(d.StartTimeout - time.Second)
	h.sync()
	if len(rp.sigs()) != 0 {
		t.Fatalf("signalled before the timeout: %v", rp.sigs())
	}
	h.clock.Advance(time.Second)
	h.sync()
	if !reflect.DeepEqual(rp.sigs(), []int{int(syscall.SIGKILL)}) || len(rp.treeSigs()) != 0 {
		t.Fatalf("reload command got %v, tree %v; want SIGKILL to it alone", rp.sigs(), rp.treeSigs())
	}
	h.exit("d", ProcReload, killedBy(int(syscall.SIGKILL)))
	err := recv(t, ch)
	want := "reload of service 'd' failed: reload command 1 of 2 (/bin/hang) timed out after 1m0s (signal 9 (killed)); the service keeps running"
	if err == nil || err.Error() != want {
		t.Fatalf("reload: %v, want %q", err, want)
	}
	if h.sp.count("d", ProcReload) != 1 || len(main.sigs()) != 0 || len(main.treeSigs()) != 0 {
		t.Errorf("reload commands %d, main signals %v %v", h.sp.count("d", ProcReload), main.sigs(), main.treeSigs())
	}
	h.wantState("d", Started)
}

// Stopping a service ends its running reload command, and the reload
// answers with how that command ended.
func TestReloadServiceStopped(t *testing.T) {
	d := svcDesc("d", TypeProcess)
	d.ExtMut().ReloadCommand = [][]string{{"/bin/slow"}, {"/bin/next"}}
	h := newHarness(t, d)
	if err := h.m.Start(h.ctx, "d", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() { ch <- h.m.ReloadService(h.ctx, "d") }()
	h.waitSpawns("d", ProcReload, 1)
	if err := h.m.Stop(h.ctx, "d", StopOpts{NoWait: true}); err != nil {
		t.Fatal(err)
	}
	rp := h.sp.last("d", ProcReload)
	if !reflect.DeepEqual(rp.sigs(), []int{sigterm}) {
		t.Fatalf("reload command got %v, want SIGTERM", rp.sigs())
	}
	h.exit("d", ProcReload, killedBy(sigterm))
	var re *ReloadError
	if err := recv(t, ch); !errors.As(err, &re) || re.Step != 1 || !re.Status.Signaled {
		t.Fatalf("reload: %v", err)
	}
	h.exit("d", ProcStart, killedBy(sigterm))
	h.wantState("d", Stopped)
	if n := h.sp.count("d", ProcReload); n != 1 {
		t.Errorf("%d reload commands ran", n)
	}
}
