package sessiond

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	bus "ginit/dbus"
)

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
	// The loop removes these one after another in one closure: wait for
	// the last (the test read in between and flaked).
	gone := []string{"systemd/sessions/c1", "systemd/sessions/c1.ref", "systemd/users/1000", "user/1000"}
	w.waitFor("removal of "+strings.Join(gone, ", "), func() bool {
		for _, p := range gone {
			if w.exists(p) {
				return false
			}
		}
		return true
	})
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
		err := w.m.cfg.setBrightness(c.subsystem, c.name, c.value)
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

// TestSetBrightnessCall: over the bus only the session's owner or root
// may write, and a refused caller leaves the device as it was.
func TestSetBrightnessCall(t *testing.T) {
	sys := t.TempDir()
	dev := filepath.Join(sys, "backlight", "acpi_video0")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dev, "max_brightness"), []byte("10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host := newFakeHost()
	w := newWorldCfg(t, "", host, nil, func(c *Config) { c.SysClassDir = sys })
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 300, TTY: "pts/3"})
	host.mu.Lock()
	host.peers[":1.20"] = bus.Creds{UID: 1000, PID: 300}
	host.peers[":1.21"] = bus.Creds{UID: 65534, PID: 999}
	host.peers[":1.22"] = bus.Creds{UID: 0, PID: 1}
	host.mu.Unlock()
	for _, c := range []struct {
		sender string
		value  uint32
		want   string
		file   string
	}{
		{":1.20", 3, "", "3"},
		{":1.21", 7, bus.ErrAccessDenied, "3"},
		{":1.22", 12, "", "10"},
	} {
		call := &bus.Call{Sender: c.sender, Path: sessionPath(rep.ID), Body: []any{"backlight", "acpi_video0", c.value}}
		if _, err := w.m.hSetBrightness(call); errName(err) != c.want {
			t.Errorf("as %s to %d: %v, want %q", c.sender, c.value, err, c.want)
		}
		if b, _ := os.ReadFile(filepath.Join(dev, "brightness")); string(b) != c.file {
			t.Errorf("as %s to %d: brightness file %q, want %q", c.sender, c.value, b, c.file)
		}
	}
}

// TestKillScopelessSession: without a cgroup "all" is the leader, so it
// answers as "leader" does: a leader already gone is no error, any other
// failure is a Failed naming the session.
func TestKillScopelessSession(t *testing.T) {
	host := newFakeHost()
	w := newWorld(t, "", host, nil)
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 310, TTY: "pts/4"})
	w.state(func(s *state) { s.sessions[rep.ID].Scope = "" })
	for _, c := range []struct {
		who     string
		killErr error
		want    string
	}{
		{"all", nil, ""},
		{"all", syscall.ESRCH, ""},
		{"", syscall.ESRCH, ""},
		{"leader", syscall.ESRCH, ""},
		{"all", syscall.EPERM, bus.ErrFailed},
		{"leader", syscall.EPERM, bus.ErrFailed},
	} {
		host.mu.Lock()
		host.killErr = c.killErr
		host.mu.Unlock()
		var err error
		w.state(func(s *state) { err = s.killSession(s.sessions[rep.ID], c.who, int32(syscall.SIGTERM)) })
		if (c.want == "") != (err == nil) || errName(err) != c.want {
			t.Errorf("kill %q with Kill answering %v: %v, want %q", c.who, c.killErr, err, c.want)
		}
	}
}

// TestViewSharesFixedPart: a published view points at its session's
// fixed part instead of copying it, and a change of the mutable part
// (the locked hint) publishes a new view that still shares it, while
// the older view keeps its own copy of the mutable fields.
func TestViewSharesFixedPart(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 71, TTY: "pts/2", Service: "sshd", RemoteHost: "far"})
	first, ok := w.m.view.session(rep.ID)
	if !ok {
		t.Fatal("no view of the new session")
	}
	var fixed *sessionFixed
	w.state(func(s *state) {
		ss := s.sessions[rep.ID]
		fixed = ss.sessionFixed
		ss.LockedHint = true
		s.touchSessionOnly(ss)
	})
	w.waitFor("the locked hint published", func() bool {
		sv, ok := w.m.view.session(rep.ID)
		return ok && sv.rec.LockedHint
	})
	second, _ := w.m.view.session(rep.ID)
	if first.rec.sessionFixed != fixed || second.rec.sessionFixed != fixed {
		t.Errorf("views copy the fixed part: %p, %p; the session's is %p", first.rec.sessionFixed, second.rec.sessionFixed, fixed)
	}
	if first.rec.LockedHint || second.rec.RemoteHost != "far" {
		t.Errorf("old view locked %v, new view's remote host %q", first.rec.LockedHint, second.rec.RemoteHost)
	}
}
