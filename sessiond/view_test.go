package sessiond

import (
	"reflect"
	"testing"
	"unsafe"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// TestViewMatchesState: after every change, what the view answers for a
// session, its user and the seat is what the owner would build from its
// state, and a removed session leaves the view (and its leader index).
func TestViewMatchesState(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 500, TTY: "pts/5"})
	b := w.mustCreate(CreateRequest{UID: 1000, PID: 501, TTY: "pts/6", Seat: "seat0"})
	check := func(when string) {
		t.Helper()
		w.state(func(s *state) {
			for id, ss := range s.sessions {
				sv, ok := w.m.view.session(id)
				if !ok {
					t.Fatalf("%s: session %s not in the view", when, id)
				}
				if got, want := sv.props(), s.sessionProps(ss); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: session %s: view %v, state %v", when, id, got, want)
				}
				if got, _ := w.m.view.ledBy(ss.Leader); got != id {
					t.Errorf("%s: leader %d: view says %q, want %s", when, ss.Leader, got, id)
				}
			}
			// The cached lists are those of the state now, in id order.
			var ids []string
			for id := range s.sessions {
				ids = append(ids, id)
			}
			sortStrings(ids)
			list, ex := w.m.view.listSessions(), w.m.view.listSessionsEx()
			if len(list) != len(ids) || len(ex) != len(ids) {
				t.Fatalf("%s: lists of %d and %d sessions, want %d", when, len(list), len(ex), len(ids))
			}
			// The encoded replies are of the same generation.
			for _, x := range []struct {
				ex   bool
				want any
			}{{false, list}, {true, ex}} {
				enc, ok := w.m.view.listReply(x.ex)[0].(*bus.Encoded)
				if !ok || !reflect.DeepEqual(enc.Values(), []any{x.want}) {
					t.Errorf("%s: encoded list (ex %v) is not the list now", when, x.ex)
				}
			}
			for i, id := range ids {
				ss := s.sessions[id]
				if want := (sessionEntry{ss.ID, ss.UID, ss.UserName, ss.Seat, sessionPath(id)}); list[i] != want {
					t.Errorf("%s: ListSessions[%d] = %v, want %v", when, i, list[i], want)
				}
				if want := (sessionExEntry{ss.ID, ss.UID, ss.UserName, ss.Seat, ss.Leader, ss.Class, ss.TTY, ss.IdleHint, ss.IdleMonotonic, sessionPath(id)}); ex[i] != want {
					t.Errorf("%s: ListSessionsEx[%d] = %v, want %v", when, i, ex[i], want)
				}
			}
			for uid, u := range s.users {
				got, ok := w.m.view.userProps(uid)
				if want := s.userProps(u); !ok || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: user %d: view %v, state %v", when, uid, got, want)
				}
			}
			for id, st := range s.seats {
				got, ok := w.m.view.seatProps(id)
				if want := s.seatProps(st); !ok || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: seat %s: view %v, state %v", when, id, got, want)
				}
			}
		})
	}
	check("created")
	w.state(func(s *state) { s.sessions[a.ID].LockedHint = true; s.touchSessionOnly(s.sessions[a.ID]) })
	check("locked")
	w.state(func(s *state) { s.sessions[a.ID].IdleHint = true; s.touchSession(s.sessions[a.ID]) })
	check("idle")
	b.FIFO.Close() // its client lets go and its scope empties: b goes
	w.host.empty(b.ID)
	w.waitFor("session "+b.ID+" gone", func() bool { _, ok := w.m.view.session(b.ID); return !ok })
	if _, ok := w.m.view.ledBy(501); ok {
		t.Error("the gone session's leader is still indexed")
	}
	check("one gone")
	if l := w.m.view.listSessions(); len(l) != 1 || l[0].ID != a.ID || l[0].Path != godbus.ObjectPath(sessionPath(a.ID)) {
		t.Errorf("ListSessions from the view: %v", l)
	}
}

