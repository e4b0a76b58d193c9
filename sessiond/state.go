package sessiond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// Config is everything a Manager needs, injected.
type Config struct {
	// RunDir is normally /run: state files go to RunDir/systemd/… and
	// runtime directories to RunDir/user/UID.
	RunDir string
	// LingerDir holds one empty file per lingering user (by name).
	LingerDir string
	// StopTimeout is how long TerminateSession waits after SIGTERM before
	// SIGKILL.
	StopTimeout time.Duration
	// SessionsMax bounds the number of sessions (LimitsExceeded beyond).
	SessionsMax int
	// NAutoVTs is reported as the Manager property of that name.
	NAutoVTs uint32
	Host     Host
	VTs      VTs // nil: seat0 has no VTs
	// CanGraphical reports whether seat0 has a graphics device.
	CanGraphical func() bool
	Clock        Clock
	Log          *slog.Logger
	// SysClassDir is normally /sys/class (backlight and LED devices).
	SysClassDir string
	// Ready, if set, is called once the bus name is owned and seat0 is
	// published (readiness notification for the service manager).
	Ready func()
	// Login is the logind.conf [Login] section; NewManager fills in
	// logind's defaults when it is the zero value.
	Login LoginConfig
	// Power carries out power actions; nil: they are not supported.
	Power PowerBackend
	// Buttons are the power keys and lid switch; nil: none are watched.
	Buttons Buttons
	// PeerCreds names the uid and pid behind a call's sender; nil asks the
	// bus daemon (bus.Call.CallerCreds). Tests without a bus inject one.
	PeerCreds func(c *bus.Call) (bus.Creds, error)
}

// Emitter sends signals; *godbus.Conn is one.
type Emitter interface {
	Emit(path godbus.ObjectPath, name string, values ...any) error
}

// Manager owns the state; see the package comment.
type Manager struct {
	cfg Config
	q   *queue
	ctx context.Context
	st  *state
	ifc ifaces
}

var errStopped = errors.New("sessiond is shutting down")

// NewManager returns a Manager that sends its signals through em (nil:
// none are sent); call Start, then Run.
func NewManager(cfg Config, em Emitter) *Manager {
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.SessionsMax == 0 {
		cfg.SessionsMax = 8192
	}
	if cfg.Login == (LoginConfig{}) {
		cfg.Login = DefaultLoginConfig()
	}
	if cfg.PeerCreds == nil {
		cfg.PeerCreds = (*bus.Call).CallerCreds
	}
	m := &Manager{cfg: cfg, q: newQueue(), ctx: context.Background()}
	m.ifc = m.buildInterfaces()
	m.st = &state{
		cfg: &m.cfg, m: m, em: em,
		sessions: map[string]*session{}, users: map[uint32]*user{}, seats: map[string]*seat{},
		snap:      map[godbus.ObjectPath]map[string]map[string]godbus.Variant{},
		dirtySess: map[string]bool{}, dirtyUser: map[uint32]bool{}, dirtySeat: map[string]bool{},
	}
	return m
}

// Run serves the queue until ctx ends. ctx must be the one given to
// SetContext (or Background). On return every request still queued is
// answered with errStopped and later ones are refused.
func (m *Manager) Run(ctx context.Context) {
	defer func() {
		for _, r := range m.q.close() {
			if r.done != nil {
				r.done <- errStopped
			}
		}
	}()
	for {
		select {
		case <-m.q.wake:
		case <-ctx.Done():
			return
		}
		// Events that arrive together (many sessions ending at once) are
		// applied as one batch and flushed once; what the batch itself
		// posts comes in the next one.
		for ctx.Err() == nil {
			batch := m.q.take(64)
			if len(batch) == 0 {
				break
			}
			m.apply(batch)
		}
	}
}

