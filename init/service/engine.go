package service

import (
	"fmt"
	"sync"
	"syscall"
)

// This file is the state machine proper. Every function here runs on the
// manager goroutine. Changes enqueue the services they may affect and
// process() steps them until nothing moves.

// wanted: should s be up?
func (m *Manager) wanted(s *svc) bool {
	if s.pinStop || s.forceDown {
		return false
	}
	return s.explicit || s.requiredBy > 0
}

func (m *Manager) enqueue(s *svc) {
	if !m.queued[s] {
		m.queued[s] = true
		m.queue = append(m.queue, s)
	}
}

// enqueueNeighbours: everything whose decisions may depend on s.
func (m *Manager) enqueueNeighbours(s *svc) {
	for _, e := range s.dependents {
		m.enqueue(e.from)
	}
	for _, e := range s.deps {
		m.enqueue(e.to)
	}
	for _, o := range s.afterMe {
		m.enqueue(o)
	}
	for _, o := range s.after {
		m.enqueue(o)
	}
}

func (m *Manager) process() {
	for {
		for len(m.queue) > 0 {
			s := m.queue[0]
			m.queue = m.queue[1:]
			delete(m.queued, s)
			if m.services[s.name()] != s {
				continue // unloaded meanwhile
			}
			m.step(s)
			m.notifyWaiters(s)
		}
		m.queue = m.queue[:0]
		if len(m.pendingSpawns) == 0 {
			return
		}
		m.flushSpawns()
	}
}

func (m *Manager) hold(e *edge) {
	if !e.hold {
		e.hold = true
		e.from.holding++
		e.to.requiredBy++
		m.enqueue(e.to)
	}
}

func (m *Manager) release(e *edge) {
	if e.hold {
		e.hold = false
		e.from.holding--
		e.to.requiredBy--
		m.enqueue(e.to)
	}
}

// releaseDeps releases every dependency s holds. A stopped target of
// thousands is stepped once per dependency that stops: walking all its
// edges to release none was quadratic in a mass stop, so the walk ends
// once s.holding says nothing more is held.
func (m *Manager) releaseDeps(s *svc) {
	for i := 0; i < len(s.deps) && s.holding > 0; i++ {
		m.release(s.deps[i])
	}
}

func (m *Manager) activate(s *svc) {
	if !s.explicit {
		s.explicit = true
	}
	s.byTimer = false // a start by command makes the run nobody's task
	s.forceDown = false
	m.everStarted = true
	m.enqueue(s)
}

// setState is the one place a service's state or phase changes: it wakes
// up the neighbours when the state changes, and s itself always.
func (m *Manager) setState(s *svc, st State, ph phase) {
	changed := s.state != st
	if changed {
		m.work++
	}
	if m.transition != nil && (changed || s.ph != ph) {
		m.transition(s.name(), stage{s.state, s.ph}, stage{st, ph})
	}
	m.trackSlot(s, stage{s.state, s.ph}, stage{st, ph})
	if was, now := busy(s.state, s.ph), busy(st, ph); was != now {
		if now {
			m.busy++
		} else {
			m.busy--
		}
	}
	s.state, s.ph = st, ph
	if st == Stopped {
		// A restart's waiter must know the service went down even if it
		// comes back up before the waiter is looked at again.
		for _, w := range s.waiters {
			if w.pastStop {
				w.sawStop = true
			}
		}
	}
	if changed {
		s.since = m.cfg.Clock.Now()
		m.enqueueNeighbours(s)
		if st == Stopped && (s.byTimer || len(m.activeTimers) > 0) {
			m.timerTargetStopped(s)
		}
		if len(m.activeSockets) > 0 || len(m.accepted) > 0 {
			m.socketTargetMoved(s)
		}
	}
	m.enqueue(s)
}

// busy: a service in this stage keeps the manager from being idle
// whatever it wants (checkIdle).
func busy(st State, ph phase) bool { return st != Stopped || ph == phRestartDelay }

