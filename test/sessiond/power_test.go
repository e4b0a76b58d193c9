package sessiond_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"ginit/init/control"
	"ginit/init/control/server"
	"ginit/internal/testenv"
)

// fakeInit is ginit's control socket with a backend that records the
// requests instead of shutting anything down.
type fakeInit struct {
	mu   sync.Mutex
	reqs []control.Request
}

func (f *fakeInit) Do(ctx context.Context, req control.Request) control.Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	return control.Response{Code: control.OK}
}

func (f *fakeInit) requests() []control.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]control.Request(nil), f.reqs...)
}

type tbLogger struct{ tb testing.TB }

func (l tbLogger) Printf(format string, args ...any) { l.tb.Logf("control: "+format, args...) }

// startInit serves a control socket where sessiond was told ginit is.
func (e *env) startInit() *fakeInit {
	e.TB.Helper()
	f := &fakeInit{}
	srv, err := server.NewServer(e.Path("ginitctl"), f, tbLogger{e.TB})
	e.Must(err, "control server")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	e.TB.Cleanup(func() { cancel(); _ = srv.Close(); <-done })
	return f
}

// background starts a client command that keeps running (an inhibitor
// holder); cleanup stops it by pid.
func (e *env) background(name string, args ...string) *exec.Cmd {
	e.TB.Helper()
	c := exec.Command(name, args...)
	c.Env = e.CmdEnv()
	e.Start(c)
	return c
}

type inhibitorRow struct {
	What, Who, Why, Mode string
	UID, PID             uint32
}

func (e *env) inhibitors() []inhibitorRow {
	e.TB.Helper()
	var l []inhibitorRow
	e.Must(e.conn.Object("org.freedesktop.login1", mgrPath).Call(ifManager+".ListInhibitors", 0).Store(&l), "ListInhibitors")
	return l
}

func (e *env) waitInhibitors(n int) []inhibitorRow {
	e.TB.Helper()
	var l []inhibitorRow
	e.WaitFor("inhibitors", func() bool { l = e.inhibitors(); return len(l) == n })
	return l
}

// powerOff is the script form of a power-off request.
func (e *env) dbusSend(method string, args ...string) (string, error) {
	return e.Run(nil, "dbus-send", append([]string{"--system", "--print-reply", "--dest=org.freedesktop.login1",
		"/org/freedesktop/login1", "org.freedesktop.login1.Manager." + method}, args...)...)
}

// signalsOf collects the login1 Manager signals named member.
func (e *env) watchSignals(member string) chan *godbus.Signal {
	e.TB.Helper()
	e.Must(e.conn.AddMatchSignal(godbus.WithMatchSender("org.freedesktop.login1"),
		godbus.WithMatchInterface(ifManager), godbus.WithMatchMember(member)), "match "+member)
	all := make(chan *godbus.Signal, 64)
	e.conn.Signal(all)
	out := make(chan *godbus.Signal, 64)
	go func() {
		for s := range all {
			if s.Name == ifManager+"."+member {
				out <- s
			}
		}
	}()
	return out
}

func nextSignal(tb testing.TB, ch chan *godbus.Signal, what string) *godbus.Signal {
	tb.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		tb.Fatalf("no %s signal", what)
	}
	return nil
}

