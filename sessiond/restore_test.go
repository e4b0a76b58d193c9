package sessiond

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	bus "ginit/dbus"
)

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

// syncBuffer is a log destination the loop and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func logTo(buf *syncBuffer) func(*Config) {
	return func(c *Config) { c.Log = slog.New(slog.NewTextHandler(buf, nil)) }
}

// longText is n bytes mixing what the escaper leaves alone and what it
// quadruples (non-ASCII, control characters), so the escaped line is far
// longer than n.
func longText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		switch i % 4 {
		case 0:
			b.WriteString("host-")
		case 1:
			b.WriteString("ä")
		case 2:
			b.WriteByte('\x01')
		default:
			b.WriteString(`\"`)
		}
	}
	return b.String()[:n]
}

// persisted is the part of a session its file carries.
func persisted(ss *session) session {
	c := *ss
	c.FIFOOpen, c.Controller, c.devices, c.vt, c.restored = false, "", nil, nil, nil
	c.fifo, c.killTime, c.stopWatch = nil, nil, nil
	return c
}

// TestLongFieldsSurviveRestart: the longest values CreateSession and
// Inhibit accept are written to the state files and read back by the
// next sessiond exactly (a line longer than 64 KiB used to make the whole
// file unreadable, so the session or the lock vanished).
func TestLongFieldsSurviveRestart(t *testing.T) {
	long := longText(maxArgLen)
	for _, c := range []struct {
		name string
		r    CreateRequest
	}{
		{"remote host", CreateRequest{UID: 1000, PID: 300, Remote: true, RemoteHost: long, TTY: "pts/1"}},
		{"remote user and service", CreateRequest{UID: 1000, PID: 301, RemoteUser: long, Service: long}},
		{"tty", CreateRequest{UID: 1000, PID: 302, TTY: strings.Repeat("p", maxArgLen)}},
		{"display and desktop", CreateRequest{UID: 1000, PID: 303, Display: strings.Repeat(":", maxArgLen), Desktop: strings.Repeat("D", maxArgLen)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			host := newFakeHost()
			w1 := newWorld(t, dir, host, nil)
			rep := w1.mustCreate(c.r)
			var before session
			w1.state(func(s *state) { before = persisted(s.sessions[rep.ID]) })
			w1.stop()

			w2 := newWorld(t, dir, host, nil)
			var after *session
			w2.state(func(s *state) {
				if ss := s.sessions[rep.ID]; ss != nil {
					p := persisted(ss)
					after = &p
				}
			})
			if after == nil {
				t.Fatalf("session %s lost by the restart", rep.ID)
			}
			if !reflect.DeepEqual(*after, before) {
				t.Errorf("restored session differs:\n got %.300v\nwant %.300v", *after, before)
			}
		})
	}
	t.Run("inhibitor who and why", func(t *testing.T) {
		run := t.TempDir()
		w, _, _ := powerWorld(t, run)
		var f *os.File
		w.state(func(s *state) {
			var err error
			if f, err = s.addInhibitor(inhibitSleep, long, long+"why", modeBlock, 1000, 4242); err != nil {
				t.Fatal(err)
			}
		})
		defer f.Close()
		w.stop()
		w2, _, _ := powerWorld(t, run)
		var l []inhibitorEntry
		blocked := false
		w2.state(func(s *state) { l, blocked = s.inhibitorList(), s.blockedBy(inhibitSleep, 0) != nil })
		if len(l) != 1 || l[0].Who != long || l[0].Why != long+"why" || l[0].What != "sleep" {
			t.Fatalf("restored inhibitors: %.200v", l)
		}
		if !blocked {
			t.Error("restored lock does not block sleep")
		}
	})
}

// TestOverlongArgumentsRefused: a string argument beyond maxArgLen is
// refused with InvalidArgs naming the argument, and nothing is created.
func TestOverlongArgumentsRefused(t *testing.T) {
	over := strings.Repeat("x", maxArgLen+1)
	w := newWorld(t, "", nil, nil)
	for _, c := range []struct {
		arg string
		r   CreateRequest
	}{
		{"service", CreateRequest{Service: over}},
		{"type", CreateRequest{Type: over}},
		{"class", CreateRequest{Class: over}},
		{"desktop", CreateRequest{Desktop: over}},
		{"seat_id", CreateRequest{Seat: over}},
		{"tty", CreateRequest{TTY: over}},
		{"display", CreateRequest{Display: over}},
		{"remote_user", CreateRequest{RemoteUser: over}},
		{"remote_host", CreateRequest{RemoteHost: over}},
	} {
		t.Run("CreateSession "+c.arg, func(t *testing.T) {
			c.r.UID, c.r.PID = 1000, 400
			_, err := w.create(c.r)
			if errName(err) != bus.ErrInvalidArgs || !strings.Contains(err.Error(), c.arg) {
				t.Errorf("got %v, want InvalidArgs naming %s", err, c.arg)
			}
		})
	}
	w.state(func(s *state) {
		if len(s.sessions) != 0 || len(s.users) != 0 {
			t.Errorf("refused calls left %d sessions, %d users", len(s.sessions), len(s.users))
		}
	})
	for _, c := range []struct{ arg, who, why string }{
		{"who", over, "why"},
		{"why", "who", over},
	} {
		t.Run("Inhibit "+c.arg, func(t *testing.T) {
			_, err := checkInhibitArgs("sleep", c.who, c.why, modeBlock)
			if errName(err) != bus.ErrInvalidArgs || !strings.Contains(err.Error(), c.arg) {
				t.Errorf("got %v, want InvalidArgs naming %s", err, c.arg)
			}
		})
	}
}

// TestUnreadableStateKeepsID: a state file the next sessiond cannot read
// is reported at error level with its path, left in place, and its id
// (and that of a FIFO left without a file) is never handed out again.
func TestUnreadableStateKeepsID(t *testing.T) {
	dir := t.TempDir()
	w1, _, _ := powerWorld(t, dir)
	a := w1.mustCreate(CreateRequest{UID: 1000, PID: 500})
	b := w1.mustCreate(CreateRequest{UID: 1000, PID: 501})
	w1.inhibit(inhibitSleep, modeBlock, 1000)
	w1.inhibit(inhibitIdle, modeBlock, 1000)
	w1.stop()
	sessFile := filepath.Join(dir, "systemd", "sessions", b.ID)
	inhFile := filepath.Join(dir, "systemd", "inhibit", "2")
	for _, p := range []string{sessFile, inhFile} {
		if err := os.WriteFile(p, []byte("# This is private data. Do not parse.\nnot a key value line\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A FIFO whose state file is gone (a crash between the two writes).
	if err := unix.Mkfifo(filepath.Join(dir, "systemd", "sessions", "c3.ref"), 0o600); err != nil {
		t.Fatal(err)
	}

	var logs syncBuffer
	p := newFakePower()
	clk := &manualClock{fakeClock: fakeClock{now: w1.cfg.Clock.Now()}}
	w2 := newWorldCfg(t, dir, w1.host, nil, func(c *Config) { c.Power = p; c.Clock = clk; logTo(&logs)(c) })
	w2.state(func(s *state) {
		if s.sessions[a.ID] == nil {
			t.Errorf("readable session %s not restored", a.ID)
		}
	})
	for _, file := range []string{sessFile, inhFile} {
		if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), file) {
			t.Errorf("no error naming %s in the log:\n%s", file, logs.String())
		}
		if _, err := os.Stat(file); err != nil {
			t.Errorf("unreadable state file removed: %v", err)
		}
	}
	c := w2.mustCreate(CreateRequest{UID: 1000, PID: 502})
	if c.ID == a.ID || c.ID == b.ID || c.ID == "c3" {
		t.Errorf("new session got id %s, which a state file or FIFO still uses", c.ID)
	}
	w2.inhibit(inhibitShutdown, modeBlock, 1000)
	w2.state(func(s *state) {
		for _, in := range s.inhibitors {
			if in.What == inhibitShutdown && (in.ID == "1" || in.ID == "2") {
				t.Errorf("new inhibitor got id %s, which a state file still uses", in.ID)
			}
		}
	})
}

// TestInhibitArgBudget: Inhibit's strings are bounded so that the default
// InhibitorsMax locks fit one ListInhibitors reply (dbus-daemon's system
// bus refuses messages over 32 MiB) with room for the other fields.
func TestInhibitArgBudget(t *testing.T) {
	if n := DefaultLoginConfig().InhibitorsMax * 2 * maxInhibitArgLen; n > 16<<20 {
		t.Errorf("%d locks of two %d-byte strings: %d bytes in one reply", DefaultLoginConfig().InhibitorsMax, maxInhibitArgLen, n)
	}
	ok := strings.Repeat("w", maxInhibitArgLen)
	if _, err := checkInhibitArgs("sleep", ok, ok, modeDelay); err != nil {
		t.Errorf("who and why of %d bytes: %v", maxInhibitArgLen, err)
	}
	if _, err := checkInhibitArgs("sleep", ok+"w", "why", modeDelay); errName(err) != bus.ErrInvalidArgs || !strings.Contains(err.Error(), "who too long") {
		t.Errorf("who of %d bytes: %v, want InvalidArgs", maxInhibitArgLen+1, err)
	}
}