// setPhase moves s to another phase of its state.
func (m *Manager) setPhase(s *svc, ph phase) { m.setState(s, s.state, ph) }

func (m *Manager) step(s *svc) {
	switch s.state {
	case Stopped:
		if !m.wanted(s) {
			if s.held {
				m.releaseHeld(s) // the restart it was kept for is off
			}
			m.releaseDeps(s)
			return
		}
		if s.ph == phRestartDelay || m.shuttingDown {
			return
		}
		if wait := s.lastStart.Add(s.desc.RestartDelay).Sub(m.cfg.Clock.Now()); s.autoRestart && wait > 0 {
			m.setPhase(s, phRestartDelay)
			s.delayTimer = m.timer(wait, func() {
				s.delayTimer = nil
				if s.ph == phRestartDelay {
					m.setPhase(s, phNone)
				}
			})
			return
		}
		m.beginStart(s)
	case Starting:
		if !m.wanted(s) && !s.pinStart {
			if s.ph == phExec && s.proc != nil && uninterruptible(s) {
				// dinit's rule: a start command runs to its end unless the
				// service is start-interruptible; then it stops.
				return
			}
			m.cancelStart(s)
			return
		}
		if s.ph == phWaitDeps {
			m.checkDeps(s)
		} else if s.ph == phExec && s.desc.Type == TypeTriggered && s.triggered {
			m.becomeStarted(s)
		}
	case Started:
		if !m.wanted(s) && !s.pinStart {
			m.beginStop(s)
			return
		}
		// A hard dependency going down takes this service down with it.
		for _, e := range s.deps {
			skipped := e.done && e.to.state == Stopped && e.to.reason == ReasonCondition
			if e.kind == DepRegular && (e.to.state == Stopping || e.to.state == Stopped) && !skipped {
				if e.to.restarting {
					s.reason = ReasonDepRestart
					s.restarting = true
				} else {
					s.reason = ReasonDepStopped
				}
				m.beginStop(s)
				return
			}
		}
	case Stopping:
		if s.ph == phWaitDepnts && m.hardDependentsDown(s) {
			m.execStop(s)
		}
	}
}

// beginStart: Stopped -> Starting, holding the dependencies.
func (m *Manager) beginStart(s *svc) {
	s.failed, s.skipped, s.hasExit, s.reason, s.status = false, false, false, ReasonNone, ""
	s.killedAll = false
	s.cause, s.autoRestart = "", false
	for _, e := range s.deps {
		e.done = false
		m.hold(e)
	}
	m.setState(s, Starting, phWaitDeps)
}

// checkDeps moves s to exec once dependencies and ordering allow, or fails it.
func (m *Manager) checkDeps(s *svc) {
	ready := true
	for _, e := range s.deps {
		d := e.to
		switch e.kind {
		case DepRegular, DepMilestone:
			if d.state == Started || e.done && d.state == Stopped && d.reason == ReasonCondition {
				continue
			}
			if d.pinStop {
				s.cause = fmt.Sprintf("dependency '%s' is pinned stopped", d.name())
				m.failStart(s, ReasonDepFailed)
				return
			}
			if e.done || d.state == Stopped && d.failed && !m.wanted(d) {
				s.cause = fmt.Sprintf("dependency '%s' failed", d.name())
				m.failStart(s, ReasonDepFailed)
				return
			}
			ready = false
		case DepWaitsFor:
			if d.state == Started || e.done {
				continue
			}
			if d.state == Stopped && !m.wanted(d) && d.ph != phRestartDelay {
				continue
			}
			ready = false
		}
	}
	for _, o := range s.after {
		if o.state == Starting || (o.state == Stopped && m.wanted(o) && !o.failed) {
			ready = false
		}
	}
	if ready && m.takeSlot(s) {
		m.execStart(s)
	}
}

