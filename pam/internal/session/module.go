package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Priority is a syslog priority for Handle.Log.
type Priority int

// The priorities the module logs at.
const (
	Debug Priority = iota
	Warning
	Error
)

// Kept is what open_session leaves in the PAM handle for close_session.
type Kept struct {
	ID       string
	FIFO     int // the session's reference FIFO, -1 if none
	Existing bool
}

// Handle is the part of the PAM handle the module uses. The cgo shim
// implements it over pam_get_item, pam_getenv, pam_putenv, pam_set_data
// and pam_syslog; tests use a fake.
type Handle interface {
	Item(Item) (string, error)
	// GetEnv reads the PAM environment.
	GetEnv(name string) string
	// PutEnv sets a PAM environment variable.
	PutEnv(name, value string) error
	// Keep stores k in the handle; the FIFO is closed when the data is
	// dropped or the handle ends (pam_end), whichever comes first.
	Keep(k Kept) error
	// Kept returns what Keep stored, if anything.
	Kept() (Kept, bool)
	// Drop forgets the kept data and closes the FIFO.
	Drop()
	Log(p Priority, msg string)
}

// Bus is the login1 client: a connection used for one call, then closed.
type Bus interface {
	CreateSession(ctx context.Context, r Request) (Reply, error)
	ReleaseSession(ctx context.Context, id string) error
	Close() error
}

// Reply is CreateSession's answer (signature soshusub).
type Reply struct {
	ID          string
	ObjectPath  string
	RuntimePath string
	FIFO        int // received descriptor, owned by the caller; -1 if none
	UID         uint32
	Seat        string
	VTNr        uint32
	Existing    bool
}

// ErrUnreachable wraps failures to reach sessiond at all (no bus, or
// nobody owns org.freedesktop.login1): the expected state on a machine
// without sessiond, logged as a warning rather than an error.
var ErrUnreachable = errors.New("login1 not reachable")

// ErrSessionBusy is returned by Bus.CreateSession when the caller already
// is in a session (su, sudo inside a login): no new session is made.
var ErrSessionBusy = errors.New("already in a session")

// ErrNoSuchSession is returned by Bus.ReleaseSession for a session that
// has already ended.
var ErrNoSuchSession = errors.New("no such session")

// System is the module's view of the machine, injected so tests need no
// bus, no user database and no PAM.
type System struct {
	// Dial connects to the system bus at address.
	Dial func(ctx context.Context, address string) (Bus, error)
	// LookupUID maps a user name to its uid.
	LookupUID func(name string) (uint32, error)
	// Getenv reads the process environment; SecureGetenv does too but
	// returns "" in a set-uid program, where the environment belongs to
	// the invoking user (the bus address must not come from there).
	Getenv, SecureGetenv func(name string) string
	Getpid               func() int
	// DisplayVT finds the VT of a local X display's server (nil: never).
	DisplayVT func(display string) (uint32, error)
	// Timeout bounds connecting plus one call.
	Timeout time.Duration
}

// DefaultSystemBus is used when DBUS_SYSTEM_BUS_ADDRESS is unset.
const DefaultSystemBus = "unix:path=/run/dbus/system_bus_socket"

// DefaultTimeout is how long a login waits for sessiond before giving up
// (and, unless strict, proceeding without a session).
const DefaultTimeout = 25 * time.Second

func (s System) busAddress() string {
	if a := s.SecureGetenv("DBUS_SYSTEM_BUS_ADDRESS"); a != "" {
		return a
	}
	return DefaultSystemBus
}

func (s System) context() (context.Context, context.CancelFunc) {
	t := s.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	return context.WithTimeout(context.Background(), t)
}

// module is one PAM call's state: the handle and the parsed options.
type module struct {
	h    Handle
	opts Options
}

func newModule(h Handle, args []string) *module {
	opts, unknown := ParseOptions(args)
	m := &module{h: h, opts: opts}
	for _, a := range unknown {
		h.Log(Warning, "ignoring unknown or malformed option "+strconv.Quote(a))
	}
	return m
}

func (m *module) debugf(format string, a ...any) {
	if m.opts.Debug {
		m.h.Log(Debug, fmt.Sprintf(format, a...))
	}
}

// fail applies the failure policy: log, then succeed unless strict.
// Not reaching sessiond at all is a warning (a machine without it), any
// other failure an error.
func (m *module) fail(err error, consequence string) error {
	p := Error
	if errors.Is(err, ErrUnreachable) {
		p = Warning
	}
	if m.opts.Strict {
		m.h.Log(p, err.Error())
		return err
	}
	m.h.Log(p, err.Error()+"; "+consequence)
	return nil
}

