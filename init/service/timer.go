package service

import (
	"math/rand/v2"
	"time"

	"ginit/internal/calendar"
)

// Timer services (type timer): a timer has no process; started, it arms one
// clock timer for the earliest elapse of its triggers (internal/calendar
// decides when) and, at each elapse, starts its target the way `start`
// would. A target whose run began at an elapse (byTimer) and that is a
// task (scripted, internal, triggered) gives its activation back once it
// has started, so it returns to Stopped and the next elapse can run it
// again; a process target runs until it ends. Stopping the timer waits for
// a run in progress, and after the timer's stop-timeout brings it down.
// Everything here runs on the manager goroutine.

// TimerStore keeps the last elapse of persistent timers across boots. Last
// is called when a persistent timer starts: a missing record is the zero
// time and no error; a damaged one is an error naming the file, and the
// timer then starts as if it had never run. Save must not block the
// caller for long (the real one hands the write to a goroutine).
type TimerStore interface {
	Last(name string) (time.Time, error)
	Save(name string, at time.Time)
}

// BootClock is what a Clock may also offer: the time since boot on a clock
// that wall-clock changes do not move. Without it the manager counts from
// its own start (on-boot then means "after the manager started").
type BootClock interface {
	SinceBoot() time.Duration
}

// clockCheck is how often started calendar timers look whether the wall
// clock moved against the boot clock (settimeofday, suspend), and
// clockSlack how far it may drift before their elapses are computed again.
// One check serves every timer, so idle timers cost one wake-up a minute.
const (
	clockCheck = time.Minute
	clockSlack = time.Second
)

// timerRun is the live state of a timer service. It outlives a stop so
// that status still shows the last run.
type timerRun struct {
	st      calendar.State
	next    calendar.Elapse
	hasNext bool
	armed   Timer
	gen     int       // bumps at every arm; a firing with an older one is stale
	last    time.Time // wall time of the last elapse (this start, or stored)
	runs    int       // elapses since the timer started
}

// instant reads both clocks a timer needs.
func (m *Manager) instant() calendar.Instant {
	now := m.cfg.Clock.Now()
	in := calendar.Instant{Wall: now.Round(0)}
	if bc, ok := m.cfg.Clock.(BootClock); ok {
		in.Boot = bc.SinceBoot()
	} else {
		in.Boot = now.Sub(m.t0) // monotonic on the real clock
	}
	return in
}