func (m *Manager) spawn(s *svc, kind ProcKind, argv []string) (Proc, error) {
	req := SpawnRequest{Desc: s.desc, Kind: kind, Argv: argv, Env: m.env}
	switch kind {
	case ProcStart:
		req.Sockets = m.socketOf(s)
	case ProcReload:
		req.Env = m.mainPIDEnv(s)
	}
	p, err := m.cfg.Spawner.Spawn(req, notifier{m})
	if err != nil {
		return nil, err
	}
	m.procs[p] = s
	return p, nil
}

func (m *Manager) execStart(s *svc) {
	m.setPhase(s, phExec)
	s.lastStart = m.cfg.Clock.Now()
	d := s.desc
	// Conditions are checked here, on the manager goroutine, at each
	// start (not at load): the checker only stats, lstats and reads small
	// files of /proc and /run, which do not block on local file systems.
	// A condition on a path of a hung network mount would stall the
	// manager; such paths are the unit's author's choice, as under systemd.
	if len(d.Ext().Conditions) > 0 && m.cfg.Conditions != nil {
		if c, ok := evalConditions(m.cfg.Conditions, d.Ext().Conditions); !ok {
			s.cause = conditionCause(c)
			s.status = s.cause // shown by status
			m.logf("service '%s': %s", s.name(), s.cause)
			if c.Assert {
				m.failStart(s, ReasonAssert)
			} else {
				m.skipStart(s)
			}
			return
		}
	}
	switch d.Type {
	case TypeInternal:
		m.becomeStarted(s)
		return
	case TypeTimer:
		m.becomeStarted(s)
		m.timerStart(s)
		return
	case TypeSocket:
		m.socketStart(s)
		return
	case TypeTriggered:
		if s.triggered {
			m.becomeStarted(s)
		}
		return
	case TypeScripted:
		if d.Options.RunOnce && s.ranOnce {
			m.becomeStarted(s)
			return
		}
	}
	// The command is started by flushSpawns once this pass over the queue
	// is done, together with every other service that became ready in it,
	// so that their fork/execs can overlap.
	s.spawnSeq++
	m.pendingSpawns = append(m.pendingSpawns, pendingSpawn{s: s, seq: s.spawnSeq})
}

// maxKeptSpawnQueue is the most pending spawns whose queue flushSpawns
// keeps for reuse: a crash loop's respawns reuse it without allocating.
const maxKeptSpawnQueue = 64

// pendingSpawn is a start command waiting for flushSpawns.
type pendingSpawn struct {
	s   *svc
	seq int
	p   Proc
	err error
}

// flushSpawns starts the queued start commands that are still wanted
// (nothing else can have happened to them but steps of the same pass),
// concurrently when Config.SpawnParallel allows, then finishes each start
// in queue order on the manager goroutine.
func (m *Manager) flushSpawns() {
	batch := m.pendingSpawns[:0:0]
	for _, ps := range m.pendingSpawns {
		s := ps.s
		if ps.seq == s.spawnSeq && s.state == Starting && s.ph == phExec && s.proc == nil && m.services[s.name()] == s {
			batch = append(batch, ps)
		}
	}
	// A boot's burst queues every service at once: keep a small queue for
	// the next one, not the burst's (48 bytes a service, for the life of
	// the manager), nor the finished entries' processes and errors.
	if cap(m.pendingSpawns) > maxKeptSpawnQueue {
		m.pendingSpawns = nil
	} else {
		clear(m.pendingSpawns)
		m.pendingSpawns = m.pendingSpawns[:0]
	}
	if len(batch) >= burstSpawns {
		m.burst() // before the forks, so that they overlap on more Ps
	}
	run := func(i int) {
		s := batch[i].s
		batch[i].p, batch[i].err = m.cfg.Spawner.Spawn(SpawnRequest{Desc: s.desc, Kind: ProcStart, Argv: s.desc.Command, Env: m.env, Sockets: m.socketOf(s)}, notifier{m})
	}
	if n := m.cfg.SpawnParallel; n > 1 && len(batch) > 1 {
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < n && w < len(batch); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					run(i)
				}
			}()
		}
		for i := range batch {
			next <- i
		}
		close(next)
		wg.Wait()
	} else {
		for i := range batch {
			run(i)
		}
	}
	for _, ps := range batch {
		if ps.err == nil {
			m.procs[ps.p] = ps.s
		}
		m.finishExecStart(ps.s, ps.p, ps.err)
		// Waiters on s (start, restart) were last checked when it was
		// stepped, before it had a process.
		m.notifyWaiters(ps.s)
	}
}

