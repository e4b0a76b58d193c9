package sessiond

import (
	"context"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// caller is the sender's credentials plus the session its pid is in.
type caller struct {
	bus.Creds
	session string // from the cgroup; may be unknown to us
	// find, if set, gives session at its first use (sessionID): most
	// calls never need it, and reading /proc/PID/cgroup for each was a
	// quarter of sessiond's CPU under a flood of calls.
	find func() string
}

// sessionID is the session the caller's process is in ("" if none). Only
// the owner loop calls it (it may fill in session).
func (cl *caller) sessionID() string {
	if cl.find != nil {
		cl.session, cl.find = cl.find(), nil
	}
	return cl.session
}

func (m *Manager) caller(c *bus.Call) (caller, error) {
	cr, err := m.cfg.PeerCreds(c)
	if err != nil {
		return caller{}, bus.Errorf(bus.ErrFailed, "cannot identify caller: %v", err)
	}
	return caller{Creds: cr, find: func() string { return m.sessionOfPID(cr.PID) }}, nil
}

// A rule is who may make one call besides root: the user the call
// concerns (owner), and whoever polkit — or, with no polkit on the bus,
// logind's default policy — allows the action. Every call, power,
// inhibit, session, seat or user, is decided by the same steps (local,
// then check), so one caller gets one answer for one question.
type rule struct {
	what   string // the call, named in a denial
	owner  uint32 // the user the call concerns; noOwner: nobody's
	action string // the polkit action; "": nobody but root and the owner
}

// noOwner is a rule's owner when a call concerns no user (uid -1 is
// nobody's, as in logind).
const noOwner = ^uint32(0)

// actionRule is the rule of a call polkit decides.
func actionRule(action string) rule { return rule{owner: noOwner, action: action} }

// local decides what needs neither polkit nor the state: root and the
// owner may; a rule without an action allows nobody else. final is false
// when polkit (or the default policy) must be asked.
func (r rule) local(cl *caller) (res authResult, final bool) {
	switch {
	case cl.UID == 0, r.owner != noOwner && cl.UID == r.owner:
		return authYes, true
	case r.action == "":
		return authNo, true
	}
	return authNo, false
}

// denied is logind's error for a caller the rule does not let through.
func (r rule) denied(res authResult, interactive bool) error {
	switch {
	case r.action == "" && r.owner == noOwner:
		return bus.Errorf(bus.ErrAccessDenied, "Access denied: %s requires root", r.what)
	case r.action == "":
		return bus.Errorf(bus.ErrAccessDenied, "Access denied: %s", r.what)
	case res == authChallenge && !interactive:
		return bus.Errorf(errInteractiveAuthRequd, "Interactive authentication required.")
	}
	return bus.Errorf(bus.ErrAccessDenied, "Access denied")
}

// permit decides a rule without a polkit action; such calls are checked
// where their owner is known, on the owner loop or off it.
func (r rule) permit(cl *caller) error {
	if res, _ := r.local(cl); res != authYes {
		return r.denied(res, false)
	}
	return nil
}

// ownerOrRoot: root may do everything, a user what concerns their own
// sessions.
func ownerOrRoot(cl *caller, uid uint32, what string) error {
	return rule{what: what, owner: uid}.permit(cl)
}

// rootOnly: only root may (CreateSession, ReleaseSession, …).
func rootOnly(cl *caller, what string) error {
	return rule{what: what, owner: noOwner}.permit(cl)
}

// errInteractiveAuthRequd is the answer to a call polkit would challenge
// that did not allow interaction.
const errInteractiveAuthRequd = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"

const polkitName = "org.freedesktop.PolicyKit1"

// authResult is what polkit (or the built-in table) says about an action.
type authResult int

const (
	authNo authResult = iota
	authChallenge
	authYes
)

func (r authResult) String() string {
	return [...]string{"no", "challenge", "yes"}[r]
}

// subjectKind is how polkit's defaults classify the caller: in an active
// local session, in an inactive one, or anything else.
type subjectKind int

const (
	subjectAny subjectKind = iota
	subjectInactive
	subjectActive
)

// builtinPolicy is systemd's org.freedesktop.login1.policy defaults
// (allow_any, allow_inactive, allow_active), used when no polkit daemon
// is on the bus: auth_admin_keep becomes a challenge nobody can answer.
var builtinPolicy = func() map[string][3]authResult {
	const (
		n = authNo
		c = authChallenge
		y = authYes
	)
	p := map[string][3]authResult{
		"inhibit-block-shutdown": {n, y, y}, "inhibit-delay-shutdown": {y, y, y},
		"inhibit-block-sleep": {n, y, y}, "inhibit-delay-sleep": {y, y, y},
		"inhibit-block-idle":       {y, y, y},
		"inhibit-handle-power-key": {n, y, y}, "inhibit-handle-suspend-key": {n, y, y},
		"inhibit-handle-hibernate-key": {n, y, y}, "inhibit-handle-lid-switch": {n, y, y},
		"inhibit-handle-reboot-key": {n, y, y},
		"power-off":                 {c, c, y}, "power-off-multiple-sessions": {c, c, y}, "power-off-ignore-inhibit": {c, c, c},
		"reboot": {c, c, y}, "reboot-multiple-sessions": {c, c, y}, "reboot-ignore-inhibit": {c, c, c},
		"halt": {c, c, c}, "halt-multiple-sessions": {c, c, c}, "halt-ignore-inhibit": {c, c, c},
		"suspend": {c, c, y}, "suspend-multiple-sessions": {c, c, y}, "suspend-ignore-inhibit": {c, c, c},
		"hibernate": {c, c, y}, "hibernate-multiple-sessions": {c, c, y}, "hibernate-ignore-inhibit": {c, c, c},
		"set-reboot-parameter": {c, c, y}, "set-wall-message": {c, c, c},
		"chvt":          {c, c, y},
		"attach-device": {c, c, c}, "flush-devices": {c, c, c},
	}
	out := make(map[string][3]authResult, len(p))
	for k, v := range p {
		out["org.freedesktop.login1."+k] = v
	}
	return out
}()

// subjectOf classifies the caller as polkit's systemd backend does: by
// the session its process is in (polkit 122 does not fall back to the
// user's display session for a process outside any session, and neither
// does sessiond, so both answer alike); a remote session counts as "any".
func (s *state) subjectOf(cl *caller) subjectKind {
	ss := s.sessions[cl.sessionID()]
	if ss == nil || ss.Remote || ss.Stopping || ss.UID != cl.UID {
		return subjectAny
	}
	if s.sessionActive(ss) {
		return subjectActive
	}
	return subjectInactive
}

// check answers whether the caller may make a call of rule r: root and
// the owner always; then polkit when it is on the bus; else the built-in
// defaults. interactive lets polkit ask the user (through an agent). It
// runs off the owner loop (polkit may take minutes).
func (m *Manager) check(c *bus.Call, cl *caller, r rule, interactive bool) (authResult, error) {
	if res, final := r.local(cl); final {
		return res, nil
	}
	if conn, err := c.Conn(); err == nil && polkitRunning(conn) {
		return m.checkPolkit(c, conn, r.action, interactive)
	}
	var kind subjectKind
	if err := m.do(func(s *state) error { kind = s.subjectOf(cl); return nil }); err != nil {
		return authNo, err
	}
	row, ok := builtinPolicy[r.action]
	if !ok {
		return authNo, nil
	}
	return row[kind], nil
}

// authorize turns check's answer into logind's errors.
func (m *Manager) authorize(c *bus.Call, cl *caller, r rule, interactive bool) error {
	res, err := m.check(c, cl, r, interactive)
	if err != nil || res == authYes {
		return err
	}
	if r.action != "" && (res == authNo || interactive) {
		m.cfg.Log.Info("access denied", "action", r.action, "uid", cl.UID, "pid", cl.PID)
	}
	return r.denied(res, interactive)
}

func polkitRunning(conn *godbus.Conn) bool {
	var has bool
	err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, polkitName).Store(&has)
	return err == nil && has
}

