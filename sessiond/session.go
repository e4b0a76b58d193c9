package sessiond

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

// Session states (State property and STATE= in the session file):
//
//	online --activate--> active --deactivate--> online
//	  \_____________________\__ release / fifo EOF / terminate --> closing --scope empty--> (removed)
const (
	stateOnline  = "online"
	stateActive  = "active"
	stateClosing = "closing"
)

// session is one login session. Only the loop goroutine touches it.
type session struct {
	// What the read view publishes (a copy of it per change).
	sessionPub

	Controller string // unique bus name of the session controller
	devices    map[devKey]*device
	vt         sys.VTHandle     // its VT while a controller holds it (vt.go)
	restored   *restoredControl // the controller a previous sessiond had (adopt.go)

	fifo      *sys.FIFO
	killTime  stopper // pending SIGKILL after a terminate
	stopWatch func()  // ends the cgroup watch
}

// sessionPub is the part of a session its properties and the list calls
// show: the view's copy of a session is this and what its seat decides,
// 128 bytes a session instead of a copy of the whole record (240).
type sessionPub struct {
	// The part fixed when the session is made (or read back at start):
	// never written once the session is published, so every view of it
	// shares the one copy instead of copying some 250 bytes per change.
	*sessionFixed
	Seat     string // "" when seatless
	VTNr     uint32
	Position uint32
	Display  string // SetDisplay may change it
	Type     string
	Class    string

	IdleRealtime  uint64
	IdleMonotonic uint64
	// The flags share one word (after the two counters, not between
	// them: 104 bytes, and the view's copy with its two words 128).
	IdleHint   bool
	LockedHint bool
	Stopping   bool // released, terminated or its FIFO closed
	FIFOOpen   bool // some writer still holds the FIFO (as far as we know)
}

// sessionFixed is what a session's record never changes after its
// creation.
type sessionFixed struct {
	ID           string
	UserName     string
	TTY          string
	RemoteHost   string
	RemoteUser   string
	Service      string
	Desktop      string
	OriginalType string
	// The small fields share two words: 200 bytes took the allocator's
	// 208-byte class, 192 its own (16 bytes less a session).
	UID       uint32
	Leader    uint32
	Audit     uint32
	Remote    bool
	Realtime  uint64 // µs since the epoch
	Monotonic uint64 // µs of CLOCK_MONOTONIC
	FIFO      string // path of the reference FIFO
	Scope     string // session-<id>.scope, "" when placement failed
}

func sessionPath(id string) godbus.ObjectPath {
	return godbus.ObjectPath(sessionDir + "/" + bus.EscapeLabel(id))
}

var validTypes = map[string]bool{"unspecified": true, "tty": true, "x11": true, "wayland": true, "mir": true, "web": true}

var validClasses = map[string]bool{"user": true, "greeter": true, "lock-screen": true, "background": true}

func isGraphical(t string) bool { return t == "x11" || t == "wayland" || t == "mir" }

// Paths of the state directories.
func (c *Config) sessionsDir() string { return filepath.Join(c.RunDir, "systemd", "sessions") }

// touchSessionOnly marks a change that only ss's own properties and file
// show (its locked hint): its user, seat and the Manager are not rebuilt.
func (s *state) touchSessionOnly(ss *session) { s.dirtySess[ss.ID] = true }

// touchSession marks a change of ss that its user, seat and the Manager
// may show too (state, idle hint, activity).
func (s *state) touchSession(ss *session) {
	s.mutated = true
	s.dirtySess[ss.ID] = true
	s.dirtyUser[ss.UID] = true
	if ss.Seat != "" {
		s.dirtySeat[ss.Seat] = true
	}
}

func (s *state) sessionActive(ss *session) bool {
	if ss.Seat == "" {
		return true
	}
	st := s.seats[ss.Seat]
	return st != nil && st.Active == ss.ID
}

func (s *state) sessionState(ss *session) string { return stateOf(ss.Stopping, s.sessionActive(ss)) }

// stateOf is the State of a session stopping or not, active or not.
func stateOf(stopping, active bool) string {
	switch {
	case stopping:
		return stateClosing
	case active:
		return stateActive
	}
	return stateOnline
}

func (s *state) saveSession(ss *session) {
	if err := writeEnvFile(filepath.Join(s.cfg.sessionsDir(), ss.ID), s.sessionRecord(ss)); err != nil {
		s.log().Error("save session", "session", ss.ID, "err", err)
	}
}

