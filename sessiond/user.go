package sessiond

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// user is one user with sessions (or lingering).
type user struct {
	UID       uint32
	GID       uint32
	Name      string
	Realtime  uint64
	Monotonic uint64
	Sessions  []string // in creation order
	Linger    bool
	Display   string // the user's display session
	// Stopping: no session is left and the manager is about to stop (or
	// stopping): logind's "closing" user.
	Stopping bool
	mgr      userManager
}

func userPath(uid uint32) godbus.ObjectPath {
	return godbus.ObjectPath(userDir + "/_" + utoa(uid))
}

func parseUserLabel(l string) (uint32, bool) {
	n, ok := strings.CutPrefix(l, "_")
	if !ok || n == "" {
		return 0, false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	u := parseU64(n)
	if u > 0xfffffffe {
		return 0, false
	}
	return uint32(u), true
}

func (c *Config) usersDir() string { return filepath.Join(c.RunDir, "systemd", "users") }

func (c *Config) runtimePath(uid uint32) string {
	return filepath.Join(c.RunDir, "user", utoa(uid))
}

func (s *state) userState(u *user) string {
	if len(u.Sessions) == 0 {
		switch {
		case u.Linger:
			return "lingering"
		case u.Stopping:
			return "closing"
		}
		return "offline"
	}
	st := "closing"
	for _, id := range u.Sessions {
		ss := s.sessions[id]
		switch s.sessionState(ss) {
		case stateActive:
			return "active"
		case stateOnline:
			st = "online"
		}
	}
	return st
}

// updateDisplay elects the user's display session: a graphical user
// session first, then a tty one, then any user-class session.
func (s *state) updateDisplay(u *user) string {
	best, rank := "", 0
	for _, id := range u.Sessions {
		ss := s.sessions[id]
		if ss.Stopping || ss.Class != "user" {
			continue
		}
		r := 1
		switch {
		case isGraphical(ss.Type):
			r = 3
		case ss.Type == "tty":
			r = 2
		}
		if r > rank {
			best, rank = id, r
			if r == 3 {
				break // the first graphical one: none later can win
			}
		}
	}
	if u.Display != best {
		if ss := s.sessions[best]; ss != nil {
			s.dirtySess[best] = true
		}
	}
	u.Display = best
	return best
}

func (s *state) saveUser(u *user) {
	if err := writeEnvFileBuf(filepath.Join(s.cfg.usersDir(), utoa(u.UID)), s.userRecord(u), &s.fileBuf); err != nil {
		s.log().Error("save user", "uid", u.UID, "err", err)
	}
}

// userRecord is the user file (decodeUser reads back what is not derived
// from the sessions).
func (s *state) userRecord(u *user) []kv {
	// The file is rewritten at every change of one of the user's
	// sessions: the three session lists are built in one pass with one
	// lookup per session (three passes were most of a creation's cost
	// with 5000 sessions of one user), in kept buffers, and made one
	// string (a slice and a string per list were most of its garbage).
	var seatSet, activeSeats, onlineSeats map[string]bool
	addSeat := func(m *map[string]bool, seat string) {
		if *m == nil {
			*m = map[string]bool{}
		}
		(*m)[seat] = true
	}
	// word appends id to a space-separated list.
	word := func(l []byte, id string) []byte {
		if len(l) > 0 {
			l = append(l, ' ')
		}
		return append(l, id...)
	}
	all, act, online := s.listBuf[:0], s.actBuf[:0], s.onlineBuf[:0]
	for _, id := range u.Sessions {
		all = word(all, id)
		ss := s.sessions[id]
		if ss.Seat != "" {
			addSeat(&seatSet, ss.Seat)
		}
		if s.sessionState(ss) == stateActive {
			act = word(act, id)
			if ss.Seat != "" {
				addSeat(&activeSeats, ss.Seat)
			}
		}
		if !ss.Stopping {
			online = word(online, id)
			if ss.Seat != "" {
				addSeat(&onlineSeats, ss.Seat)
			}
		}
	}
	s.actBuf, s.onlineBuf = act, online
	na := len(all)
	all = append(append(all, act...), online...)
	s.listBuf = all
	lists := string(all)
	sessions, active, onl := lists[:na], lists[na:na+len(act)], lists[na+len(act):]
	keys := func(m map[string]bool) string {
		var l []string
		for k := range m {
			l = append(l, k)
		}
		sort.Strings(l)
		return strings.Join(l, " ")
	}
	vals := []kv{
		{"NAME", cescape(u.Name)}, // from NSS: any bytes
		{"STATE", s.userState(u)},
		{"STOPPING", map[bool]string{true: "yes", false: "no"}[u.Stopping]},
		{"RUNTIME", s.cfg.runtimePath(u.UID)},
	}
	if u.Display != "" {
		vals = append(vals, kv{"DISPLAY", u.Display})
	}
	vals = append(vals,
		kv{"REALTIME", strconv.FormatUint(u.Realtime, 10)},
		kv{"MONOTONIC", strconv.FormatUint(u.Monotonic, 10)},
		kv{"SESSIONS", sessions},
		kv{"SEATS", keys(seatSet)},
		kv{"ACTIVE_SESSIONS", active},
		kv{"ONLINE_SESSIONS", onl},
		kv{"ACTIVE_SEATS", keys(activeSeats)},
		kv{"ONLINE_SEATS", keys(onlineSeats)},
		kv{"GID", utoa(u.GID)},
		kv{"SLICE", userSlice(u.UID)},
	)
	if s.cfg.UserManagers != nil {
		vals = append(vals, kv{"SERVICE", userService(u.UID)})
	}
	return vals
}

// decodeUser reads back what userRecord wrote that is not derived from
// the sessions.
func decodeUser(uid uint32, f map[string]string) *user {
	return &user{UID: uid, GID: parseU32(f["GID"]), Name: cunescape(f["NAME"]), Realtime: parseU64(f["REALTIME"]), Monotonic: parseU64(f["MONOTONIC"])}
}

// getUser returns the user record, creating it (and its runtime
// directory) for a first session or linger.
func (s *state) getUser(uid uint32) (*user, bool, error) {
	if u, ok := s.users[uid]; ok {
		return u, false, nil
	}
	name, gid, err := s.cfg.Host.LookupUser(uid)
	if err != nil {
		return nil, false, bus.Errorf(bus.ErrNoSuchUser, "User ID %d unknown: %v", uid, err)
	}
	if err := s.cfg.Host.CreateRuntimeDir(s.cfg.runtimePath(uid), uid, gid); err != nil {
		return nil, false, fmt.Errorf("user %d: %w", uid, err)
	}
	rt, mono := s.now()
	u := &user{UID: uid, GID: gid, Name: name, Realtime: rt, Monotonic: mono}
	u.Linger = s.lingerFileExists(name)
	s.users[uid] = u
	s.mutated = true
	s.dirtyUser[uid] = true
	s.emit(ManagerPath, IfaceManager+".UserNew", uid, userPath(uid))
	return u, true, nil
}

func (s *state) lingerFileExists(name string) bool {
	if s.cfg.LingerDir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(s.cfg.LingerDir, name))
	return err == nil
}

