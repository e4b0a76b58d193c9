package service

import (
	"context"
	"time"

	"ginit/internal/calendar"
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
	// Conditions checks Description.Conditions at each start; nil: every
	// condition is met (tests without a file system).
	Conditions ConditionChecker
	Clock      Clock
	Logger     Logger
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
	// StartLimit is the soft limit on services starting at once (the zero
	// value: none).
	StartLimit StartLimit
	// Pressure reads the PSI for StartLimit's thresholds; nil: not read.
	Pressure PressureReader
	// ClassLimits are per-class limits on services starting at once
	// (start-class = NAME in a description): NAME -> N, counted with
	// StartLimit's grace, on top of StartLimit.Max. nil: none.
	ClassLimits map[string]int
	// Sockets makes and watches socket services' listening sockets; nil:
	// a socket service fails to start.
	Sockets Sockets
	// TimerStore keeps persistent timers' last runs; nil: not kept.
	TimerStore TimerStore
	// Rand draws timers' randomized delays; nil: a generator seeded from
	// the clock.
	Rand calendar.Rand
	// Settled, when set, is called on the manager goroutine once no event
	// has arrived for SettleDelay after some did (a boot, a burst of
	// starts or stops): ginit then hands the memory the burst used back to
	// the kernel. It must not block.
	Settled     func()
	SettleDelay time.Duration
	// Burst, when set, is called on the manager goroutine when a busy
	// spell begins (a batch of at least burstSpawns forks, or one event
	// that makes burstWork changes), and again only after Settled: ginit
	// runs on one P while it idles and on all of them through a burst.
	// It must not block.
	Burst func()
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
	pendingLoads  int                    // chain-to targets being read off the loop
	reads         map[string]*readFlight // requests' reads under way (load.go)
	busy          int                    // services not Stopped, or in their restart delay (setState counts)
	// Start slots (startslot.go): when each service holding one began,
	// those waiting for one in order, and the timer that looks again.
	starting   map[*svc]time.Time
	slotWait   []*svc
	slotTimer  Timer
	slotAt     time.Time // when slotTimer fires
	pressure   Pressure  // the last PSI reading, at pressureAt
	pressureAt time.Time
	pressureOK bool
	// Timers (timer.go): the started (or stopping) timer services, the
	// manager's start on the boot clock's stand-in, the one wall-clock
	// check and the offset it compares against.
	activeTimers map[*svc]bool
	// activeSockets are the socket services whose sockets are open (activation.go).
	activeSockets map[*svc]bool
	// accepted maps each instance started for a connection to the name
	// of its Accept socket service; the instance is unloaded once stopped.
	accepted   map[string]string
	t0         time.Time
	clockTimer Timer
	clockRef   time.Duration
	rnd        calendar.Rand
	// transition, when set (by tests), hears every change of a service's
	// state or phase, from setState.
	transition func(name string, from, to stage)
	// Settling (see Config.Settled): events run so far, their count when
	// settleTimer was armed, and the timer. work counts events and state
	// changes: one event (a boot's start of a target) can start thousands
	// of services, and that spell is worth settling after.
	eventCount  uint64
	settleSeen  uint64
	settleTimer Timer
	work        uint64
	settledAt   uint64 // work at the last settle
	bursting    bool   // Burst was called and Settled not yet
}

// settleMinEvents is how much work (events and state changes) a busy spell
// must have done for Settled to be called after it.
const settleMinEvents = 16

// A burst (see Config.Burst) is a batch of this many forks, or one event
// with this much work: a boot, or the start or stop of a large target. A
// crash loop's respawn, one fork an event, is never one.
const (
	burstSpawns = 8
	burstWork   = 16
)

// burst tells Config.Burst a busy spell has begun, once until it settles.
func (m *Manager) burst() {
	if m.cfg.Burst != nil && !m.bursting {
		m.bursting = true
		m.cfg.Burst()
	}
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
		starting: make(map[*svc]time.Time),
		env:      append([]string(nil), cfg.Env...),

		activeTimers:  make(map[*svc]bool),
		activeSockets: make(map[*svc]bool),
		accepted:      make(map[string]string),
		t0:            clockNow(cfg.Clock),
	}
}

func clockNow(c Clock) time.Time {
	if c == nil {
		return time.Time{}
	}
	return c.Now()
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
			m.eventCount++
			m.work++
			if _, ok := m.settleTimer.(settledMark); ok {
				m.settleTimer = nil // an event after settling: settle again
			}
			before := m.work
			f()
			m.process()
			if m.work-before >= burstWork {
				m.burst()
			}
			m.checkIdle()
			m.armSettle()
		}
	}
	m.stopTimer(&m.settleTimer)
	return m.shutdown, nil
}

// armSettle arms the settle timer after an event, unless it is armed.
func (m *Manager) armSettle() {
	if m.cfg.Settled == nil || m.settleTimer != nil || m.done {
		return
	}
	m.settleSeen = m.eventCount
	m.settleTimer = m.timer(m.cfg.SettleDelay, m.settleCheck)
}

// settleCheck runs as an event of its own: the loop is settled when it is
// the only event since the timer was armed; otherwise it looks again later
// (armSettle, right after this event).
func (m *Manager) settleCheck() {
	m.settleTimer = nil
	if m.eventCount == m.settleSeen+1 {
		// A handful of events (a periodic check, a status) leaves
		// nothing worth handing back.
		if m.work-m.settledAt > settleMinEvents || m.bursting {
			m.compact()
			m.cfg.Settled()
		}
		m.bursting = false
		m.settledAt = m.work
		// Quiet until the next event from outside: this one must not
		// arm the timer again.
		m.settleSeen = m.eventCount
		m.settleTimer = settledMark{}
	}
}

// compact replaces the maps a burst grows and empties again with ones of
// their present size: a Go map keeps the buckets of its largest size, and
// a boot's thousand starts left ~120 kB in the starting and queued sets.
// It runs at settling, before Settled hands the freed heap back.
func (m *Manager) compact() {
	m.starting = resized(m.starting)
	m.queued = resized(m.queued)
	m.procs = resized(m.procs)
	if len(m.queue) == 0 {
		m.queue = nil
	}
}

// resized copies m into a map made for its length (maps.Clone keeps the
// old one's size).
func resized[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// settledMark stands in for the settle timer while the loop is settled, so
// that armSettle leaves it alone until an outside event clears it.
type settledMark struct{}

func (settledMark) Stop() bool { return false }

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
	case <-m.runDone:
	}
	// done is closed before a Run that f ended returns (shutdown) and may
	// be ready together with the others: the request was carried out.
	select {
	case <-done:
		return nil
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return ErrManagerExited
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
	// Counted by setState: the scan below, over every service, runs only
	// once nothing is starting, running or stopping, not at each event.
	if m.busy > 0 {
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