// finishExecStart continues execStart once the start command was spawned.
func (m *Manager) finishExecStart(s *svc, p Proc, err error) {
	d := s.desc
	if err != nil {
		s.exit, s.hasExit = ExitStatus{ExecErr: err}, true
		m.logf("service '%s': %v", s.name(), err)
		m.failStart(s, ReasonExecFailed)
		return
	}
	s.proc, s.ready = p, false
	s.launcher = d.Type == TypeBGProcess
	if d.StartTimeout > 0 {
		s.startTimer = m.timer(d.StartTimeout, func() {
			s.startTimer = nil
			if s.state == Starting && s.ph == phExec {
				m.logf("service '%s': start timed out after %v", s.name(), d.StartTimeout)
				s.cause = fmt.Sprintf("no start within %v", d.StartTimeout)
				m.failStart(s, ReasonTimedOut)
			}
		})
	}
	if d.Type == TypeProcess && d.Ext().ReadyNotification == "" {
		m.becomeStarted(s)
	}
}

func (m *Manager) becomeStarted(s *svc) {
	m.stopTimer(&s.startTimer)
	s.restarting = false
	s.failed = false
	m.setState(s, Started, phNone)
	m.logf("service '%s' started", s.name())
	m.observe(s, Started)
	if s.byTimer {
		m.timerTargetStarted(s)
	}
	// A milestone dependency is no longer needed once we are up... but it
	// is still held so it is not stopped under us by mere release; only its
	// own stop no longer propagates (see step).
}

// failStart: the start of s did not succeed. Dependents waiting for s fail
// too; waits-for dependents stop waiting; s loses its activation.
func (m *Manager) failStart(s *svc, reason StopReason) {
	m.stopTimer(&s.startTimer)
	s.reason = reason
	s.failed = true
	s.explicit = false
	s.restarting = false
	for _, e := range s.dependents {
		if !e.hold {
			continue
		}
		from := e.from
		switch e.kind {
		case DepRegular, DepMilestone:
			if from.state == Starting {
				if from.cause == "" {
					from.cause = fmt.Sprintf("dependency '%s' failed", s.name())
				}
				m.failStart(from, ReasonDepFailed)
			}
		}
		e.done = true
		m.release(e)
	}
	if s.proc != nil || s.stopProc != nil {
		// Kill what is still running, then settle in Stopped.
		s.forceDown = true
		m.setState(s, Stopping, phWaitDepnts)
		m.execStop(s)
		return
	}
	m.finishStop(s)
}

// skipStart: a condition of s is not met. As under systemd the start
// counts as done: nothing runs, s settles in Stopped without failing, and
// dependents waiting for it go on (checkDeps).
func (m *Manager) skipStart(s *svc) {
	m.stopTimer(&s.startTimer)
	s.reason = ReasonCondition
	s.explicit = false
	s.restarting = false
	for _, e := range s.dependents {
		if !e.hold {
			continue
		}
		e.done = true
		m.release(e)
	}
	m.finishStop(s)
}

// uninterruptible: a start command of s that is running is left to finish
// when s is no longer wanted (a scripted start command or a bgprocess
// launcher without options start-interruptible). An interruptible one is
// stopped as a running service is: its term signal (SIGTERM for scripted)
// to the whole tree, not dinit's SIGINT, which the background jobs of a
// shell script ignore.
func uninterruptible(s *svc) bool {
	if s.desc.Options.StartInterruptible {
		return false
	}
	return s.desc.Type == TypeScripted || s.desc.Type == TypeBGProcess && s.launcher
}

