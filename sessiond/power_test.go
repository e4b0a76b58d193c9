package sessiond

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

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

// Inhibitors survive a restart of sessiond while their holders keep the
// fd; one whose holder closed it meanwhile is dropped.
func TestInhibitorRestore(t *testing.T) {
	run := t.TempDir()
	w, _, _ := powerWorld(t, run)
	kept := w.inhibit(inhibitShutdown|inhibitIdle, modeBlock, 1000)
	gone := w.inhibit(inhibitSleep, modeDelay, 1001)
	w.stop()
	gone.Close()

	w2, _, _ := powerWorld(t, run)
	w2.waitFor("the closed lock to go", func() bool {
		n := 0
		w2.state(func(s *state) { n = len(s.inhibitors) })
		return n == 1
	})
	w2.state(func(s *state) {
		l := s.inhibitorList()
		if len(l) != 1 || l[0].What != "shutdown:idle" || l[0].Mode != "block" || l[0].UID != 1000 || l[0].PID != 4242 || l[0].Who != "test" {
			t.Errorf("restored %+v", l)
		}
	})
	kept.Close()
	w2.waitFor("the restored lock to go with its fd", func() bool {
		n := 1
		w2.state(func(s *state) { n = len(s.inhibitors) })
		return n == 0
	})
	if ents, _ := os.ReadDir(filepath.Join(run, "systemd", "inhibit")); len(ents) != 0 {
		t.Errorf("inhibit directory not cleaned: %v", ents)
	}
}

func TestParseWhat(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		want string
	}{
		{"shutdown", true, "shutdown"},
		{"sleep:shutdown", true, "shutdown:sleep"},
		{"idle:sleep:shutdown", true, "shutdown:sleep:idle"},
		{"handle-lid-switch:handle-power-key", true, "handle-power-key:handle-lid-switch"},
		{"handle-reboot-key", true, "handle-reboot-key"},
		{"", false, ""},
		{"shutdown:", false, ""},
		{"reboot", false, ""},
	} {
		w, ok := parseWhat(c.in)
		if ok != c.ok || (ok && w.String() != c.want) {
			t.Errorf("parseWhat(%q) = %q, %v; want %q, %v", c.in, w, ok, c.want, c.ok)
		}
	}
}

func TestParseTimespan(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5", 5 * time.Second, true},
		{"5s", 5 * time.Second, true},
		{"30min", 30 * time.Minute, true},
		{"1h 30min", 90 * time.Minute, true},
		{"1min30s", 90 * time.Second, true},
		{"500ms", 500 * time.Millisecond, true},
		{"0", 0, true},
		{"infinity", time.Duration(1<<63 - 1), true},
		{"", 0, false},
		{"5 parsecs", 0, false},
		{"abc", 0, false},
	} {
		d, err := parseTimespan(c.in)
		if (err == nil) != c.ok || (c.ok && d != c.want) {
			t.Errorf("parseTimespan(%q) = %v, %v; want %v", c.in, d, err, c.want)
		}
	}
}

func TestLoadLoginConfig(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		check      func(c LoginConfig) bool
		bad        string // error must mention it
	}{
		{"missing", "", func(c LoginConfig) bool { return c == DefaultLoginConfig() }, ""},
		{"values", "[Login]\nHandlePowerKey=suspend\nInhibitDelayMaxSec=30\nHandleLidSwitch=ignore\nLidSwitchIgnoreInhibited=no\nInhibitorsMax=10\nKillUserProcesses=yes\n",
			func(c LoginConfig) bool {
				return c.HandlePowerKey == "suspend" && c.InhibitDelayMax == 30*time.Second && c.HandleLidSwitch == "ignore" &&
					!c.LidSwitchIgnoreInhibited && c.InhibitorsMax == 10 && c.HandleSuspendKey == "suspend"
			}, ""},
		{"comments and last wins", "# c\n[Login]\n#HandlePowerKey=reboot\nHandlePowerKey=halt\nHandlePowerKey=reboot\n",
			func(c LoginConfig) bool { return c.HandlePowerKey == "reboot" }, ""},
		{"bad action", "[Login]\nHandlePowerKey=explode\n", nil, "HandlePowerKey=explode"},
		{"bad span", "[Login]\nInhibitDelayMaxSec=soon\n", nil, "InhibitDelayMaxSec=soon"},
		{"bad bool", "[Login]\nPowerKeyIgnoreInhibited=maybe\n", nil, "PowerKeyIgnoreInhibited"},
	} {
		path := filepath.Join(dir, "missing.conf")
		if c.text != "" {
			path = filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".conf")
			if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := LoadLoginConfig(path)
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: error %v, want one naming %s and the file", c.name, err, c.bad)
			}
			continue
		}
		if err != nil || !c.check(got) {
			t.Errorf("%s: %+v, %v", c.name, got, err)
		}
	}
}

