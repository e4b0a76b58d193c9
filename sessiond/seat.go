package sessiond

import (
	"fmt"
	"path/filepath"
	"strings"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// seat is a seat; seat0 always exists.
type seat struct {
	ID       string
	Sessions []string
	Active   string
	HasVTs   bool
	CanGraph bool
	devs     seatDevs // what udev put on it (udev.go)
}

func seatPath(id string) godbus.ObjectPath {
	return godbus.ObjectPath(seatDir + "/" + bus.EscapeLabel(id))
}

func (c *Config) seatsDir() string { return filepath.Join(c.RunDir, "systemd", "seats") }

func (s *state) saveSeat(st *seat) {
	if !s.seatsOut {
		return
	}
	if err := writeEnvFile(filepath.Join(s.cfg.seatsDir(), st.ID), s.seatRecord(st)); err != nil {
		s.log().Error("save seat", "seat", st.ID, "err", err)
	}
}

// seatRecord is the seat file (decodeSeat reads it back).
func (s *state) seatRecord(st *seat) []kv {
	vals := []kv{
		{"IS_SEAT0", boolStr(st.ID == "seat0")},
		{"CAN_MULTI_SESSION", "1"},
		{"CAN_TTY", boolStr(st.HasVTs)},
		{"CAN_GRAPHICAL", boolStr(st.CanGraph)},
	}
	if a := s.sessions[st.Active]; a != nil {
		vals = append(vals, kv{"ACTIVE", a.ID}, kv{"ACTIVE_UID", utoa(a.UID)})
	}
	if len(st.Sessions) > 0 {
		var uids []string
		for _, id := range st.Sessions {
			uids = append(uids, utoa(s.sessions[id].UID))
		}
		vals = append(vals, kv{"SESSIONS", strings.Join(st.Sessions, " ")}, kv{"UIDS", strings.Join(uids, " ")})
	}
	return vals
}

// decodeSeat reads back a seat file's active session and session list.
func decodeSeat(id string, f map[string]string) *seat {
	st := &seat{ID: id, Active: f["ACTIVE"]}
	if l := f["SESSIONS"]; l != "" {
		st.Sessions = strings.Split(l, " ")
	}
	return st
}

// setActive makes id the seat's foreground session (or none).
func (s *state) setActive(st *seat, id string) {
	if st.Active == id {
		return
	}
	old := s.sessions[st.Active]
	st.Active = id
	s.mutated = true
	s.dirtySeat[st.ID] = true
	if old != nil {
		s.touchSession(old)
		s.pauseDevices(old)
	}
	if nw := s.sessions[id]; nw != nil {
		s.touchSession(nw)
		s.resumeDevices(nw)
	}
}

// vtChanged follows the kernel's foreground VT on seat0.
func (s *state) vtChanged(n uint32) {
	st := s.seats["seat0"]
	if st == nil || !st.HasVTs {
		return
	}
	id := ""
	for _, sid := range st.Sessions {
		if ss := s.sessions[sid]; ss.VTNr == n && !ss.Stopping {
			id = sid
		}
	}
	s.setActive(st, id)
}

func (s *state) activate(ss *session) error {
	if ss.Seat == "" {
		return nil // seatless sessions are always active
	}
	st := s.seats[ss.Seat]
	if st.HasVTs && s.cfg.VTs != nil {
		if err := s.cfg.VTs.Activate(ss.VTNr); err != nil {
			return fmt.Errorf("activate session %s: %w", ss.ID, err)
		}
	}
	s.setActive(st, ss.ID)
	return nil
}

// pickActive chooses the next foreground session on a seat without VTs:
// the newest one still running, other than except.
func (s *state) pickActive(st *seat, except string) string {
	for i := len(st.Sessions) - 1; i >= 0; i-- {
		id := st.Sessions[i]
		if id != except && !s.sessions[id].Stopping {
			return id
		}
	}
	return ""
}

// switchTo activates VT n (seats with VTs) or the session at position n.
func (s *state) switchTo(st *seat, n uint32) error {
	if n == 0 {
		return bus.Errorf(bus.ErrInvalidArgs, "Invalid virtual terminal")
	}
	if st.HasVTs && s.cfg.VTs != nil {
		if n > 63 {
			return bus.Errorf(bus.ErrInvalidArgs, "Invalid virtual terminal %d", n)
		}
		if err := s.cfg.VTs.Activate(n); err != nil {
			return bus.Errorf(bus.ErrFailed, "%v", err)
		}
		s.vtChanged(n)
		return nil
	}
	if int(n) > len(st.Sessions) {
		return bus.Errorf(bus.ErrInvalidArgs, "No session at position %d", n)
	}
	s.setActive(st, st.Sessions[n-1])
	return nil
}

func (m *Manager) withSeatObj(c *bus.Call, f func(s *state, st *seat) error) error {
	id := pathLabel(c)
	var cl *caller
	if isSelfish(id) {
		x, err := m.caller(c)
		if err != nil {
			return err
		}
		cl = &x
	}
	return m.do(func(s *state) error {
		st, err := s.findSeat(id, cl)
		if err != nil {
			return err
		}
		return f(s, st)
	})
}

func (s *state) findSeat(id string, cl *caller) (*seat, error) {
	if isSelfish(id) {
		ss, err := s.findSession(id, cl)
		if err != nil {
			return nil, err
		}
		if ss.Seat == "" {
			return nil, bus.Errorf(bus.ErrNoSuchSeat, "Session '%s' has no seat", ss.ID)
		}
		id = ss.Seat
	}
	if st := s.seats[id]; st != nil {
		return st, nil
	}
	return nil, bus.Errorf(bus.ErrNoSuchSeat, "No seat '%s' known", id)
}

// seatInterface is org.freedesktop.login1.Seat.
func (m *Manager) seatInterface() *bus.Interface {
	return &bus.Interface{
		Name: IfaceSeat,
		Methods: []bus.Method{
			{Name: "Terminate", Handler: m.hSeatTerminate},
			{Name: "ActivateSession", In: []bus.Arg{arg("session_id", "s")}, Handler: m.hSeatActivateSession},
			{Name: "SwitchTo", In: []bus.Arg{arg("vtnr", "u")}, Handler: m.hSwitchTo},
			{Name: "SwitchToNext", Handler: m.hSwitchStep(1)},
			{Name: "SwitchToPrevious", Handler: m.hSwitchStep(-1)},
		},
		Properties: []bus.Property{
			{Name: "Id", Type: "s", Flags: konst}, {Name: "ActiveSession", Type: "(so)", Flags: emits},
			{Name: "CanMultiSession", Type: "b", Flags: hidden},
			{Name: "CanTTY", Type: "b", Flags: konst}, {Name: "CanGraphical", Type: "b", Flags: emits},
			{Name: "Sessions", Type: "a(so)"},
			{Name: "IdleHint", Type: "b", Flags: emits}, {Name: "IdleSinceHint", Type: "t", Flags: emits},
			{Name: "IdleSinceHintMonotonic", Type: "t", Flags: emits},
		},
	}
}

func (s *state) seatProps(st *seat) map[string]godbus.Variant {
	active := idPath{Path: "/"}
	if st.Active != "" {
		active = idPath{st.Active, sessionPath(st.Active)}
	}
	idle, rt, mono := s.idleOf(st.Sessions)
	return map[string]godbus.Variant{
		"Id": v(st.ID), "ActiveSession": v(active), "CanMultiSession": v(true),
		"CanTTY": v(st.HasVTs), "CanGraphical": v(st.CanGraph),
		"Sessions": v(s.sessionList(st.Sessions)),
		"IdleHint": v(idle), "IdleSinceHint": v(rt), "IdleSinceHintMonotonic": v(mono),
	}
}

// seatEntry is one of ListSeats' a(so).
type seatEntry struct {
	ID   string
	Path godbus.ObjectPath
}

func (m *Manager) hGetSeat(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	var cl *caller
	if isSelfish(id) {
		x, err := m.caller(c)
		if err != nil {
			return nil, err
		}
		cl = &x
	}
	var p godbus.ObjectPath
	err := m.do(func(s *state) error {
		st, err := s.findSeat(id, cl)
		if err == nil {
			p = seatPath(st.ID)
		}
		return err
	})
	return []any{p}, err
}

func (m *Manager) hListSeats(c *bus.Call) ([]any, error) {
	var out []seatEntry
	err := m.do(func(s *state) error {
		out = make([]seatEntry, 0, len(s.seats))
		for _, st := range s.seats {
			out = append(out, seatEntry{st.ID, seatPath(st.ID)})
		}
		return nil
	})
	sortBy(out, func(e seatEntry) string { return e.ID })
	return []any{out}, err
}

func (m *Manager) hActivateSessionOnSeat(c *bus.Call) ([]any, error) {
	var id, seatID string
	if err := c.Store(&id, &seatID); err != nil {
		return nil, err
	}
	return nil, m.activateOnSeat(c, id, seatID)
}

func (m *Manager) hSeatActivateSession(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	return nil, m.activateOnSeat(c, id, pathLabel(c))
}

// activateOnSeat is ActivateSessionOnSeat and Seat.ActivateSession: the
// session must be on that seat.
func (m *Manager) activateOnSeat(c *bus.Call, id, seatID string) error {
	return m.withSession(c, id, true, func(s *state, ss *session, cl *caller) error {
		st, err := s.findSeat(seatID, cl)
		if err != nil {
			return err
		}
		if ss.Seat != st.ID {
			return bus.Errorf(bus.ErrSessionNotOnSeat, "Session %s not on seat %s", ss.ID, st.ID)
		}
		if err := ownerOrRoot(cl, ss.UID, "activate session"); err != nil {
			return err
		}
		return s.activate(ss)
	})
}

func (m *Manager) hTerminateSeat(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	return nil, m.do(func(s *state) error {
		st, err := s.findSeat(id, &cl)
		if err != nil {
			return err
		}
		if err := rootOnly(&cl, "terminate seat"); err != nil {
			return err
		}
		s.terminate(st.Sessions)
		return nil
	})
}

func (m *Manager) hSeatTerminate(c *bus.Call) ([]any, error) {
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if err := rootOnly(&cl, "terminate seat"); err != nil {
		return nil, err
	}
	return nil, m.withSeatObj(c, func(s *state, st *seat) error { s.terminate(st.Sessions); return nil })
}

// authorizeChvt: switching a seat's VT takes the screen and keyboard from
// whoever is on it, so like logind it needs org.freedesktop.login1.chvt
// (by default: root, or a user of an active local session).
func (m *Manager) authorizeChvt(c *bus.Call) error {
	cl, err := m.caller(c)
	if err != nil {
		return err
	}
	return m.authorize(c, &cl, actionRule("org.freedesktop.login1.chvt"), false)
}

func (m *Manager) hSwitchTo(c *bus.Call) ([]any, error) {
	var n uint32
	if err := c.Store(&n); err != nil {
		return nil, err
	}
	if err := m.authorizeChvt(c); err != nil {
		return nil, err
	}
	return nil, m.withSeatObj(c, func(s *state, st *seat) error { return s.switchTo(st, n) })
}

func (m *Manager) hSwitchStep(dir int) func(c *bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		if err := m.authorizeChvt(c); err != nil {
			return nil, err
		}
		return nil, m.withSeatObj(c, func(s *state, st *seat) error {
			if st.HasVTs && s.cfg.VTs != nil {
				cur := uint32(1)
				if a := s.sessions[st.Active]; a != nil {
					cur = a.VTNr
				} else if n, err := s.cfg.VTs.Active(); err == nil {
					cur = n
				}
				next := int(cur) + dir
				if next < 1 {
					next = 63
				} else if next > 63 {
					next = 1
				}
				return s.switchTo(st, uint32(next))
			}
			if len(st.Sessions) == 0 {
				return nil
			}
			pos := 0
			for i, id := range st.Sessions {
				if id == st.Active {
					pos = i
				}
			}
			pos = (pos + dir + len(st.Sessions)) % len(st.Sessions)
			return s.switchTo(st, uint32(pos+1))
		})
	}
}

// setCanGraphical is seat0's CanGraphical where udev's database is not
// known: polled, since a DRM driver binding late in boot sends no event
// and display managers wait for CanGraphical (PropertiesChanged and a
// rewritten seat file).
func (s *state) setCanGraphical(v bool) {
	st := s.seats["seat0"]
	if st == nil || st.devs.known || st.CanGraph == v {
		return
	}
	st.CanGraph = v
	s.dirtySeat[st.ID] = true
	s.mutated = true
	s.log().Info("seat0 graphics changed", "can_graphical", v)
}
