package session

import (
	"fmt"
	"strconv"
	"strings"
)

// Item names a PAM item the module reads.
type Item int

// The PAM items CreateSession's arguments come from.
const (
	ItemService Item = iota
	ItemUser
	ItemTTY
	ItemRUser
	ItemRHost
	ItemXDisplay
)

// Request is CreateSession's arguments in the order of the D-Bus
// signature uusssssussbssa(sv); the trailing properties array is always
// sent empty.
type Request struct {
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
}

// Inputs is everything the request is deduced from, already read from
// PAM and the process environment.
type Inputs struct {
	UID  uint32
	PID  int
	Opts Options
	// Items are the PAM items; a missing item is "".
	Items map[Item]string
	// Env looks a variable up in the PAM environment first and the
	// process environment second; "" when neither has it.
	Env func(name string) string
	// DisplayVT returns the VT of a local X display's server, 0 if it
	// has none or cannot be found; nil skips the lookup.
	DisplayVT func(display string) uint32
}

// BuildRequest deduces CreateSession's arguments like pam_systemd: the
// XDG_* variables override the module options; a PAM_TTY with a colon is
// an X display, whose server's VT (if any) gives seat0 and the vtnr; cron and ssh put placeholders into PAM_TTY that are no
// terminals; a /dev/ prefix is dropped; a ttyN terminal is virtual
// console N; the type follows from display or tty and the class from the
// type. The notes say what was adjusted (for debug logging).
func BuildRequest(in Inputs) (Request, []string) {
	var notes []string
	env := func(name, fallback string) string {
		if in.Env != nil {
			if v := in.Env(name); v != "" {
				return v
			}
		}
		return fallback
	}
	r := Request{
		UID:        in.UID,
		PID:        uint32(in.PID),
		Service:    in.Items[ItemService],
		Display:    in.Items[ItemXDisplay],
		RemoteUser: in.Items[ItemRUser],
		RemoteHost: in.Items[ItemRHost],
		Seat:       env("XDG_SEAT", ""),
		Type:       env("XDG_SESSION_TYPE", in.Opts.Type),
		Class:      env("XDG_SESSION_CLASS", in.Opts.Class),
		Desktop:    env("XDG_SESSION_DESKTOP", in.Opts.Desktop),
	}
	if v := env("XDG_VTNR", ""); v != "" {
		// A malformed number is ignored (vtnr 0), as pam_systemd does.
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			r.VTNr = uint32(n)
		} else {
			notes = append(notes, "ignoring XDG_VTNR="+v)
		}
	}

	tty := in.Items[ItemTTY]
	switch {
	case strings.Contains(tty, ":"):
		// Display managers put the X display into PAM_TTY so that it
		// shows up in utmp; it is no terminal.
		if r.Display == "" {
			r.Display = tty
		}
		tty = ""
	case tty == "cron":
		// cron sets PAM_TTY only to please other modules; its jobs have
		// no terminal and are background sessions.
		r.Type, r.Class, tty = "unspecified", "background", ""
	case tty == "ssh":
		// sshd registers the session before it knows whether it will
		// allocate a pty.
		r.Type, r.Class, tty = "tty", "user", ""
	default:
		tty = strings.TrimPrefix(tty, "/dev/")
	}
	r.TTY = tty

	if n := vtOfTTY(tty); n > 0 && r.VTNr == 0 && (r.Seat == "" || r.Seat == "seat0") {
		r.VTNr = n
	}
	// An X server started on a VT (startx, xdm) makes its display a
	// seat0 session on that VT.
	if r.Display != "" && r.VTNr == 0 && (r.Seat == "" || r.Seat == "seat0") && in.DisplayVT != nil {
		if n := in.DisplayVT(r.Display); n > 0 {
			r.VTNr, r.Seat = n, "seat0"
			notes = append(notes, fmt.Sprintf("display %s is on VT %d", r.Display, n))
		}
	}
	if r.Seat != "" && r.Seat != "seat0" && r.VTNr != 0 {
		notes = append(notes, "ignoring vtnr "+strconv.Itoa(int(r.VTNr))+" for "+r.Seat+", which is not seat0")
		r.VTNr = 0
	}
	if r.Type == "" {
		switch {
		case r.Display != "":
			r.Type = "x11"
		case r.TTY != "":
			r.Type = "tty"
		default:
			r.Type = "unspecified"
		}
	}
	if r.Class == "" {
		r.Class = "user"
		if r.Type == "unspecified" {
			r.Class = "background"
		}
	}
	r.Remote = r.RemoteHost != "" && !isLocalhost(r.RemoteHost)
	return r, notes
}

// vtOfTTY returns N for a virtual console "ttyN" (1..63), else 0.
func vtOfTTY(tty string) uint32 {
	digits, ok := strings.CutPrefix(tty, "tty")
	if !ok || digits == "" || digits[0] == '0' {
		return 0
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n > 63 {
		return 0
	}
	return uint32(n)
}

// isLocalhost reports whether a PAM_RHOST names this machine: the
// RFC 6761 localhost names and the localhost.localdomain convention, as
// systemd decides "remote". Addresses such as 127.0.0.1 count as remote
// there too.
func isLocalhost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "localhost" || h == "localhost.localdomain" ||
		strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".localhost.localdomain")
}
