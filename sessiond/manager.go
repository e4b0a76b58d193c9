package sessiond

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

// Object path prefixes of login1.
const (
	BusName     = "org.freedesktop.login1"
	ManagerPath = godbus.ObjectPath("/org/freedesktop/login1")
	sessionDir  = "/org/freedesktop/login1/session"
	seatDir     = "/org/freedesktop/login1/seat"
	userDir     = "/org/freedesktop/login1/user"
)

// Interface names of login1.
const (
	IfaceManager = "org.freedesktop.login1.Manager"
	IfaceSession = "org.freedesktop.login1.Session"
	IfaceSeat    = "org.freedesktop.login1.Seat"
	IfaceUser    = "org.freedesktop.login1.User"
)

// ifaces are the login1 interfaces bound to one Manager.
type ifaces struct {
	manager, session, seat, user *bus.Interface
}

// Property flags, short for the interface tables.
const (
	konst  = bus.PropConst
	emits  = bus.PropEmitChange
	hidden = bus.PropHidden
)

// idPath is an (so) pair: an object's id and path.
type idPath struct {
	ID   string
	Path godbus.ObjectPath
}

// uidPath is a (uo) pair: a user's uid and path.
type uidPath struct {
	UID  uint32
	Path godbus.ObjectPath
}

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
	// CanGraphical reports whether seat0 has a graphics device; polled
	// where udev's database is not (Udev nil or udev not running).
	CanGraphical func() bool
	// Udev lists the seats' devices (udev.go); nil: only seat0, whose
	// CanGraphical is polled.
	Udev SeatDevices
	// ACL edits the uaccess devices' ACLs for the active user; nil: none.
	ACL   ACLs
	Clock Clock
	Log   *slog.Logger
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
	// UserManagers start and stop the users' service managers (user@UID);
	// nil: sessiond starts none and User.Service is empty.
	UserManagers UserManagers
	// UserStartWait bounds how long CreateSession waits for the manager
	// of the user's first session (DefaultUserStartWait when 0).
	UserStartWait time.Duration
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
	// scanMu serializes udev rescans (udev.go) so they apply in order.
	scanMu sync.Mutex
	// view is published by the owner for read-only calls (see view).
	view *view
	// creds caches the bus daemon's answers when Config.PeerCreds is
	// not injected; nil otherwise.
	creds *bus.CredsCache
	// fifos watches the sessions' and inhibitors' FIFOs (see watchFIFO);
	// the owner's, like noPoller (it cannot be made, or Run has ended).
	fifos    *sys.FIFOPoller
	noPoller bool
	// taken counts the answers do's callers have received (see apply).
	taken atomic.Uint64
}

// PeerGone forgets what is cached about a bus peer that left.
func (m *Manager) PeerGone(name string) {
	if m.creds != nil {
		m.creds.Forget(name)
	}
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
	if cfg.UserStartWait == 0 {
		cfg.UserStartWait = DefaultUserStartWait
	}
	m := &Manager{cfg: cfg, q: newQueue(), ctx: context.Background(), view: newView()}
	if cfg.PeerCreds == nil {
		m.creds = &bus.CredsCache{}
		m.cfg.PeerCreds = func(c *bus.Call) (bus.Creds, error) { return m.creds.Lookup(c.Client, c.Sender) }
	}
	m.ifc = m.buildInterfaces()
	m.st = &state{
		cfg: &m.cfg, m: m, em: em,
		sessions: map[string]*session{}, users: map[uint32]*user{}, seats: map[string]*seat{},
		dirtySess: map[string]bool{}, dirtyUser: map[uint32]bool{}, dirtySeat: map[string]bool{},
	}
	return m
}