// maybeRemoveUser drops a user without sessions unless lingering or its
// manager is still to stop (keepUser).
func (s *state) maybeRemoveUser(u *user) {
	if len(u.Sessions) > 0 || u.Linger || s.keepUser(u) {
		return
	}
	if err := s.cfg.Host.RemoveRuntimeDir(s.cfg.runtimePath(u.UID)); err != nil {
		s.log().Warn("remove runtime dir", "uid", u.UID, "err", err)
	}
	_ = os.Remove(filepath.Join(s.cfg.usersDir(), utoa(u.UID)))
	delete(s.users, u.UID)
	delete(s.dirtyUser, u.UID)
	s.mutated = true
	s.emit(ManagerPath, IfaceManager+".UserRemoved", u.UID, userPath(u.UID))
}

func (s *state) setLinger(uid uint32, enable bool) error {
	name, _, err := s.cfg.Host.LookupUser(uid)
	if err != nil {
		return bus.Errorf(bus.ErrNoSuchUser, "User ID %d unknown: %v", uid, err)
	}
	path := filepath.Join(s.cfg.LingerDir, name)
	if enable {
		if err := os.MkdirAll(s.cfg.LingerDir, 0o755); err != nil {
			return fmt.Errorf("linger dir: %w", err)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			return fmt.Errorf("linger: %w", err)
		}
		u, _, err := s.getUser(uid)
		if err != nil {
			return err
		}
		u.Linger = true
		s.dirtyUser[uid] = true
		s.mutated = true
		// Like enable-linger: the manager starts at once (not waited for).
		s.wantManager(u)
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("linger: %w", err)
	}
	if u := s.users[uid]; u != nil {
		u.Linger = false
		s.dirtyUser[uid] = true
		s.mutated = true
		s.maybeRemoveUser(u)
	}
	return nil
}