// sessionRecord is the session file: what sd-login reads, then what a
// restarted sessiond needs (decodeSession reads it back).
func (s *state) sessionRecord(ss *session) []kv {
	vals := []kv{
		{"UID", utoa(ss.UID)},
		{"USER", cescape(ss.UserName)}, // from NSS: any bytes
		{"ACTIVE", boolStr(s.sessionActive(ss))},
		{"IS_DISPLAY", boolStr(s.users[ss.UID] != nil && s.users[ss.UID].Display == ss.ID)},
		{"STATE", s.sessionState(ss)},
		{"REMOTE", boolStr(ss.Remote)},
		{"TYPE", ss.Type},
		{"ORIGINAL_TYPE", ss.OriginalType},
		{"CLASS", ss.Class},
	}
	if ss.Scope != "" {
		vals = append(vals, kv{"SCOPE", ss.Scope})
	}
	vals = append(vals, kv{"FIFO", ss.FIFO})
	if ss.Seat != "" {
		vals = append(vals, kv{"SEAT", ss.Seat})
	}
	if ss.TTY != "" {
		vals = append(vals, kv{"TTY", ss.TTY}, kv{"TTY_VALIDITY", "from-pam"})
	}
	if ss.Display != "" {
		vals = append(vals, kv{"DISPLAY", ss.Display})
	}
	if ss.RemoteHost != "" {
		vals = append(vals, kv{"REMOTE_HOST", cescape(ss.RemoteHost)})
	}
	if ss.RemoteUser != "" {
		vals = append(vals, kv{"REMOTE_USER", cescape(ss.RemoteUser)})
	}
	if ss.Service != "" {
		vals = append(vals, kv{"SERVICE", cescape(ss.Service)})
	}
	if ss.Desktop != "" {
		vals = append(vals, kv{"DESKTOP", cescape(ss.Desktop)})
	}
	if st := s.seats[ss.Seat]; st != nil && st.HasVTs {
		vals = append(vals, kv{"VTNR", utoa(ss.VTNr)})
	} else if ss.Seat != "" {
		vals = append(vals, kv{"POSITION", utoa(ss.Position)})
	}
	vals = append(vals, kv{"LEADER", utoa(ss.Leader)})
	if ss.Audit != 0 {
		vals = append(vals, kv{"AUDIT", utoa(ss.Audit)})
	}
	vals = append(vals,
		kv{"REALTIME", strconv.FormatUint(ss.Realtime, 10)},
		kv{"MONOTONIC", strconv.FormatUint(ss.Monotonic, 10)},
	)
	// sessiond's own restart state; sd-login ignores unknown keys.
	vals = append(vals,
		kv{"IDLE_HINT", boolStr(ss.IdleHint)},
		kv{"IDLE_REALTIME", strconv.FormatUint(ss.IdleRealtime, 10)},
		kv{"IDLE_MONOTONIC", strconv.FormatUint(ss.IdleMonotonic, 10)},
		kv{"LOCKED_HINT", boolStr(ss.LockedHint)},
		kv{"STOPPING", boolStr(ss.Stopping)},
		kv{"RAW_VTNR", utoa(ss.VTNr)},
	)
	return append(vals, controlRecord(ss)...)
}

// decodeSession reads back what sessionRecord wrote.
func decodeSession(id string, f map[string]string) *session {
	origType := f["ORIGINAL_TYPE"]
	if origType == "" {
		origType = f["TYPE"]
	}
	ss := &session{sessionPub: sessionPub{
		sessionFixed: &sessionFixed{
			ID: id, UID: parseU32(f["UID"]), UserName: cunescape(f["USER"]),
			TTY: f["TTY"], Remote: f["REMOTE"] == "1",
			RemoteHost: cunescape(f["REMOTE_HOST"]), RemoteUser: cunescape(f["REMOTE_USER"]),
			Service: cunescape(f["SERVICE"]), Desktop: cunescape(f["DESKTOP"]), OriginalType: origType,
			Leader: parseU32(f["LEADER"]), Audit: parseU32(f["AUDIT"]),
			Realtime: parseU64(f["REALTIME"]), Monotonic: parseU64(f["MONOTONIC"]),
			FIFO: f["FIFO"], Scope: f["SCOPE"],
		},
		Seat: f["SEAT"], VTNr: parseU32(f["RAW_VTNR"]), Position: parseU32(f["POSITION"]),
		Display: f["DISPLAY"], Type: f["TYPE"], Class: f["CLASS"],
		IdleHint: f["IDLE_HINT"] == "1", IdleRealtime: parseU64(f["IDLE_REALTIME"]),
		IdleMonotonic: parseU64(f["IDLE_MONOTONIC"]), LockedHint: f["LOCKED_HINT"] == "1",
		Stopping: f["STOPPING"] == "1" || f["STATE"] == stateClosing,
	}}
	if ss.VTNr == 0 {
		ss.VTNr = parseU32(f["VTNR"])
	}
	ss.restored = decodeControl(f)
	return ss
}

