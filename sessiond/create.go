package sessiond

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

// CreateRequest is CreateSession's arguments, in pam_systemd's order.
type CreateRequest struct {
	UID        uint32
	PID        uint32
	Service    string
	Type       string
	Class      string
	Desktop    string
	Seat       string
	VTNr       uint32
	TTY        string
	Display    string
	Remote     bool
	RemoteUser string
	RemoteHost string
	Properties []struct {
		Name  string
		Value godbus.Variant
	}
}

// CreateReply is CreateSession's reply. FIFO is the write end handed to
// the caller; the bus layer closes it once the reply is sent.
type CreateReply struct {
	ID      string
	Path    godbus.ObjectPath
	Runtime string
	FIFO    *os.File
	// Ready is closed once the user's manager is ready (nil: none is
	// started); CreateSession answers then, as logind does once its
	// user@UID.service job is done.
	Ready    <-chan struct{}
	UID      uint32
	Seat     string
	VTNr     uint32
	Existing bool
}

// Session scope properties pam_systemd may pass; accepted, not enforced
// (the unified hierarchy may have no controllers delegated).
var knownScopeProps = map[string]string{
	"MemoryMax": "t", "TasksMax": "t", "CPUWeight": "t", "IOWeight": "t", "RuntimeMaxUSec": "t",
}

// checkCreateArgs is what CreateSession refuses whatever the state and
// before the seat: the length limits first, then logind's checks in
// logind's order. What it
// lets through can be written to the session file and read back
// unchanged.
func checkCreateArgs(r *CreateRequest) error {
	inval := func(f string, a ...any) error { return bus.Errorf(bus.ErrInvalidArgs, f, a...) }
	for _, a := range []struct{ name, v string }{
		{"service", r.Service}, {"type", r.Type}, {"class", r.Class}, {"desktop", r.Desktop},
		{"seat_id", r.Seat}, {"tty", r.TTY}, {"display", r.Display},
		{"remote_user", r.RemoteUser}, {"remote_host", r.RemoteHost},
	} {
		if err := checkArgLen(a.name, a.v, maxArgLen); err != nil {
			return err
		}
	}
	if r.UID == 0xffffffff {
		return inval("Invalid UID")
	}
	if r.PID == 0 {
		return inval("Invalid leader PID")
	}
	if r.Type != "" && !validTypes[r.Type] {
		return inval("Invalid session type %s", r.Type)
	}
	if r.Class != "" && !validClasses[r.Class] {
		return inval("Invalid session class %s", r.Class)
	}
	if strings.ContainsAny(r.Desktop, " \t\n/") {
		return inval("Invalid desktop string %s", r.Desktop)
	}
	// TTY and display go unescaped into the session file: one line each.
	for _, a := range []struct{ name, v string }{{"TTY", r.TTY}, {"display", r.Display}} {
		if strings.ContainsFunc(a.v, func(c rune) bool { return unicode.IsControl(c) || unicode.IsSpace(c) }) {
			return inval("Invalid %s %q", a.name, a.v)
		}
	}
	return nil
}

// create validates like logind (same order, same errors) and creates the
// session: user and runtime dir, scope with the leader in it, FIFO, files.
func (s *state) create(r *CreateRequest) (*CreateReply, error) {
	if err := checkCreateArgs(r); err != nil {
		return nil, err
	}
	inval := func(f string, a ...any) error { return bus.Errorf(bus.ErrInvalidArgs, f, a...) }
	var st *seat
	if r.Seat != "" {
		st = s.seats[r.Seat]
		if st == nil {
			return nil, bus.Errorf(bus.ErrNoSuchSeat, "No seat '%s' known", r.Seat)
		}
	}
	tty := r.TTY
	if v := sys.VTNumber(tty); v > 0 {
		if st == nil {
			st = s.seats["seat0"]
		} else if st.ID != "seat0" {
			return nil, inval("TTY %s is virtual console but seat %s is not seat0", tty, st.ID)
		}
		if r.VTNr == 0 {
			r.VTNr = v
		} else if r.VTNr != v {
			return nil, inval("Specified TTY and VT number do not match")
		}
	} else if tty == "console" {
		if st == nil {
			st = s.seats["seat0"]
		} else if st.ID != "seat0" {
			return nil, inval("Console TTY specified but seat is not seat0")
		}
		if r.VTNr != 0 {
			return nil, inval("Console TTY specified but VT number is not 0")
		}
	}
	if st != nil {
		if st.HasVTs {
			if r.VTNr < 1 || r.VTNr > 63 {
				return nil, inval("VT number out of range")
			}
		} else if r.VTNr != 0 {
			return nil, inval("Seat has no VTs but VT number not 0")
		}
	}
	// Scope properties are checked where logind checks them, after the
	// seat and VT.
	for _, p := range r.Properties {
		want, ok := knownScopeProps[p.Name]
		if !ok {
			return nil, inval("Unknown session property %s", p.Name)
		}
		if p.Value.Signature().String() != want {
			return nil, inval("Session property %s has type %s, expected %s", p.Name, p.Value.Signature(), want)
		}
	}
	typ := r.Type
	if typ == "" {
		switch {
		case r.Display != "":
			typ = "x11"
		case tty != "":
			typ = "tty"
		default:
			typ = "unspecified"
		}
	}
	class := r.Class
	if class == "" {
		class = "user"
		if typ == "unspecified" {
			class = "background"
		}
	}
	if id, ok := s.cfg.Host.SessionOfPID(int(r.PID)); ok {
		if _, known := s.sessions[id]; known {
			return nil, bus.Errorf(bus.ErrSessionBusy, "Already running in a session or user slice")
		}
	}
	if st != nil && st.HasVTs {
		for _, sid := range st.Sessions {
			if o := s.sessions[sid]; o.VTNr == r.VTNr && !o.Stopping && o.Class != "greeter" {
				return nil, bus.Errorf(bus.ErrSessionBusy, "Already occupied by a session")
			}
		}
	}
	if len(s.sessions) >= s.cfg.SessionsMax {
		return nil, bus.Errorf(bus.ErrLimitsExceeded, "Maximum number of sessions (%d) reached, refusing further sessions.", s.cfg.SessionsMax)
	}

	u, newUser, err := s.getUser(r.UID)
	if err != nil {
		return nil, err
	}
	// Read once: the id and the record both want it.
	audit, _ := s.cfg.Host.AuditSessionID(int(r.PID))
	id, err := s.allocID(audit)
	if err != nil {
		if newUser {
			s.maybeRemoveUser(u)
		}
		return nil, err
	}
	rt, mono := s.now()
	fixed := &sessionFixed{
		ID: id, UID: r.UID, UserName: u.Name, TTY: tty,
		Remote: r.Remote, RemoteHost: r.RemoteHost, RemoteUser: r.RemoteUser,
		Service: r.Service, Desktop: r.Desktop, OriginalType: typ, Audit: audit,
		Leader: r.PID, Realtime: rt, Monotonic: mono,
		FIFO: filepath.Join(s.cfg.sessionsDir(), id+".ref"),
	}
	if err := s.cfg.Host.PlaceInScope(r.UID, id, int(r.PID)); err != nil {
		// Without a cgroup the session still works, but sd_pid_get_session
		// cannot find it: say so.
		s.log().Warn("session scope placement failed", "session", id, "err", err)
	} else {
		fixed.Scope = "session-" + id + ".scope"
	}
	ss := &session{sessionPub: sessionPub{sessionFixed: fixed, VTNr: r.VTNr, Display: r.Display, Type: typ, Class: class}}
	rd, wr, err := sys.CreateFIFO(ss.FIFO)
	if err != nil {
		if ss.Scope != "" {
			s.cfg.Host.RemoveScope(r.UID, id)
		}
		if newUser {
			s.maybeRemoveUser(u)
		}
		return nil, fmt.Errorf("session %s: %w", id, err)
	}
	ss.fifo, ss.FIFOOpen = rd, true
	s.sessions[id] = ss
	u.Sessions = append(u.Sessions, id)
	if st != nil {
		ss.Seat = st.ID
		st.Sessions = append(st.Sessions, id)
		if !st.HasVTs {
			ss.Position = uint32(len(st.Sessions))
			s.setActive(st, id) // seats without VTs activate new sessions
		} else if s.cfg.VTs != nil {
			if n, err := s.cfg.VTs.Active(); err == nil && n == ss.VTNr {
				s.setActive(st, id)
			}
		}
	}
	s.touchSession(ss)
	s.watchSession(ss)
	s.emit(ManagerPath, IfaceManager+".SessionNew", id, sessionPath(id))
	s.log().Info("session created", "session", id, "uid", r.UID, "leader", r.PID, "service", r.Service, "type", typ, "class", class)
	return &CreateReply{
		ID: id, Path: sessionPath(id), Runtime: s.cfg.runtimePath(r.UID), FIFO: wr,
		UID: r.UID, Seat: ss.Seat, VTNr: ss.VTNr, Ready: s.wantManager(u),
	}, nil
}

func (m *Manager) hCreateSession(c *bus.Call) ([]any, error) {
	var r CreateRequest
	if err := c.Store(&r.UID, &r.PID, &r.Service, &r.Type, &r.Class, &r.Desktop, &r.Seat, &r.VTNr,
		&r.TTY, &r.Display, &r.Remote, &r.RemoteUser, &r.RemoteHost, &r.Properties); err != nil {
		return nil, err
	}
	return m.createSession(c, &r)
}

// hCreateSessionWithPIDFD is the variant pam_systemd >= 255 tries first:
// the leader comes as a pidfd (we only need its pid) and there are flags
// (none defined).
func (m *Manager) hCreateSessionWithPIDFD(c *bus.Call) ([]any, error) {
	var r CreateRequest
	var fd godbus.UnixFD
	var flags uint64
	if err := c.Store(&r.UID, &fd, &r.Service, &r.Type, &r.Class, &r.Desktop, &r.Seat, &r.VTNr,
		&r.TTY, &r.Display, &r.Remote, &r.RemoteUser, &r.RemoteHost, &flags, &r.Properties); err != nil {
		return nil, err
	}
	pid, err := sys.PidOfPidfd(int(fd))
	if err != nil {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Invalid leader pidfd: %v", err)
	}
	if flags != 0 {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Flags 0x%x not supported", flags)
	}
	r.PID = pid
	return m.createSession(c, &r)
}

func (m *Manager) createSession(c *bus.Call, rq *CreateRequest) ([]any, error) {
	r := *rq
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if err := rootOnly(&cl, "CreateSession"); err != nil {
		return nil, err
	}
	if r.PID == 0 {
		r.PID = cl.PID
	}
	var rep *CreateReply
	err = m.do(func(s *state) error {
		var err error
		rep, err = s.create(&r)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.AfterReply(func() { _ = rep.FIFO.Close() })
	m.awaitManager(rep.Ready)
	return []any{rep.ID, rep.Path, rep.Runtime, godbus.UnixFD(rep.FIFO.Fd()), rep.UID, rep.Seat, rep.VTNr, rep.Existing}, nil
}
