package sessiond

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bus "ginit/dbus"
	"ginit/internal/power"
)

// fakePower records the actions handed to it.
type fakePower struct {
	mu    sync.Mutex
	calls chan string
	fail  error
	sleep map[string]bool
}

func newFakePower() *fakePower {
	return &fakePower{calls: make(chan string, 16), sleep: map[string]bool{"suspend": true, "hibernate": true}}
}

func (p *fakePower) Shutdown(ctx context.Context, kind power.Kind) error {
	p.calls <- kind.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fail
}

func (p *fakePower) Sleep(ctx context.Context, kind string) error { p.calls <- kind; return nil }

func (p *fakePower) CanSleep(kind string) bool { return p.sleep[kind] }

func (p *fakePower) next(t *testing.T) string {
	t.Helper()
	select {
	case k := <-p.calls:
		return k
	case <-time.After(5 * time.Second):
		t.Fatal("no power action")
	}
	return ""
}

func (p *fakePower) none(t *testing.T) {
	t.Helper()
	// Give a wrongly scheduled action the chance to show up.
	select {
	case k := <-p.calls:
		t.Fatalf("unexpected power action %s", k)
	case <-time.After(50 * time.Millisecond):
	}
}

// manualClock is fakeClock whose timers fire only when the test says so.
type manualClock struct {
	fakeClock
	mu     sync.Mutex
	timers []func()
}

type manualTimer struct{}

func (manualTimer) Stop() bool { return true }

func (c *manualClock) AfterFunc(d time.Duration, f func()) stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers = append(c.timers, f)
	return manualTimer{}
}

func (c *manualClock) fire() {
	c.mu.Lock()
	ts := c.timers
	c.timers = nil
	c.mu.Unlock()
	for _, f := range ts {
		f()
	}
}

func powerWorld(t *testing.T, runDir string) (*world, *fakePower, *manualClock) {
	p := newFakePower()
	clk := &manualClock{fakeClock: fakeClock{now: time.Unix(1_700_000_000, 0)}}
	w := newWorldCfg(t, runDir, nil, nil, func(c *Config) { c.Power = p; c.Clock = clk })
	return w, p, clk
}

func (w *world) inhibit(what inhibitWhat, mode string, uid uint32) *os.File {
	w.t.Helper()
	var f *os.File
	if err := w.m.do(func(s *state) error {
		var err error
		f, err = s.addInhibitor(what, "test", "because", mode, uid, 4242)
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { f.Close() })
	return f
}

func (w *world) signals(name string) []any {
	var out []any
	for _, s := range w.em.take() {
		if s.name == IfaceManager+"."+name {
			out = append(out, s.args[0])
		}
	}
	return out
}

func (w *world) start(name string) {
	w.t.Helper()
	w.state(func(s *state) { s.startAction(actionByName(name)) })
}

func TestDelayLockHoldsShutdown(t *testing.T) {
	w, p, _ := powerWorld(t, "")
	lock := w.inhibit(inhibitShutdown, modeDelay, 1000)
	w.state(func(s *state) {
		if got := s.inhibited(modeDelay); got != "shutdown" {
			t.Errorf("DelayInhibited %q", got)
		}
	})
	w.em.take()
	w.start("poweroff")
	if got := w.signals("PrepareForShutdown"); len(got) != 1 || got[0] != true {
		t.Errorf("PrepareForShutdown signals %v, want [true]", got)
	}
	p.none(t)
	// A sleep delay lock does not hold a shutdown, and a new shutdown
	// delay lock is refused while one runs.
	w.inhibit(inhibitSleep, modeDelay, 1000)
	err := w.m.do(func(s *state) error {
		_, err := s.addInhibitor(inhibitShutdown, "late", "", modeDelay, 0, 1)
		return err
	})
	var be *bus.Error
	if !errors.As(err, &be) || be.Name != bus.ErrOperationInProgress {
		t.Errorf("delay lock during the shutdown: %v", err)
	}
	lock.Close()
	if k := p.next(t); k != "poweroff" {
		t.Errorf("backend got %s", k)
	}
	w.state(func(s *state) {
		if s.power.action == nil || !s.power.action.executing {
			t.Error("an accepted shutdown must stay under way")
		}
	})
}

func TestDelayTimeout(t *testing.T) {
	w, p, clk := powerWorld(t, "")
	w.inhibit(inhibitSleep, modeDelay, 1000)
	w.start("suspend")
	p.none(t)
	clk.fire() // InhibitDelayMaxSec elapsed with the lock still held
	if k := p.next(t); k != "suspend" {
		t.Errorf("backend got %s", k)
	}
	w.waitFor("the action to end", func() bool {
		done := false
		w.state(func(s *state) { done = s.power.action == nil })
		return done
	})
	if got := w.signals("PrepareForSleep"); len(got) != 2 || got[0] != true || got[1] != false {
		t.Errorf("PrepareForSleep signals %v, want [true false]", got)
	}
}

func TestFailedShutdownIsCalledOff(t *testing.T) {
	w, p, _ := powerWorld(t, "")
	p.fail = errors.New("nobody home")
	w.start("reboot")
	if k := p.next(t); k != "reboot" {
		t.Errorf("backend got %s", k)
	}
	w.waitFor("the action to end", func() bool {
		done := false
		w.state(func(s *state) { done = s.power.action == nil })
		return done
	})
	if got := w.signals("PrepareForShutdown"); len(got) != 2 || got[1] != false {
		t.Errorf("PrepareForShutdown signals %v, want [true false]", got)
	}
}

// verifyShutdown: block locks refuse even root unless SKIP_INHIBITORS;
// block-weak locks only bind other users (and root with
// ROOT_CHECK_INHIBITORS); other users' sessions need -multiple-sessions.
func TestVerifyShutdown(t *testing.T) {
	w, _, _ := powerWorld(t, "")
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 100, Service: "login", Seat: "seat0", TTY: "pts/1"})
	root := caller{Creds: bus.Creds{UID: 0}}
	alice := caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}
	c := &bus.Call{}
	poweroff, halt := actionByName("poweroff"), actionByName("halt")
	check := func(name string, cl caller, a *powerAction, flags uint64, want string) {
		t.Helper()
		err := w.m.verifyShutdown(c, &cl, a, flags)
		var be *bus.Error
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v, want allowed", name, err)
		case want != "" && (!errors.As(err, &be) || be.Name != want):
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}
	check("alice alone", alice, poweroff, 0, "")
	check("alice halt", alice, halt, 0, errInteractiveAuthRequd)
	weak := w.inhibit(inhibitShutdown, modeBlockWeak, 1000)
	check("own weak lock", alice, poweroff, 0, "")
	check("root over a weak lock", root, poweroff, 0, "")
	check("root checking inhibitors", root, poweroff, flagRootCheckInhibitors, errBlockedByInhibitor)
	weak.Close()
	w.waitFor("weak lock gone", func() bool { n := 1; w.state(func(s *state) { n = len(s.inhibitors) }); return n == 0 })
	w.inhibit(inhibitShutdown, modeBlock, 0)
	check("root under a block lock", root, poweroff, 0, errBlockedByInhibitor)
	check("root skipping inhibitors", root, poweroff, flagSkipInhibitors, "")
	check("alice under root's block lock", alice, poweroff, flagSkipInhibitors|flagInteractive, bus.ErrAccessDenied)
	check("suspend is not blocked by a shutdown lock", alice, actionByName("suspend"), 0, "")
	w.mustCreate(CreateRequest{UID: 1001, PID: 101, Service: "login", Seat: "seat0", TTY: "pts/2"})
	// bob's session is now the active one: alice is inactive, and
	// -multiple-sessions is auth_admin_keep for inactive sessions.
	check("alice inactive with bob around", alice, actionByName("suspend"), 0, errInteractiveAuthRequd)
}