func (m *Manager) apply(batch []request) {
	errs := make([]error, len(batch))
	for i, r := range batch {
		errs[i] = r.f(m.st)
	}
	// Persist and announce before answering: a client that got its reply
	// must find the files and have seen the signals.
	m.st.flush()
	for i, r := range batch {
		if r.done != nil {
			r.done <- errs[i]
		}
	}
}

// SetContext sets the lifetime of requests: once ctx ends, Run stops and
// do and post are refused. Call before Start.
func (m *Manager) SetContext(ctx context.Context) { m.ctx = ctx }

// Interfaces returns the login1 interface descriptions (for docs/tests).
func (m *Manager) Interfaces() []*bus.Interface {
	return []*bus.Interface{m.ifc.manager, m.ifc.session, m.ifc.seat, m.ifc.user}
}

// request is one closure for the owner goroutine; done (if not nil)
// receives its result once the state is flushed.
type request struct {
	f    func(s *state) error
	done chan error
}

// do runs f on the owner goroutine and returns its error. It must not be
// called from the owner goroutine (it would wait for itself); Run answers
// every request it accepted, so do never waits for a loop that is gone.
func (m *Manager) do(f func(s *state) error) error {
	if m.ctx.Err() != nil {
		return errStopped
	}
	done := make(chan error, 1)
	if !m.q.push(request{f: f, done: done}) {
		return errStopped
	}
	return <-done
}

// post queues f without waiting, behind everything queued before it, from
// any goroutine including the owner's (see queue). Once sessiond stops,
// f is dropped.
func (m *Manager) post(f func(s *state)) {
	if m.ctx.Err() != nil {
		return
	}
	m.q.push(request{f: func(s *state) error { f(s); return nil }})
}

type signal struct {
	path  godbus.ObjectPath
	name  string
	args  []any
	after func()
}

// state is owned by the loop goroutine.
type state struct {
	cfg *Config
	m   *Manager
	em  Emitter

	sessions map[string]*session
	users    map[uint32]*user
	seats    map[string]*seat
	counter  uint64

	inhibitors []*inhibitor
	power      powerState
	// deferred run after the next flush (see afterFlush).
	deferred []func()

	mutated   bool
	dirtySess map[string]bool
	dirtyUser map[uint32]bool
	dirtySeat map[string]bool
	signals   []signal
	// snap holds the last announced emits-change values: path → iface → name.
	snap map[godbus.ObjectPath]map[string]map[string]godbus.Variant
}

func (s *state) log() *slog.Logger { return s.cfg.Log }

func (s *state) now() (uint64, uint64) {
	return uint64(s.cfg.Clock.Now().UnixMicro()), uint64(s.cfg.Clock.Monotonic() / time.Microsecond)
}

func (s *state) emit(path godbus.ObjectPath, name string, args ...any) {
	s.signals = append(s.signals, signal{path: path, name: name, args: args})
}

func (s *state) touchSession(ss *session) {
	s.mutated = true
	s.dirtySess[ss.ID] = true
	s.dirtyUser[ss.UID] = true
	if ss.Seat != "" {
		s.dirtySeat[ss.Seat] = true
	}
}

// Paths of the state directories.
func (c *Config) sessionsDir() string { return filepath.Join(c.RunDir, "systemd", "sessions") }
func (c *Config) usersDir() string    { return filepath.Join(c.RunDir, "systemd", "users") }
func (c *Config) seatsDir() string    { return filepath.Join(c.RunDir, "systemd", "seats") }
func (c *Config) runtimePath(uid uint32) string {
	return filepath.Join(c.RunDir, "user", utoa(uid))
}