// stopSession marks a session closing; with kill, its processes get
// SIGTERM now and SIGKILL after StopTimeout.
func (s *state) stopSession(ss *session, kill bool) {
	if !ss.Stopping {
		ss.Stopping = true
		// Logged out: what is left of it keeps no device access.
		s.releaseControl(ss)
		s.touchSession(ss)
		if st := s.seats[ss.Seat]; st != nil && st.Active == ss.ID && !st.HasVTs {
			s.setActive(st, s.pickActive(st, ss.ID))
		}
	}
	if kill && ss.Scope == "" {
		// No cgroup to kill: the leader is all we know of.
		_ = s.cfg.Host.Kill(int(ss.Leader), syscall.SIGTERM)
	}
	if kill && ss.Scope != "" {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGCONT} {
			if err := s.cfg.Host.KillScope(ss.UID, ss.ID, sig); err != nil {
				s.log().Warn("signal session", "session", ss.ID, "err", err)
				break
			}
		}
		if ss.killTime == nil {
			ptr := ss
			ss.killTime = s.cfg.Clock.AfterFunc(s.cfg.StopTimeout, func() {
				s.m.post(func(s *state) {
					if s.sessions[ptr.ID] == ptr {
						_ = s.cfg.Host.KillScope(ptr.UID, ptr.ID, syscall.SIGKILL)
					}
				})
			})
		}
	}
	s.checkGone(ss)
}

// idleOf is the IdleHint of a seat's or user's sessions: idle when all
// are, since the latest of them went idle.
func (s *state) idleOf(ids []string) (idle bool, rt, mono uint64) {
	for _, id := range ids {
		ss := s.sessions[id]
		if !ss.IdleHint {
			return false, 0, 0
		}
		rt, mono = max(rt, ss.IdleRealtime), max(mono, ss.IdleMonotonic)
	}
	return true, rt, mono
}

// terminate stops the sessions ids (TerminateUser, TerminateSeat) and
// kills what is left of them; ids is copied, as stopping edits the lists.
func (s *state) terminate(ids []string) {
	for _, id := range slices.Clone(ids) {
		if ss := s.sessions[id]; ss != nil {
			s.stopSession(ss, true)
		}
	}
}

// checkGone removes a stopping session whose scope is empty.
func (s *state) checkGone(ss *session) {
	if s.sessions[ss.ID] != ss || !ss.Stopping {
		return
	}
	if ss.Scope != "" && s.cfg.Host.ScopePopulated(ss.UID, ss.ID) {
		return
	}
	if ss.FIFOOpen && ss.Scope == "" {
		return // without a cgroup only the FIFO tells us it ended
	}
	s.finalize(ss)
}

func (s *state) finalize(ss *session) {
	if ss.killTime != nil {
		ss.killTime.Stop()
	}
	s.releaseControl(ss)
	// What is left of it on the machine goes after the replies: its id
	// is not free again while its file is there (sessionIDFree), so
	// nothing in this batch can reuse these names.
	fifo, stopWatch, uid, id, scope := ss.fifo, ss.stopWatch, ss.UID, ss.ID, ss.Scope != ""
	path := ss.FIFO
	s.later(func() {
		fifo.Close()
		if stopWatch != nil {
			stopWatch()
		}
		_ = os.Remove(path)
		_ = os.Remove(filepath.Join(s.cfg.sessionsDir(), id))
		if scope {
			s.cfg.Host.RemoveScope(uid, id)
		}
	})
	delete(s.sessions, ss.ID)
	s.dirtySess[ss.ID] = true // the flush drops it from the view
	s.mutated = true
	if st := s.seats[ss.Seat]; st != nil {
		st.Sessions = remove(st.Sessions, ss.ID)
		if st.Active == ss.ID {
			st.Active = ""
			if !st.HasVTs {
				st.Active = s.pickActive(st, "")
				if nw := s.sessions[st.Active]; nw != nil {
					s.touchSession(nw)
				}
			}
		}
		s.dirtySeat[st.ID] = true
	}
	s.emit(ManagerPath, IfaceManager+".SessionRemoved", ss.ID, sessionPath(ss.ID))
	if u := s.users[ss.UID]; u != nil {
		u.Sessions = remove(u.Sessions, ss.ID)
		s.dirtyUser[u.UID] = true
		s.maybeRemoveUser(u)
	}
	s.log().Info("session removed", "session", ss.ID, "uid", ss.UID)
}

// watchFIFO calls eof once every writer of h is gone: on the Manager's
// one FIFO poller (made at the first FIFO), or, where it cannot be made,
// on a goroutine of h's own.
func (s *state) watchFIFO(h *sys.FIFO, eof func()) {
	m := s.m
	if m.fifos == nil && !m.noPoller {
		p, err := sys.NewFIFOPoller()
		if err != nil {
			s.log().Warn("FIFO poller unavailable: one goroutine per FIFO", "err", err)
			m.noPoller = true
		}
		m.fifos = p
	}
	if m.fifos != nil && m.fifos.Watch(h, eof) == nil {
		return
	}
	go h.Watch(eof)
}