// pathUser is the uid a User object's path names ("self" and "auto": the
// caller's).
func (m *Manager) pathUser(c *bus.Call) (uint32, error) {
	l := lastElem(c)
	if isSelfLabel(l) {
		cl, err := m.caller(c)
		return cl.UID, err
	}
	uid, ok := parseUserLabel(l)
	if !ok {
		return 0, bus.Errorf(bus.ErrNoSuchUser, "Invalid user path %s", c.Path)
	}
	return uid, nil
}

// withUser runs f on the owner loop for user uid.
func (m *Manager) withUser(uid uint32, f func(s *state, u *user) error) error {
	return m.do(func(s *state) error {
		u := s.users[uid]
		if u == nil {
			return bus.Errorf(bus.ErrNoSuchUser, "User ID %d is not logged in or lingering", uid)
		}
		return f(s, u)
	})
}

func (m *Manager) withUserObj(c *bus.Call, f func(s *state, u *user) error) error {
	uid, err := m.pathUser(c)
	if err != nil {
		return err
	}
	return m.withUser(uid, f)
}

// withUserArg runs f for the user uid after checking owner-or-root.
func (m *Manager) withUserArg(c *bus.Call, uid uint32, what string, f func(s *state, u *user) error) error {
	cl, err := m.caller(c)
	if err != nil {
		return err
	}
	return m.withUser(uid, func(s *state, u *user) error {
		if err := ownerOrRoot(&cl, uid, what); err != nil {
			return err
		}
		return f(s, u)
	})
}

// userInterface is org.freedesktop.login1.User.
func (m *Manager) userInterface() *bus.Interface {
	return &bus.Interface{
		Name: IfaceUser,
		Methods: []bus.Method{
			{Name: "Terminate", Handler: m.hUserTerminate},
			{Name: "Kill", In: []bus.Arg{arg("signal_number", "i")}, Handler: m.hUserKill},
		},
		Properties: []bus.Property{
			{Name: "UID", Type: "u", Flags: konst}, {Name: "GID", Type: "u", Flags: konst},
			{Name: "Name", Type: "s", Flags: konst},
			{Name: "Timestamp", Type: "t"}, {Name: "TimestampMonotonic", Type: "t"},
			{Name: "RuntimePath", Type: "s", Flags: konst}, {Name: "Service", Type: "s", Flags: konst},
			{Name: "Slice", Type: "s", Flags: konst}, {Name: "Display", Type: "(so)", Flags: emits},
			{Name: "State", Type: "s"}, {Name: "Sessions", Type: "a(so)"},
			{Name: "IdleHint", Type: "b", Flags: emits}, {Name: "IdleSinceHint", Type: "t", Flags: emits},
			{Name: "IdleSinceHintMonotonic", Type: "t", Flags: emits},
			{Name: "Linger", Type: "b"},
		},
	}
}

func (s *state) userProps(u *user) map[string]godbus.Variant {
	p := s.userPropsButSessions(u)
	p["Sessions"] = v(s.sessionList(u.Sessions))
	return p
}

// userPropsButSessions is userProps without Sessions, which the view
// builds when asked (a list as long as the user's sessions, per change).
func (s *state) userPropsButSessions(u *user) map[string]godbus.Variant {
	display := idPath{Path: "/"}
	if u.Display != "" {
		display = idPath{u.Display, sessionPath(u.Display)}
	}
	idle, rt, mono := s.idleOf(u.Sessions)
	service := ""
	if s.cfg.UserManagers != nil {
		service = userService(u.UID)
	}
	return map[string]godbus.Variant{
		"UID": v(u.UID), "GID": v(u.GID), "Name": v(u.Name),
		"Timestamp": v(u.Realtime), "TimestampMonotonic": v(u.Monotonic),
		"RuntimePath": v(s.cfg.runtimePath(u.UID)), "Service": v(service),
		"Slice": v(userSlice(u.UID)), "Display": v(display),
		"State":    v(s.userState(u)),
		"IdleHint": v(idle), "IdleSinceHint": v(rt), "IdleSinceHintMonotonic": v(mono),
		"Linger": v(u.Linger),
	}
}

