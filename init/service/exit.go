package service

import (
	"fmt"
	"syscall"
	"time"
)

// exited handles the end of a process the spawner watched.
func (m *Manager) exited(p Proc, st ExitStatus) {
	s := m.procs[p]
	if s == nil {
		return
	}
	delete(m.procs, p)
	if s.reload != nil && p == s.reload.proc {
		m.reloadExited(s, st)
		return
	}
	switch p {
	case s.stopProc:
		s.stopProc = nil
		if !st.Success() {
			m.logf("service '%s': stop command %s", s.name(), st)
		}
		if s.desc.Type == TypeScripted || s.proc == nil {
			m.maybeFinishStop(s)
		}
		return
	case s.treeProc:
		return
	case s.proc:
	default:
		return
	}
	s.proc = nil
	s.exit, s.hasExit = st, true
	d := s.desc
	if s.launcher && s.state == Started {
		// Smooth recovery of a bgprocess: the launcher ran again.
		s.launcher = false
		err := fmt.Errorf("launcher %s", st)
		if st.Success() {
			err = m.adopt(s)
		}
		if err != nil {
			m.logf("service '%s': recovery failed: %v", s.name(), err)
			s.failed = true
			m.bringDown(s, ReasonFailed)
		}
		return
	}
	if pop, ok := p.(interface{ Populated() bool }); ok && !s.launcher && pop.Populated() {
		s.treeProc = p
		m.procs[p] = s
	}

	switch s.state {
	case Starting:
		if s.ph != phExec {
			return
		}
		switch {
		case d.Type == TypeScripted:
			if st.Success() {
				s.ranOnce = true
				m.becomeStarted(s)
			} else if d.Options.Skippable && st.Signaled && st.Signal == int(syscall.SIGINT) {
				s.skipped = true
				m.becomeStarted(s)
			} else {
				m.failWithExit(s, st)
			}
		case s.launcher:
			s.launcher = false
			if !st.Success() {
				m.failWithExit(s, st)
				return
			}
			if err := m.adopt(s); err != nil {
				m.logf("service '%s': %v", s.name(), err)
				s.cause = err.Error()
				m.failStart(s, ReasonFailed)
				return
			}
			m.becomeStarted(s)
		default:
			// A process service that died before it signalled readiness.
			m.failWithExit(s, st)
		}
	case Stopping:
		m.maybeFinishStop(s)
	case Started:
		m.unexpectedExit(s, p, st)
	}
}

// adopt makes the daemon a bgprocess launcher left behind s's process
// (spawn's counterpart for a process ginit did not start).
func (m *Manager) adopt(s *svc) error {
	p, err := m.cfg.Spawner.Adopt(s.desc, notifier{m})
	if err != nil {
		return err
	}
	s.proc = p
	m.procs[p] = s
	return nil
}

func (m *Manager) failWithExit(s *svc, st ExitStatus) {
	if st.ExecErr != nil {
		m.logf("service '%s': %v", s.name(), st.ExecErr)
		m.failStart(s, ReasonExecFailed)
		return
	}
	m.logf("service '%s': start command %s", s.name(), st)
	m.failStart(s, ReasonFailed)
}

// afterExit is what becomes of a started service whose process ended by itself.
type afterExit int

const (
	exitStop    afterExit = iota // it stays down, brought down with its hard dependents
	exitRestart                  // it stops and starts again (after restart-delay)
	exitSmooth                   // smooth recovery: a new process while it stays Started
	exitGiveUp                   // restart-limit-count reached: brought down as failed
)

// exitFacts is everything the restart decision depends on.
type exitFacts struct {
	desc         *Description
	status       ExitStatus
	wanted       bool // still wanted (activated or held, not pinned stopped)
	shuttingDown bool
	now          time.Time
	restarts     []time.Time // the automatic restarts so far
}

// exitDecision is the restart decision.
type exitDecision struct {
	action   afterExit
	reason   StopReason
	restarts []time.Time // those within restart-limit-interval, and now when it restarts; nil for exitStop
	failed   bool        // mark the service failed
	chain    bool        // start its chain-to
}

