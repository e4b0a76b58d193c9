package sessiond

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

func errName(err error) string {
	var e *bus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}

func TestCreateValidation(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	w.mustCreate(CreateRequest{UID: 1000, PID: 50, TTY: "pts/1"})
	for _, c := range []struct {
		name string
		r    CreateRequest
		want string
	}{
		{"bad type", CreateRequest{UID: 1000, PID: 51, Type: "vnc"}, bus.ErrInvalidArgs},
		{"bad class", CreateRequest{UID: 1000, PID: 51, Class: "admin"}, bus.ErrInvalidArgs},
		{"unknown seat", CreateRequest{UID: 1000, PID: 51, Seat: "seat1"}, bus.ErrNoSuchSeat},
		{"VT on a seat without VTs", CreateRequest{UID: 1000, PID: 51, TTY: "tty2"}, bus.ErrInvalidArgs},
		{"vtnr on a seat without VTs", CreateRequest{UID: 1000, PID: 51, Seat: "seat0", VTNr: 3}, bus.ErrInvalidArgs},
		{"unknown user", CreateRequest{UID: 4242, PID: 51}, bus.ErrNoSuchUser},
		{"newline in tty", CreateRequest{UID: 1000, PID: 51, TTY: "pts/1\nUID=0"}, bus.ErrInvalidArgs},
		{"space in display", CreateRequest{UID: 1000, PID: 51, Display: ":0 x"}, bus.ErrInvalidArgs},
		{"leader already in a session", CreateRequest{UID: 1000, PID: 50}, bus.ErrSessionBusy},
		{"unknown property", CreateRequest{UID: 1000, PID: 51, Properties: []struct {
			Name  string
			Value godbus.Variant
		}{{"Bogus", godbus.MakeVariant(uint64(1))}}}, bus.ErrInvalidArgs},
		{"property of the wrong type", CreateRequest{UID: 1000, PID: 51, Properties: []struct {
			Name  string
			Value godbus.Variant
		}{{"TasksMax", godbus.MakeVariant("many")}}}, bus.ErrInvalidArgs},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.create(c.r)
			if errName(err) != c.want {
				t.Errorf("got %v, want %s", err, c.want)
			}
		})
	}
	w.state(func(s *state) {
		if len(s.sessions) != 1 {
			t.Errorf("failed creations left %d sessions", len(s.sessions))
		}
	})
}

func TestCreateDefaults(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	for _, c := range []struct {
		r                CreateRequest
		typ, class, seat string
	}{
		{CreateRequest{UID: 1000, PID: 60}, "unspecified", "background", ""},
		{CreateRequest{UID: 1000, PID: 61, TTY: "pts/3"}, "tty", "user", ""},
		{CreateRequest{UID: 1000, PID: 62, Display: ":0", Seat: "seat0"}, "x11", "user", "seat0"},
		{CreateRequest{UID: 1000, PID: 63, Type: "wayland", Class: "greeter", Seat: "seat0"}, "wayland", "greeter", "seat0"},
	} {
		rep := w.mustCreate(c.r)
		w.state(func(s *state) {
			ss := s.sessions[rep.ID]
			if ss.Type != c.typ || ss.Class != c.class || ss.Seat != c.seat || rep.Seat != c.seat {
				t.Errorf("%+v: type %s class %s seat %s", c.r, ss.Type, ss.Class, ss.Seat)
			}
		})
	}
	// The graphical session is the user's display; the newest session on
	// a seat without VTs is the active one.
	u := w.file("systemd/users/1000")
	if u["DISPLAY"] != "c3" || u["SESSIONS"] != "c1 c2 c3 c4" {
		t.Errorf("user file: %v", u)
	}
	if st := w.file("systemd/seats/seat0"); st["ACTIVE"] != "c4" || st["SESSIONS"] != "c3 c4" || st["UIDS"] != "1000 1000" {
		t.Errorf("seat file: %v", st)
	}
	if s := w.file("systemd/sessions/c3"); s["ACTIVE"] != "0" || s["STATE"] != "online" || s["IS_DISPLAY"] != "1" {
		t.Errorf("session c3 file: %v", s)
	}
}

