package sessiond

import (
	"os"
	"syscall"
	"time"

	"ginit/sessiond/sys"
)

// Host is what sessiond does to the machine besides writing its own state
// files, by concern. The daemon uses sys.Host; tests use a fake.
type Host interface {
	Scopes
	Accounts
	Processes
	Devices
}

// sys.Host is the machine's.
var _ Host = (*sys.Host)(nil)

// Scopes are the sessions' cgroups: user.slice/user-UID.slice/session-ID.scope.
type Scopes interface {
	// PlaceInScope creates the scope and moves pid into it, so that its
	// future children are in the session.
	PlaceInScope(uid uint32, id string, pid int) error
	// ScopePopulated reports whether any process is left in the scope.
	ScopePopulated(uid uint32, id string) bool
	// WatchScope calls changed (on any goroutine) whenever the scope's
	// populated state may have changed. stop ends the watch.
	WatchScope(uid uint32, id string, changed func()) (stop func(), err error)
	// KillScope sends sig to every process in the scope.
	KillScope(uid uint32, id string, sig syscall.Signal) error
	// RemoveScope removes the (empty) scope cgroup, and the user slice if
	// it is empty too.
	RemoveScope(uid uint32, id string)
	// SessionOfPID finds the session id in pid's cgroup path.
	SessionOfPID(pid int) (id string, ok bool)
}

// Accounts are the user database and the users' runtime directories.
type Accounts interface {
	// CreateRuntimeDir makes path a tmpfs (or at least a directory) of
	// mode 0700 owned by uid:gid.
	CreateRuntimeDir(path string, uid, gid uint32) error
	// RemoveRuntimeDir unmounts and removes path.
	RemoveRuntimeDir(path string) error
	// LookupUser returns the user's name and primary group.
	LookupUser(uid uint32) (name string, gid uint32, err error)
	// LookupName returns the uid of a user name.
	LookupName(name string) (uint32, error)
}

// Processes are single processes: a session's leader.
type Processes interface {
	// AuditSessionID returns pid's audit session id when it has one.
	AuditSessionID(pid int) (uint32, bool)
	// Kill sends sig to one process.
	Kill(pid int, sig syscall.Signal) error
}

// Devices are the device nodes handed to session controllers.
type Devices interface {
	// LookupDevice finds character device major:minor in sysfs: a DRM
	// card, an evdev or a hidraw node (anything else is ENODEV), its node
	// and its seat.
	LookupDevice(major, minor uint32) (sys.DeviceInfo, error)
	// OpenDevice opens d's node read-write for a session controller,
	// following no symlink, and checks it is d.
	OpenDevice(d sys.DeviceInfo) (*os.File, error)
	// SetDeviceAccess gives (DRM master) or takes back (DRM master
	// dropped, evdev/hidraw revoked) the access of every descriptor that
	// shares f's open file description.
	SetDeviceAccess(d sys.DeviceInfo, f *os.File, on bool) error
	// AdoptDevice finds d among process pid's descriptors (a controller
	// a previous sessiond gave it to) and returns a descriptor of the
	// same open file description, so its access can be revoked again.
	AdoptDevice(pid int, d sys.DeviceInfo) (*os.File, error)
}

// VTs drives the virtual terminals of seat0. nil means seat0 has none.
type VTs interface {
	// Active returns the foreground VT number.
	Active() (uint32, error)
	// Activate switches to VT n.
	Activate(n uint32) error
	// Watch calls changed(n) on a goroutine of its own whenever the
	// foreground VT changes, until stop is called.
	Watch(changed func(n uint32)) (stop func(), err error)
}

// Buttons delivers the machine's power keys and lid/dock switches.
type Buttons interface {
	// Watch calls ev (on goroutines of its own) for every event until
	// stop is called.
	Watch(ev func(sys.InputEvent)) (stop func(), err error)
}

// Clock is injected so tests control time stamps and timers.
type Clock interface {
	Now() time.Time
	// Monotonic is CLOCK_MONOTONIC, for the …Monotonic properties and
	// MONOTONIC= in the state files.
	Monotonic() time.Duration
	AfterFunc(d time.Duration, f func()) stopper
}

type stopper interface{ Stop() bool }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the wall time.
func (SystemClock) Now() time.Time { return time.Now() }

// Monotonic reads CLOCK_MONOTONIC.
func (SystemClock) Monotonic() time.Duration { return sys.Monotonic() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }
