package sessiond

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

// bareManager is a Manager on fakes whose loop does not run: the test
// goroutine is the owner. Its FIFOs are closed at the end of the test.
func bareManager(t *testing.T, run string, vts VTs) *Manager {
	t.Helper()
	cfg := Config{RunDir: run, Host: newFakeHost(), Clock: &fakeClock{now: time.Unix(1_700_000_000, 0)},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if vts != nil {
		cfg.VTs = vts
	}
	m := NewManager(cfg, &fakeEmitter{})
	ctx, cancel := context.WithCancel(context.Background())
	m.SetContext(ctx)
	t.Cleanup(func() {
		cancel()
		for _, ss := range m.st.sessions {
			ss.fifo.Close()
		}
		for _, in := range m.st.inhibitors {
			in.fifo.Close()
		}
		m.stopFIFOs()
	})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	return m
}

// FuzzStateFiles: the session, user, seat and inhibitor files, and the
// env-file codec under them, give back exactly what was written, for any
// values the D-Bus checks let through (or, for a value no call can
// produce, the writer refuses the file instead of writing a broken one).
func FuzzStateFiles(f *testing.F) {
	f.Add("c1", "pts/1", ":0", "x11", "user", "GNOME", "sshd", "alice", "example.org", "alice", uint32(1000), uint32(7), true, true,
		"gdm", "Saving the session", uint8(3), uint8(0), "KEY", "value")
	f.Add("c42", "tty2", "", "wayland", "greeter", "", "login", "", "", "root", uint32(0), uint32(2), false, false,
		"who\n\"quoted\"", "ünïcode\x00\\x41", uint8(0xff), uint8(2), "_", "a=b=c #not a comment")
	f.Add("7", "", "", "", "", "", "", "", strings.Repeat("h", 700), "bob", uint32(1001), uint32(0), true, false,
		strings.Repeat("\x01", 200), "", uint8(0x80), uint8(1), "BAD KEY", "x\ny")
	f.Fuzz(func(t *testing.T, id, tty, display, typ, class, desktop, service, ruser, rhost, uname string, uid, vtnr uint32,
		onSeat, hasVTs bool, who, why string, what, mode uint8, key, value string) {
		// The env-file codec alone.
		vals := []kv{{"A", "1"}, {key, value}}
		text, err := formatEnv(vals)
		if !validEnvKey(key) || strings.Contains(value, "\n") {
			if err == nil {
				t.Fatalf("formatEnv wrote key %q value %q", key, value)
			}
		} else {
			if err != nil {
				t.Fatalf("formatEnv: %v", err)
			}
			want := map[string]string{}
			for _, p := range vals {
				want[p.k] = p.v // a repeated key: the last one counts
			}
			got, err := parseEnv(text)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("parseEnv(formatEnv(%q=%q)) = %q, %v", key, value, got, err)
			}
		}

		if !sys.ValidSessionID(id) {
			return
		}
		r := CreateRequest{UID: uid, PID: 1, Service: service, Type: typ, Class: class, Desktop: desktop,
			VTNr: vtnr, TTY: tty, Display: display, RemoteUser: ruser, RemoteHost: rhost}
		if err := checkCreateArgs(&r); err != nil {
			if errName(err) != bus.ErrInvalidArgs {
				t.Fatalf("checkCreateArgs: %v is not InvalidArgs", err)
			}
			return
		}
		m := NewManager(Config{RunDir: "/nonexistent", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
		s := m.st
		st := &seat{ID: "seat0", HasVTs: hasVTs}
		s.seats["seat0"] = st
		if typ == "" {
			typ = "tty"
		}
		if class == "" {
			class = "user"
		}
		ss := &session{sessionPub: sessionPub{sessionFixed: &sessionFixed{ID: id, UID: uid, UserName: uname, TTY: tty,
			Remote: rhost != "", RemoteHost: rhost, RemoteUser: ruser, Service: service, Desktop: desktop,
			OriginalType: typ, Leader: vtnr ^ uid, Audit: uid >> 3,
			Realtime: uint64(uid) << 20, Monotonic: uint64(vtnr) << 10, FIFO: "/run/systemd/sessions/" + id + ".ref"},
			VTNr: vtnr, Display: display, Type: typ, Class: class,
			IdleHint: onSeat, IdleRealtime: uint64(vtnr), IdleMonotonic: uint64(uid), LockedHint: hasVTs, Stopping: uid%3 == 0}}
		if uid%2 == 0 {
			ss.Scope = "session-" + id + ".scope"
		}
		if onSeat {
			ss.Seat = "seat0"
			st.Sessions = []string{id}
			st.Active = id
			if !hasVTs {
				ss.Position = 1
			}
		}
		u := &user{UID: uid, GID: vtnr, Name: uname, Realtime: uint64(vtnr) << 30, Monotonic: uint64(uid) + 1, Sessions: []string{id}}
		s.sessions[id] = ss
		s.users[uid] = u

		back := func(what string, rec []kv) map[string]string {
			text, err := formatEnv(rec)
			if err != nil {
				t.Fatalf("%s file not written: %v", what, err)
			}
			m, err := parseEnv(text)
			if err != nil {
				t.Fatalf("%s file not read back: %v\n%s", what, err, text)
			}
			return m
		}
		if got := decodeSession(id, back("session", s.sessionRecord(ss))); !reflect.DeepEqual(persisted(got), persisted(ss)) {
			t.Errorf("session round trip:\n got %+v\nwant %+v", persisted(got), persisted(ss))
		}
		// Account names come from NSS, so any bytes: escaped like the
		// other strings, they come back as they were.
		if got := decodeUser(uid, back("user", s.userRecord(u))); got.Name != u.Name || got.GID != u.GID || got.Realtime != u.Realtime || got.Monotonic != u.Monotonic {
			t.Errorf("user round trip: got %+v, want %+v", got, u)
		}
		if got := decodeSeat("seat0", back("seat", s.seatRecord(st))); got.Active != st.Active || !reflect.DeepEqual(got.Sessions, st.Sessions) {
			t.Errorf("seat round trip: got %+v, want %+v", got, st)
		}

		w := inhibitWhat(what) & (inhibitRebootKey<<1 - 1)
		if w == 0 {
			w = inhibitIdle
		}
		in := &inhibitor{ID: id, What: w, Who: who, Why: why, Mode: []string{modeBlock, modeBlockWeak, modeDelay}[mode%3],
			UID: uid, PID: vtnr, Realtime: uint64(uid) * 3, Monotonic: uint64(vtnr) * 5, FIFO: "/run/systemd/inhibit/" + id + ".ref"}
		got, err := decodeInhibitor(id, back("inhibitor", inhibitorRecord(in)))
		if err != nil {
			t.Fatalf("inhibitor file not decoded: %v", err)
		}
		if !reflect.DeepEqual(got, in) {
			t.Errorf("inhibitor round trip:\n got %+v\nwant %+v", got, in)
		}
	})
}

// restoredSessions restarts on run and returns what it restored.
func restoredSessions(t *testing.T, run string, vts VTs) map[string]*session {
	m := bareManager(t, run, vts)
	return m.st.sessions
}

// FuzzCreateSession: any arguments give a session or a logind error
// (InvalidArgs for bad arguments), never a panic; a session created is
// restored identically by the next sessiond.
func FuzzCreateSession(f *testing.F) {
	f.Add(uint32(1000), uint32(50), "login", "tty", "user", "", "seat0", uint32(2), "tty2", "", false, "", "", true)
	f.Add(uint32(1000), uint32(51), "sshd", "", "", "", "", uint32(0), "pts/3", "", true, "root", "host.example.org", false)
	f.Add(uint32(1001), uint32(52), "gdm-password", "wayland", "user", "GNOME", "seat0", uint32(0), "", ":1", false, "", "", false)
	f.Add(uint32(0), uint32(53), "lightdm", "x11", "greeter", "bad desktop", "seat1", uint32(70), "console", ":0 x", false, "", "", true)
	f.Add(uint32(1000), uint32(54), "su", "", "", "", "", uint32(0), "", "", true, strings.Repeat("ü", 300), "h\nx", false)
	f.Fuzz(func(t *testing.T, uid, pid uint32, service, typ, class, desktop, seatID string, vtnr uint32, tty, display string,
		remote bool, ruser, rhost string, hasVTs bool) {
		run := t.TempDir()
		var vts VTs
		if hasVTs {
			vts = &fakeVTs{active: 2}
		}
		m := bareManager(t, run, vts)
		r := CreateRequest{UID: uid, PID: pid, Service: service, Type: typ, Class: class, Desktop: desktop, Seat: seatID,
			VTNr: vtnr, TTY: tty, Display: display, Remote: remote, RemoteUser: ruser, RemoteHost: rhost}
		rep, err := m.st.create(&r)
		if err != nil {
			var be *bus.Error
			if !errors.As(err, &be) {
				t.Fatalf("create: %v is not a D-Bus error", err)
			}
			switch be.Name {
			case bus.ErrInvalidArgs, bus.ErrNoSuchSeat, bus.ErrNoSuchUser:
			default:
				t.Fatalf("create: unexpected error %v", err)
			}
			if len(m.st.sessions) != 0 {
				t.Fatal("a refused call left a session")
			}
			return
		}
		defer rep.FIFO.Close()
		m.st.settle()
		m.st.flush()
		want := persisted(m.st.sessions[rep.ID])
		got := restoredSessions(t, run, vts)[rep.ID]
		if got == nil {
			t.Fatalf("session %s not restored", rep.ID)
		}
		if !reflect.DeepEqual(persisted(got), want) {
			t.Errorf("restored session differs:\n got %.400v\nwant %.400v", persisted(got), want)
		}
	})
}

// FuzzInhibit: any Inhibit arguments give a lock or InvalidArgs, and a
// lock taken is restored identically by the next sessiond.
func FuzzInhibit(f *testing.F) {
	f.Add("sleep", "gnome-session", "user session inhibited", "block", uint32(1000), uint32(77))
	f.Add("shutdown:sleep", "NetworkManager", "", "delay", uint32(0), uint32(5))
	f.Add("handle-lid-switch:idle", "who\x00\n", "\"why\"", "block-weak", uint32(1001), uint32(0))
	f.Add("idle", "x", "y", "delay", uint32(1), uint32(1))
	f.Add("sleep::", "", "", "block", uint32(1), uint32(1))
	f.Fuzz(func(t *testing.T, what, who, why, mode string, uid, pid uint32) {
		w, err := checkInhibitArgs(what, who, why, mode)
		if err != nil {
			if errName(err) != bus.ErrInvalidArgs {
				t.Fatalf("checkInhibitArgs: %v is not InvalidArgs", err)
			}
			return
		}
		run := t.TempDir()
		m := bareManager(t, run, nil)
		fd, err := m.st.addInhibitor(w, who, why, mode, uid, pid)
		if err != nil {
			t.Fatalf("addInhibitor after the checks passed: %v", err)
		}
		defer fd.Close()
		want := *m.st.inhibitors[0]
		m2 := bareManager(t, run, nil)
		if len(m2.st.inhibitors) != 1 {
			t.Fatalf("restored %d inhibitors", len(m2.st.inhibitors))
		}
		got := *m2.st.inhibitors[0]
		got.fifo, want.fifo = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("restored lock differs:\n got %.300v\nwant %.300v", got, want)
		}
		if _, err := os.Stat(want.FIFO); err != nil {
			t.Error(err)
		}
	})
}