func TestScheduleShutdown(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		want string // backend call, "" = none
	}{
		{"poweroff", "poweroff"},
		{"kexec", "reboot"},
		{"dry-halt", ""},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			w, p, clk := powerWorld(t, "")
			a := scheduleAction(tc.typ)
			w.state(func(s *state) { s.schedule(tc.typ, 1_800_000_000_000_000, a) })
			w.state(func(s *state) {
				if v := s.managerProps()["ScheduledShutdown"].Value().(scheduled); v.Type != tc.typ || v.USec != 1_800_000_000_000_000 {
					t.Errorf("ScheduledShutdown = %+v", v)
				}
			})
			clk.fire()
			if tc.want == "" {
				p.none(t)
			} else if k := p.next(t); k != tc.want {
				t.Errorf("backend got %s, want %s", k, tc.want)
			}
			w.state(func(s *state) {
				if s.power.scheduled.Type != "" {
					t.Errorf("schedule still set after it elapsed: %+v", s.power.scheduled)
				}
			})
		})
	}
	// A schedule survives a restart; a cancelled one's timer does nothing.
	run := t.TempDir()
	w, _, _ := powerWorld(t, run)
	w.state(func(s *state) { s.schedule("dry-reboot", 1_800_000_000_000_123, scheduleAction("dry-reboot")) })
	w.stop()
	w, p, clk := powerWorld(t, run)
	w.state(func(s *state) {
		if sc := s.power.scheduled; sc.Type != "dry-reboot" || sc.USec != 1_800_000_000_000_123 {
			t.Errorf("after a restart the schedule is %+v", sc)
		}
	})
	w.state(func(s *state) {
		s.schedule("reboot", 1_800_000_000_000_000, scheduleAction("reboot"))
		s.cancelSchedule()
	})
	clk.fire()
	p.none(t)
	if _, err := os.Stat(filepath.Join(run, "systemd", "shutdown", "scheduled")); !os.IsNotExist(err) {
		t.Errorf("schedule file left after cancelling: %v", err)
	}
	if scheduleAction("suspend") != nil || scheduleAction("bogus") != nil {
		t.Error("ScheduleShutdown accepts only shutdown types")
	}
}

// TestActionNames: shutdowns are spelled as internal/power spells them
// (kexec is a plain reboot here), sleeps by their verbs; ScheduleShutdown
// takes shutdowns only, dry or not.
func TestActionNames(t *testing.T) {
	for _, c := range []struct {
		name, want, schedule string // want/schedule: the action's method, "" for none
	}{
		{"poweroff", "PowerOff", "PowerOff"},
		{"reboot", "Reboot", "Reboot"},
		{"halt", "Halt", "Halt"},
		{"kexec", "Reboot", "Reboot"},
		{"remain", "", ""},
		{"none", "", ""},
		{"suspend", "Suspend", ""},
		{"hybrid-sleep", "HybridSleep", ""},
		{"sleep", "", ""},
		{"", "", ""},
	} {
		method := func(a *powerAction) string {
			if a == nil {
				return ""
			}
			return a.method
		}
		if got := method(actionByName(c.name)); got != c.want {
			t.Errorf("actionByName(%q) = %q, want %q", c.name, got, c.want)
		}
		for _, typ := range []string{c.name, "dry-" + c.name} {
			if got := method(scheduleAction(typ)); got != c.schedule {
				t.Errorf("scheduleAction(%q) = %q, want %q", typ, got, c.schedule)
			}
		}
	}
	for _, a := range powerActions {
		if a.sleep() != (a.kind == power.None) {
			t.Errorf("%s: kind %v for a sleep=%v action", a.method, a.kind, a.sleep())
		}
	}
}