func TestSessionLifecycle(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	w.em.take()
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 70, TTY: "pts/1", Service: "login", RemoteHost: "a b\\c"})
	if rep.ID != "c1" || rep.Path != "/org/freedesktop/login1/session/c1" || rep.Runtime != w.cfg.RunDir+"/user/1000" || rep.UID != 1000 {
		t.Errorf("reply %+v", rep)
	}
	s := w.file("systemd/sessions/c1")
	for k, v := range map[string]string{"UID": "1000", "USER": "alice", "ACTIVE": "1", "STATE": "active", "TYPE": "tty",
		"CLASS": "user", "TTY": "pts/1", "SERVICE": "login", "LEADER": "70", "SCOPE": "session-c1.scope", "REMOTE_HOST": `a b\\c`} {
		if s[k] != v {
			t.Errorf("session file %s=%q, want %q", k, s[k], v)
		}
	}
	if !w.exists("user/1000") || !w.exists("systemd/sessions/c1.ref") {
		t.Error("runtime dir or FIFO missing")
	}
	names := func(l []sent) string {
		var n []string
		for _, s := range l {
			n = append(n, s.name[strings.LastIndexByte(s.name, '.')+1:])
		}
		return strings.Join(n, " ")
	}
	// (then PropertiesChanged: the manager is no longer idle)
	if got := names(w.em.take()); !strings.HasPrefix(got, "UserNew SessionNew") {
		t.Errorf("signals %q", got)
	}

	// The PAM process goes: the FIFO closes, but a process is left in the
	// scope, so the session stays, closing.
	rep.FIFO.Close()
	w.waitFor("closing", func() bool {
		return w.exists("systemd/sessions/c1") && w.file("systemd/sessions/c1")["STATE"] == "closing"
	})
	w.waitFor("user closing", func() bool { return w.file("systemd/users/1000")["STATE"] == "closing" })
	// The scope empties: the session and, as it was the last, the user go.
	w.host.empty("c1")
	w.waitFor("removal", func() bool { return !w.exists("systemd/sessions/c1") })
	for _, p := range []string{"systemd/sessions/c1.ref", "systemd/users/1000", "user/1000"} {
		if w.exists(p) {
			t.Errorf("%s left behind", p)
		}
	}
	w.waitFor("signals", func() bool {
		w.em.mu.Lock()
		defer w.em.mu.Unlock()
		return strings.Contains(names(w.em.got), "UserRemoved")
	})
	if got := names(w.em.take()); !strings.Contains(got, "SessionRemoved UserRemoved") {
		t.Errorf("signals %q", got)
	}
}

func TestTerminateKillsScope(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	w.mustCreate(CreateRequest{UID: 1000, PID: 80})
	w.mustCreate(CreateRequest{UID: 1000, PID: 81})
	w.state(func(s *state) { s.stopSession(s.sessions["c1"], true) })
	w.host.mu.Lock()
	kills := strings.Join(w.host.kills, " ")
	w.host.mu.Unlock()
	want := "c1:" + itoa(int(syscall.SIGTERM)) + " c1:" + itoa(int(syscall.SIGHUP)) + " c1:" + itoa(int(syscall.SIGCONT))
	if kills != want {
		t.Errorf("kills %q, want %q", kills, want)
	}
	w.host.empty("c1")
	w.waitFor("c1 to go", func() bool { return !w.exists("systemd/sessions/c1") })
	if !w.exists("user/1000") || !w.exists("systemd/sessions/c2") {
		t.Error("the user's other session or runtime dir went too")
	}
}

func itoa(n int) string { return utoa(uint32(n)) }

func TestRestore(t *testing.T) {
	dir := t.TempDir()
	host := newFakeHost()
	w1 := newWorld(t, dir, host, nil)
	a := w1.mustCreate(CreateRequest{UID: 1000, PID: 90, Seat: "seat0", Desktop: "GNOME", Type: "wayland"})
	b := w1.mustCreate(CreateRequest{UID: 1001, PID: 91, TTY: "pts/4"})
	w1.state(func(s *state) { s.sessions[a.ID].LockedHint = true; s.touchSession(s.sessions[a.ID]) })
	var before map[string]godbus.Variant
	w1.state(func(s *state) { before = s.sessionProps(s.sessions[a.ID]) })
	w1.stop() // like SIGKILL: nothing is cleaned up; the PAM processes keep their FIFO ends

	w2 := newWorld(t, dir, host, nil)
	w2.state(func(s *state) {
		if len(s.sessions) != 2 || len(s.users) != 2 {
			t.Fatalf("restored %d sessions, %d users", len(s.sessions), len(s.users))
		}
		after := s.sessionProps(s.sessions[a.ID])
		for k, v := range before {
			if after[k].String() != v.String() {
				t.Errorf("%s: %v after restore, %v before", k, after[k], v)
			}
		}
		if s.seats["seat0"].Active != a.ID || s.users[1000].Display != a.ID {
			t.Errorf("seat active %q, display %q", s.seats["seat0"].Active, s.users[1000].Display)
		}
	})
	// New ids continue after the restored ones.
	c := w2.mustCreate(CreateRequest{UID: 1000, PID: 92})
	if c.ID != "c3" {
		t.Errorf("new session id %s after restore", c.ID)
	}
	// The FIFO was reopened: closing the PAM side still ends the session.
	host.empty(b.ID)
	b.FIFO.Close()
	w2.waitFor("session b and bob's runtime dir to go", func() bool {
		return !w2.exists("systemd/sessions/"+b.ID) && !w2.exists("user/1001")
	})
}

