// Package session is the logic of pam_sessiond.so, kept apart from the
// cgo shim so that it runs and is tested without PAM: which arguments
// CreateSession gets (the ones pam_systemd sends, deduced the same way),
// what goes into the PAM environment from the reply, how the session FIFO
// is held, and the failure policy (log and let the login proceed).
package session

import (
	"strconv"
	"strings"
	"time"
)

// Options are the module arguments from the PAM configuration line.
type Options struct {
	// Class, Type and Desktop are defaults; XDG_SESSION_CLASS,
	// XDG_SESSION_TYPE and XDG_SESSION_DESKTOP (PAM environment, then
	// process environment) take precedence, as with pam_systemd.
	Class, Type, Desktop string
	// Debug logs the CreateSession arguments and every step at LOG_DEBUG.
	Debug bool
	// Strict makes a failure to create or release the session fail the
	// PAM call (PAM_SESSION_ERR) instead of logging it and succeeding.
	Strict bool
	// BusWait (bus_wait=SECONDS, default DefaultBusWait, 0: off) bounds
	// how long open_session waits for the user's session bus to accept
	// connections when the user has a service manager. sessiond answers
	// CreateSession once the manager is ready; this covers a sessiond
	// that stopped waiting (its own bound) and never fails the login.
	BusWait time.Duration
}

// DefaultBusWait is bus_wait's default.
const DefaultBusWait = 5 * time.Second

// ParseOptions parses module arguments. Arguments it does not know (or
// whose value is malformed) are returned so the caller can log them; they
// never fail the login.
func ParseOptions(args []string) (Options, []string) {
	o := Options{BusWait: DefaultBusWait}
	var unknown []string
	for _, a := range args {
		key, val, hasVal := strings.Cut(a, "=")
		switch key {
		case "class":
			o.Class = val
		case "type":
			o.Type = val
		case "desktop":
			o.Desktop = val
		case "bus_wait":
			sec, err := strconv.ParseFloat(val, 64)
			if err != nil || sec < 0 || sec > 600 {
				unknown = append(unknown, a)
				continue
			}
			o.BusWait = time.Duration(sec * float64(time.Second))
		case "debug", "strict":
			b := true
			if hasVal {
				var err error
				if b, err = parseBool(val); err != nil {
					unknown = append(unknown, a)
					continue
				}
			}
			if key == "debug" {
				o.Debug = b
			} else {
				o.Strict = b
			}
		default:
			unknown = append(unknown, a)
		}
	}
	return o, unknown
}

// parseBool accepts the spellings pam_systemd's debug= does.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, nil
	case "0", "no", "n", "false", "f", "off":
		return false, nil
	}
	return strconv.ParseBool(s)
}
