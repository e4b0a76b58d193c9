package sessiond

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

// inhibitWhat is a set of operations an inhibitor lock covers.
type inhibitWhat uint

const (
	inhibitShutdown inhibitWhat = 1 << iota
	inhibitSleep
	inhibitIdle
	inhibitPowerKey
	inhibitSuspendKey
	inhibitHibernateKey
	inhibitLidSwitch
	inhibitRebootKey
)

// whatNames is logind's canonical order: ListInhibitors and the
// Block/DelayInhibited properties print the set in this order.
var whatNames = []struct {
	w    inhibitWhat
	name string
}{
	{inhibitShutdown, "shutdown"}, {inhibitSleep, "sleep"}, {inhibitIdle, "idle"},
	{inhibitPowerKey, "handle-power-key"}, {inhibitSuspendKey, "handle-suspend-key"},
	{inhibitHibernateKey, "handle-hibernate-key"}, {inhibitLidSwitch, "handle-lid-switch"},
	{inhibitRebootKey, "handle-reboot-key"},
}

func (w inhibitWhat) String() string {
	var l []string
	for _, n := range whatNames {
		if w&n.w != 0 {
			l = append(l, n.name)
		}
	}
	return strings.Join(l, ":")
}

// parseWhat reads a colon-separated list; empty or unknown elements fail.
func parseWhat(s string) (inhibitWhat, bool) {
	var w inhibitWhat
	for _, e := range strings.Split(s, ":") {
		found := false
		for _, n := range whatNames {
			if n.name == e {
				w |= n.w
				found = true
			}
		}
		if !found {
			return 0, false
		}
	}
	return w, w != 0
}

// Inhibitor modes. block-weak (logind 257) is the old meaning of block:
// root and the lock holder's own user may override it.
const (
	modeBlock     = "block"
	modeBlockWeak = "block-weak"
	modeDelay     = "delay"
)

// inhibitor is one inhibitor lock. sessiond keeps the read end of the
// FIFO RunDir/systemd/inhibit/ID.ref; the caller got the write end, and
// the lock ends when every copy of it is closed.
type inhibitor struct {
	ID                  string
	What                inhibitWhat
	Who, Why, Mode      string
	UID, PID            uint32
	Realtime, Monotonic uint64
	FIFO                string
	fifo                *sys.FIFO
}

func (c *Config) inhibitDir() string { return filepath.Join(c.RunDir, "systemd", "inhibit") }

// inhibited is the union of what the locks of mode hold, as logind prints
// it ("block" includes block-weak locks).
func (s *state) inhibited(mode string) string {
	var w inhibitWhat
	for _, in := range s.inhibitors {
		if in.Mode == mode || (mode == modeBlock && in.Mode == modeBlockWeak) {
			w |= in.What
		}
	}
	return w.String()
}

func (s *state) inhibitorList() []inhibitorEntry {
	out := make([]inhibitorEntry, 0, len(s.inhibitors))
	for _, in := range s.inhibitors {
		out = append(out, inhibitorEntry{in.What.String(), in.Who, in.Why, in.Mode, in.UID, in.PID})
	}
	return out
}

// inhibitorEntry is ListInhibitors' a(ssssuu).
type inhibitorEntry struct {
	What, Who, Why, Mode string
	UID, PID             uint32
}

// blockedBy returns the first lock that blocks w for a caller of uid:
// every block lock, and the block-weak locks of other users.
func (s *state) blockedBy(w inhibitWhat, uid uint32) *inhibitor {
	for _, in := range s.inhibitors {
		if in.What&w == 0 {
			continue
		}
		if in.Mode == modeBlock || (in.Mode == modeBlockWeak && in.UID != uid) {
			return in
		}
	}
	return nil
}

func (s *state) delayedBy(w inhibitWhat) bool {
	for _, in := range s.inhibitors {
		if in.What&w != 0 && in.Mode == modeDelay {
			return true
		}
	}
	return false
}

// addInhibitor creates the lock and its FIFO and returns the write end
// for the caller.
func (s *state) addInhibitor(w inhibitWhat, who, why, mode string, uid, pid uint32) (*os.File, error) {
	if uint64(len(s.inhibitors)) >= s.cfg.Login.InhibitorsMax {
		return nil, bus.Errorf(bus.ErrLimitsExceeded, "Maximum number of inhibitors (%d) reached, refusing further inhibitors.", s.cfg.Login.InhibitorsMax)
	}
	if p := s.power.action; p != nil && mode == modeDelay && p.act.what&w != 0 {
		return nil, bus.Errorf(bus.ErrOperationInProgress, "The operation inhibition has been requested for is already running")
	}
	if err := os.MkdirAll(s.cfg.inhibitDir(), 0o755); err != nil {
		return nil, fmt.Errorf("inhibitor directory: %w", err)
	}
	id, err := s.allocInhibitorID()
	if err != nil {
		return nil, err
	}
	in := &inhibitor{ID: id, What: w, Who: who, Why: why, Mode: mode, UID: uid, PID: pid,
		FIFO: filepath.Join(s.cfg.inhibitDir(), id+".ref")}
	in.Realtime, in.Monotonic = s.now()
	h, wr, err := sys.CreateFIFO(in.FIFO)
	if err != nil {
		return nil, err
	}
	in.fifo = h
	if err := s.saveInhibitor(in); err != nil {
		h.Close()
		wr.Close()
		_ = os.Remove(in.FIFO)
		return nil, err
	}
	s.inhibitors = append(s.inhibitors, in)
	s.watchInhibitor(in)
	s.mutated = true
	s.log().Info("inhibitor taken", "id", id, "what", w.String(), "who", who, "mode", mode, "uid", uid, "pid", pid)
	return wr, nil
}