func TestRestoreDropsSessionsThatEnded(t *testing.T) {
	dir := t.TempDir()
	host := newFakeHost()
	w1 := newWorld(t, dir, host, nil)
	a := w1.mustCreate(CreateRequest{UID: 1000, PID: 95})
	w1.stop()
	// While sessiond was down the login ended.
	a.FIFO.Close()
	host.mu.Lock()
	host.populated[a.ID] = false
	host.mu.Unlock()
	w2 := newWorld(t, dir, host, nil)
	w2.waitFor("the ended session and its user to go", func() bool {
		return !w2.exists("systemd/sessions/"+a.ID) && !w2.exists("systemd/users/1000")
	})
}

func TestVTSeat(t *testing.T) {
	vts := &fakeVTs{active: 2}
	w := newWorld(t, "", nil, vts)
	if _, err := w.create(CreateRequest{UID: 1000, PID: 100, Seat: "seat0"}); errName(err) != bus.ErrInvalidArgs {
		t.Errorf("no vtnr on a VT seat: %v", err)
	}
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 101, TTY: "tty2"})
	b := w.mustCreate(CreateRequest{UID: 1001, PID: 102, TTY: "tty3"})
	if a.Seat != "seat0" || a.VTNr != 2 || b.VTNr != 3 {
		t.Errorf("replies %+v %+v", a, b)
	}
	if _, err := w.create(CreateRequest{UID: 1001, PID: 103, TTY: "tty3"}); errName(err) != bus.ErrSessionBusy {
		t.Errorf("second session on tty3: %v", err)
	}
	if st := w.file("systemd/seats/seat0"); st["ACTIVE"] != a.ID || st["CAN_TTY"] != "1" {
		t.Errorf("seat0 %v", st)
	}
	w.em.take()
	w.state(func(s *state) {
		if err := s.activate(s.sessions[b.ID]); err != nil {
			t.Fatal(err)
		}
	})
	if vts.active != 3 {
		t.Errorf("VT %d after activating the tty3 session", vts.active)
	}
	if st := w.file("systemd/seats/seat0"); st["ACTIVE"] != b.ID {
		t.Errorf("seat0 active %q", st["ACTIVE"])
	}
	// Active went false on a, true on b, and seat0's ActiveSession changed.
	changed := map[string]bool{}
	for _, s := range w.em.take() {
		if s.name == bus.IfaceProperties+".PropertiesChanged" {
			for k := range s.args[1].(map[string]godbus.Variant) {
				changed[string(s.path)+" "+k] = true
			}
		}
	}
	for _, k := range []string{"/org/freedesktop/login1/session/c1 Active", "/org/freedesktop/login1/session/c2 Active", "/org/freedesktop/login1/seat/seat0 ActiveSession"} {
		if !changed[k] {
			t.Errorf("no PropertiesChanged for %s (got %v)", k, changed)
		}
	}
	// The kernel switches VT behind our back.
	w.state(func(s *state) { s.vtChanged(5) })
	if st := w.file("systemd/seats/seat0"); st["ACTIVE"] != "" {
		t.Errorf("seat0 active %q on an empty VT", st["ACTIVE"])
	}
}

func TestLinger(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	w.state(func(s *state) {
		if err := s.setLinger(1001, true); err != nil {
			t.Fatal(err)
		}
	})
	if u := w.file("systemd/users/1001"); u["STATE"] != "lingering" || !w.exists("user/1001") || !w.exists("linger/bob") {
		t.Errorf("lingering user: %v", u)
	}
	rep := w.mustCreate(CreateRequest{UID: 1001, PID: 110})
	rep.FIFO.Close()
	w.host.empty(rep.ID)
	w.waitFor("session to go", func() bool { return !w.exists("systemd/sessions/" + rep.ID) })
	if !w.exists("user/1001") {
		t.Error("a lingering user's runtime dir went with the last session")
	}
	w.state(func(s *state) {
		if err := s.setLinger(1001, false); err != nil {
			t.Fatal(err)
		}
	})
	if w.exists("user/1001") || w.exists("systemd/users/1001") {
		t.Error("user stays after linger was disabled")
	}
}

func TestSessionIDFromCgroup(t *testing.T) {
	for _, c := range []struct {
		path, want string
	}{
		{"/user.slice/user-1000.slice/session-c3.scope", "c3"},
		{"/test.slice/user.slice/user-0.slice/session-12.scope/sub", "12"},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", ""},
		{"/system.slice/sshd.service", ""},
		{"/session-c1.scope", ""},
		{"/user.slice/user-1000.slice/session-c-1.scope", ""},
	} {
		got, ok := sessionFromCgroupPath(c.path)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s: %q %v, want %q", c.path, got, ok, c.want)
		}
	}
}