const (
	noSession = "continuing without a session"
	ignored   = "ignored"
)

// Open is pam_sm_open_session: it asks sessiond for a session, exports
// its variables into the PAM environment and keeps its FIFO in the
// handle. A nil error means PAM_SUCCESS.
func Open(h Handle, sys System, args []string) error {
	m := newModule(h, args)
	user, err := h.Item(ItemUser)
	if err != nil {
		return m.fail(fmt.Errorf("open session: PAM_USER: %w", err), noSession)
	}
	if user == "" {
		return m.fail(errors.New("open session: PAM_USER is not set"), noSession)
	}
	uid, err := sys.LookupUID(user)
	if err != nil {
		return m.fail(fmt.Errorf("open session: look up user %q: %w", user, err), noSession)
	}
	items := map[Item]string{}
	for _, it := range []Item{ItemService, ItemTTY, ItemRUser, ItemRHost, ItemXDisplay} {
		if v, err := h.Item(it); err == nil {
			items[it] = v
		}
	}
	in := Inputs{UID: uid, PID: sys.Getpid(), Opts: m.opts, Items: items, Env: func(n string) string {
		if v := h.GetEnv(n); v != "" {
			return v
		}
		return sys.Getenv(n)
	}}
	if sys.DisplayVT != nil {
		in.DisplayVT = func(d string) uint32 {
			n, err := sys.DisplayVT(d)
			if err != nil {
				m.debugf("no VT for display %s: %v", d, err)
			}
			return n
		}
	}
	req, notes := BuildRequest(in)
	for _, n := range notes {
		m.debugf("%s", n)
	}
	m.debugf("CreateSession uid=%d pid=%d service=%q type=%q class=%q desktop=%q seat=%q vtnr=%d tty=%q display=%q remote=%t remote_user=%q remote_host=%q",
		req.UID, req.PID, req.Service, req.Type, req.Class, req.Desktop, req.Seat, req.VTNr, req.TTY, req.Display, req.Remote, req.RemoteUser, req.RemoteHost)

	ctx, cancel := sys.context()
	defer cancel()
	addr := sys.busAddress()
	b, err := sys.Dial(ctx, addr)
	if err != nil {
		return m.fail(fmt.Errorf("open session for %s: system bus %s: %w", user, addr, err), noSession)
	}
	rep, err := b.CreateSession(ctx, req)
	// The connection is not needed for the session's lifetime: only the
	// FIFO is. Closing it also stops the client's goroutines before we
	// return into the PAM application.
	_ = b.Close()
	if errors.Is(err, ErrSessionBusy) {
		m.debugf("not creating a session: %v", err)
		return nil
	}
	if err != nil {
		return m.fail(fmt.Errorf("open session for %s: CreateSession: %w", user, err), noSession)
	}
	return m.apply(uid, req, rep)
}

// apply keeps the FIFO and exports the session's variables.
func (m *module) apply(uid uint32, req Request, rep Reply) error {
	fd := -1
	if rep.FIFO >= 0 {
		// A descriptor above stdio, close-on-exec: the session shell must
		// not inherit it, and an application that closed 0-2 must not
		// get it as its stdin.
		nfd, err := unix.FcntlInt(uintptr(rep.FIFO), unix.F_DUPFD_CLOEXEC, 3)
		_ = unix.Close(rep.FIFO)
		if err != nil {
			return m.fail(fmt.Errorf("session %s: duplicate FIFO descriptor %d: %w", rep.ID, rep.FIFO, err), noSession)
		}
		fd = nfd
	}
	if err := m.h.Keep(Kept{ID: rep.ID, FIFO: fd, Existing: rep.Existing}); err != nil {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
		return m.fail(fmt.Errorf("session %s: keep FIFO in the PAM handle: %w", rep.ID, err), noSession)
	}
	m.debugf("session %s (%s) created, runtime %s, seat %q, vtnr %d, existing %t", rep.ID, rep.ObjectPath, rep.RuntimePath, rep.Seat, rep.VTNr, rep.Existing)

	vars := [][2]string{{"XDG_SESSION_ID", rep.ID}}
	// A runtime directory is only exported for the user it belongs to:
	// a session that already existed may be another user's.
	if rep.UID == uid {
		if ok, why := validRuntimeDir(rep.RuntimePath, uid); ok {
			m.waitForBus(rep.RuntimePath)
			vars = append(vars, [2]string{"XDG_RUNTIME_DIR", rep.RuntimePath})
			if _, err := os.Lstat(rep.RuntimePath + "/bus"); err == nil {
				vars = append(vars, [2]string{"DBUS_SESSION_BUS_ADDRESS", "unix:path=" + escapeBusAddress(rep.RuntimePath+"/bus")})
			}
		} else {
			m.h.Log(Warning, "not setting XDG_RUNTIME_DIR: "+why)
		}
	}
	vars = append(vars, [2]string{"XDG_SESSION_TYPE", req.Type}, [2]string{"XDG_SESSION_CLASS", req.Class},
		[2]string{"XDG_SESSION_DESKTOP", req.Desktop}, [2]string{"XDG_SEAT", rep.Seat})
	if rep.VTNr > 0 {
		vars = append(vars, [2]string{"XDG_VTNR", strconv.FormatUint(uint64(rep.VTNr), 10)})
	}
	for _, kv := range vars {
		if kv[1] == "" || m.h.GetEnv(kv[0]) == kv[1] {
			continue
		}
		if err := m.h.PutEnv(kv[0], kv[1]); err != nil {
			return m.fail(fmt.Errorf("session %s: set %s in the PAM environment: %w", rep.ID, kv[0], err), "continuing")
		}
	}
	return nil
}