// TestSessionChanges: a change of one session announces what comparing
// every emits-change property of the two views would, for a change of
// each of them and of a constant one; and every emits-change property of
// the Session interface has its case here.
func TestSessionChanges(t *testing.T) {
	m := &Manager{}
	ifc := m.buildInterfaces().session
	// Stopping, so that State (closing) does not follow Active.
	base := sessionView{rec: sessionPub{sessionFixed: &sessionFixed{ID: "c1", UID: 1000, TTY: "pts/1", Service: "login"},
		Type: "tty", Class: "user", IdleRealtime: 5, IdleMonotonic: 6, Stopping: true}, active: true, path: sessionPath("c1")}
	// fixed gives sv a copy of its fixed part to change.
	fixed := func(sv *sessionView) *sessionFixed {
		f := *sv.rec.sessionFixed
		sv.rec.sessionFixed = &f
		return &f
	}
	cases := []struct {
		prop   string // the emits-change property changed; "" for none
		change func(sv *sessionView)
	}{
		{"", func(sv *sessionView) {}},
		{"", func(sv *sessionView) { fixed(sv).Service = "sshd" }},
		{"TTY", func(sv *sessionView) { fixed(sv).TTY = "pts/2" }},
		{"Display", func(sv *sessionView) { sv.rec.Display = ":0" }},
		{"Type", func(sv *sessionView) { sv.rec.Type = "x11" }},
		{"Class", func(sv *sessionView) { sv.rec.Class = "greeter" }},
		{"Active", func(sv *sessionView) { sv.active = false }},
		{"State", func(sv *sessionView) { sv.rec.Stopping = false }},
		{"IdleHint", func(sv *sessionView) { sv.rec.IdleHint = true }},
		{"IdleSinceHint", func(sv *sessionView) { sv.rec.IdleRealtime = 50 }},
		{"IdleSinceHintMonotonic", func(sv *sessionView) { sv.rec.IdleMonotonic = 60 }},
		{"LockedHint", func(sv *sessionView) { sv.rec.LockedHint = true }},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		cur := base
		tc.change(&cur)
		got, want := sessionChanges(&base, &cur), changedProps(ifc, base.props(), cur.props())
		if !reflect.DeepEqual(got, want) {
			t.Errorf("change of %q: announced %v, want %v", tc.prop, got, want)
		}
		if tc.prop != "" && len(got) != 1 {
			t.Errorf("change of %q: announced %v", tc.prop, got)
		}
		covered[tc.prop] = true
	}
	for _, p := range ifc.Properties {
		if p.Flags == bus.PropEmitChange && !covered[p.Name] {
			t.Errorf("emits-change property %s has no case", p.Name)
		}
	}
}

// TestSnapshotSharesPath: a session published again keeps the object
// path string of its last copy instead of building it anew.
func TestSnapshotSharesPath(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	id := w.mustCreate(CreateRequest{UID: 1000, PID: 700, TTY: "pts/2"}).ID
	before, _ := w.m.view.session(id)
	w.state(func(s *state) { s.sessions[id].LockedHint = true; s.touchSessionOnly(s.sessions[id]) })
	after, _ := w.m.view.session(id)
	if before == after || !after.rec.LockedHint {
		t.Fatal("the session was not published again")
	}
	if unsafe.StringData(string(before.path)) != unsafe.StringData(string(after.path)) {
		t.Error("the new copy built its path again")
	}
}

// TestListsBuiltWhenAsked: each list of a generation is built by the
// first call that answers with it; a ListSessions keeps no
// ListSessionsEx list, and the reverse.
func TestListsBuiltWhenAsked(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	w.mustCreate(CreateRequest{UID: 1000, PID: 500, TTY: "pts/5"})
	for _, ex := range []bool{false, true} {
		w.mustCreate(CreateRequest{UID: 1000, PID: 501 + uint32(len(w.m.view.listSessions())), TTY: "pts/6"}) // a new generation
		w.settle()
		w.m.view.listReply(ex)
		l := w.m.view.sorted()
		if exBuilt, plainBuilt := l.ex != nil, l.entries != nil; exBuilt != ex || plainBuilt == ex {
			t.Errorf("ex %v: Ex list built %v, plain list built %v", ex, exBuilt, plainBuilt)
		}
	}
}