// Run serves the queue until ctx ends. ctx must be the one given to
// SetContext (or Background). On return every request still queued is
// answered with errStopped and later ones are refused.
func (m *Manager) Run(ctx context.Context) {
	defer m.stopFIFOs()
	defer func() {
		for _, r := range m.q.close() {
			r.answer(errStopped)
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
	// Reply first: once the batch's changes are made in memory and
	// published in the view, every answer is decided and any later call
	// is served from that state. What decides no answer (state files,
	// signals and PropertiesChanged, the cleanup queued with later) runs
	// after the replies, in its order, as logind replies before it saves:
	// a reader of /run/systemd may see the old file for a moment.
	m.st.settle()
	taken, waiting := m.taken.Load(), uint64(0)
	for i, r := range batch {
		if r.done != nil {
			waiting++
		}
		r.answer(errs[i])
	}
	// sessiond runs on one P (main.go): a handler woken by its answer
	// would wait for the owner to block, after the side effects. So let
	// those answered take their answers first (do counts them); each
	// sends its reply before it yields the P back.
	for m.taken.Load()-taken < waiting {
		runtime.Gosched()
	}
	m.st.flush()
}

// SetContext sets the lifetime of requests: once ctx ends, Run stops and
// do and post are refused. Call before Start.
func (m *Manager) SetContext(ctx context.Context) { m.ctx = ctx }

// Interfaces returns the login1 interface descriptions (for docs/tests).
func (m *Manager) Interfaces() []*bus.Interface {
	return []*bus.Interface{m.ifc.manager, m.ifc.session, m.ifc.seat, m.ifc.user}
}

// request is one closure for the owner goroutine; done (if not nil)
// receives its result once the batch's state is published (before its
// side effects, see apply), or then is called with it there, on the
// owner goroutine.
type request struct {
	f    func(s *state) error
	done chan error
	then func(error)
}

func (r *request) answer(err error) {
	if r.done != nil {
		r.done <- err
	}
	if r.then != nil {
		r.then(err)
	}
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
	err := <-done
	m.taken.Add(1)
	return err
}

// doThen runs f on the owner goroutine and then calls then with its
// error once the state is published, on the owner goroutine; no
// goroutine waits meanwhile. then must not block (it sends a reply).
func (m *Manager) doThen(f func(s *state) error, then func(error)) {
	if m.ctx.Err() != nil || !m.q.push(request{f: f, then: then}) {
		then(errStopped)
	}
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
	// seatsOut: PublishSeats wrote the seats directory. A seat changed
	// before (udev's first report comes ahead of the bus name) is
	// written then, with the rest.
	seatsOut bool

	inhibitors []*inhibitor
	power      powerState
	// deferred run after the next flush (see afterFlush).
	deferred []func()
	// effects are the batch's side effects that decide no answer, run
	// after the replies, before the files are written (see later).
	effects []func()
	// settled: settle found something to persist and announce; changes
	// are the PropertiesChanged it found, sent by flush.
	settled bool
	changes []propChange

	mutated   bool
	dirtySess map[string]bool
	dirtyUser map[uint32]bool
	dirtySeat map[string]bool
	signals   []signal
	// mgrSnap is the Manager's properties as last announced; the other
	// objects' are in the Manager's view.
	mgrSnap map[string]godbus.Variant
	// fileBuf and listBuf are reused by every write of a user file (its
	// text, its session lists), which grows with the user's sessions.
	fileBuf, listBuf, actBuf, onlineBuf []byte
}

func (s *state) log() *slog.Logger { return s.cfg.Log }

func (s *state) now() (uint64, uint64) {
	return uint64(s.cfg.Clock.Now().UnixMicro()), uint64(s.cfg.Clock.Monotonic() / time.Microsecond)
}

func (s *state) emit(path godbus.ObjectPath, name string, args ...any) {
	s.signals = append(s.signals, signal{path: path, name: name, args: args})
}

// settle finishes the batch's in-memory change and publishes it in the
// view, before the replies; what is to be written and sent is left to
// flush.
func (s *state) settle() {
	s.syncSeatACLs()
	s.settled = s.mutated || len(s.signals) > 0 || len(s.dirtySess) > 0
	if !s.settled {
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
	// Only the objects marked dirty are rebuilt and compared: a change
	// to one session costs one session however many there are. So every
	// change of a property must mark its object (touchSession and the
	// dirty sets), as it must for the state files.
	s.publish()
}

// flush runs after the replies: the side effects queued with later, the
// files of the dirty objects, the queued signals, then the
// PropertiesChanged of every emits-change property settle found changed.
func (s *state) flush() {
	defer s.runDeferred()
	effects := s.effects
	s.effects = nil
	for _, f := range effects {
		f()
	}
	if !s.settled {
		return
	}
	s.settled = false
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
	s.announceChanges()
	clear(s.dirtySess)
	clear(s.dirtyUser)
	clear(s.dirtySeat)
	s.mutated = false
}

// later queues f, a side effect of the current request that decides no
// answer (closing a FIFO, removing a file or a cgroup named by an id
// nothing can take again in this batch), to run after the batch's
// replies, in the order queued.
func (s *state) later(f func()) { s.effects = append(s.effects, f) }

func (s *state) runDeferred() {
	fs := s.deferred
	s.deferred = nil
	for _, f := range fs {
		f()
	}
}

// afterFlush runs f once the current batch is persisted and announced.
func (s *state) afterFlush(f func()) { s.deferred = append(s.deferred, f) }

// buildInterfaces binds the four login1 interfaces to m.
func (m *Manager) buildInterfaces() ifaces {
	return ifaces{manager: m.managerInterface(), session: m.sessionInterface(), seat: m.seatInterface(), user: m.userInterface()}
}

// managerInterface is org.freedesktop.login1.Manager, its methods in logind's order.
func (m *Manager) managerInterface() *bus.Interface {
	mgr := &bus.Interface{
		Name: IfaceManager,
		Methods: []bus.Method{
			{Name: "GetSession", In: []bus.Arg{arg("session_id", "s")}, Out: []bus.Arg{arg("object_path", "o")}, Handler: m.hGetSession},
			{Name: "GetSessionByPID", In: []bus.Arg{arg("pid", "u")}, Out: []bus.Arg{arg("object_path", "o")}, Handler: m.hGetSessionByPID, Inline: true},
			{Name: "GetUser", In: []bus.Arg{arg("uid", "u")}, Out: []bus.Arg{arg("object_path", "o")}, Handler: m.hGetUser},
			{Name: "GetUserByPID", In: []bus.Arg{arg("pid", "u")}, Out: []bus.Arg{arg("object_path", "o")}, Handler: m.hGetUserByPID, Inline: true},
			{Name: "GetSeat", In: []bus.Arg{arg("seat_id", "s")}, Out: []bus.Arg{arg("object_path", "o")}, Handler: m.hGetSeat},
			{Name: "ListSessions", Out: []bus.Arg{arg("sessions", "a(susso)")}, Handler: m.hListSessions, Inline: true},
			{Name: "ListSessionsEx", Out: []bus.Arg{arg("sessions", "a(sussussbto)")}, Handler: m.hListSessionsEx, Inline: true},
			{Name: "ListUsers", Out: []bus.Arg{arg("users", "a(uso)")}, Handler: m.hListUsers},
			{Name: "ListSeats", Out: []bus.Arg{arg("seats", "a(so)")}, Handler: m.hListSeats},
			{Name: "ListInhibitors", Out: []bus.Arg{arg("inhibitors", "a(ssssuu)")}, Handler: m.hListInhibitors},
			{Name: "CreateSession", In: []bus.Arg{
				arg("uid", "u"), arg("pid", "u"), arg("service", "s"), arg("type", "s"), arg("class", "s"), arg("desktop", "s"),
				arg("seat_id", "s"), arg("vtnr", "u"), arg("tty", "s"), arg("display", "s"), arg("remote", "b"),
				arg("remote_user", "s"), arg("remote_host", "s"), arg("properties", "a(sv)")},
				Out: []bus.Arg{arg("session_id", "s"), arg("object_path", "o"), arg("runtime_path", "s"), arg("fifo_fd", "h"),
					arg("uid", "u"), arg("seat_id", "s"), arg("vtnr", "u"), arg("existing", "b")},
				Handler: m.hCreateSession},
			{Name: "CreateSessionWithPIDFD", In: []bus.Arg{
				arg("uid", "u"), arg("pidfd", "h"), arg("service", "s"), arg("type", "s"), arg("class", "s"), arg("desktop", "s"),
				arg("seat_id", "s"), arg("vtnr", "u"), arg("tty", "s"), arg("display", "s"), arg("remote", "b"),
				arg("remote_user", "s"), arg("remote_host", "s"), arg("flags", "t"), arg("properties", "a(sv)")},
				Out: []bus.Arg{arg("session_id", "s"), arg("object_path", "o"), arg("runtime_path", "s"), arg("fifo_fd", "h"),
					arg("uid", "u"), arg("seat_id", "s"), arg("vtnr", "u"), arg("existing", "b")},
				Handler: m.hCreateSessionWithPIDFD},
			{Name: "ReleaseSession", In: []bus.Arg{arg("session_id", "s")}, Handler: m.hReleaseSession},
			{Name: "ActivateSession", In: []bus.Arg{arg("session_id", "s")}, Handler: m.sessionArgOp(opActivate)},
			{Name: "ActivateSessionOnSeat", In: []bus.Arg{arg("session_id", "s"), arg("seat_id", "s")}, Handler: m.hActivateSessionOnSeat},
			{Name: "LockSession", In: []bus.Arg{arg("session_id", "s")}, Handler: m.sessionArgOp(opLock)},
			{Name: "UnlockSession", In: []bus.Arg{arg("session_id", "s")}, Handler: m.sessionArgOp(opUnlock)},
			{Name: "LockSessions", Handler: m.lockAll("Lock")},
			{Name: "UnlockSessions", Handler: m.lockAll("Unlock")},
			{Name: "KillSession", In: []bus.Arg{arg("session_id", "s"), arg("who", "s"), arg("signal_number", "i")}, Handler: m.hKillSession},
			{Name: "KillUser", In: []bus.Arg{arg("uid", "u"), arg("signal_number", "i")}, Handler: m.hKillUser},
			{Name: "TerminateSession", In: []bus.Arg{arg("session_id", "s")}, Handler: m.sessionArgOp(opTerminate)},
			{Name: "TerminateUser", In: []bus.Arg{arg("uid", "u")}, Handler: m.hTerminateUser},
			{Name: "TerminateSeat", In: []bus.Arg{arg("seat_id", "s")}, Handler: m.hTerminateSeat},
			{Name: "SetUserLinger", In: []bus.Arg{arg("uid", "u"), arg("enable", "b"), arg("interactive", "b")}, Handler: m.hSetUserLinger},
		},
		Properties: []bus.Property{
			{Name: "EnableWallMessages", Type: "b"}, {Name: "WallMessage", Type: "s"},
			{Name: "NAutoVTs", Type: "u", Flags: konst},
			{Name: "KillOnlyUsers", Type: "as", Flags: konst}, {Name: "KillExcludeUsers", Type: "as", Flags: konst},
			{Name: "KillUserProcesses", Type: "b", Flags: konst},
			{Name: "RebootParameter", Type: "s"}, {Name: "RebootToFirmwareSetup", Type: "b"},
			{Name: "RebootToBootLoaderMenu", Type: "t"}, {Name: "RebootToBootLoaderEntry", Type: "s"},
			{Name: "BootLoaderEntries", Type: "as", Flags: konst},
			{Name: "IdleHint", Type: "b", Flags: emits}, {Name: "IdleSinceHint", Type: "t", Flags: emits},
			{Name: "IdleSinceHintMonotonic", Type: "t", Flags: emits},
			{Name: "BlockInhibited", Type: "s", Flags: emits}, {Name: "BlockWeakInhibited", Type: "s", Flags: emits},
			{Name: "DelayInhibited", Type: "s", Flags: emits},
			{Name: "InhibitDelayMaxUSec", Type: "t", Flags: konst}, {Name: "UserStopDelayUSec", Type: "t", Flags: konst},
			{Name: "SleepOperation", Type: "as", Flags: konst},
			{Name: "HandlePowerKey", Type: "s", Flags: konst}, {Name: "HandlePowerKeyLongPress", Type: "s", Flags: konst},
			{Name: "HandleRebootKey", Type: "s", Flags: konst}, {Name: "HandleRebootKeyLongPress", Type: "s", Flags: konst},
			{Name: "HandleSuspendKey", Type: "s", Flags: konst}, {Name: "HandleSuspendKeyLongPress", Type: "s", Flags: konst},
			{Name: "HandleHibernateKey", Type: "s", Flags: konst}, {Name: "HandleHibernateKeyLongPress", Type: "s", Flags: konst},
			{Name: "HandleLidSwitch", Type: "s", Flags: konst}, {Name: "HandleLidSwitchExternalPower", Type: "s", Flags: konst},
			{Name: "HandleLidSwitchDocked", Type: "s", Flags: konst},
			{Name: "HoldoffTimeoutUSec", Type: "t", Flags: konst},
			{Name: "IdleAction", Type: "s", Flags: konst}, {Name: "IdleActionUSec", Type: "t", Flags: konst},
			{Name: "PreparingForShutdown", Type: "b"}, {Name: "PreparingForSleep", Type: "b"},
			{Name: "PreparingForShutdownWithMetadata", Type: "a{sv}"},
			{Name: "ScheduledShutdown", Type: "(st)", Flags: emits},
			{Name: "Docked", Type: "b"}, {Name: "LidClosed", Type: "b"}, {Name: "OnExternalPower", Type: "b"},
			{Name: "RemoveIPC", Type: "b", Flags: konst},
			{Name: "RuntimeDirectorySize", Type: "t", Flags: konst}, {Name: "RuntimeDirectoryInodesMax", Type: "t", Flags: konst},
			{Name: "InhibitorsMax", Type: "t", Flags: konst}, {Name: "NCurrentInhibitors", Type: "t"},
			{Name: "SessionsMax", Type: "t", Flags: konst}, {Name: "NCurrentSessions", Type: "t"},
			{Name: "UserTasksMax", Type: "t", Flags: hidden},
			{Name: "StopIdleSessionUSec", Type: "t", Flags: konst},
		},
		Signals: []bus.Signal{
			{Name: "SessionNew", Args: []bus.Arg{arg("session_id", "s"), arg("object_path", "o")}},
			{Name: "SessionRemoved", Args: []bus.Arg{arg("session_id", "s"), arg("object_path", "o")}},
			{Name: "UserNew", Args: []bus.Arg{arg("uid", "u"), arg("object_path", "o")}},
			{Name: "UserRemoved", Args: []bus.Arg{arg("uid", "u"), arg("object_path", "o")}},
			{Name: "SeatNew", Args: []bus.Arg{arg("seat_id", "s"), arg("object_path", "o")}},
			{Name: "SeatRemoved", Args: []bus.Arg{arg("seat_id", "s"), arg("object_path", "o")}},
			{Name: "PrepareForShutdown", Args: []bus.Arg{arg("start", "b")}},
			{Name: "PrepareForShutdownWithMetadata", Args: []bus.Arg{arg("start", "b"), arg("metadata", "a{sv}")}},
			{Name: "PrepareForSleep", Args: []bus.Arg{arg("start", "b")}},
		},
	}
	mgr.Methods = append(mgr.Methods, m.powerMethods()...)
	mgr.Methods = append(mgr.Methods, m.seatMethods()...)
	return mgr
}

// v wraps a property value.
func v(x any) godbus.Variant { return godbus.MakeVariant(x) }

const infinity = ^uint64(0)

// managerProps are the Manager object's properties.
func (s *state) managerProps() map[string]godbus.Variant {
	idle, rt, mono := s.idle()
	lc := &s.cfg.Login
	preparing := func(w inhibitWhat) bool { return s.power.action != nil && s.power.action.act.what == w }
	prepMeta := map[string]godbus.Variant{"preparing": v(preparing(inhibitShutdown))}
	if preparing(inhibitShutdown) {
		prepMeta["type"] = v(s.power.action.act.name)
	}
	return map[string]godbus.Variant{
		"EnableWallMessages": v(s.power.enableWall), "WallMessage": v(s.power.wallMessage),
		"NAutoVTs":      v(s.cfg.NAutoVTs),
		"KillOnlyUsers": v([]string{}), "KillExcludeUsers": v([]string{"root"}),
		"KillUserProcesses": v(false),
		"RebootParameter":   v(s.power.rebootParam), "RebootToFirmwareSetup": v(false),
		"RebootToBootLoaderMenu": v(infinity), "RebootToBootLoaderEntry": v(""),
		"BootLoaderEntries": v([]string{}),
		"IdleHint":          v(idle), "IdleSinceHint": v(rt), "IdleSinceHintMonotonic": v(mono),
		"BlockInhibited": v(s.inhibited(modeBlock)), "DelayInhibited": v(s.inhibited(modeDelay)),
		"BlockWeakInhibited": v(s.inhibited(modeBlockWeak)),
		"SleepOperation":     v(sleepOperations()), "InhibitDelayMaxUSec": v(usec(lc.InhibitDelayMax)), "UserStopDelayUSec": v(usec(lc.UserStopDelay)),
		"HandlePowerKey": v(lc.HandlePowerKey), "HandlePowerKeyLongPress": v(lc.HandlePowerKeyLongPress),
		"HandleRebootKey": v(lc.HandleRebootKey), "HandleRebootKeyLongPress": v(lc.HandleRebootKeyLongPress),
		"HandleSuspendKey": v(lc.HandleSuspendKey), "HandleSuspendKeyLongPress": v(lc.HandleSuspendKeyLongPress),
		"HandleHibernateKey": v(lc.HandleHibernateKey), "HandleHibernateKeyLongPress": v(lc.HandleHibernateKeyLongPress),
		"HandleLidSwitch": v(lc.HandleLidSwitch), "HandleLidSwitchExternalPower": v(lc.HandleLidSwitchExternalPower), // "": as HandleLidSwitch
		"HandleLidSwitchDocked": v(lc.HandleLidSwitchDocked),
		"HoldoffTimeoutUSec":    v(usec(lc.HoldoffTimeout)),
		"IdleAction":            v(lc.IdleAction), "IdleActionUSec": v(usec(lc.IdleActionTime)),
		"PreparingForShutdown": v(preparing(inhibitShutdown)), "PreparingForSleep": v(preparing(inhibitSleep)),
		"PreparingForShutdownWithMetadata": v(prepMeta),
		"ScheduledShutdown":                v(scheduled{s.power.scheduled.Type, s.power.scheduled.USec}),
		"Docked":                           v(s.power.docked), "LidClosed": v(s.power.lidClosed), "OnExternalPower": v(true),
		"RemoveIPC":            v(false),
		"RuntimeDirectorySize": v(lc.RuntimeDirectorySize), "RuntimeDirectoryInodesMax": v(lc.RuntimeDirectoryInodesMax),
		"InhibitorsMax": v(lc.InhibitorsMax), "NCurrentInhibitors": v(uint64(len(s.inhibitors))),
		"SessionsMax": v(uint64(s.cfg.SessionsMax)), "NCurrentSessions": v(uint64(len(s.sessions))),
		"UserTasksMax":        v(infinity),
		"StopIdleSessionUSec": v(infinity),
	}
}

// idle is the Manager's IdleHint: every session idle, since the latest.
func (s *state) idle() (bool, uint64, uint64) {
	var rt, mono uint64
	for _, ss := range s.sessions {
		if !ss.IdleHint {
			return false, 0, 0 // one busy session decides: no need to see the rest
		}
		if ss.IdleRealtime > rt {
			rt, mono = ss.IdleRealtime, ss.IdleMonotonic
		}
	}
	return true, rt, mono
}

// Lookup resolves object paths for the dbus.Tree.
func (m *Manager) Lookup(path godbus.ObjectPath) (*bus.Object, bool) {
	p := string(path)
	switch p {
	case "/":
		return &bus.Object{Children: []string{"org"}}, true
	case "/org":
		return &bus.Object{Children: []string{"freedesktop"}}, true
	case "/org/freedesktop":
		return &bus.Object{Children: []string{"login1"}}, true
	case string(ManagerPath):
		return &bus.Object{Interfaces: []*bus.Interface{m.ifc.manager}, Props: m.props, Children: []string{"seat", "session", "user"}}, true
	case sessionDir, seatDir, userDir:
		return &bus.Object{Children: m.view.children(p)}, true
	}
	dir, label := filepath.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	var ifc *bus.Interface
	switch dir {
	case sessionDir:
		ifc = m.ifc.session
	case seatDir:
		ifc = m.ifc.seat
	case userDir:
		ifc = m.ifc.user
	default:
		return nil, false
	}
	if isSelfLabel(label) {
		// Which object self is needs the caller and the owner.
		return &bus.Object{Interfaces: []*bus.Interface{ifc}, Props: m.props}, true
	}
	if !m.published(dir, label) {
		return nil, false
	}
	// A named object's properties come from the view (props).
	return &bus.Object{Interfaces: []*bus.Interface{ifc}, Props: m.props, InlineProps: true}, true
}

// published reports whether the object labelled label below dir is in
// the view.
func (m *Manager) published(dir, label string) bool {
	switch dir {
	case sessionDir:
		id, ok := bus.UnescapeLabel(label)
		if ok {
			_, ok = m.view.session(id)
		}
		return ok
	case seatDir:
		id, ok := bus.UnescapeLabel(label)
		if ok {
			_, ok = m.view.seatProps(id)
		}
		return ok
	default:
		uid, ok := parseUserLabel(label)
		if ok {
			_, ok = m.view.userProps(uid)
		}
		return ok
	}
}

// props serves Properties.Get/GetAll for every login1 object: from the
// view for a session, seat or user named by its path, from the owner
// for the Manager and for self/auto (which need the caller).
func (m *Manager) props(c *bus.Call, iface string) (map[string]godbus.Variant, error) {
	if label := lastElem(c); !isSelfLabel(label) {
		dir := string(c.Path[:len(c.Path)-len(label)-1])
		var (
			out map[string]godbus.Variant
			ok  bool
		)
		switch {
		case iface == IfaceSession && dir == sessionDir:
			var sv *sessionView
			if id, valid := bus.UnescapeLabel(label); valid {
				if sv, ok = m.view.session(id); ok {
					out = sv.props()
				}
			}
			if !ok {
				return nil, bus.Errorf(bus.ErrNoSuchSession, "No session '%s' known", label)
			}
			return out, nil
		case iface == IfaceSeat && dir == seatDir:
			if id, valid := bus.UnescapeLabel(label); valid {
				out, ok = m.view.seatProps(id)
			}
			if !ok {
				return nil, bus.Errorf(bus.ErrNoSuchSeat, "No seat '%s' known", label)
			}
			return out, nil
		case iface == IfaceUser && dir == userDir:
			if uid, valid := parseUserLabel(label); valid {
				out, ok = m.view.userProps(uid)
			}
			if !ok {
				return nil, bus.Errorf(bus.ErrNoSuchUser, "User %s is not logged in or lingering", label)
			}
			return out, nil
		}
	}
	var out map[string]godbus.Variant
	switch iface {
	case IfaceManager:
		err := m.do(func(s *state) error { out = s.managerProps(); return nil })
		return out, err
	case IfaceSession:
		err := m.withSessionObj(c, func(s *state, ss *session) error { out = s.sessionProps(ss); return nil })
		return out, err
	case IfaceSeat:
		err := m.withSeatObj(c, func(s *state, st *seat) error { out = s.seatProps(st); return nil })
		return out, err
	case IfaceUser:
		err := m.withUserObj(c, func(s *state, u *user) error { out = s.userProps(u); return nil })
		return out, err
	}
	return nil, bus.Errorf(bus.ErrUnknownInterface, "Unknown interface '%s'.", iface)
}

// sessionOfPID is the session pid is in: the one it leads, as logind
// answers first (no /proc read), else the one its cgroup names.
func (m *Manager) sessionOfPID(pid uint32) string {
	if id, ok := m.view.ledBy(pid); ok {
		return id
	}
	id, _ := m.cfg.Host.SessionOfPID(int(pid))
	return id
}

// withPIDSession runs f on the published view of the session that the pid
// argument (0: the caller's) is in; notFound is the error when it is in
// none we know (GetSessionByPID, GetUserByPID).
func (m *Manager) withPIDSession(c *bus.Call, notFound func(pid uint32) error, f func(sv *sessionView)) error {
	var pid uint32
	if err := c.Store(&pid); err != nil {
		return err
	}
	if pid == 0 {
		cl, err := m.cfg.PeerCreds(c)
		if err != nil {
			return bus.Errorf(bus.ErrFailed, "cannot identify caller: %v", err)
		}
		pid = cl.PID
	}
	sv, ok := m.view.session(m.sessionOfPID(pid))
	if !ok {
		return notFound(pid)
	}
	f(sv)
	return nil
}

// arg is one named argument of a method or signal.
func arg(name, typ string) bus.Arg { return bus.Arg{Name: name, Type: typ} }

// na answers a Can… method whose action this machine cannot do.
func na(*bus.Call) ([]any, error) { return []any{"na"}, nil }

// notSupported answers a method sessiond does not carry out.
func notSupported(msg string) func(*bus.Call) ([]any, error) {
	return func(*bus.Call) ([]any, error) { return nil, bus.Errorf(bus.ErrNotSupported, "%s", msg) }
}