// TestInhibitBlocksPowerOff: a block lock taken with systemd-inhibit
// refuses dbus-send's PowerOff with logind's error; once the holder is
// killed the same call goes through, PrepareForShutdown is signalled and
// ginit gets the poweroff request (and so writes the wtmp record itself).
func TestInhibitBlocksPowerOff(t *testing.T) {
	e := newEnv(t)
	gi := e.startInit()
	prep := e.watchSignals("PrepareForShutdown")

	holder := e.background("systemd-inhibit", "--what=shutdown", "--mode=block", "--who=ittest", "--why=saving work", "sleep", "30")
	l := e.waitInhibitors(1)
	if got := l[0]; got.What != "shutdown" || got.Who != "ittest" || got.Why != "saving work" || got.Mode != "block" || got.UID != 0 {
		t.Errorf("ListInhibitors = %+v", got)
	}
	if b := e.prop(mgrPath, ifManager, "BlockInhibited"); b != "shutdown" {
		t.Errorf("BlockInhibited = %q, want shutdown", b)
	}

	t.Run("list agrees", func(t *testing.T) {
		list := e.OK("systemd-inhibit", "--list", "--no-pager")
		busctl := e.OK("busctl", "--system", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "ListInhibitors")
		for _, want := range []string{"ittest", "saving work", "shutdown", "block"} {
			if !strings.Contains(list, want) {
				t.Errorf("systemd-inhibit --list lacks %q:\n%s", want, list)
			}
			if !strings.Contains(busctl, want) {
				t.Errorf("busctl ListInhibitors lacks %q:\n%s", want, busctl)
			}
		}
		// The PID systemd-inhibit --list prints is the lock's holder.
		if pid := l[0].PID; !strings.Contains(list, " "+itoa(int(pid))+" ") {
			t.Errorf("systemd-inhibit --list does not show holder pid %d:\n%s", pid, list)
		}
		if !strings.Contains(list, "1 inhibitors listed") {
			t.Errorf("systemd-inhibit --list count:\n%s", list)
		}
	})

	out, err := e.dbusSend("PowerOff", "boolean:true")
	if err == nil || !strings.Contains(out, "org.freedesktop.login1.BlockedByInhibitorLock") {
		t.Fatalf("PowerOff under a block lock: err=%v\n%s", err, out)
	}
	if r := gi.requests(); len(r) != 0 {
		t.Fatalf("ginit got %+v although the lock blocks", r)
	}
	// SKIP_INHIBITORS (16) lets root through; ROOT_CHECK_INHIBITORS alone does not.
	if out, err := e.dbusSend("PowerOffWithFlags", "uint64:1"); err == nil || !strings.Contains(out, "BlockedByInhibitorLock") {
		t.Errorf("PowerOffWithFlags(ROOT_CHECK_INHIBITORS): err=%v\n%s", err, out)
	}

	testenv.Stop(holder)
	e.waitInhibitors(0)
	if b := e.prop(mgrPath, ifManager, "BlockInhibited"); b != "" {
		t.Errorf("BlockInhibited = %q after the holder died", b)
	}
	out, err = e.dbusSend("PowerOff", "boolean:true")
	if err != nil {
		t.Fatalf("PowerOff without a lock: %v\n%s\nsessiond log:\n%s", err, out, e.Log())
	}
	if s := nextSignal(t, prep, "PrepareForShutdown"); len(s.Body) != 1 || s.Body[0] != true {
		t.Errorf("PrepareForShutdown body %v, want [true]", s.Body)
	}
	e.WaitFor("ginit's shutdown request", func() bool { return len(gi.requests()) > 0 })
	if r := gi.requests(); len(r) != 1 || r[0].Op != control.OpShutdown || r[0].Shutdown != "poweroff" {
		t.Errorf("ginit got %+v, want one shutdown poweroff", r)
	}
	if p := e.prop(mgrPath, ifManager, "PreparingForShutdown"); p != true {
		t.Errorf("PreparingForShutdown = %v after the request", p)
	}
	// A second request while the first runs.
	if out, err := e.dbusSend("Reboot", "boolean:false"); err == nil || !strings.Contains(out, "org.freedesktop.login1.OperationInProgress") {
		t.Errorf("Reboot during a poweroff: err=%v\n%s", err, out)
	}

	t.Run("wtmp", func(t *testing.T) {
		// ginit carried the poweroff out, so the record is ginit's to write:
		// sessiond writes none (one record per shutdown, whoever ends it).
		if _, err := os.Stat(e.Path("wtmp")); !os.IsNotExist(err) {
			out, _ := e.Run(nil, "last", "-x", "-f", e.Path("wtmp"))
			t.Errorf("sessiond wrote a wtmp record although ginit answered (%v):\n%s", err, out)
		}
	})
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// TestDelayLock: with a delay lock held, PowerOff is announced at once
// (PrepareForShutdown(true), PreparingForShutdown) but ginit is asked only
// when the holder lets go. InhibitDelayMaxSec is set long so the release,
// not the timeout, is what releases the shutdown.
func TestDelayLock(t *testing.T) {
	e := newEnvWith(t, func(e *env) {
		e.Must(os.WriteFile(e.Path("logind.conf"), []byte("[Login]\nInhibitDelayMaxSec=2min\nHandlePowerKey=ignore\n"), 0o644), "logind.conf")
	})
	gi := e.startInit()
	if d := e.prop(mgrPath, ifManager, "InhibitDelayMaxUSec"); d != uint64(120_000_000) {
		t.Errorf("InhibitDelayMaxUSec = %v, want 120000000 from logind.conf", d)
	}
	if k := e.prop(mgrPath, ifManager, "HandlePowerKey"); k != "ignore" {
		t.Errorf("HandlePowerKey = %v, want ignore from logind.conf", k)
	}
	// A listening client of its own: dbus-monitor prints the signal.
	mon := exec.Command("dbus-monitor", "--system", "type='signal',interface='org.freedesktop.login1.Manager',member='PrepareForShutdown'")
	mon.Env = e.CmdEnv()
	var monOut testenv.SyncBuffer
	mon.Stdout, mon.Stderr = &monOut, &monOut
	e.Start(mon)
	e.WaitFor("dbus-monitor to subscribe", func() bool {
		return strings.Contains(monOut.String(), "NameAcquired") || strings.Contains(monOut.String(), "signal")
	})
	prep := e.watchSignals("PrepareForShutdown")

	holder := e.background("systemd-inhibit", "--what=shutdown", "--mode=delay", "--who=saver", "--why=flush", "sleep", "60")
	e.waitInhibitors(1)
	if d := e.prop(mgrPath, ifManager, "DelayInhibited"); d != "shutdown" {
		t.Errorf("DelayInhibited = %q", d)
	}
	if out, err := e.dbusSend("PowerOff", "boolean:true"); err != nil {
		t.Fatalf("PowerOff with a delay lock: %v\n%s", err, out)
	}
	if s := nextSignal(t, prep, "PrepareForShutdown"); len(s.Body) != 1 || s.Body[0] != true {
		t.Fatalf("PrepareForShutdown body %v", s.Body)
	}
	if p := e.prop(mgrPath, ifManager, "PreparingForShutdown"); p != true {
		t.Errorf("PreparingForShutdown = %v while delayed", p)
	}
	if r := gi.requests(); len(r) != 0 {
		t.Fatalf("ginit asked (%+v) while a delay lock is held", r)
	}
	// Taking another delay lock for the running operation is refused.
	if out, err := e.Run(nil, "systemd-inhibit", "--what=shutdown", "--mode=delay", "true"); err == nil || !strings.Contains(out, "already running") {
		t.Errorf("delay lock during the shutdown: err=%v\n%s", err, out)
	}
	testenv.Stop(holder)
	e.WaitFor("ginit's shutdown request", func() bool { return len(gi.requests()) > 0 })
	if r := gi.requests(); r[0].Shutdown != "poweroff" {
		t.Errorf("ginit got %+v", r)
	}
	e.WaitFor("dbus-monitor to print PrepareForShutdown", func() bool {
		o := monOut.String()
		return strings.Contains(o, "member=PrepareForShutdown") && strings.Contains(o, "boolean true")
	})
}

// TestSuspendDelay: Suspend waits for a sleep delay lock, writes "mem" to
// the (stand-in) /sys/power/state, then PrepareForSleep(false) follows.
func TestSuspendDelay(t *testing.T) {
	e := newEnv(t)
	prep := e.watchSignals("PrepareForSleep")
	for _, m := range []string{"CanSuspend", "CanHibernate", "CanHybridSleep"} {
		if out := e.OK("busctl", "--system", "call", "org.freedesktop.login1", string(mgrPath), ifManager, m); strings.TrimSpace(out) != `s "yes"` {
			t.Errorf("%s as root = %s", m, out)
		}
	}
	if out := e.OK("busctl", "--system", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "CanSuspendThenHibernate"); strings.TrimSpace(out) != `s "na"` {
		t.Errorf("CanSuspendThenHibernate = %s, want na (no RTC wake alarm)", out)
	}
	holder := e.background("systemd-inhibit", "--what=sleep", "--mode=delay", "--who=locker", "--why=lock screen", "sleep", "60")
	e.waitInhibitors(1)
	if out, err := e.dbusSend("Suspend", "boolean:false"); err != nil {
		t.Fatalf("Suspend: %v\n%s", err, out)
	}
	if s := nextSignal(t, prep, "PrepareForSleep"); s.Body[0] != true {
		t.Fatalf("first PrepareForSleep %v", s.Body)
	}
	if data, _ := os.ReadFile(e.Path("power/state")); strings.TrimSpace(string(data)) != "freeze mem disk" {
		t.Fatalf("power/state written (%q) while the delay lock is held", data)
	}
	testenv.Stop(holder)
	if s := nextSignal(t, prep, "PrepareForSleep"); s.Body[0] != false {
		t.Fatalf("second PrepareForSleep %v", s.Body)
	}
	if data, _ := os.ReadFile(e.Path("power/state")); string(data) != "mem" {
		t.Errorf("power/state = %q, want mem", data)
	}
	if p := e.prop(mgrPath, ifManager, "PreparingForSleep"); p != false {
		t.Errorf("PreparingForSleep = %v after resume", p)
	}
}

// TestPowerAuthorization: without polkit, sessiond applies logind's
// default policy. nobody outside a session is asked for authentication
// it cannot give; from its active local session it may power off.
func TestPowerAuthorization(t *testing.T) {
	e := newEnv(t)
	gi := e.startInit()
	asNobody := func(method string, args ...string) (string, error) { return e.login1(65534, nil, method, args...) }
	for _, c := range []struct {
		method, arg, want string
	}{
		{"PowerOff", "boolean:false", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"},
		{"PowerOff", "boolean:true", "org.freedesktop.DBus.Error.AccessDenied"},
		{"Reboot", "boolean:false", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"},
		{"Suspend", "boolean:true", "org.freedesktop.DBus.Error.AccessDenied"},
		{"Halt", "boolean:false", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"},
	} {
		out, err := asNobody(c.method, c.arg)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("nobody %s(%s): err=%v, want %s\n%s", c.method, c.arg, err, c.want, out)
		}
		// The refusal must come from sessiond, not from the bus policy.
		if strings.Contains(out, "Rejected send message") {
			t.Errorf("nobody %s refused by dbus-daemon's policy, not by sessiond:\n%s", c.method, out)
		}
	}
	if out, _ := asNobody("CanPowerOff"); !strings.Contains(out, `"challenge"`) {
		t.Errorf("CanPowerOff for nobody without a session:\n%s", out)
	}
	if out, err := asNobody("Inhibit", "string:shutdown", "string:x", "string:y", "string:block"); err == nil || !strings.Contains(out, "AccessDenied") {
		t.Errorf("nobody without a session took a block shutdown lock: %v\n%s", err, out)
	}
	if r := gi.requests(); len(r) != 0 {
		t.Fatalf("ginit got %+v from refused calls", r)
	}

	// Bad arguments are InvalidArgs.
	for _, args := range [][]string{
		{"string:bogus", "string:x", "string:y", "string:block"},
		{"string:shutdown", "string:x", "string:y", "string:sometimes"},
		{"string:idle", "string:x", "string:y", "string:delay"},
	} {
		if out, err := e.dbusSend("Inhibit", args...); err == nil || !strings.Contains(out, "org.freedesktop.DBus.Error.InvalidArgs") {
			t.Errorf("Inhibit(%v): err=%v\n%s", args, err, out)
		}
	}

	// In an active local session (seat0, the only one) nobody may.
	h := e.hold("nobody", "pts/4", "XDG_SEAT=seat0")
	asNobody = func(method string, args ...string) (string, error) { return e.login1(65534, h, method, args...) }
	if out, _ := asNobody("CanPowerOff"); !strings.Contains(out, `"yes"`) {
		t.Errorf("CanPowerOff for nobody with an active session:\n%s", out)
	}
	if out, _ := asNobody("CanHalt"); !strings.Contains(out, `"challenge"`) {
		t.Errorf("CanHalt (auth_admin_keep) for nobody:\n%s", out)
	}
	if out, err := asNobody("PowerOff", "boolean:false"); err != nil {
		t.Fatalf("nobody with an active session: PowerOff: %v\n%s\n%s", err, out, e.Log())
	}
	e.WaitFor("ginit's shutdown request", func() bool { return len(gi.requests()) > 0 })
	if r := gi.requests(); r[0].Shutdown != "poweroff" {
		t.Errorf("ginit got %+v", r)
	}
}

// asUser runs a client as uid (setpriv) in the held session h, the way a
// program in the user's terminal would run: its process is moved into the
// session's scope first (what polkit and sessiond look at), or in no
// session when h is nil.
func (e *env) asUser(uid int, h *testenv.Held, name string, args ...string) (string, error) {
	e.TB.Helper()
	script := "uid=$1; shift; "
	if h != nil {
		for _, root := range e.Cgroups {
			procs := filepath.Join(root, "user.slice", "user-"+itoa(uid)+".slice", "session-"+h.ID+".scope", "cgroup.procs")
			script += "echo $$ > " + procs + " || exit 99; "
		}
	}
	script += `exec setpriv --reuid=$uid --regid=$uid --clear-groups "$@"`
	return e.Run(nil, "sh", append([]string{"-c", script, "sh", itoa(uid), name}, args...)...)
}

// login1 is a dbus-send call of a Manager method as uid in session h.
func (e *env) login1(uid int, h *testenv.Held, method string, args ...string) (string, error) {
	return e.asUser(uid, h, "dbus-send", append([]string{"--system", "--print-reply", "--dest=org.freedesktop.login1",
		"/org/freedesktop/login1", "org.freedesktop.login1.Manager." + method}, args...)...)
}

// TestInhibitorSurvivesRestart: a lock held by systemd-inhibit outlives a
// SIGKILL of sessiond (state in /run/systemd/inhibit, the FIFO reopened)
// and still ends when its holder does.
func TestInhibitorSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	holder := e.background("systemd-inhibit", "--what=sleep:idle", "--mode=block", "--who=keeper", "--why=restart", "sleep", "60")
	before := e.waitInhibitors(1)
	e.killDaemon()
	e.startDaemon()
	after := e.inhibitors()
	if len(after) != 1 || after[0] != before[0] {
		t.Fatalf("after restart ListInhibitors = %+v, want %+v", after, before)
	}
	if b := e.prop(mgrPath, ifManager, "BlockInhibited"); b != "sleep:idle" {
		t.Errorf("BlockInhibited after restart = %q", b)
	}
	if out, err := e.dbusSend("Suspend", "boolean:false"); err == nil || !strings.Contains(out, "BlockedByInhibitorLock") {
		t.Errorf("Suspend under the restored lock: err=%v\n%s", err, out)
	}
	testenv.Stop(holder)
	e.waitInhibitors(0)
	if ents, _ := os.ReadDir("/run/systemd/inhibit"); len(ents) != 0 {
		t.Errorf("/run/systemd/inhibit not cleaned: %d entries", len(ents))
	}
}

// TestScheduleAndSkip: ScheduleShutdown shows in ScheduledShutdown and
// is cancelled by CancelScheduledShutdown; root passing SKIP_INHIBITORS
// powers off through a block lock.
func TestScheduleAndSkip(t *testing.T) {
	e := newEnv(t)
	gi := e.startInit()
	at := uint64(time.Now().Add(time.Hour).UnixMicro())
	e.OK("busctl", "--system", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "ScheduleShutdown", "st", "reboot", itoa(int(at)))
	out := e.OK("busctl", "--system", "get-property", "org.freedesktop.login1", string(mgrPath), ifManager, "ScheduledShutdown")
	if strings.TrimSpace(out) != `(st) "reboot" `+itoa(int(at)) {
		t.Errorf("ScheduledShutdown = %s", out)
	}
	if out := e.OK("busctl", "--system", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "CancelScheduledShutdown"); strings.TrimSpace(out) != "b true" {
		t.Errorf("CancelScheduledShutdown = %s", out)
	}
	if out := e.OK("busctl", "--system", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "CancelScheduledShutdown"); strings.TrimSpace(out) != "b false" {
		t.Errorf("second CancelScheduledShutdown = %s", out)
	}
	e.background("systemd-inhibit", "--what=shutdown", "--mode=block", "--who=blocker", "sleep", "60")
	e.waitInhibitors(1)
	if out, err := e.dbusSend("RebootWithFlags", "uint64:16"); err != nil {
		t.Fatalf("RebootWithFlags(SKIP_INHIBITORS) as root: %v\n%s", err, out)
	}
	e.WaitFor("ginit's reboot request", func() bool { return len(gi.requests()) > 0 })
	if r := gi.requests(); r[0].Shutdown != "reboot" {
		t.Errorf("ginit got %+v", r)
	}
	if out, err := e.dbusSend("PowerOffWithFlags", "uint64:32"); err == nil || !strings.Contains(out, "InvalidArgs") {
		t.Errorf("unknown flag: err=%v\n%s", err, out)
	}
}

// BenchmarkInhibit: Inhibit + close cycles from an in-process godbus
// client: the FIFO, the state file, the reply with the fd, then the
// release when the fd closes. The timer stops once every lock is gone.
func BenchmarkInhibit(b *testing.B) {
	e := newEnv(b)
	obj := e.conn.Object("org.freedesktop.login1", mgrPath)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var fd godbus.UnixFD
		if err := obj.Call(ifManager+".Inhibit", 0, "sleep", "bench", "cycle", "block").Store(&fd); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Close(int(fd)); err != nil {
			b.Fatal(err)
		}
	}
	e.WaitFor("every lock to be released", func() bool {
		n, err := obj.GetProperty(ifManager + ".NCurrentInhibitors")
		return err == nil && n.Value() == uint64(0)
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cycles/s")
}

// TestRealPolkit: with polkitd on the private bus sessiond asks it, and
// polkitd decides from the /run/systemd files and cgroups sessiond writes
// (sd-login): nobody outside a session gets a challenge, nobody's process
// in an active local session may power off.
func TestRealPolkit(t *testing.T) {
	const polkitd = "/usr/lib/polkit-1/polkitd"
	if _, err := os.Stat(polkitd); err != nil {
		t.Skip("polkitd not installed")
	}
	e := newEnv(t)
	gi := e.startInit()
	// polkitd starts as root and switches to its own user by itself.
	pk := exec.Command(polkitd, "--no-debug")
	pk.Env = e.CmdEnv()
	var pkOut testenv.SyncBuffer
	pk.Stdout, pk.Stderr = &pkOut, &pkOut
	e.Start(pk)
	e.WaitFor("polkitd on the bus ("+pkOut.String()+")", func() bool {
		var has bool
		err := e.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.PolicyKit1").Store(&has)
		return err == nil && has
	})
	asNobody := func(method string, args ...string) (string, error) { return e.login1(65534, nil, method, args...) }
	if out, _ := asNobody("CanPowerOff"); !strings.Contains(out, `"challenge"`) {
		t.Errorf("polkit: CanPowerOff for nobody without a session:\n%s\npolkitd:\n%s", out, pkOut.String())
	}
	if out, err := asNobody("PowerOff", "boolean:false"); err == nil || !strings.Contains(out, "InteractiveAuthorizationRequired") {
		t.Errorf("polkit: PowerOff for nobody without a session: %v\n%s", err, out)
	}
	h := e.hold("nobody", "pts/5", "XDG_SEAT=seat0")
	asNobody = func(method string, args ...string) (string, error) { return e.login1(65534, h, method, args...) }
	if out, _ := asNobody("CanPowerOff"); !strings.Contains(out, `"yes"`) {
		t.Errorf("polkit: CanPowerOff for nobody with an active session:\n%s\npolkitd:\n%s", out, pkOut.String())
	}
	if out, _ := asNobody("CanHalt"); !strings.Contains(out, `"challenge"`) {
		t.Errorf("polkit: CanHalt for nobody:\n%s", out)
	}
	if out, err := asNobody("Inhibit", "string:shutdown", "string:nobody", "string:test", "string:block"); err != nil || !strings.Contains(out, "file descriptor") {
		t.Errorf("polkit: nobody's block lock: %v\n%s", err, out)
	}
	if out, err := asNobody("Suspend", "boolean:false"); err != nil {
		t.Errorf("polkit: nobody's Suspend: %v\n%s\n%s", err, out, e.Log())
	}
	if r := gi.requests(); len(r) != 0 {
		t.Errorf("ginit got %+v from a suspend", r)
	}
}
