package sessiond

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
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
	fifo                fifoHandle
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
	var id string
	for {
		s.power.inhibitCounter++
		id = strconv.FormatUint(s.power.inhibitCounter, 10)
		if s.findInhibitor(id) == nil {
			break
		}
	}
	in := &inhibitor{ID: id, What: w, Who: who, Why: why, Mode: mode, UID: uid, PID: pid,
		FIFO: filepath.Join(s.cfg.inhibitDir(), id+".ref")}
	in.Realtime, in.Monotonic = s.now()
	h, wr, err := createFIFO(in.FIFO)
	if err != nil {
		return nil, err
	}
	in.fifo = h
	if err := s.saveInhibitor(in); err != nil {
		h.close()
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

func (s *state) findInhibitor(id string) *inhibitor {
	for _, in := range s.inhibitors {
		if in.ID == id {
			return in
		}
	}
	return nil
}

func (s *state) watchInhibitor(in *inhibitor) {
	h := in.fifo
	go h.watch(func() { s.m.post(func(s *state) { s.removeInhibitor(in) }) })
}

// removeInhibitor ends a lock (its FIFO reported EOF); a delayed action
// waiting for it may now go ahead.
func (s *state) removeInhibitor(in *inhibitor) {
	if s.findInhibitor(in.ID) != in {
		return
	}
	in.fifo.close()
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
	return writeEnvFile(filepath.Join(s.cfg.inhibitDir(), in.ID), []kv{
		{"WHAT", in.What.String()}, {"MODE", in.Mode},
		{"UID", utoa(in.UID)}, {"PID", utoa(in.PID)},
		{"WHO", cescape(in.Who)}, {"WHY", cescape(in.Why)},
		{"REALTIME", strconv.FormatUint(in.Realtime, 10)},
		{"MONOTONIC", strconv.FormatUint(in.Monotonic, 10)},
		{"FIFO", in.FIFO},
	})
}

// restoreInhibitors reopens the locks a previous sessiond left. A lock
// whose holders all closed their fd meanwhile reads EOF at once and goes.
func (s *state) restoreInhibitors() {
	entries, err := os.ReadDir(s.cfg.inhibitDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		id := e.Name()
		if strings.Contains(id, ".") || strings.HasPrefix(id, ".") {
			continue
		}
		path := filepath.Join(s.cfg.inhibitDir(), id)
		vals, err := readEnvFile(path)
		if err != nil {
			continue
		}
		w, ok := parseWhat(vals["WHAT"])
		mode := vals["MODE"]
		fifo := vals["FIFO"]
		if !ok || (mode != modeBlock && mode != modeBlockWeak && mode != modeDelay) || fifo == "" {
			s.log().Warn("dropping unreadable inhibitor state", "file", path)
			_ = os.Remove(path)
			continue
		}
		h, err := openFIFORead(fifo)
		if err != nil {
			s.log().Warn("dropping inhibitor without FIFO", "id", id, "err", err)
			_ = os.Remove(path)
			continue
		}
		in := &inhibitor{ID: id, What: w, Mode: mode, FIFO: fifo, fifo: h,
			UID: uint32(parseU64(vals["UID"])), PID: uint32(parseU64(vals["PID"])),
			Who: cunescape(vals["WHO"]), Why: cunescape(vals["WHY"]),
			Realtime: parseU64(vals["REALTIME"]), Monotonic: parseU64(vals["MONOTONIC"])}
		if n := parseU64(id); n > s.power.inhibitCounter {
			s.power.inhibitCounter = n
		}
		s.inhibitors = append(s.inhibitors, in)
		s.watchInhibitor(in)
	}
	sortBy(s.inhibitors, func(in *inhibitor) string { return fmt.Sprintf("%020d", parseU64(in.ID)) })
}

// --- bus handlers ------------------------------------------------------------

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

func (m *Manager) hInhibit(c *bus.Call) ([]any, error) {
	var what, who, why, mode string
	if err := c.Store(&what, &who, &why, &mode); err != nil {
		return nil, err
	}
	w, ok := parseWhat(what)
	if !ok {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Invalid what specification %s", what)
	}
	if mode != modeBlock && mode != modeBlockWeak && mode != modeDelay {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Invalid mode specification %s", mode)
	}
	if mode == modeDelay && w&^(inhibitShutdown|inhibitSleep) != 0 {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Delay inhibitors only supported for shutdown and sleep")
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
		if err := m.authorize(c, &cl, inhibitAction(n.w, mode), false); err != nil {
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
