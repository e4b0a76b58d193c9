package sessiond

import (
	"os"
	"path/filepath"
	"testing"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

// TestLogindAnswers: properties and errors compared call by call with
// logind/elogind.
func TestLogindAnswers(t *testing.T) {
	w, p, _ := powerWorld(t, "")
	p.sleep["suspend"] = true
	seatless := w.mustCreate(CreateRequest{UID: 1000, PID: 400, TTY: "pts/2"})
	onSeat := w.mustCreate(CreateRequest{UID: 1000, PID: 401, Seat: "seat0", Display: ":0"})
	w.inhibit(inhibitSleep, modeBlockWeak, 1000)
	var mgr, sess map[string]godbus.Variant
	w.state(func(s *state) {
		mgr = s.managerProps()
		sess = s.sessionProps(s.sessions[seatless.ID])
		if err := s.applyOp(opActivate, s.sessions[seatless.ID]); errName(err) != bus.ErrNotSupported || err.(*bus.Error).Message != "Session has no seat" {
			t.Errorf("activate a seatless session: %v, want NotSupported \"Session has no seat\"", err)
		}
		if err := s.applyOp(opActivate, s.sessions[onSeat.ID]); err != nil {
			t.Errorf("activate a session on seat0: %v", err)
		}
	})
	size := sys.PhysicalMemory() / 10
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"Session.Scope", sess["Scope"].Value(), ""},
		{"HandleLidSwitchExternalPower", mgr["HandleLidSwitchExternalPower"].Value(), ""},
		{"HandleLidSwitch", mgr["HandleLidSwitch"].Value(), "suspend"},
		{"BlockWeakInhibited", mgr["BlockWeakInhibited"].Value(), "sleep"},
		{"BlockInhibited", mgr["BlockInhibited"].Value(), "sleep"},
		{"DelayInhibited", mgr["DelayInhibited"].Value(), ""},
		{"RuntimeDirectorySize", mgr["RuntimeDirectorySize"].Value(), size},
		{"RuntimeDirectoryInodesMax", mgr["RuntimeDirectoryInodesMax"].Value(), (size + 4095) / 4096},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if size == 0 {
		t.Error("RuntimeDirectorySize is 0")
	}
	// Every Manager property is declared (GetAll answers only those in
	// order), and the 257 members are there with logind's signatures.
	for name := range mgr {
		if _, ok := w.m.ifc.manager.Prop(name); !ok {
			t.Errorf("property %s not declared", name)
		}
	}
	methods := map[string][2]string{}
	for _, m := range w.m.ifc.manager.Methods {
		methods[m.Name] = [2]string{bus.Signature(m.In), bus.Signature(m.Out)}
	}
	for name, want := range map[string][2]string{
		"ListSessionsEx": {"", "a(sussussbto)"}, "Sleep": {"t", ""}, "CanSleep": {"", "s"},
	} {
		if got, ok := methods[name]; !ok || got != want {
			t.Errorf("Manager.%s: %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"BlockWeakInhibited", "SleepOperation"} {
		if _, ok := w.m.ifc.manager.Prop(name); !ok {
			t.Errorf("property %s missing", name)
		}
	}
	out, err := w.m.hListSessionsEx(&bus.Call{})
	enc, _ := out[0].(*bus.Encoded)
	if enc == nil {
		t.Fatalf("ListSessionsEx answers %T, want its encoded list", out[0])
	}
	l, _ := enc.Values()[0].([]sessionExEntry)
	if err != nil || len(l) != 2 || l[0].ID != seatless.ID || l[0].TTY != "pts/2" || l[0].Leader != 400 ||
		l[1].Seat != "seat0" || l[1].Class != "user" || l[1].Path != sessionPath(onSeat.ID) {
		t.Errorf("ListSessionsEx: %+v %v", l, err)
	}
	if got := godbus.SignatureOf(l).String(); got != "a(sussussbto)" {
		t.Errorf("ListSessionsEx signature %s", got)
	}
	if a := w.m.sleepOperation(); a == nil || a.name != "suspend" {
		t.Errorf("Sleep() picks %v, want suspend (the first supported of SleepOperation)", a)
	}
	p.sleep["suspend"], p.sleep["hibernate"] = false, false
	if out, err := w.m.powerMethodNamed(t, "CanSleep")(&bus.Call{}); err != nil || out[0] != "na" {
		t.Errorf("CanSleep without any sleep state: %v %v", out, err)
	}
	if _, err := w.m.powerMethodNamed(t, "Sleep")(&bus.Call{Body: []any{uint64(0)}}); errName(err) != bus.ErrSleepVerbNotSupp {
		t.Errorf("Sleep without any sleep state: %v", err)
	}
	if _, err := w.m.powerMethodNamed(t, "Sleep")(&bus.Call{Body: []any{uint64(1 << 40)}}); errName(err) != bus.ErrInvalidArgs {
		t.Errorf("Sleep with unknown flags: %v", err)
	}
}

func (m *Manager) powerMethodNamed(t *testing.T, name string) func(*bus.Call) ([]any, error) {
	for _, x := range m.ifc.manager.Methods {
		if x.Name == name {
			return x.Handler
		}
	}
	t.Fatalf("no method %s", name)
	return nil
}

// TestSwitchToRange: VT numbers are 1…63, as logind's chvt.
func TestSwitchToRange(t *testing.T) {
	vts := &fakeVTs{active: 1}
	w := newWorld(t, "", nil, vts)
	for _, c := range []struct {
		n    uint32
		want string
	}{{0, bus.ErrInvalidArgs}, {64, bus.ErrInvalidArgs}, {0xffffffff, bus.ErrInvalidArgs}, {63, ""}, {5, ""}} {
		w.state(func(s *state) {
			if err := s.switchTo(s.seats["seat0"], c.n); errName(err) != c.want {
				t.Errorf("SwitchTo(%d): %v, want %q", c.n, err, c.want)
			}
		})
	}
	if n, _ := vts.Active(); n != 5 {
		t.Errorf("active VT %d, want 5", n)
	}
}

func TestRuntimeDirectoryConfig(t *testing.T) {
	ram := sys.PhysicalMemory()
	for _, c := range []struct {
		text        string
		size, nodes uint64
		bad         bool
	}{
		{"", ram / 10, (ram/10 + 4095) / 4096, false},
		{"RuntimeDirectorySize=1G\n", 1 << 30, (ram/10 + 4095) / 4096, false},
		{"RuntimeDirectorySize=25%\nRuntimeDirectoryInodesMax=4K\n", ram / 4, 4096, false},
		{"RuntimeDirectorySize=123456\n", 123456, (ram/10 + 4095) / 4096, false},
		{"RuntimeDirectorySize=lots\n", 0, 0, true},
		{"RuntimeDirectorySize=150%\n", 0, 0, true},
		{"RuntimeDirectoryInodesMax=0\n", 0, 0, true},
	} {
		path := filepath.Join(t.TempDir(), "logind.conf")
		if err := os.WriteFile(path, []byte("[Login]\n"+c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := LoadLoginConfig(path)
		if c.bad {
			if err == nil {
				t.Errorf("%q accepted: %+v", c.text, got)
			}
			continue
		}
		if err != nil || got.RuntimeDirectorySize != c.size || got.RuntimeDirectoryInodesMax != c.nodes {
			t.Errorf("%q: size %d inodes %d (%v), want %d %d", c.text, got.RuntimeDirectorySize, got.RuntimeDirectoryInodesMax, err, c.size, c.nodes)
		}
	}
}

// TestSwitchToNeedsChvt: changing a seat's VT is logind's
// org.freedesktop.login1.chvt: root and users of the active local session
// may, anyone else needs an administrator (no polkit here: refused).
func TestSwitchToNeedsChvt(t *testing.T) {
	host := newFakeHost()
	vts := &fakeVTs{active: 2}
	w := newWorld(t, "", host, vts)
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 300, TTY: "tty2", Seat: "seat0", VTNr: 2})
	host.mu.Lock()
	host.pidSess[300] = rep.ID
	host.peers[":1.10"] = bus.Creds{UID: 1000, PID: 300}
	host.peers[":1.11"] = bus.Creds{UID: 65534, PID: 999}
	host.peers[":1.12"] = bus.Creds{UID: 0, PID: 1}
	host.mu.Unlock()
	for _, c := range []struct {
		sender string
		next   bool // SwitchToNext instead of SwitchTo(vt)
		vt     uint32
		want   string
	}{
		{":1.11", false, 4, errInteractiveAuthRequd},
		{":1.11", true, 0, errInteractiveAuthRequd},
		{":1.10", false, 2, ""}, // the active session's own user
		{":1.10", true, 0, ""},  // to VT 3: the session is no longer active
		{":1.10", false, 2, errInteractiveAuthRequd},
		{":1.12", false, 5, ""},
	} {
		call := &bus.Call{Sender: c.sender, Path: seatPath("seat0"), Body: []any{c.vt}}
		var err error
		if c.next {
			call.Body = nil
			_, err = w.m.hSwitchStep(1)(call)
		} else {
			_, err = w.m.hSwitchTo(call)
		}
		if errName(err) != c.want {
			t.Errorf("switch (next=%v vt=%d) as %s: %v, want %q", c.next, c.vt, c.sender, err, c.want)
		}
	}
	if n, _ := vts.Active(); n != 5 {
		t.Errorf("active VT %d, want 5 (root's switch)", n)
	}
}
