package service

import (
	"context"
	"fmt"
)

// The public verbs. Each is a request to the manager goroutine: a closure
// that acts on one record and may leave a waiter, whose reply the caller
// then waits for. request is that frame, written once.

// lookup says whether a verb reads a service that is not loaded yet.
type lookup bool

const (
	loadedOnly    lookup = false // the service must be loaded already
	loadIfMissing lookup = true  // read it first, on the caller's goroutine
)

// request runs f on the manager goroutine with name's record and, when f
// returns a reply channel (a waiter), waits for that reply too.
func (m *Manager) request(ctx context.Context, name string, how lookup, f func(s *svc) (chan error, error)) error {
	var reply chan error
	act := func(ss []*svc) (err error) {
		reply, err = f(ss[0])
		return err
	}
	var err error
	if how == loadIfMissing {
		err = m.withLoaded(ctx, []string{name}, act)
	} else {
		err = m.withRecord(ctx, name, act)
	}
	if err != nil || reply == nil {
		return err
	}
	return m.wait(ctx, reply)
}

// do is request for verbs that wait for nothing but the loop.
func (m *Manager) do(ctx context.Context, name string, how lookup, f func(s *svc) error) error {
	return m.request(ctx, name, how, func(s *svc) (chan error, error) { return nil, f(s) })
}