// flush persists dirty objects, then sends queued signals and the
// PropertiesChanged of every emits-change property that changed.
func (s *state) flush() {
	defer s.runDeferred()
	if !s.mutated && len(s.signals) == 0 {
		return
	}
	for uid := range s.dirtyUser {
		if u, ok := s.users[uid]; ok {
			if old := u.Display; s.updateDisplay(u) != old {
				if ss := s.sessions[old]; ss != nil {
					s.dirtySess[old] = true // IS_DISPLAY changed
				}
			}
		}
	}
	for id := range s.dirtySess {
		if ss, ok := s.sessions[id]; ok {
			s.saveSession(ss)
		}
	}
	for uid := range s.dirtyUser {
		if u, ok := s.users[uid]; ok {
			s.saveUser(u)
		}
	}
	for id := range s.dirtySeat {
		if st, ok := s.seats[id]; ok {
			s.saveSeat(st)
		}
	}
	clear(s.dirtySess)
	clear(s.dirtyUser)
	clear(s.dirtySeat)
	sigs := s.signals
	s.signals = nil
	for _, sg := range sigs {
		if s.em != nil {
			if err := s.em.Emit(sg.path, sg.name, sg.args...); err != nil {
				s.log().Warn("emit signal", "signal", sg.name, "err", err)
			}
		}
		if sg.after != nil {
			sg.after()
		}
	}
	if s.mutated {
		s.emitChanges()
	}
	s.mutated = false
}

func (s *state) runDeferred() {
	fs := s.deferred
	s.deferred = nil
	for _, f := range fs {
		f()
	}
}

// emitChanges compares every object's emits-change properties with the
// last announced values.
func (s *state) emitChanges() {
	seen := map[godbus.ObjectPath]bool{}
	check := func(path godbus.ObjectPath, iface *bus.Interface, vals map[string]godbus.Variant) {
		seen[path] = true
		cur := map[string]godbus.Variant{}
		for _, p := range iface.Properties {
			if p.Flags == bus.PropEmitChange {
				cur[p.Name] = vals[p.Name]
			}
		}
		byIface := s.snap[path]
		if byIface == nil {
			byIface = map[string]map[string]godbus.Variant{}
			s.snap[path] = byIface
		}
		old, had := byIface[iface.Name]
		byIface[iface.Name] = cur
		if !had {
			return // a new object: its creation signal announced it
		}
		changed := map[string]godbus.Variant{}
		for k, v := range cur {
			if !reflect.DeepEqual(old[k].Value(), v.Value()) {
				changed[k] = v
			}
		}
		if len(changed) > 0 && s.em != nil {
			if err := s.em.Emit(path, bus.IfaceProperties+".PropertiesChanged", iface.Name, changed, []string{}); err != nil {
				s.log().Warn("emit PropertiesChanged", "path", path, "err", err)
			}
		}
	}
	check(ManagerPath, s.m.ifc.manager, s.managerProps())
	for _, ss := range s.sessions {
		check(sessionPath(ss.ID), s.m.ifc.session, s.sessionProps(ss))
	}
	for _, u := range s.users {
		check(userPath(u.UID), s.m.ifc.user, s.userProps(u))
	}
	for _, st := range s.seats {
		check(seatPath(st.ID), s.m.ifc.seat, s.seatProps(st))
	}
	for p := range s.snap {
		if !seen[p] {
			delete(s.snap, p)
		}
	}
}

// --- derived values -------------------------------------------------------

func (s *state) sessionActive(ss *session) bool {
	if ss.Seat == "" {
		return true
	}
	st := s.seats[ss.Seat]
	return st != nil && st.Active == ss.ID
}

func (s *state) sessionState(ss *session) string {
	switch {
	case ss.Stopping:
		return stateClosing
	case s.sessionActive(ss):
		return stateActive
	}
	return stateOnline
}