// checkPolkit asks polkit about the caller's bus name, as logind does.
func (m *Manager) checkPolkit(c *bus.Call, conn *godbus.Conn, action string, interactive bool) (authResult, error) {
	type subject struct {
		Kind    string
		Details map[string]godbus.Variant
	}
	var result struct {
		Authorized, Challenge bool
		Details               map[string]string
	}
	subj := subject{"system-bus-name", map[string]godbus.Variant{"name": godbus.MakeVariant(c.Sender)}}
	var flags uint32
	timeout := 25 * time.Second
	if interactive {
		flags = 1                 // AllowUserInteraction
		timeout = 5 * time.Minute // a person types a password
	}
	ctx, cancel := context.WithTimeout(c.Ctx, timeout)
	defer cancel()
	obj := conn.Object(polkitName, "/org/freedesktop/PolicyKit1/Authority")
	err := obj.CallWithContext(ctx, "org.freedesktop.PolicyKit1.Authority.CheckAuthorization", 0,
		subj, action, map[string]string{}, flags, "").Store(&result)
	if err != nil {
		return authNo, bus.Errorf(bus.ErrFailed, "polkit: %v", err)
	}
	switch {
	case result.Authorized:
		return authYes, nil
	case result.Challenge:
		return authChallenge, nil
	}
	return authNo, nil
}