// withRecord runs f on the manager goroutine with name's record, or fails
// with ErrNotLoaded.
func (m *Manager) withRecord(ctx context.Context, name string, f func(ss []*svc) error) error {
	var err error
	if cerr := m.call(ctx, func() {
		if s := m.services[name]; s != nil {
			err = f([]*svc{s})
		} else {
			err = fmt.Errorf("service '%s': %w", name, ErrNotLoaded)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// waiterUnless registers a waiter for s reaching want, unless noWait.
func (m *Manager) waiterUnless(noWait bool, s *svc, want State, pastStop bool) chan error {
	if noWait {
		return nil
	}
	return m.addWaiter(s, want, pastStop)
}

// mayStop refuses a stop or restart of a service pinned started or, unless
// force, with active hard dependents.
func (m *Manager) mayStop(s *svc, verb string, force bool) error {
	if s.pinStart {
		return fmt.Errorf("cannot %s service '%s': %w", verb, s.name(), ErrPinnedStarted)
	}
	if deps := m.activeHardDependents(s); len(deps) > 0 && !force {
		return &DependentsError{Service: s.name(), Dependents: deps}
	}
	return nil
}

// StartOpts are the flags of start.
type StartOpts struct {
	Pin    bool
	NoWait bool
}

// Start loads name if needed, marks it explicitly active and starts it. Unless
// NoWait, it returns once the service has started (nil) or failed.
func (m *Manager) Start(ctx context.Context, name string, o StartOpts) error {
	return m.request(ctx, name, loadIfMissing, func(s *svc) (chan error, error) {
		if m.shuttingDown {
			return nil, ErrShuttingDown
		}
		if s.pinStop {
			return nil, fmt.Errorf("cannot start service '%s': %w", name, ErrPinnedStopped)
		}
		if o.Pin {
			s.pinStart = true
		}
		m.activate(s)
		return m.waiterUnless(o.NoWait, s, Started, false), nil
	})
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
	return m.request(ctx, name, loadedOnly, func(s *svc) (chan error, error) {
		if s.state == Stopped && !m.wanted(s) {
			if o.Pin {
				s.pinStop = true
			}
			var err error
			if !o.IgnoreUnstarted && s.ph != phRestartDelay {
				err = fmt.Errorf("service '%s': %w", name, ErrNotStarted)
			}
			s.explicit = false
			return nil, err
		}
		if err := m.mayStop(s, "stop", o.Force); err != nil {
			return nil, err
		}
		if o.Pin {
			s.pinStop = true
		}
		m.bringDown(s, ReasonNormal)
		return m.waiterUnless(o.NoWait, s, Stopped, false), nil
	})
}

// Restart stops and starts name again, keeping its activation. Force also
// restarts its hard dependents (which are otherwise a reason to refuse).
func (m *Manager) Restart(ctx context.Context, name string, o StopOpts) error {
	return m.request(ctx, name, loadedOnly, func(s *svc) (chan error, error) {
		if s.state != Started {
			if o.IgnoreUnstarted {
				return nil, nil
			}
			return nil, fmt.Errorf("cannot restart service '%s': %w", name, ErrNotStarted)
		}
		if err := m.mayStop(s, "restart", o.Force); err != nil {
			return nil, err
		}
		// The waiter goes first: an internal or triggered service (or a
		// scripted one without stop-command) is already Stopped when
		// beginStop returns, and a waiter added then would never see the stop.
		reply := m.waiterUnless(o.NoWait, s, Started, true)
		s.restarting = true
		s.reason = ReasonNormal
		m.beginStop(s)
		return reply, nil
	})
}

// Wake starts name without activating it, for the sake of its active
// dependents (after it was stopped while they stayed up).
func (m *Manager) Wake(ctx context.Context, name string, noWait bool) error {
	return m.request(ctx, name, loadIfMissing, func(s *svc) (chan error, error) {
		if s.pinStop {
			return nil, fmt.Errorf("cannot wake service '%s': %w", name, ErrPinnedStopped)
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
			return nil, fmt.Errorf("cannot wake service '%s': it has no active dependents: %w", name, ErrBadArgument)
		}
		m.enqueue(s)
		return m.waiterUnless(noWait, s, Started, false), nil
	})
}

// Release drops the explicit activation of name; it stops unless something
// else still needs it.
func (m *Manager) Release(ctx context.Context, name string, ignoreUnstarted bool) error {
	return m.do(ctx, name, loadedOnly, func(s *svc) error {
		if !s.explicit && s.state == Stopped && !ignoreUnstarted {
			return fmt.Errorf("service '%s': %w", name, ErrNotStarted)
		}
		s.explicit = false
		m.enqueue(s)
		return nil
	})
}

// Unpin removes start and stop pins; the service then moves to where its
// activation says it should be.
func (m *Manager) Unpin(ctx context.Context, name string) error {
	return m.do(ctx, name, loadedOnly, func(s *svc) error {
		s.pinStart, s.pinStop = false, false
		m.enqueue(s)
		return nil
	})
}

// Trigger sets or clears the trigger of a triggered service.
func (m *Manager) Trigger(ctx context.Context, name string, on bool) error {
	return m.do(ctx, name, loadIfMissing, func(s *svc) error {
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
	return m.do(ctx, name, loadedOnly, func(s *svc) error {
		if s.proc == nil {
			return fmt.Errorf("service '%s' has no process to signal: %w", name, ErrNotStarted)
		}
		if err := s.proc.Signal(sig); err != nil {
			return fmt.Errorf("signal service '%s' (pid %d): %w", name, s.proc.Pid(), err)
		}
		return nil
	})
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
	return m.do(ctx, name, loadedOnly, func(s *svc) error {
		if s.state != Stopped || m.wanted(s) {
			return fmt.Errorf("cannot unload service '%s': it is not stopped: %w", name, ErrBadArgument)
		}
		if len(s.dependents) > 0 {
			var names []string
			for _, e := range s.dependents {
				names = append(names, e.from.name())
			}
			return fmt.Errorf("cannot unload service '%s': loaded services depend on it: %v: %w", name, names, ErrBadArgument)
		}
		m.remove(s)
		return nil
	})
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
	err := m.do(ctx, name, loadedOnly, func(s *svc) error {
		d = s.desc
		return nil
	})
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
			case s.state == Stopped && s.reason == ReasonCondition:
				decided = true // as systemd: a start skipped by a condition succeeds
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