func (m *Manager) random() calendar.Rand {
	if m.cfg.Rand != nil {
		return m.cfg.Rand
	}
	if m.rnd == nil {
		seed := uint64(m.cfg.Clock.Now().UnixNano())
		m.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	return m.rnd
}

// timerStart arms a timer that has just become Started.
func (m *Manager) timerStart(s *svc) {
	spec := s.desc.Timer
	if spec == nil {
		return
	}
	var stored time.Time
	if spec.Triggers.Persistent && m.cfg.TimerStore != nil {
		t, err := m.cfg.TimerStore.Last(s.name())
		if err != nil {
			m.logf("timer '%s': %v; starting as if it never ran", s.name(), err)
		} else {
			stored = t
		}
	}
	prev := s.tm
	s.tm = &timerRun{st: spec.Triggers.Start(m.instant(), stored, m.random()), last: stored}
	if prev != nil && prev.last.After(stored) {
		s.tm.last = prev.last
	}
	m.activeTimers[s] = true
	m.timerArm(s)
	m.watchClock()
}

// timerArm (re)computes the next elapse of s and arms its clock timer.
func (m *Manager) timerArm(s *svc) {
	tm := s.tm
	m.stopTimer(&tm.armed)
	tm.gen++
	tm.next, tm.hasNext = s.desc.Timer.Triggers.Next(tm.st, m.instant())
	if !tm.hasNext {
		return
	}
	gen := tm.gen
	tm.armed = m.timer(tm.next.Wait, func() { m.timerFire(s, gen) })
}

// timerFire is an elapse of s: it starts the target unless that is still
// busy (a run is never doubled, as systemd does not start an active unit).
func (m *Manager) timerFire(s *svc, gen int) {
	tm := s.tm
	if tm == nil || tm.gen != gen || s.state != Started || m.services[s.name()] != s {
		return
	}
	tm.armed = nil
	spec := s.desc.Timer
	now := m.instant()
	// Next adds the drawn delay to an elapse already due, which the clock
	// timer has waited out; more than that means the wall clock went back
	// since the timer was armed: not due yet.
	if e, ok := spec.Triggers.Next(tm.st, now); !ok || e.Wait > tm.st.Delay {
		m.timerArm(s)
		return
	}
	trigger := tm.next.Trigger
	tm.st = spec.Triggers.Ran(tm.st, now, m.random())
	tm.last = now.Wall
	tm.runs++
	if spec.Triggers.Persistent && m.cfg.TimerStore != nil {
		m.cfg.TimerStore.Save(s.name(), now.Wall)
	}
	switch t := m.services[spec.Target]; {
	case t == nil:
		m.logf("timer '%s': target '%s' is not loaded", s.name(), spec.Target)
	case t.pinStop:
		m.logf("timer '%s': target '%s' is pinned stopped; elapse skipped", s.name(), spec.Target)
	case m.shuttingDown:
	case t.state != Stopped || m.wanted(t):
		m.logf("timer '%s': target '%s' is still %s; elapse skipped", s.name(), spec.Target, t.state)
	default:
		m.logf("timer '%s' (%s): starting '%s'", s.name(), trigger, spec.Target)
		m.activate(t)
		t.byTimer = true
	}
	m.timerArm(s)
}

// timerTargetStarted: a run started by a timer is up. A task's run is
// over, so it gives its activation back and stops again.
func (m *Manager) timerTargetStarted(t *svc) {
	switch t.desc.Type {
	case TypeScripted, TypeInternal, TypeTriggered:
		t.explicit = false
		m.enqueue(t)
	}
}

// timerTargetStopped: t became Stopped, which arms its timers'
// on-unit-inactive triggers and ends a stop that waited for the run.
func (m *Manager) timerTargetStopped(t *svc) {
	t.byTimer = false
	var now calendar.Instant
	for s := range m.activeTimers {
		if s.desc.Timer == nil || s.desc.Timer.Target != t.name() {
			continue
		}
		if now.IsZero() {
			now = m.instant()
		}
		s.tm.st = s.desc.Timer.Triggers.Inactive(s.tm.st, now)
		switch {
		case s.state == Started:
			m.timerArm(s)
		case s.state == Stopping && s.ph == phExecStop:
			m.finishStop(s)
		}
	}
}

// timerStop is execStop for a timer: disarm, and wait for a run in
// progress; after stop-timeout that run is brought down.
func (m *Manager) timerStop(s *svc) {
	if s.tm != nil {
		m.stopTimer(&s.tm.armed)
		s.tm.hasNext = false
	}
	d := s.desc
	t := m.services[d.Timer.Target]
	if t == nil || !t.byTimer || t.state == Stopped {
		m.finishStop(s)
		return
	}
	m.logf("timer '%s': waiting for '%s' to finish", s.name(), t.name())
	if d.StopTimeout > 0 && s.stopTimer == nil {
		s.stopTimer = m.timer(d.StopTimeout, func() {
			s.stopTimer = nil
			if s.state != Stopping || !t.byTimer || m.services[t.name()] != t {
				return
			}
			m.logf("timer '%s': '%s' still running after %v; stopping it", s.name(), t.name(), d.StopTimeout)
			m.bringDown(t, ReasonNormal)
			if t.state == Starting && t.ph == phExec && t.proc != nil {
				// Even a start that is not start-interruptible: the
				// timer's stop-timeout is the limit of its run.
				m.cancelStart(t)
			}
		})
	}
}

// timerFinished: s is Stopped; it no longer listens for its target.
func (m *Manager) timerFinished(s *svc) {
	delete(m.activeTimers, s)
	if s.tm != nil {
		m.stopTimer(&s.tm.armed)
		s.tm.hasNext = false
	}
}

// clockOffset is the wall clock minus the boot clock: constant until the
// wall clock is set or the machine sleeps.
func clockOffset(in calendar.Instant) time.Duration {
	return time.Duration(in.Wall.UnixNano()) - in.Boot
}

// watchClock runs the one wall-clock check while a calendar timer is up.
func (m *Manager) watchClock() {
	if m.clockTimer != nil || !m.calendarTimersUp() {
		return
	}
	m.clockRef = clockOffset(m.instant())
	m.clockTimer = m.timer(clockCheck, m.checkClock)
}

func (m *Manager) calendarTimersUp() bool {
	for s := range m.activeTimers {
		if s.state == Started && len(s.desc.Timer.Triggers.Calendar) > 0 {
			return true
		}
	}
	return false
}

// WallClockSet tells the manager that the wall clock was set (the daemon
// learns it from a timerfd with TFD_TIMER_CANCEL_ON_SET): calendar timers
// are re-evaluated now rather than at the next minute's check.
func (m *Manager) WallClockSet() {
	m.post(func() {
		m.stopTimer(&m.clockTimer)
		m.checkClock()
	})
}

// checkClock re-evaluates calendar timers when the wall clock moved.
func (m *Manager) checkClock() {
	m.clockTimer = nil
	if !m.calendarTimersUp() {
		return
	}
	if d := clockOffset(m.instant()) - m.clockRef; d > clockSlack || d < -clockSlack {
		m.logf("wall clock moved by %v: timers re-evaluated", d.Round(time.Millisecond))
		for s := range m.activeTimers {
			if s.state == Started && len(s.desc.Timer.Triggers.Calendar) > 0 {
				m.timerArm(s)
			}
		}
	}
	m.watchClock()
}

// timerInfo fills the timer part of a snapshot.
func (s *svc) timerInfo(in *Info) {
	if s.desc.Timer == nil {
		return
	}
	in.TimerTarget = s.desc.Timer.Target
	if s.tm == nil {
		return
	}
	in.LastRun = s.tm.last
	in.Runs = s.tm.runs
	if s.tm.hasNext {
		in.NextRun, in.NextTrigger = s.tm.next.At, s.tm.next.Trigger
	}
}