// allocInhibitorID returns the next number that no lock, state file or
// FIFO uses (see allocID).
func (s *state) allocInhibitorID() (string, error) {
	dir := s.cfg.inhibitDir()
	for range maxIDTries {
		s.power.inhibitCounter++
		id := strconv.FormatUint(s.power.inhibitCounter, 10)
		if s.findInhibitor(id) == nil && !pathTaken(filepath.Join(dir, id)) && !pathTaken(filepath.Join(dir, id+".ref")) {
			return id, nil
		}
	}
	return "", fmt.Errorf("no free inhibitor id after %d in %s", s.power.inhibitCounter, dir)
}

func (s *state) findInhibitor(id string) *inhibitor {
	for _, in := range s.inhibitors {
		if in.ID == id {
			return in
		}
	}
	return nil
}

func (s *state) watchInhibitor(in *inhibitor) {
	s.watchFIFO(in.fifo, func() { s.m.post(func(s *state) { s.removeInhibitor(in) }) })
}

// removeInhibitor ends a lock (its FIFO reported EOF); a delayed action
// waiting for it may now go ahead.
func (s *state) removeInhibitor(in *inhibitor) {
	if s.findInhibitor(in.ID) != in {
		return
	}
	in.fifo.Close()
	_ = os.Remove(in.FIFO)
	_ = os.Remove(filepath.Join(s.cfg.inhibitDir(), in.ID))
	out := s.inhibitors[:0]
	for _, x := range s.inhibitors {
		if x != in {
			out = append(out, x)
		}
	}
	clear(s.inhibitors[len(out):])
	s.inhibitors = out
	s.mutated = true
	s.log().Info("inhibitor released", "id", in.ID, "what", in.What.String(), "who", in.Who)
	s.dispatchDelayed()
}

// saveInhibitor writes logind's state file for the lock, so a restarted
// sessiond finds it again.
func (s *state) saveInhibitor(in *inhibitor) error {
	return writeEnvFile(filepath.Join(s.cfg.inhibitDir(), in.ID), inhibitorRecord(in))
}

// inhibitorRecord is the lock's state file (decodeInhibitor reads it back).
func inhibitorRecord(in *inhibitor) []kv {
	return []kv{
		{"WHAT", in.What.String()}, {"MODE", in.Mode},
		{"UID", utoa(in.UID)}, {"PID", utoa(in.PID)},
		{"WHO", cescape(in.Who)}, {"WHY", cescape(in.Why)},
		{"REALTIME", strconv.FormatUint(in.Realtime, 10)},
		{"MONOTONIC", strconv.FormatUint(in.Monotonic, 10)},
		{"FIFO", in.FIFO},
	}
}

// decodeInhibitor reads back what inhibitorRecord wrote; the fifo is not
// opened.
func decodeInhibitor(id string, vals map[string]string) (*inhibitor, error) {
	w, ok := parseWhat(vals["WHAT"])
	if !ok {
		return nil, fmt.Errorf("WHAT=%q is not a lock type list", vals["WHAT"])
	}
	mode := vals["MODE"]
	if mode != modeBlock && mode != modeBlockWeak && mode != modeDelay {
		return nil, fmt.Errorf("MODE=%q is not a mode", mode)
	}
	if vals["FIFO"] == "" {
		return nil, errors.New("no FIFO")
	}
	return &inhibitor{ID: id, What: w, Mode: mode, FIFO: vals["FIFO"],
		UID: parseU32(vals["UID"]), PID: parseU32(vals["PID"]),
		Who: cunescape(vals["WHO"]), Why: cunescape(vals["WHY"]),
		Realtime: parseU64(vals["REALTIME"]), Monotonic: parseU64(vals["MONOTONIC"])}, nil
}

