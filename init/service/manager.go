package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"ginit/internal/power"
)

// Config wires a Manager to the outside world. Everything is injected so the
// manager runs in memory in tests.
type Config struct {
	// Load returns the description of name together with every service it
	// depends on (the closure), or an error that names file:line. Already
	// loaded services in the result are ignored. It is called on the
	// requesting goroutine, never the manager's (it reads files), so calls
	// may run concurrently and must not touch the Manager.
	Load func(name string) ([]*Description, error)
	// Check validates the whole set of descriptions after a change (cycles
	// through before/after across separately loaded services). May be nil.
	Check   func(all map[string]*Description) error
	Spawner Spawner
	Clock   Clock
	Logger  Logger
	// Env is the initial activation environment (KEY=VALUE).
	Env []string
	// ExitWhenIdle makes Run return once every service has stopped after at
	// least one was started (user and container instances).
	ExitWhenIdle bool
	// Observe, when set, is called on the manager goroutine after a service
	// becomes Started or Stopped (for starts-rwfs, utmp and the like). It
	// must not block or call back into the Manager synchronously.
	Observe func(d *Description, st State)
	// ShutdownReport is how often a shutdown that is still waiting logs
	// the services holding it up (0: every 10s).
	ShutdownReport time.Duration
	// ShutdownTimeout ends a shutdown that has waited this long for
	// services to stop, so that none can hold the machine forever; Run
	// returns and the caller kills what is left. 0: wait for ever.
	ShutdownTimeout time.Duration
	// SpawnParallel is how many start commands may be forked at once when
	// several services become ready together (0 or 1: one after another,
	// in order).
	SpawnParallel int
	// KillAll signals every process but the manager's own (TERM, then
	// KILL) for services with options kill-all-on-stop, and calls done
	// when it has finished; done may be called from any goroutine. Nil:
	// the option does nothing.
	KillAll func(done func())
}

// Manager owns every service record. Its state is touched only by the
// goroutine running Run; every other goroutine talks to it through methods
// that post closures onto the event channel.
type Manager struct {
	cfg     Config
	events  chan func()
	runDone chan struct{} // closed when Run returns

	// Everything below is owned by the Run goroutine.
	services      map[string]*svc
	order         []*svc // load order, for list
	queue         []*svc
	queued        map[*svc]bool
	procs         map[Proc]*svc
	env           []string
	shutdown      power.Kind
	shuttingDown  bool
	shutdownWait  time.Duration // how long the shutdown has waited so far
	pendingSpawns []pendingSpawn
	reportTimer   Timer
	everStarted   bool
	done          bool
	pendingLoads  int // chain-to targets being read off the loop
}

// New makes a manager; call Run to bring it to life.
func New(cfg Config) *Manager {
	return &Manager{
		cfg:      cfg,
		events:   make(chan func(), 1024),
		runDone:  make(chan struct{}),
		services: make(map[string]*svc),
		queued:   make(map[*svc]bool),
		procs:    make(map[Proc]*svc),
		env:      append([]string(nil), cfg.Env...),
	}
}

// Run is the manager's event loop. It returns when ctx ends, when a shutdown
// has completed (every service stopped), or when idle with ExitWhenIdle.
func (m *Manager) Run(ctx context.Context) (power.Kind, error) {
	defer close(m.runDone)
	for !m.done {
		select {
		case <-ctx.Done():
			return power.None, ctx.Err()
		case f := <-m.events:
			f()
			m.process()
			m.checkIdle()
		}
	}
	return m.shutdown, nil
}

// call runs f on the manager goroutine and waits for it, or for ctx.
func (m *Manager) call(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	// done after process(): the caller then sees what its request set in
	// motion (signals sent, processes spawned), not just the request.
	case m.events <- func() { f(); m.process(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-m.runDone:
		return ErrManagerExited
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.runDone:
		return ErrManagerExited
	}
}

// wait waits for a waiter's reply.
func (m *Manager) wait(ctx context.Context, ch chan error) error {
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-m.runDone:
		select {
		case err := <-ch:
			return err
		default:
			return ErrManagerExited
		}
	}
}

func (m *Manager) logf(format string, args ...any) {
	if m.cfg.Logger != nil {
		m.cfg.Logger.Printf(format, args...)
	}
}

func (m *Manager) checkIdle() {
	if m.done {
		return
	}
	if !m.shuttingDown && !(m.cfg.ExitWhenIdle && m.everStarted) {
		return
	}
	if !m.shuttingDown && m.pendingLoads > 0 {
		return
	}
	for _, s := range m.order {
		if s.state != Stopped || m.wanted(s) || s.ph == phRestartDelay {
			return
		}
	}
	if m.shuttingDown && m.shutdown == power.Remain {
		m.shuttingDown = false
		return
	}
	m.done = true
}

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

// Shutdown stops every service; Run then returns kind.
func (m *Manager) Shutdown(ctx context.Context, kind power.Kind) error {
	return m.call(ctx, func() { m.beginShutdown(kind) })
}