// userEntry is one of ListUsers' a(uso).
type userEntry struct {
	UID  uint32
	Name string
	Path godbus.ObjectPath
}

func (m *Manager) hGetUser(c *bus.Call) ([]any, error) {
	var uid uint32
	if err := c.Store(&uid); err != nil {
		return nil, err
	}
	err := m.withUser(uid, func(*state, *user) error { return nil })
	return []any{userPath(uid)}, err
}

func (m *Manager) hGetUserByPID(c *bus.Call) ([]any, error) {
	var p godbus.ObjectPath
	err := m.withPIDSession(c, func(pid uint32) error {
		return bus.Errorf(bus.ErrNoUserForPID, "PID %d does not belong to any logged in user or lingering user", pid)
	}, func(sv *sessionView) { p = userPath(sv.rec.UID) })
	return []any{p}, err
}

func (m *Manager) hListUsers(c *bus.Call) ([]any, error) {
	var out []userEntry
	err := m.do(func(s *state) error {
		out = make([]userEntry, 0, len(s.users))
		for _, u := range s.users {
			out = append(out, userEntry{u.UID, u.Name, userPath(u.UID)})
		}
		return nil
	})
	sortBy(out, func(e userEntry) string { return fmt.Sprintf("%010d", e.UID) })
	return []any{out}, err
}

func (s *state) killUser(u *user, sig int32) error {
	for _, id := range u.Sessions {
		if err := s.killSession(s.sessions[id], "all", sig); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) hKillUser(c *bus.Call) ([]any, error) {
	var uid uint32
	var sig int32
	if err := c.Store(&uid, &sig); err != nil {
		return nil, err
	}
	return nil, m.killUserCall(c, uid, sig)
}

func (m *Manager) hUserKill(c *bus.Call) ([]any, error) {
	var sig int32
	if err := c.Store(&sig); err != nil {
		return nil, err
	}
	uid, err := m.pathUser(c)
	if err != nil {
		return nil, err
	}
	return nil, m.killUserCall(c, uid, sig)
}

// killUserCall is KillUser and User.Kill once their arguments are read.
func (m *Manager) killUserCall(c *bus.Call, uid uint32, sig int32) error {
	if err := checkSignal(sig); err != nil {
		return err
	}
	return m.withUserArg(c, uid, "kill user", func(s *state, u *user) error { return s.killUser(u, sig) })
}

func (m *Manager) hTerminateUser(c *bus.Call) ([]any, error) {
	var uid uint32
	if err := c.Store(&uid); err != nil {
		return nil, err
	}
	return nil, m.terminateUserCall(c, uid)
}

func (m *Manager) hUserTerminate(c *bus.Call) ([]any, error) {
	uid, err := m.pathUser(c)
	if err != nil {
		return nil, err
	}
	return nil, m.terminateUserCall(c, uid)
}

// terminateUserCall is TerminateUser and User.Terminate: the sessions end
// and the manager stops now, without UserStopDelay.
func (m *Manager) terminateUserCall(c *bus.Call, uid uint32) error {
	return m.withUserArg(c, uid, "terminate user", func(s *state, u *user) error {
		s.terminate(u.Sessions)
		if s.cfg.UserManagers != nil {
			s.stopManager(u)
		}
		return nil
	})
}

func (m *Manager) hSetUserLinger(c *bus.Call) ([]any, error) {
	var uid uint32
	var enable, interactive bool
	if err := c.Store(&uid, &enable, &interactive); err != nil {
		return nil, err
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if uid == 0xffffffff {
		uid = cl.UID
	}
	if err := ownerOrRoot(&cl, uid, "set user linger"); err != nil {
		return nil, err
	}
	if m.cfg.LingerDir == "" {
		return nil, bus.Errorf(bus.ErrNotSupported, "Lingering is not configured")
	}
	return nil, m.do(func(s *state) error { return s.setLinger(uid, enable) })
}