func TestEscapes(t *testing.T) {
	for _, s := range []string{"plain", `back\slash`, "new\nline", "quote\"s'", "\x01ctl", "ünï"} {
		e := cescape(s)
		if strings.ContainsAny(e, "\n") {
			t.Errorf("cescape(%q)=%q has a newline", s, e)
		}
		if back := cunescape(e); back != s {
			t.Errorf("cunescape(cescape(%q))=%q", s, back)
		}
	}
}

func TestGreeterVTTakeover(t *testing.T) {
	w := newWorld(t, "", nil, &fakeVTs{active: 1})
	w.mustCreate(CreateRequest{UID: 0, PID: 200, TTY: "tty1", Class: "greeter", Type: "x11"})
	// The user session starts on the greeter's VT (gdm/lightdm do that).
	if _, err := w.create(CreateRequest{UID: 1000, PID: 201, TTY: "tty1", Type: "x11"}); err != nil {
		t.Errorf("user session on the greeter's VT: %v", err)
	}
	if _, err := w.create(CreateRequest{UID: 1001, PID: 202, TTY: "tty1"}); errName(err) != bus.ErrSessionBusy {
		t.Errorf("third session on a VT held by a user session: %v", err)
	}
}

func TestCanGraphicalAppears(t *testing.T) {
	var mu sync.Mutex
	graphics := false
	host := newFakeHost()
	dir := t.TempDir()
	w := newWorldCfg(t, dir, host, nil, func(c *Config) {
		c.CanGraphical = func() bool { mu.Lock(); defer mu.Unlock(); return graphics }
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.m.pollGraphics(ctx, time.Millisecond)
	if st := w.file("systemd/seats/seat0"); st["CAN_GRAPHICAL"] != "0" {
		t.Fatalf("seat0 %v", st)
	}
	w.em.take()
	mu.Lock()
	graphics = true // the DRM driver bound
	mu.Unlock()
	w.waitFor("CAN_GRAPHICAL=1", func() bool { return w.file("systemd/seats/seat0")["CAN_GRAPHICAL"] == "1" })
	w.waitFor("PropertiesChanged(CanGraphical)", func() bool {
		w.em.mu.Lock()
		defer w.em.mu.Unlock()
		for _, s := range w.em.got {
			if s.path == seatPath("seat0") && s.name == bus.IfaceProperties+".PropertiesChanged" {
				if v, ok := s.args[1].(map[string]godbus.Variant)["CanGraphical"]; ok && v.Value() == true {
					return true
				}
			}
		}
		return false
	})
}

// FuzzEnvValue: any free-text value survives the session file.
func FuzzEnvValue(f *testing.F) {
	for _, s := range []string{"", "GNOME", "a\\b", "x\ny=1", "\x00\xff"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		p := dir + "/f"
		if err := writeEnvFile(p, []kv{{"DESKTOP", cescape(s)}, {"UID", "1"}}); err != nil {
			t.Fatal(err)
		}
		m, err := readEnvFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := cunescape(m["DESKTOP"]); got != s || m["UID"] != "1" {
			t.Fatalf("value %q came back as %q (UID %q)", s, got, m["UID"])
		}
	})
}

func TestSetBrightness(t *testing.T) {
	sys := t.TempDir()
	dev := filepath.Join(sys, "backlight", "intel_backlight")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dev, "max_brightness"), []byte("100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newWorldCfg(t, "", nil, nil, func(c *Config) { c.SysClassDir = sys })
	for _, c := range []struct {
		subsystem, name string
		value           uint32
		want, file      string
	}{
		{"backlight", "intel_backlight", 40, "", "40"},
		{"backlight", "intel_backlight", 400, "", "100"},
		{"drm", "card0", 1, bus.ErrInvalidArgs, ""},
		{"backlight", "../../etc", 1, bus.ErrInvalidArgs, ""},
		{"leds", "nosuch", 1, bus.ErrInvalidArgs, ""},
	} {
		var err error
		w.state(func(s *state) { err = s.setBrightness(c.subsystem, c.name, c.value) })
		if errName(err) != c.want {
			t.Errorf("%s/%s=%d: %v, want %q", c.subsystem, c.name, c.value, err, c.want)
		}
		if c.file != "" {
			if b, _ := os.ReadFile(filepath.Join(dev, "brightness")); string(b) != c.file {
				t.Errorf("brightness file %q, want %q", b, c.file)
			}
		}
	}
}