func (s *state) userState(u *user) string {
	if len(u.Sessions) == 0 {
		if u.Linger {
			return "lingering"
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

func (s *state) idle() (bool, uint64, uint64) {
	idle := true
	var rt, mono uint64
	for _, ss := range s.sessions {
		if !ss.IdleHint {
			idle = false
			continue
		}
		if ss.IdleRealtime > rt {
			rt, mono = ss.IdleRealtime, ss.IdleMonotonic
		}
	}
	if !idle {
		return false, 0, 0
	}
	return true, rt, mono
}

// --- persistence ----------------------------------------------------------

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
		{"USER", ss.UserName},
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
	return vals
}

func (s *state) saveUser(u *user) {
	if err := writeEnvFile(filepath.Join(s.cfg.usersDir(), utoa(u.UID)), s.userRecord(u)); err != nil {
		s.log().Error("save user", "uid", u.UID, "err", err)
	}
}

// userRecord is the user file (decodeUser reads back what is not derived
// from the sessions).
func (s *state) userRecord(u *user) []kv {
	var sessions, active, online []string
	seatSet := map[string]bool{}
	activeSeats, onlineSeats := map[string]bool{}, map[string]bool{}
	for _, id := range u.Sessions {
		ss := s.sessions[id]
		sessions = append(sessions, id)
		st := s.sessionState(ss)
		if ss.Seat != "" {
			seatSet[ss.Seat] = true
		}
		if st == stateActive {
			active = append(active, id)
			if ss.Seat != "" {
				activeSeats[ss.Seat] = true
			}
		}
		if st != stateClosing {
			online = append(online, id)
			if ss.Seat != "" {
				onlineSeats[ss.Seat] = true
			}
		}
	}
	keys := func(m map[string]bool) string {
		var l []string
		for k := range m {
			l = append(l, k)
		}
		sort.Strings(l)
		return strings.Join(l, " ")
	}
	vals := []kv{
		{"NAME", u.Name},
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
		kv{"SESSIONS", strings.Join(sessions, " ")},
		kv{"SEATS", keys(seatSet)},
		kv{"ACTIVE_SESSIONS", strings.Join(active, " ")},
		kv{"ONLINE_SESSIONS", strings.Join(online, " ")},
		kv{"ACTIVE_SEATS", keys(activeSeats)},
		kv{"ONLINE_SEATS", keys(onlineSeats)},
		kv{"GID", utoa(u.GID)},
		kv{"SLICE", "user-" + utoa(u.UID) + ".slice"},
	)
	return vals
}

func (s *state) saveSeat(st *seat) {
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

// --- users ----------------------------------------------------------------

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

// maybeRemoveUser drops a user without sessions unless lingering.
func (s *state) maybeRemoveUser(u *user) {
	if len(u.Sessions) > 0 || u.Linger {
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

// --- seats ----------------------------------------------------------------

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

// --- sessions -------------------------------------------------------------

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
	ss.fifo.close()
	if ss.killTime != nil {
		ss.killTime.Stop()
	}
	if ss.stopWatch != nil {
		ss.stopWatch()
	}
	s.releaseControl(ss)
	_ = os.Remove(ss.FIFO)
	_ = os.Remove(filepath.Join(s.cfg.sessionsDir(), ss.ID))
	if ss.Scope != "" {
		s.cfg.Host.RemoveScope(ss.UID, ss.ID)
	}
	delete(s.sessions, ss.ID)
	delete(s.dirtySess, ss.ID)
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

func remove(l []string, id string) []string {
	out := l[:0]
	for _, x := range l {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// watchSession starts the FIFO and cgroup watchers of ss.
func (s *state) watchSession(ss *session) {
	ptr := ss
	if ss.fifo.f != nil {
		h := ss.fifo
		go h.watch(func() {
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
// one, else the next cN. An id is free only if no session has it and no
// state file or FIFO of that name is left (one sessiond could not read,
// or a crash between writing the two): reusing it would hand the new
// login another session's FIFO.
func (s *state) allocID(pid uint32) (string, error) {
	if a, ok := s.cfg.Host.AuditSessionID(int(pid)); ok {
		if id := utoa(a); s.sessionIDFree(id) {
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

// pathTaken reports whether anything is at path; an error other than
// "does not exist" counts as taken.
func pathTaken(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}
