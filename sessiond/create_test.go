package sessiond

import (
	"testing"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

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
	// The lists of the user's file, as sd-login reads them: a seatless
	// session is active; c3 is online on seat0 behind the active c4; a
	// stopping session is neither active nor online.
	want := map[string]string{"ACTIVE_SESSIONS": "c1 c2 c4", "ONLINE_SESSIONS": "c1 c2 c3 c4", "SEATS": "seat0", "ACTIVE_SEATS": "seat0", "ONLINE_SEATS": "seat0"}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("user file %s=%q, want %q", k, u[k], v)
		}
	}
	w.state(func(s *state) {
		ss := s.sessions["c2"]
		ss.Stopping = true
		s.touchSession(ss)
	})
	u = w.file("systemd/users/1000")
	want["ACTIVE_SESSIONS"], want["ONLINE_SESSIONS"] = "c1 c4", "c1 c3 c4"
	for k, v := range want {
		if u[k] != v {
			t.Errorf("c2 stopping: user file %s=%q, want %q", k, u[k], v)
		}
	}
	if st := w.file("systemd/seats/seat0"); st["ACTIVE"] != "c4" || st["SESSIONS"] != "c3 c4" || st["UIDS"] != "1000 1000" {
		t.Errorf("seat file: %v", st)
	}
	if s := w.file("systemd/sessions/c3"); s["ACTIVE"] != "0" || s["STATE"] != "online" || s["IS_DISPLAY"] != "1" {
		t.Errorf("session c3 file: %v", s)
	}
}