// RequestShutdown is Shutdown for signal handlers: it does not wait.
func (m *Manager) RequestShutdown(kind power.Kind) {
	go m.post(func() { m.beginShutdown(kind) })
}

func (m *Manager) beginShutdown(kind power.Kind) {
	m.shutdown = kind
	m.shuttingDown = true
	m.logf("shutdown (%s): stopping all services", kind)
	for _, s := range m.order {
		s.pinStart = false
		if s.state != Stopped || m.wanted(s) {
			m.bringDown(s, ReasonNormal)
		}
		if s.ph == phRestartDelay {
			m.stopTimer(&s.delayTimer)
			s.ph = phNone
		}
	}
	if m.reportTimer == nil {
		m.shutdownWait = 0
		m.reportTimer = m.timer(m.reportEvery(), m.reportHolding)
	}
}

func (m *Manager) reportEvery() time.Duration {
	if m.cfg.ShutdownReport > 0 {
		return m.cfg.ShutdownReport
	}
	return 10 * time.Second
}

// reportHolding names the services a shutdown is still waiting for, and
// gives up on them after ShutdownTimeout.
func (m *Manager) reportHolding() {
	m.reportTimer = nil
	if m.done || !m.shuttingDown {
		return
	}
	m.shutdownWait += m.reportEvery()
	var held []string
	for _, s := range m.order {
		if s.state != Stopped {
			held = append(held, fmt.Sprintf("%s (%s)", s.name(), s.state))
		}
	}
	if len(held) == 0 {
		return
	}
	if t := m.cfg.ShutdownTimeout; t > 0 && m.shutdownWait >= t {
		m.logf("shutdown: gave up after %v waiting for: %s", m.shutdownWait, strings.Join(held, ", "))
		m.done = true
		return
	}
	m.logf("shutdown: after %v, still waiting for: %s", m.shutdownWait, strings.Join(held, ", "))
	m.reportTimer = m.timer(m.reportEvery(), m.reportHolding)
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

// Info is a snapshot of one service for list and status.
type Info struct {
	Name       string
	Type       Type
	State      State
	Target     State
	Explicit   bool
	PinStart   bool
	PinStop    bool
	Failed     bool
	Skipped    bool
	PID        int
	Exit       ExitStatus
	HasExit    bool
	Reason     StopReason
	StatusText string
	File       string
	Deps       []string
	Dependents []string
	Triggered  bool
}

func (m *Manager) info(s *svc) Info {
	in := Info{
		Name: s.name(), Type: s.desc.Type, State: s.state, Explicit: s.explicit,
		PinStart: s.pinStart, PinStop: s.pinStop, Failed: s.failed, Skipped: s.skipped,
		Exit: s.exit, HasExit: s.hasExit, Reason: s.reason, StatusText: s.status,
		File: s.desc.File, Triggered: s.triggered,
	}
	in.Target = Stopped
	if m.wanted(s) {
		in.Target = Started
	}
	if s.proc != nil && !s.launcher {
		in.PID = s.proc.Pid()
	}
	for _, e := range s.deps {
		in.Deps = append(in.Deps, e.to.name())
	}
	for _, e := range s.dependents {
		in.Dependents = append(in.Dependents, e.from.name())
	}
	return in
}

// Status reports on one service, loading it if needed (as dinitctl does).
func (m *Manager) Status(ctx context.Context, name string) (Info, error) {
	var in Info
	err := m.withLoaded(ctx, []string{name}, func(ss []*svc) error {
		in = m.info(ss[0])
		return nil
	})
	return in, err
}

// List reports on every loaded service in load order.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	var out []Info
	err := m.call(ctx, func() {
		out = make([]Info, 0, len(m.order))
		for _, s := range m.order {
			out = append(out, m.info(s))
		}
	})
	return out, err
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

// notifier adapts Spawner callbacks into events on the manager loop.
type notifier struct{ m *Manager }

func (n notifier) Exited(p Proc, st ExitStatus) { n.m.post(func() { n.m.exited(p, st) }) }
func (n notifier) Ready(p Proc)                 { n.m.post(func() { n.m.readyEv(p) }) }
func (n notifier) StatusText(p Proc, text string) {
	n.m.post(func() {
		if s := n.m.procs[p]; s != nil {
			s.status = text
		}
	})
}
func (n notifier) TreeEmpty(p Proc) { n.m.post(func() { n.m.treeEmpty(p) }) }

// post queues f for the loop without waiting; after Run returned it is dropped.
func (m *Manager) post(f func()) {
	select {
	case m.events <- f:
	case <-m.runDone:
	}
}

// timer arms f on the loop after d.
func (m *Manager) timer(d time.Duration, f func()) Timer {
	return m.cfg.Clock.AfterFunc(d, func() { m.post(f) })
}

func (m *Manager) stopTimer(t *Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
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