// stopFIFOs ends the poller (the loop has stopped: nothing is watched
// any more).
func (m *Manager) stopFIFOs() {
	if m.fifos != nil {
		m.fifos.Close()
		m.fifos = nil
	}
	m.noPoller = true
}

// watchSession starts the FIFO and cgroup watchers of ss.
func (s *state) watchSession(ss *session) {
	ptr := ss
	if ss.fifo != nil {
		s.watchFIFO(ss.fifo, func() {
			s.m.post(func(s *state) {
				if s.sessions[ptr.ID] != ptr {
					return
				}
				ptr.FIFOOpen = false
				s.log().Info("session fifo closed", "session", ptr.ID)
				s.stopSession(ptr, false)
			})
		})
	}
	if ss.Scope != "" {
		stop, err := s.cfg.Host.WatchScope(ss.UID, ss.ID, func() {
			s.m.post(func(s *state) { s.checkGone(ptr) })
		})
		if err != nil {
			s.log().Warn("watch session scope", "session", ss.ID, "err", err)
		}
		ss.stopWatch = stop
	}
}

// allocID picks the new session's id: its audit session id if it has
// one (audit, 0: none), else the next cN. An id is free only if no session has it and no
// state file or FIFO of that name is left (one sessiond could not read,
// or a crash between writing the two): reusing it would hand the new
// login another session's FIFO.
func (s *state) allocID(audit uint32) (string, error) {
	if audit != 0 {
		if id := utoa(audit); s.sessionIDFree(id) {
			return id, nil
		}
	}
	for range maxIDTries {
		s.counter++
		if id := "c" + strconv.FormatUint(s.counter, 10); s.sessionIDFree(id) {
			return id, nil
		}
	}
	return "", fmt.Errorf("no free session id after c%d in %s", s.counter, s.cfg.sessionsDir())
}

// maxIDTries bounds the search for a free id, so a directory that cannot
// be examined fails the call instead of spinning the owner loop.
const maxIDTries = 1 << 16

func (s *state) sessionIDFree(id string) bool {
	if _, used := s.sessions[id]; used {
		return false
	}
	return !pathTaken(filepath.Join(s.cfg.sessionsDir(), id)) && !pathTaken(filepath.Join(s.cfg.sessionsDir(), id+".ref"))
}

// findSession resolves a session id argument ("", "self", "auto" mean
// the caller's session; "auto" falls back to the user's display session).
func (s *state) findSession(id string, cl *caller) (*session, error) {
	switch id {
	case "", "self", "auto":
		if cl == nil {
			return nil, bus.Errorf(bus.ErrNoSuchSession, "Caller does not belong to any known session")
		}
		if ss := s.sessions[cl.sessionID()]; ss != nil {
			return ss, nil
		}
		if id == "auto" {
			if u := s.users[cl.UID]; u != nil && s.sessions[u.Display] != nil {
				return s.sessions[u.Display], nil
			}
		}
		return nil, bus.Errorf(bus.ErrNoSuchSession, "Caller does not belong to any known session")
	}
	if ss := s.sessions[id]; ss != nil {
		return ss, nil
	}
	return nil, bus.Errorf(bus.ErrNoSuchSession, "No session '%s' known", id)
}

func isSelfish(id string) bool { return id == "" || isSelfLabel(id) }

// withSession runs f on the session named by id (an argument).
func (m *Manager) withSession(c *bus.Call, id string, needCaller bool, f func(s *state, ss *session, cl *caller) error) error {
	var cl *caller
	if needCaller || isSelfish(id) {
		x, err := m.caller(c)
		if err != nil {
			return err
		}
		cl = &x
	}
	return m.do(func(s *state) error {
		ss, err := s.findSession(id, cl)
		if err != nil {
			return err
		}
		return f(s, ss, cl)
	})
}

// withSessionThen is withSession for an Async method: then gets the
// error on the owner goroutine once the change is published (before its
// files and signals, see apply). The caller's
// credentials come from the cache (a round trip on the client
// connection the first time a peer calls).
func (m *Manager) withSessionThen(c *bus.Call, id string, needCaller bool, f func(s *state, ss *session, cl *caller) error, then func(error)) {
	var cl *caller
	if needCaller || isSelfish(id) {
		x, err := m.caller(c)
		if err != nil {
			then(err)
			return
		}
		cl = &x
	}
	m.doThen(func(s *state) error {
		ss, err := s.findSession(id, cl)
		if err != nil {
			return err
		}
		return f(s, ss, cl)
	}, then)
}

// lastElem is the last element of the call's object path, as sent.
func lastElem(c *bus.Call) string {
	p := string(c.Path)
	return p[strings.LastIndexByte(p, '/')+1:]
}

// isSelfLabel: the path names the caller's own session, seat or user.
func isSelfLabel(l string) bool { return l == "self" || l == "auto" }

// pathLabel returns the last element of the call's path, unescaped
// unless it is "self"/"auto".
func pathLabel(c *bus.Call) string {
	l := lastElem(c)
	if isSelfLabel(l) {
		return l
	}
	if id, ok := bus.UnescapeLabel(l); ok {
		return id
	}
	return "\x00invalid"
}

func (m *Manager) withSessionObj(c *bus.Call, f func(s *state, ss *session) error) error {
	return m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error { return f(s, ss) })
}

// sessionInterface is org.freedesktop.login1.Session.
// logged wraps a device-handover method so that sessiond's log shows which
// peer took control of which session and which devices (major, minor), or
// why it was refused: what one reads when a compositor cannot open its GPU.
func (m *Manager) logged(h func(*bus.Call) ([]any, error)) func(*bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		out, err := h(c)
		attrs := []any{"session", pathLabel(c), "sender", c.Sender}
		if len(c.Body) > 0 {
			attrs = append(attrs, "args", fmt.Sprint(c.Body))
		}
		if err != nil {
			m.cfg.Log.Info(c.Member+" refused", append(attrs, "err", err)...)
		} else {
			m.cfg.Log.Info(c.Member, attrs...)
		}
		return out, err
	}
}

func (m *Manager) sessionInterface() *bus.Interface {
	return &bus.Interface{
		Name: IfaceSession,
		Methods: []bus.Method{
			{Name: "Terminate", Handler: m.sessionObjOp(opTerminate)},
			{Name: "Activate", Handler: m.sessionObjOp(opActivate)},
			{Name: "Lock", Handler: m.sessionObjOp(opLock)},
			{Name: "Unlock", Handler: m.sessionObjOp(opUnlock)},
			{Name: "SetIdleHint", In: []bus.Arg{arg("idle", "b")}, Handler: m.hSetIdleHint},
			{Name: "SetLockedHint", In: []bus.Arg{arg("locked", "b")}, Async: m.aSetLockedHint},
			{Name: "Kill", In: []bus.Arg{arg("who", "s"), arg("signal_number", "i")}, Handler: m.hSessionKill},
			{Name: "TakeControl", In: []bus.Arg{arg("force", "b")}, Handler: m.logged(m.hTakeControl)},
			{Name: "ReleaseControl", Handler: m.logged(m.hReleaseControl)},
			{Name: "SetType", In: []bus.Arg{arg("type", "s")}, Handler: m.hSetType},
			{Name: "SetDisplay", In: []bus.Arg{arg("display", "s")}, Handler: m.hSetDisplay},
			{Name: "SetBrightness", In: []bus.Arg{arg("subsystem", "s"), arg("name", "s"), arg("brightness", "u")}, Handler: m.hSetBrightness},
			{Name: "TakeDevice", In: []bus.Arg{arg("major", "u"), arg("minor", "u")}, Out: []bus.Arg{arg("fd", "h"), arg("inactive", "b")}, Handler: m.logged(m.hTakeDevice)},
			{Name: "ReleaseDevice", In: []bus.Arg{arg("major", "u"), arg("minor", "u")}, Handler: m.logged(m.hReleaseDevice)},
			{Name: "PauseDeviceComplete", In: []bus.Arg{arg("major", "u"), arg("minor", "u")}, Handler: m.hPauseDeviceComplete},
		},
		Properties: []bus.Property{
			{Name: "Id", Type: "s", Flags: konst}, {Name: "User", Type: "(uo)", Flags: konst},
			{Name: "Name", Type: "s", Flags: konst},
			{Name: "Timestamp", Type: "t"}, {Name: "TimestampMonotonic", Type: "t"},
			{Name: "VTNr", Type: "u", Flags: konst}, {Name: "Seat", Type: "(so)", Flags: konst},
			{Name: "TTY", Type: "s", Flags: emits}, {Name: "Display", Type: "s", Flags: emits},
			{Name: "Remote", Type: "b", Flags: konst}, {Name: "RemoteHost", Type: "s", Flags: konst},
			{Name: "RemoteUser", Type: "s", Flags: konst}, {Name: "Service", Type: "s", Flags: konst},
			{Name: "Desktop", Type: "s", Flags: konst}, {Name: "Scope", Type: "s", Flags: konst},
			{Name: "Leader", Type: "u", Flags: konst}, {Name: "Audit", Type: "u", Flags: konst},
			{Name: "Type", Type: "s", Flags: emits}, {Name: "Class", Type: "s", Flags: emits},
			{Name: "Active", Type: "b", Flags: emits}, {Name: "State", Type: "s", Flags: emits},
			{Name: "IdleHint", Type: "b", Flags: emits}, {Name: "IdleSinceHint", Type: "t", Flags: emits},
			{Name: "IdleSinceHintMonotonic", Type: "t", Flags: emits},
			{Name: "LockedHint", Type: "b", Flags: emits},
		},
		Signals: []bus.Signal{
			{Name: "PauseDevice", Args: []bus.Arg{arg("major", "u"), arg("minor", "u"), arg("type", "s")}},
			{Name: "ResumeDevice", Args: []bus.Arg{arg("major", "u"), arg("minor", "u"), arg("fd", "h")}},
			{Name: "Lock"}, {Name: "Unlock"},
		},
	}
}