// restoreInhibitors reopens the locks a previous sessiond left. A lock
// whose holders all closed their fd meanwhile reads EOF at once and goes;
// one whose FIFO is gone is dropped. A state file that cannot be read is
// an error: the lock is lost while its holder may live, so it is left in
// place for inspection and its id stays reserved.
func (s *state) restoreInhibitors() {
	dir := s.cfg.inhibitDir()
	s.power.inhibitCounter = max(s.power.inhibitCounter, highestID(dir, ""))
	for _, id := range stateNames(dir) {
		if strings.Contains(id, ".") {
			continue
		}
		path := filepath.Join(dir, id)
		vals, err := readEnvFile(path)
		var in *inhibitor
		if err == nil {
			in, err = decodeInhibitor(id, vals)
			if err != nil {
				err = fmt.Errorf("%s: %w", path, err)
			}
		}
		if err != nil {
			s.log().Error("inhibitor state file unreadable: lock not restored, its id stays reserved", "id", id, "file", path, "err", err)
			continue
		}
		h, err := sys.OpenFIFO(in.FIFO)
		if errors.Is(err, os.ErrNotExist) {
			s.log().Info("inhibitor ended while sessiond was down", "id", id, "who", in.Who)
			_ = os.Remove(path)
			continue
		}
		if err != nil {
			s.log().Error("inhibitor FIFO cannot be reopened: lock not restored", "id", id, "file", path, "err", err)
			continue
		}
		in.fifo = h
		s.inhibitors = append(s.inhibitors, in)
		s.watchInhibitor(in)
	}
	sortBy(s.inhibitors, func(in *inhibitor) string { return fmt.Sprintf("%020d", parseU64(in.ID)) })
}

// maxArgLen bounds each string argument of CreateSession and Inhibit.
// The state files carry them C-escaped (at most four bytes each), so a
// line stays far below the 1 MiB line limit of sd-login's parser, and a
// client learns at the call — not at sessiond's next restart — that a
// value is too long.
const maxArgLen = 64 << 10

// maxInhibitArgLen bounds Inhibit's strings, more tightly: anyone may take
// a delay lock, and InhibitorsMax (8192) locks must fit one ListInhibitors
// reply under dbus-daemon's message limit (32 MiB on the system bus) and
// stay small in sessiond's memory — 8192 × 2 KiB is 16 MiB, where 64 KiB
// each was 1 GiB, a reply no client could receive. Real who/why strings
// are a program's name and a sentence.
const maxInhibitArgLen = 1 << 10

// checkArgLen refuses a string argument longer than limit, naming it.
func checkArgLen(name, v string, limit int) error {
	if len(v) > limit {
		return bus.Errorf(bus.ErrInvalidArgs, "Argument %s too long (%d bytes, at most %d)", name, len(v), limit)
	}
	return nil
}

// checkInhibitArgs validates Inhibit's arguments as logind does (same
// order, same errors), after the length limits.
func checkInhibitArgs(what, who, why, mode string) (inhibitWhat, error) {
	for _, a := range []struct{ name, v string }{{"what", what}, {"who", who}, {"why", why}, {"mode", mode}} {
		if err := checkArgLen(a.name, a.v, maxInhibitArgLen); err != nil {
			return 0, err
		}
	}
	w, ok := parseWhat(what)
	if !ok {
		return 0, bus.Errorf(bus.ErrInvalidArgs, "Invalid what specification %s", what)
	}
	if mode != modeBlock && mode != modeBlockWeak && mode != modeDelay {
		return 0, bus.Errorf(bus.ErrInvalidArgs, "Invalid mode specification %s", mode)
	}
	if mode == modeDelay && w&^(inhibitShutdown|inhibitSleep) != 0 {
		return 0, bus.Errorf(bus.ErrInvalidArgs, "Delay inhibitors only supported for shutdown and sleep")
	}
	return w, nil
}

// inhibitAction is the polkit action for taking a lock on one element.
func inhibitAction(w inhibitWhat, mode string) string {
	const p = "org.freedesktop.login1."
	switch w {
	case inhibitShutdown, inhibitSleep:
		kind := "block"
		if mode == modeDelay {
			kind = "delay"
		}
		return p + "inhibit-" + kind + "-" + w.String()
	case inhibitIdle:
		return p + "inhibit-block-idle"
	}
	return p + "inhibit-" + w.String() // handle-power-key → inhibit-handle-power-key
}

// hInhibit is Inhibit: every element of what needs its own authorization.
func (m *Manager) hInhibit(c *bus.Call) ([]any, error) {
	var what, who, why, mode string
	if err := c.Store(&what, &who, &why, &mode); err != nil {
		return nil, err
	}
	w, err := checkInhibitArgs(what, who, why, mode)
	if err != nil {
		return nil, err
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	// Every element needs its own authorization (logind asks for one
	// action chosen from the whole set; asking for each is stricter).
	for _, n := range whatNames {
		if w&n.w == 0 {
			continue
		}
		if err := m.authorize(c, &cl, actionRule(inhibitAction(n.w, mode)), false); err != nil {
			return nil, err
		}
	}
	var f *os.File
	err = m.do(func(s *state) error {
		var err error
		f, err = s.addInhibitor(w, who, why, mode, cl.UID, cl.PID)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.AfterReply(func() { _ = f.Close() })
	return []any{godbus.UnixFD(f.Fd())}, nil
}

func (m *Manager) hListInhibitors(c *bus.Call) ([]any, error) {
	var out []inhibitorEntry
	err := m.do(func(s *state) error { out = s.inhibitorList(); return nil })
	return []any{out}, err
}