// cancelStart: s is starting but nobody wants it any more.
func (m *Manager) cancelStart(s *svc) {
	m.stopTimer(&s.startTimer)
	if s.ph == phExec && (s.proc != nil) {
		m.setState(s, Stopping, phWaitDepnts)
		m.step(s)
		return
	}
	if s.reason == ReasonNone {
		s.reason = ReasonNormal
	}
	m.finishStop(s)
}

// beginStop: Started (or starting with a process) -> Stopping.
func (m *Manager) beginStop(s *svc) {
	if s.state == Stopping || s.state == Stopped {
		return
	}
	m.stopTimer(&s.startTimer)
	if s.reason == ReasonNone {
		s.reason = ReasonNormal
	}
	m.setState(s, Stopping, phWaitDepnts)
	if m.hardDependentsDown(s) {
		m.execStop(s)
	}
}

// hardDependentsDown: no hard dependent of s still runs.
func (m *Manager) hardDependentsDown(s *svc) bool {
	for _, e := range s.dependents {
		if e.kind != DepRegular {
			continue
		}
		d := e.from
		switch d.state {
		case Started, Stopping:
			return false
		case Starting:
			if d.ph == phExec {
				return false
			}
		}
	}
	return true
}

// activeHardDependents lists hard dependents that a stop of s would stop.
func (m *Manager) activeHardDependents(s *svc) []string {
	var out []string
	for _, e := range s.dependents {
		if e.kind == DepRegular && e.hold && e.from.state != Stopped {
			out = append(out, e.from.name())
		}
	}
	return out
}

// execStop runs the stop action: stop-command or the term signal, with the
// stop timer escalating to SIGKILL of the whole tree.
func (m *Manager) execStop(s *svc) {
	d := s.desc
	if d.Options.KillAllOnStop && !s.killedAll && m.cfg.KillAll != nil {
		// Every other process goes first (shutdown scripts that unmount
		// need nothing left holding files); the stop goes on once done.
		s.killedAll = true
		m.setPhase(s, phKillAll)
		m.logf("service '%s': kill-all-on-stop: signalling every process", s.name())
		m.cfg.KillAll(func() {
			m.post(func() {
				if s.state == Stopping && s.ph == phKillAll {
					m.execStop(s)
				}
			})
		})
		return
	}
	m.setPhase(s, phExecStop)
	m.stopReload(s)
	switch d.Type {
	case TypeInternal, TypeTriggered:
		m.finishStop(s)
		return
	case TypeTimer:
		m.timerStop(s)
		return
	case TypeSocket:
		m.socketStop(s)
		m.finishStop(s)
		return
	case TypeScripted:
		if s.proc != nil {
			m.signalStop(s, s.proc, int(syscall.SIGTERM))
		} else if len(d.Ext().StopCommand) > 0 && !(d.Options.RunOnce && !m.shuttingDown) {
			p, err := m.spawn(s, ProcStop, d.Ext().StopCommand)
			if err != nil {
				m.logf("service '%s': stop command: %v", s.name(), err)
				m.finishStop(s)
				return
			}
			s.stopProc = p
		} else {
			m.finishStop(s)
			return
		}
	default:
		if s.proc == nil && s.treeProc == nil {
			m.finishStop(s)
			return
		}
		if s.proc != nil {
			if len(d.Ext().StopCommand) > 0 && !s.launcher {
				p, err := m.spawn(s, ProcStop, d.Ext().StopCommand)
				if err != nil {
					m.logf("service '%s': stop command: %v; signalling instead", s.name(), err)
					m.signalStop(s, s.proc, int(d.TermSignal))
				} else {
					s.stopProc = p
				}
			} else {
				m.signalStop(s, s.proc, int(d.TermSignal))
			}
		}
	}
	if d.StopTimeout > 0 && s.stopTimer == nil {
		s.stopTimer = m.timer(d.StopTimeout, func() {
			s.stopTimer = nil
			if s.state != Stopping {
				return
			}
			m.logf("service '%s': stop timed out after %v; sending SIGKILL", s.name(), d.StopTimeout)
			if s.reason == ReasonNormal || s.reason == ReasonNone {
				// Stopped on request, but not by its stop signal: status
				// must not call that a normal stop.
				s.reason = ReasonStopKilled
			}
			for _, p := range []Proc{s.proc, s.stopProc, s.treeProc} {
				if p != nil {
					_ = p.KillTree(int(syscall.SIGKILL))
				}
			}
			if s.proc == nil && s.stopProc == nil {
				// Only an unwatched tree was left; it has been killed.
				s.treeProc = nil
				m.finishStop(s)
			}
		})
	}
}

func (m *Manager) signalStop(s *svc, p Proc, sig int) {
	if sig == 0 {
		return
	}
	var err error
	if s.desc.Options.SignalProcessOnly {
		err = p.Signal(sig)
	} else {
		err = p.KillTree(sig)
	}
	if err != nil {
		m.logf("service '%s': signal %d: %v", s.name(), sig, err)
	}
}

// maybeFinishStop completes a stop once every process is gone.
func (m *Manager) maybeFinishStop(s *svc) {
	if s.state != Stopping || s.ph != phExecStop {
		return
	}
	if s.proc != nil || s.stopProc != nil || s.treeProc != nil {
		return
	}
	m.finishStop(s)
}

// releaseHeld has the spawner free what it holds for s.
func (m *Manager) releaseHeld(s *svc) {
	s.held = false
	m.cfg.Spawner.Release(s.desc)
}

// finishStop: -> Stopped, releasing dependencies.
func (m *Manager) finishStop(s *svc) {
	m.stopTimer(&s.stopTimer)
	m.stopTimer(&s.startTimer)
	if s.supervised() || s.desc.Type == TypeScripted {
		// A restart spawns again at once: what the spawner holds is kept
		// for it (rmdir and mkdir of the cgroup were most of a respawn's
		// cost), and released by step if the service stays down instead.
		if s.restarting && m.wanted(s) {
			s.held = true
		} else {
			m.releaseHeld(s)
		}
	}
	if s.desc.Type == TypeTimer {
		m.timerFinished(s)
	}
	s.forceDown = false
	if !m.wanted(s) {
		// Dependencies stay held across a restart so they are not bounced.
		m.releaseDeps(s)
	}
	s.proc, s.stopProc, s.treeProc = nil, nil, nil
	m.setState(s, Stopped, phNone)
	if s.reason == ReasonNone {
		s.reason = ReasonNormal
	}
	m.logf("service '%s' stopped (%s)", s.name(), s.reason)
	m.observe(s, Stopped)
	if !m.wanted(s) {
		s.restarting = false
		return
	}
	if !m.shuttingDown {
		// s will start again: its prepared-by dependencies are redone
		// first (s waits for them in checkDeps).
		for _, e := range s.deps {
			if e.prepared && e.to.state == Started {
				m.logf("service '%s': restarting '%s', which prepares it", s.name(), e.to.name())
				e.to.restarting = true
				e.to.reason = ReasonNormal
				m.beginStop(e.to)
			}
		}
	}
}

// bringDown stops s and takes away its activation and that of every hard
// dependent (a forced stop, or a process that ended for good).
func (m *Manager) bringDown(s *svc, reason StopReason) {
	for _, e := range s.dependents {
		switch {
		case e.kind == DepRegular && (e.hold || e.from.state != Stopped):
			if !e.from.forceDown {
				m.bringDown(e.from, ReasonDepStopped)
			}
		case e.hold:
			e.done = true
			m.release(e)
		}
	}
	s.explicit = false
	s.restarting = false
	s.autoRestart = false
	if s.state != Stopped {
		s.forceDown = true
		if s.state != Stopping {
			s.reason = reason
		}
	} else if s.ph == phRestartDelay {
		m.stopTimer(&s.delayTimer)
		m.setPhase(s, phNone)
	}
	m.enqueue(s)
}

func (m *Manager) observe(s *svc, st State) {
	if m.cfg.Observe != nil {
		m.cfg.Observe(s.desc, st)
	}
}