// The built-in policy follows polkit's defaults for the caller's session.
func TestBuiltinAuthorization(t *testing.T) {
	w, _, _ := powerWorld(t, "")
	w.host.users[65534] = "nobody"
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 100, Service: "login", Seat: "seat0", TTY: "pts/1"})
	remote := w.mustCreate(CreateRequest{UID: 1001, PID: 101, Service: "sshd", Remote: true, RemoteHost: "far"})
	c := &bus.Call{}
	for _, tc := range []struct {
		name        string
		cl          caller
		action      string
		interactive bool
		want        string // "" = allowed, else the error name
	}{
		{"root", caller{Creds: bus.Creds{UID: 0}}, "org.freedesktop.login1.halt", false, ""},
		{"active local", caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}, "org.freedesktop.login1.power-off", false, ""},
		{"not in a session", caller{Creds: bus.Creds{UID: 1000}}, "org.freedesktop.login1.suspend", false, errInteractiveAuthRequd},
		{"halt is admin only", caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}, "org.freedesktop.login1.halt", false, errInteractiveAuthRequd},
		{"interactive without agent", caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}, "org.freedesktop.login1.power-off-ignore-inhibit", true, bus.ErrAccessDenied},
		{"remote", caller{Creds: bus.Creds{UID: 1001}, session: remote.ID}, "org.freedesktop.login1.power-off", false, errInteractiveAuthRequd},
		{"no session", caller{Creds: bus.Creds{UID: 65534}}, "org.freedesktop.login1.reboot", false, errInteractiveAuthRequd},
		{"no session inhibit", caller{Creds: bus.Creds{UID: 65534}}, "org.freedesktop.login1.inhibit-block-shutdown", false, bus.ErrAccessDenied},
		{"no session delay", caller{Creds: bus.Creds{UID: 65534}}, "org.freedesktop.login1.inhibit-delay-sleep", false, ""},
		{"unknown action", caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}, "org.freedesktop.login1.explode", false, bus.ErrAccessDenied},
	} {
		err := w.m.authorize(c, &tc.cl, tc.action, tc.interactive)
		var be *bus.Error
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want allowed", tc.name, err)
		case tc.want != "" && (!errors.As(err, &be) || be.Name != tc.want):
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
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

// fakePolkit answers CheckAuthorization from a table and records the
// questions.
type fakePolkit struct {
	mu      sync.Mutex
	asked   []string
	answers map[string][2]bool
}

func (f *fakePolkit) CheckAuthorization(subject struct {
	Kind    string
	Details map[string]godbus.Variant
}, action string, details map[string]string, flags uint32, cancel string) (struct {
	A, C bool
	D    map[string]string
}, *godbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, subject.Kind+" "+action)
	a := f.answers[action]
	return struct {
		A, C bool
		D    map[string]string
	}{a[0], a[1], map[string]string{}}, nil
}

func TestPolkitIsAsked(t *testing.T) {
	addr := privateBus(t)
	pk, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pk.Close()
	fp := &fakePolkit{answers: map[string][2]bool{
		"org.freedesktop.login1.power-off": {true, false},
		"org.freedesktop.login1.reboot":    {false, true},
	}}
	if err := pk.Export(fp, "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.PolicyKit1.Authority"); err != nil {
		t.Fatal(err)
	}
	if _, err := pk.RequestName(polkitName, godbus.NameFlagDoNotQueue); err != nil {
		t.Fatal(err)
	}
	me, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer me.Close()
	w, _, _ := powerWorld(t, "")
	c := &bus.Call{Conn: me, Sender: me.Names()[0], Ctx: context.Background()}
	alice := caller{Creds: bus.Creds{UID: 1000}}
	for _, tc := range []struct {
		action string
		want   authResult
	}{
		{"org.freedesktop.login1.power-off", authYes},
		{"org.freedesktop.login1.reboot", authChallenge},
		{"org.freedesktop.login1.halt", authNo},
	} {
		if got, err := w.m.check(c, &alice, tc.action, false); err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.action, got, err, tc.want)
		}
	}
	if got, _ := w.m.check(c, &caller{}, "org.freedesktop.login1.halt", false); got != authYes {
		t.Errorf("root asked polkit and got %v", got)
	}
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if len(fp.asked) != 3 || fp.asked[0] != "system-bus-name org.freedesktop.login1.power-off" {
		t.Errorf("polkit was asked %v", fp.asked)
	}
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

// docs/logind.conf.sample documents the defaults: uncommented, it loads
// to exactly DefaultLoginConfig.
func TestSampleConfigIsDefaults(t *testing.T) {
	data, err := os.ReadFile("../docs/logind.conf.sample")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if k, _, ok := strings.Cut(l, "="); ok && strings.HasPrefix(k, "#") && !strings.Contains(k, " ") {
			l = l[1:]
		}
		lines = append(lines, l)
	}
	path := filepath.Join(t.TempDir(), "logind.conf")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadLoginConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != DefaultLoginConfig() {
		t.Errorf("uncommented sample = %+v\nwant the defaults %+v", got, DefaultLoginConfig())
	}
}

// BlockInhibited/DelayInhibited announce their changes (powerdevil waits
// for PropertiesChanged), in logind's canonical order.
func TestInhibitedPropertiesChanged(t *testing.T) {
	w, _, _ := powerWorld(t, "")
	w.em.take()
	f := w.inhibit(inhibitIdle|inhibitShutdown, modeBlock, 1000)
	changed := func() map[string]godbus.Variant {
		for _, s := range w.em.take() {
			if s.name == bus.IfaceProperties+".PropertiesChanged" && s.path == ManagerPath {
				return s.args[1].(map[string]godbus.Variant)
			}
		}
		return nil
	}
	if c := changed(); c["BlockInhibited"].Value() != "shutdown:idle" {
		t.Errorf("PropertiesChanged after Inhibit: %v", c)
	}
	f.Close()
	w.waitFor("the release", func() bool {
		n := 1
		w.state(func(s *state) { n = len(s.inhibitors) })
		return n == 0
	})
	if c := changed(); c["BlockInhibited"].Value() != "" {
		t.Errorf("PropertiesChanged after release: %v", c)
	}
}
