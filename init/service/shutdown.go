package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"ginit/internal/power"
)

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
			m.setPhase(s, phNone)
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