func (s *state) sessionProps(ss *session) map[string]godbus.Variant {
	return sessionPropsOf(&ss.sessionPub, s.sessionActive(ss))
}

// sessionPropsOf is sessionProps from ss's published part and what the
// seat decides (active): the view answers from a copy of it.
func sessionPropsOf(ss *sessionPub, active bool) map[string]godbus.Variant {
	seatRef := idPath{Path: "/"}
	if ss.Seat != "" {
		seatRef = idPath{ID: ss.Seat, Path: seatPath(ss.Seat)}
	}
	return map[string]godbus.Variant{
		"Id": v(ss.ID), "User": v(uidPath{ss.UID, userPath(ss.UID)}), "Name": v(ss.UserName),
		"Timestamp": v(ss.Realtime), "TimestampMonotonic": v(ss.Monotonic),
		"VTNr": v(ss.VTNr), "Seat": v(seatRef), "TTY": v(ss.TTY), "Display": v(ss.Display),
		"Remote": v(ss.Remote), "RemoteHost": v(ss.RemoteHost), "RemoteUser": v(ss.RemoteUser),
		"Service": v(ss.Service), "Desktop": v(ss.Desktop),
		// No unit: a Scope makes loginctl ask org.freedesktop.systemd1
		// about it (elogind leaves it empty too); sd-login finds the
		// session from the cgroup path, which stays.
		"Scope":  v(""),
		"Leader": v(ss.Leader), "Audit": v(ss.Audit), "Type": v(ss.Type), "Class": v(ss.Class),
		"Active": v(active), "State": v(stateOf(ss.Stopping, active)),
		"IdleHint": v(ss.IdleHint), "IdleSinceHint": v(ss.IdleRealtime),
		"IdleSinceHintMonotonic": v(ss.IdleMonotonic), "LockedHint": v(ss.LockedHint),
	}
}

func (s *state) sessionList(ids []string) []idPath {
	out := make([]idPath, 0, len(ids))
	for _, id := range ids {
		out = append(out, idPath{id, sessionPath(id)})
	}
	return out
}

// sessionEntry is one of ListSessions' a(susso).
type sessionEntry struct {
	ID   string
	UID  uint32
	User string
	Seat string
	Path godbus.ObjectPath
}

// sessionExEntry is ListSessionsEx's (sussussbto): id, uid, user, seat,
// leader, class, tty, idle, idle since (monotonic µs), path.
type sessionExEntry struct {
	ID         string
	UID        uint32
	User, Seat string
	Leader     uint32
	Class, TTY string
	Idle       bool
	IdleSince  uint64
	Path       godbus.ObjectPath
}

func (m *Manager) hGetSession(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	if !isSelfish(id) {
		if _, ok := m.view.session(id); !ok {
			return nil, bus.Errorf(bus.ErrNoSuchSession, "No session '%s' known", id)
		}
		return []any{sessionPath(id)}, nil
	}
	var p godbus.ObjectPath
	err := m.withSession(c, id, false, func(s *state, ss *session, _ *caller) error { p = sessionPath(ss.ID); return nil })
	return []any{p}, err
}

func (m *Manager) hGetSessionByPID(c *bus.Call) ([]any, error) {
	var p godbus.ObjectPath
	err := m.withPIDSession(c, func(pid uint32) error {
		return bus.Errorf(bus.ErrNoSessionForPID, "PID %d does not belong to any known session", pid)
	}, func(sv *sessionView) { p = sv.path })
	return []any{p}, err
}

// The read-only calls answer from the published view (see view).
func (m *Manager) hListSessions(c *bus.Call) ([]any, error) {
	return m.view.listReply(false), nil
}

func (m *Manager) hListSessionsEx(c *bus.Call) ([]any, error) {
	return m.view.listReply(true), nil
}