// decideExit is the restart decision for a started service whose main
// process ended: the restart policy, rate limiting and smooth recovery,
// as a pure function of the facts.
func decideExit(f exitFacts) exitDecision {
	d, st := f.desc, f.status
	restart := !f.shuttingDown && f.wanted && (d.Restart == RestartYes ||
		d.Restart == RestartOnFailure && !st.Success() && !(st.Signaled && deliberateSignal(st.Signal)))
	if !restart {
		return exitDecision{
			action: exitStop, reason: ReasonTerminated, failed: !st.Success(),
			chain: d.Ext().ChainTo != "" && !f.shuttingDown && (st.Success() || d.Options.AlwaysChain),
		}
	}
	// Only the newest RestartLimitCount restarts can reach the limit, and
	// without a limit none need be kept: a crash loop's list stays short.
	var recent []time.Time
	if d.RestartLimitCount > 0 {
		for _, t := range f.restarts[max(0, len(f.restarts)-d.RestartLimitCount):] {
			if f.now.Sub(t) < d.RestartLimitInterval {
				recent = append(recent, t)
			}
		}
		if len(recent) >= d.RestartLimitCount {
			return exitDecision{action: exitGiveUp, reason: ReasonRestartLimit, restarts: recent, failed: true}
		}
		recent = append(recent, f.now)
	}
	dec := exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: recent}
	if d.SmoothRecovery {
		dec.action = exitSmooth
	}
	return dec
}

// unexpectedExit: the main process of a started service ended by itself.
func (m *Manager) unexpectedExit(s *svc, p Proc, st ExitStatus) {
	d := s.desc
	m.logf("service '%s': process %d %s", s.name(), p.Pid(), st)
	if s.treeProc != nil {
		// Stragglers of a dead main process: take them down with it.
		_ = s.treeProc.KillTree(int(syscall.SIGTERM))
	}
	// A run a timer started is one run: its end is not restarted (the
	// next elapse runs it again).
	dec := decideExit(exitFacts{
		desc: d, status: st, wanted: m.wanted(s) && !s.byTimer, shuttingDown: m.shuttingDown,
		now: m.cfg.Clock.Now(), restarts: s.restarts,
	})
	if dec.failed {
		s.failed = true
	}
	if dec.action != exitStop {
		s.restarts = dec.restarts
	}
	switch dec.action {
	case exitGiveUp:
		m.logf("service '%s': restarted %d times within %v; giving up", s.name(), len(s.restarts), d.RestartLimitInterval)
		m.bringDown(s, dec.reason)
		m.beginStop(s)
	case exitSmooth:
		m.smoothRestart(s)
	case exitRestart:
		s.restarting, s.autoRestart = true, true
		s.reason = dec.reason
		m.beginStop(s)
	default:
		if dec.chain {
			m.chain(s.name(), d.Ext().ChainTo)
		}
		m.bringDown(s, dec.reason)
		m.beginStop(s)
	}
}

// smoothRestart re-runs the process without leaving Started.
func (m *Manager) smoothRestart(s *svc) {
	wait := s.lastStart.Add(s.desc.RestartDelay).Sub(m.cfg.Clock.Now())
	respawn := func() {
		if s.state != Started || s.proc != nil {
			return
		}
		s.lastStart = m.cfg.Clock.Now()
		p, err := m.spawn(s, ProcStart, s.desc.Command)
		if err != nil {
			m.logf("service '%s': smooth recovery: %v", s.name(), err)
			s.failed = true
			s.exit, s.hasExit = ExitStatus{ExecErr: err}, true
			m.bringDown(s, ReasonExecFailed)
			return
		}
		s.proc = p
		if s.desc.Type == TypeBGProcess {
			// The launcher must run to completion again; remain Started meanwhile.
			s.launcher = true
		}
	}
	if wait <= 0 {
		respawn()
		return
	}
	s.delayTimer = m.timer(wait, func() { s.delayTimer = nil; respawn() })
}

func (m *Manager) readyEv(p Proc) {
	s := m.procs[p]
	if s == nil || p != s.proc {
		return
	}
	s.ready = true
	if s.state == Starting && s.ph == phExec && s.desc.Type == TypeProcess {
		m.becomeStarted(s)
	}
}

func (m *Manager) treeEmpty(p Proc) {
	s := m.procs[p]
	if s == nil {
		return
	}
	if p == s.treeProc {
		delete(m.procs, p)
		s.treeProc = nil
		m.maybeFinishStop(s)
	}
}

// deliberateSignal: deaths by these count as intended for restart = on-failure.
func deliberateSignal(sig int) bool {
	switch syscall.Signal(sig) {
	case syscall.SIGHUP, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM:
		return true
	}
	return false
}
