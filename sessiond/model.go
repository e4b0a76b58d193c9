package sessiond

import (
	"strings"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// Object path prefixes of login1.
const (
	BusName     = "org.freedesktop.login1"
	ManagerPath = godbus.ObjectPath("/org/freedesktop/login1")
	sessionDir  = "/org/freedesktop/login1/session"
	seatDir     = "/org/freedesktop/login1/seat"
	userDir     = "/org/freedesktop/login1/user"
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
	ID           string
	UID          uint32
	UserName     string
	Seat         string // "" when seatless
	VTNr         uint32
	Position     uint32
	TTY          string
	Display      string
	Remote       bool
	RemoteHost   string
	RemoteUser   string
	Service      string
	Desktop      string
	Type         string
	OriginalType string
	Class        string
	Leader       uint32
	Audit        uint32
	Realtime     uint64 // µs since the epoch
	Monotonic    uint64 // µs of CLOCK_MONOTONIC
	FIFO         string // path of the reference FIFO
	Scope        string // session-<id>.scope, "" when placement failed

	IdleHint      bool
	IdleRealtime  uint64
	IdleMonotonic uint64
	LockedHint    bool

	Stopping bool // released, terminated or its FIFO closed
	FIFOOpen bool // some writer still holds the FIFO (as far as we know)

	Controller string // unique bus name of the session controller
	devices    map[devKey]*device

	fifo      fifoHandle
	killTime  stopper // pending SIGKILL after a terminate
	stopWatch func()  // ends the cgroup watch
}

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
	Stopping  bool
}

// seat is a seat; seat0 always exists.
type seat struct {
	ID       string
	Sessions []string
	Active   string
	HasVTs   bool
	CanGraph bool
}

func sessionPath(id string) godbus.ObjectPath {
	return godbus.ObjectPath(sessionDir + "/" + bus.EscapeLabel(id))
}

func seatPath(id string) godbus.ObjectPath {
	return godbus.ObjectPath(seatDir + "/" + bus.EscapeLabel(id))
}

func userPath(uid uint32) godbus.ObjectPath {
	return godbus.ObjectPath(userDir + "/_" + utoa(uid))
}

// validSessionID is what sd-login accepts as a session id.
func validSessionID(id string) bool {
	if id == "" {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

var validTypes = map[string]bool{"unspecified": true, "tty": true, "x11": true, "wayland": true, "mir": true, "web": true}
var validClasses = map[string]bool{"user": true, "greeter": true, "lock-screen": true, "background": true}

func isGraphical(t string) bool { return t == "x11" || t == "wayland" || t == "mir" }

// ttyVT returns N for "ttyN" (a virtual console), else 0.
func ttyVT(tty string) uint32 {
	rest, ok := strings.CutPrefix(tty, "tty")
	if !ok || rest == "" || len(rest) > 2 {
		return 0
	}
	var n uint32
	for _, c := range rest {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint32(c-'0')
	}
	if n < 1 || n > 63 {
		return 0
	}
	return n
}

func utoa(u uint32) string {
	if u == 0 {
		return "0"
	}
	var b [10]byte
	i := len(b)
	for u > 0 {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
	}
	return string(b[i:])
}