func (m *Manager) hReleaseSession(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, id, true, func(s *state, ss *session, cl *caller) error {
		if err := rootOnly(cl, "ReleaseSession"); err != nil {
			return err
		}
		s.stopSession(ss, false)
		return nil
	})
}

type sessionOp int

const (
	opActivate sessionOp = iota
	opLock
	opUnlock
	opTerminate
)

func (s *state) applyOp(op sessionOp, ss *session) error {
	switch op {
	case opActivate:
		if ss.Seat == "" {
			return bus.Errorf(bus.ErrNotSupported, "Session has no seat")
		}
		return s.activate(ss)
	case opLock:
		s.emit(sessionPath(ss.ID), IfaceSession+".Lock")
	case opUnlock:
		s.emit(sessionPath(ss.ID), IfaceSession+".Unlock")
	case opTerminate:
		s.stopSession(ss, true)
	}
	return nil
}

var opNames = map[sessionOp]string{opActivate: "activate session", opLock: "lock session", opUnlock: "unlock session", opTerminate: "terminate session"}

// sessionArgOp serves the Manager methods taking a session id.
func (m *Manager) sessionArgOp(op sessionOp) func(c *bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		var id string
		if err := c.Store(&id); err != nil {
			return nil, err
		}
		return nil, m.withSession(c, id, true, func(s *state, ss *session, cl *caller) error {
			if err := ownerOrRoot(cl, ss.UID, opNames[op]); err != nil {
				return err
			}
			return s.applyOp(op, ss)
		})
	}
}

// sessionObjOp serves the same operations on the Session object.
func (m *Manager) sessionObjOp(op sessionOp) func(c *bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		return nil, m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
			if err := ownerOrRoot(cl, ss.UID, opNames[op]); err != nil {
				return err
			}
			return s.applyOp(op, ss)
		})
	}
}

func (m *Manager) lockAll(sig string) func(c *bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		cl, err := m.caller(c)
		if err != nil {
			return nil, err
		}
		if err := rootOnly(&cl, "lock sessions"); err != nil {
			return nil, err
		}
		return nil, m.do(func(s *state) error {
			for _, ss := range s.sessions {
				s.emit(sessionPath(ss.ID), IfaceSession+"."+sig)
			}
			return nil
		})
	}
}

func checkSignal(sig int32) error {
	if sig <= 0 || sig >= 65 {
		return bus.Errorf(bus.ErrInvalidArgs, "Invalid signal %d", sig)
	}
	return nil
}

func (s *state) killSession(ss *session, who string, sig int32) error {
	switch who {
	case "", "all":
		if ss.Scope != "" {
			if err := s.cfg.Host.KillScope(ss.UID, ss.ID, syscall.Signal(sig)); err != nil {
				return bus.Errorf(bus.ErrFailed, "kill session %s: %v", ss.ID, err)
			}
			break
		}
		// No cgroup: the leader is all of the session we know.
		fallthrough
	case "leader":
		if err := s.cfg.Host.Kill(int(ss.Leader), syscall.Signal(sig)); err != nil && !errors.Is(err, syscall.ESRCH) {
			return bus.Errorf(bus.ErrFailed, "kill leader of %s: %v", ss.ID, err)
		}
	default:
		return bus.Errorf(bus.ErrInvalidArgs, "Invalid kill parameter '%s'", who)
	}
	return nil
}

func (m *Manager) hKillSession(c *bus.Call) ([]any, error) {
	var id, who string
	var sig int32
	if err := c.Store(&id, &who, &sig); err != nil {
		return nil, err
	}
	return nil, m.killSessionCall(c, id, who, sig)
}

func (m *Manager) hSessionKill(c *bus.Call) ([]any, error) {
	var who string
	var sig int32
	if err := c.Store(&who, &sig); err != nil {
		return nil, err
	}
	return nil, m.killSessionCall(c, pathLabel(c), who, sig)
}

// killSessionCall is KillSession and Session.Kill once their arguments
// are read.
func (m *Manager) killSessionCall(c *bus.Call, id, who string, sig int32) error {
	if err := checkSignal(sig); err != nil {
		return err
	}
	return m.withSession(c, id, true, func(s *state, ss *session, cl *caller) error {
		if err := ownerOrRoot(cl, ss.UID, "kill session"); err != nil {
			return err
		}
		return s.killSession(ss, who, sig)
	})
}

func (m *Manager) hSetIdleHint(c *bus.Call) ([]any, error) {
	var b bool
	if err := c.Store(&b); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
		if err := ownerOrRoot(cl, ss.UID, "set idle hint"); err != nil {
			return err
		}
		if !isGraphical(ss.Type) {
			return bus.Errorf(bus.ErrNotSupported, "Idle hint control is not supported on non-graphical sessions.")
		}
		if ss.IdleHint != b {
			ss.IdleHint = b
			ss.IdleRealtime, ss.IdleMonotonic = s.now()
			s.touchSession(ss)
		}
		return nil
	})
}