// waitForBus waits, at most the bus_wait option, until the session bus in
// the runtime directory accepts connections, when the user has a service
// manager there (its control socket, ginitctl) to bring the bus up: the
// first command of the login can then use the bus. Without a manager it
// does not wait; it never fails.
func (m *module) waitForBus(runtime string) {
	if m.opts.BusWait <= 0 {
		return
	}
	if _, err := os.Lstat(runtime + "/ginitctl"); err != nil {
		m.debugf("no user manager in %s: not waiting for the session bus", runtime)
		return
	}
	deadline := time.Now().Add(m.opts.BusWait)
	pause := 2 * time.Millisecond
	for {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			m.h.Log(Warning, "wait for the session bus: "+err.Error())
			return
		}
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: runtime + "/bus"})
		_ = unix.Close(fd)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			m.h.Log(Warning, fmt.Sprintf("session bus %s/bus not ready after %v (%v); continuing", runtime, m.opts.BusWait, err))
			return
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// validRuntimeDir checks that path is an absolute directory owned by uid
// (not a symlink), so that we never point a user at somebody else's
// directory.
func validRuntimeDir(path string, uid uint32) (bool, string) {
	if path == "" || !strings.HasPrefix(path, "/") {
		return false, fmt.Sprintf("runtime path %q is not absolute", path)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return false, err.Error()
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok {
		return false, path + " is not a directory"
	}
	if st.Uid != uid {
		return false, fmt.Sprintf("%s is owned by uid %d, not %d", path, st.Uid, uid)
	}
	return true, ""
}

// escapeBusAddress escapes a value for a D-Bus address: every byte but
// [-0-9A-Za-z_/.\*] becomes %xx.
func escapeBusAddress(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("-_/.\\*", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// Close is pam_sm_close_session: it releases the session it opened
// (unless the session existed before) and closes the FIFO. A nil error
// means PAM_SUCCESS.
func Close(h Handle, sys System, args []string) error {
	m := newModule(h, args)
	k, ok := h.Kept()
	if !ok {
		m.debugf("close session: no session was opened by this handle")
		return nil
	}
	// Release first, FIFO after: sessiond then sees an orderly end
	// rather than an abandoned session.
	defer h.Drop()
	if k.Existing || k.ID == "" {
		m.debugf("close session: session %q existed before, not releasing it", k.ID)
		return nil
	}
	ctx, cancel := sys.context()
	defer cancel()
	addr := sys.busAddress()
	b, err := sys.Dial(ctx, addr)
	if err != nil {
		return m.fail(fmt.Errorf("close session %s: system bus %s: %w", k.ID, addr, err), ignored)
	}
	err = b.ReleaseSession(ctx, k.ID)
	_ = b.Close()
	if errors.Is(err, ErrNoSuchSession) {
		// Ended already, e.g. by loginctl terminate-session.
		m.debugf("close session %s: already gone", k.ID)
		return nil
	}
	if err != nil {
		return m.fail(fmt.Errorf("close session %s: ReleaseSession: %w", k.ID, err), ignored)
	}
	m.debugf("session %s released", k.ID)
	return nil
}

func closeFD(fd int) { _ = unix.Close(fd) }

// LookupUID is System.LookupUID over the user database (NSS through
// getpwnam_r, as the module is built with cgo).
func LookupUID(name string) (uint32, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	return uint32(uid), nil
}
