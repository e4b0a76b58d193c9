package service

import (
	"context"
	"fmt"
)

// StartOpts are the flags of start.
type StartOpts struct {
	Pin    bool
	NoWait bool
}

// Start loads name if needed, marks it explicitly active and starts it. Unless
// NoWait, it returns once the service has started (nil) or failed.
func (m *Manager) Start(ctx context.Context, name string, o StartOpts) error {
	var ch chan error
	if err := m.withLoaded(ctx, []string{name}, func(ss []*svc) error {
		s := ss[0]
		if m.shuttingDown {
			return ErrShuttingDown
		}
		if s.pinStop {
			return fmt.Errorf("cannot start service '%s': %w", name, ErrPinnedStopped)
		}
		if o.Pin {
			s.pinStart = true
		}
		m.activate(s)
		if !o.NoWait {
			ch = m.addWaiter(s, Started, false)
		}
		return nil
	}); err != nil || ch == nil {
		return err
	}
	return m.wait(ctx, ch)
}

// StopOpts are the flags of stop and restart.
type StopOpts struct {
	Pin             bool
	Force           bool
	NoWait          bool
	IgnoreUnstarted bool
}

// Stop drops the explicit activation of name and stops it. A service with
// active hard dependents is refused unless Force, which stops them as well.
func (m *Manager) Stop(ctx context.Context, name string, o StopOpts) error {
	var ch chan error
	var err error
	if cerr := m.call(ctx, func() {
		s := m.services[name]
		if s == nil {
			err = fmt.Errorf("service '%s': %w", name, ErrNotLoaded)
			return
		}
		if s.state == Stopped && !m.wanted(s) {
			if o.Pin {
				s.pinStop = true
			}
			if !o.IgnoreUnstarted && s.ph != phRestartDelay {
				err = fmt.Errorf("service '%s': %w", name, ErrNotStarted)
			}
			s.explicit = false
			return
		}
		if s.pinStart {
			err = fmt.Errorf("cannot stop service '%s': %w", name, ErrPinnedStarted)
			return
		}
		if deps := m.activeHardDependents(s); len(deps) > 0 && !o.Force {
			err = &DependentsError{Service: name, Dependents: deps}
			return
		}
		if o.Pin {
			s.pinStop = true
		}
		m.bringDown(s, ReasonNormal)
		if !o.NoWait {
			ch = m.addWaiter(s, Stopped, false)
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil || ch == nil {
		return err
	}
	return m.wait(ctx, ch)
}

// Restart stops and starts name again, keeping its activation. Force also
// restarts its hard dependents (which are otherwise a reason to refuse).
func (m *Manager) Restart(ctx context.Context, name string, o StopOpts) error {
	var ch chan error
	var err error
	if cerr := m.call(ctx, func() {
		s := m.services[name]
		if s == nil {
			err = fmt.Errorf("service '%s': %w", name, ErrNotLoaded)
			return
		}
		if s.state != Started {
			if !o.IgnoreUnstarted {
				err = fmt.Errorf("cannot restart service '%s': %w", name, ErrNotStarted)
			}
			return
		}
		if s.pinStart {
			err = fmt.Errorf("cannot restart service '%s': %w", name, ErrPinnedStarted)
			return
		}
		if deps := m.activeHardDependents(s); len(deps) > 0 && !o.Force {
			err = &DependentsError{Service: name, Dependents: deps}
			return
		}
		// The waiter goes first: an internal or triggered service (or a
		// scripted one without stop-command) is already Stopped when
		// beginStop returns, and a waiter added then would never see the stop.
		if !o.NoWait {
			ch = m.addWaiter(s, Started, true)
		}
		s.restarting = true
		s.reason = ReasonNormal
		m.beginStop(s)
	}); cerr != nil {
		return cerr
	}
	if err != nil || ch == nil {
		return err
	}
	return m.wait(ctx, ch)
}

// Wake starts name without activating it, for the sake of its active
// dependents (after it was stopped while they stayed up).
func (m *Manager) Wake(ctx context.Context, name string, noWait bool) error {
	var ch chan error
	if err := m.withLoaded(ctx, []string{name}, func(ss []*svc) error {
		s := ss[0]
		if s.pinStop {
			return fmt.Errorf("cannot wake service '%s': %w", name, ErrPinnedStopped)
		}
		n := 0
		for _, e := range s.dependents {
			if e.from.state == Started || e.from.state == Starting {
				if !e.hold {
					m.hold(e)
				}
				e.done = false
				n++
			}
		}
		if n == 0 && !s.explicit && s.requiredBy == 0 {
			return fmt.Errorf("cannot wake service '%s': it has no active dependents: %w", name, ErrBadArgument)
		}
		m.enqueue(s)
		if !noWait {
			ch = m.addWaiter(s, Started, false)
		}
		return nil
	}); err != nil || ch == nil {
		return err
	}
	return m.wait(ctx, ch)
}

// Release drops the explicit activation of name; it stops unless something
// else still needs it.
func (m *Manager) Release(ctx context.Context, name string, ignoreUnstarted bool) error {
	var err error
	if cerr := m.call(ctx, func() {
		s := m.services[name]
		if s == nil {
			err = fmt.Errorf("service '%s': %w", name, ErrNotLoaded)
			return
		}
		if !s.explicit && s.state == Stopped && !ignoreUnstarted {
			err = fmt.Errorf("service '%s': %w", name, ErrNotStarted)
			return
		}
		s.explicit = false
		m.enqueue(s)
	}); cerr != nil {
		return cerr
	}
	return err
}

// Unpin removes start and stop pins; the service then moves to where its
// activation says it should be.
func (m *Manager) Unpin(ctx context.Context, name string) error {
	var err error
	if cerr := m.call(ctx, func() {
		s := m.services[name]
		if s == nil {
			err = fmt.Errorf("service '%s': %w", name, ErrNotLoaded)
			return
		}
		s.pinStart, s.pinStop = false, false
		m.enqueue(s)
	}); cerr != nil {
		return cerr
	}
	return err
}

// Trigger sets or clears the trigger of a triggered service.
func (m *Manager) Trigger(ctx context.Context, name string, on bool) error {
	return m.withLoaded(ctx, []string{name}, func(ss []*svc) error {
		s := ss[0]
		if s.desc.Type != TypeTriggered {
			return fmt.Errorf("service '%s' is not a triggered service: %w", name, ErrBadArgument)
		}
		s.triggered = on
		m.enqueue(s)
		return nil
	})
}

// Signal sends sig to the service's main process.
func (m *Manager) Signal(ctx context.Context, name string, sig int) error {
	var err error
	if cerr := m.call(ctx, func() {
		s := m.services[name]
		switch {
		case s == nil:
			err = fmt.Errorf("service '%s': %w", name, ErrNotLoaded)
		case s.proc == nil:
			err = fmt.Errorf("service '%s' has no process to signal: %w", name, ErrNotStarted)
		default:
			if e := s.proc.Signal(sig); e != nil {
				err = fmt.Errorf("signal service '%s' (pid %d): %w", name, s.proc.Pid(), e)
			}
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// SetEnv sets (NAME=VALUE) or, with unset, removes (NAME) variables of the
// activation environment used by later starts.
func (m *Manager) SetEnv(ctx context.Context, vars []string, unset bool) error {
	return m.call(ctx, func() {
		for _, v := range vars {
			name := v
			if i := indexByte(v, '='); i >= 0 {
				name = v[:i]
			}
			out := m.env[:0]
			for _, e := range m.env {
				if i := indexByte(e, '='); i >= 0 && e[:i] == name {
					continue
				}
				out = append(out, e)
			}
			m.env = out
			if !unset {
				m.env = append(m.env, v)
			}
		}
	})
}

// Env returns a copy of the activation environment.
func (m *Manager) Env(ctx context.Context) ([]string, error) {
	var env []string
	err := m.call(ctx, func() { env = append([]string(nil), m.env...) })
	return env, err
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// Unload forgets a stopped service that nothing loaded depends on.
func (m *Manager) Unload(ctx context.Context, name string) error {
	var err error
	if cerr := m.call(ctx, func() {
		s := m.services[name]
		if s == nil {
			err = fmt.Errorf("service '%s': %w", name, ErrNotLoaded)
			return
		}
		if s.state != Stopped || m.wanted(s) {
			err = fmt.Errorf("cannot unload service '%s': it is not stopped: %w", name, ErrBadArgument)
			return
		}
		if len(s.dependents) > 0 {
			var names []string
			for _, e := range s.dependents {
				names = append(names, e.from.name())
			}
			err = fmt.Errorf("cannot unload service '%s': loaded services depend on it: %v: %w", name, names, ErrBadArgument)
			return
		}
		m.remove(s)
	}); cerr != nil {
		return cerr
	}
	return err
}

// Load loads name (and its dependencies) without starting it.
func (m *Manager) Load(ctx context.Context, name string) error {
	return m.withLoaded(ctx, []string{name}, nil)
}

// DepOp is add-dep or rm-dep.
func (m *Manager) DepOp(ctx context.Context, add bool, kind DepKind, from, to string) error {
	if kind > DepWaitsFor {
		return fmt.Errorf("dependency type %s: %w", kind, ErrBadArgument)
	}
	return m.withLoaded(ctx, []string{from, to}, func(ss []*svc) error {
		return m.depOp(add, kind, ss[0], ss[1])
	})
}

// Describe returns the loaded description of name (for enable/disable and
// status), or ErrNotLoaded.
func (m *Manager) Describe(ctx context.Context, name string) (*Description, error) {
	var d *Description
	var err error
	if cerr := m.call(ctx, func() {
		if s := m.services[name]; s != nil {
			d = s.desc
		} else {
			err = fmt.Errorf("service '%s': %w", name, ErrNotLoaded)
		}
	}); cerr != nil {
		return nil, cerr
	}
	return d, err
}

// Reload re-reads name's description (on the calling goroutine). While it
// runs, its type may not change and new hard dependencies must already be
// started.
func (m *Manager) Reload(ctx context.Context, name string) error {
	descs, err := m.readDescs(name)
	if err != nil {
		return err
	}
	if cerr := m.call(ctx, func() { err = m.reload(name, descs) }); cerr != nil {
		return cerr
	}
	return err
}

// addWaiter registers a reply for when s reaches want.
func (m *Manager) addWaiter(s *svc, want State, pastStop bool) chan error {
	w := &waiter{want: want, pastStop: pastStop, reply: make(chan error, 1)}
	s.waiters = append(s.waiters, w)
	m.notifyWaiters(s)
	return w.reply
}

// notifyWaiters answers the waiters of s whose outcome is decided.
func (m *Manager) notifyWaiters(s *svc) {
	keep := s.waiters[:0]
	for _, w := range s.waiters {
		if w.pastStop && !w.sawStop { // set by setState
			keep = append(keep, w)
			continue
		}
		var res error
		decided := false
		switch w.want {
		case Started:
			switch {
			case s.state == Started:
				decided = true
			case s.state == Stopped && !m.wanted(s) && s.ph != phRestartDelay:
				decided = true
				res = &StartError{Service: s.name(), Reason: s.reason, Exit: s.exit, HasExit: s.hasExit && s.failed}
			}
		case Stopped:
			switch {
			case s.state == Stopped && s.ph != phRestartDelay:
				decided = true
			case s.state == Started && m.wanted(s):
				decided = true
				res = &StopCancelledError{Service: s.name()}
			}
		}
		if decided {
			w.reply <- res
		} else {
			keep = append(keep, w)
		}
	}
	s.waiters = keep
}