func (m *Manager) aSetLockedHint(c *bus.Call, reply func([]any, error)) {
	var b bool
	if err := c.Store(&b); err != nil {
		reply(nil, err)
		return
	}
	m.withSessionThen(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
		if err := ownerOrRoot(cl, ss.UID, "set locked hint"); err != nil {
			return err
		}
		if ss.LockedHint != b {
			ss.LockedHint = b
			s.touchSessionOnly(ss)
		}
		return nil
	}, func(err error) { reply(nil, err) })
}

func (m *Manager) hTakeControl(c *bus.Call) ([]any, error) {
	var force bool
	if err := c.Store(&force); err != nil {
		return nil, err
	}
	err := m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
		// The owner may take control; taking it from a controller is root's.
		owner := ss.UID
		if force {
			owner = noOwner
		}
		if err := (rule{what: "take control of session " + ss.ID, owner: owner}).permit(cl); err != nil {
			return err
		}
		return s.takeControl(ss, c.Sender, force)
	})
	if err != nil {
		return nil, err
	}
	// The controller may have left the bus before its NameOwnerChanged
	// could find it in control (the signal and this call race to the
	// loop): ask the bus, so no session keeps a dead controller.
	if conn, err := c.Conn(); err == nil {
		var has bool
		if e := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, c.Sender).Store(&has); e == nil && !has {
			sender := c.Sender
			m.post(func(s *state) { s.nameGone(sender) })
		}
	}
	return nil, nil
}

func (m *Manager) hReleaseControl(c *bus.Call) ([]any, error) {
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		if ss.Controller != c.Sender {
			return bus.Errorf(bus.ErrNotInControl, "You are not in control of this session")
		}
		s.releaseControl(ss)
		return nil
	})
}

func (m *Manager) hSetType(c *bus.Call) ([]any, error) {
	var t string
	if err := c.Store(&t); err != nil {
		return nil, err
	}
	if !validTypes[t] {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Invalid session type '%s'", t)
	}
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		if ss.Controller != c.Sender {
			return bus.Errorf(bus.ErrNotInControl, "You must be in control of this session to set type")
		}
		if ss.Type != t {
			ss.Type = t
			s.touchSession(ss)
		}
		return nil
	})
}

func (m *Manager) hSetDisplay(c *bus.Call) ([]any, error) {
	var display string
	if err := c.Store(&display); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		if ss.Controller != c.Sender {
			return bus.Errorf(bus.ErrNotInControl, "You must be in control of this session to set display")
		}
		if !isGraphical(ss.Type) {
			return bus.Errorf(bus.ErrNotSupported, "Setting display is only supported for graphical sessions")
		}
		if strings.ContainsFunc(display, func(r rune) bool { return r <= ' ' }) {
			return bus.Errorf(bus.ErrInvalidArgs, "Invalid display %q", display)
		}
		if ss.Display != display {
			ss.Display = display
			s.touchSession(ss)
		}
		return nil
	})
}

// setBrightness writes a backlight or LED brightness for the session's
// owner (gnome-settings-daemon and mutter do this instead of needing
// root). It touches no state, so it runs off the owner loop: a slow
// sysfs write must not stall every other bus call.
func (c *Config) setBrightness(subsystem, name string, value uint32) error {
	if subsystem != "backlight" && subsystem != "leds" {
		return bus.Errorf(bus.ErrInvalidArgs, "Subsystem type %s not supported, must be one of 'backlight' or 'leds'.", subsystem)
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return bus.Errorf(bus.ErrInvalidArgs, "Invalid device name %q", name)
	}
	err := sys.SetBrightness(filepath.Join(c.sysClass(), subsystem, name), value)
	switch {
	case errors.Is(err, sys.ErrNoBacklight):
		return bus.Errorf(bus.ErrInvalidArgs, "Device %s:%s not found", subsystem, name)
	case err != nil:
		return bus.Errorf(bus.ErrFailed, "Failed to write brightness of %s:%s: %v", subsystem, name, err)
	}
	return nil
}

func (c *Config) sysClass() string {
	if c.SysClassDir != "" {
		return c.SysClassDir
	}
	return "/sys/class"
}

func (m *Manager) hSetBrightness(c *bus.Call) ([]any, error) {
	var subsystem, name string
	var value uint32
	if err := c.Store(&subsystem, &name, &value); err != nil {
		return nil, err
	}
	err := m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
		return ownerOrRoot(cl, ss.UID, "set brightness")
	})
	if err != nil {
		return nil, err
	}
	return nil, m.cfg.setBrightness(subsystem, name, value)
}
