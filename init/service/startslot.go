package service

import "time"

// Start slots: the manager's side of the soft limit (the decision is
// mayStart). A service whose dependencies are up but that may not be
// spawned yet stays in Starting/wait-deps, queued in slotWait, and is
// stepped again when a start finishes or the slot timer fires.

// spawnsOnStart: does starting s now run a command (and so take a slot)?
func (m *Manager) spawnsOnStart(s *svc) bool {
	switch s.desc.Type {
	case TypeInternal, TypeTriggered, TypeTimer, TypeSocket:
		return false
	case TypeScripted:
		return !(s.desc.Options.RunOnce && s.ranOnce)
	}
	return true
}

// takeSlot reports whether s may be spawned now; if not, s waits for a slot.
func (m *Manager) takeSlot(s *svc) bool {
	l := m.cfg.StartLimit
	class := s.desc.Ext().StartClass
	classMax := m.cfg.ClassLimits[class]
	if class == "" {
		classMax = 0
	}
	if l == (StartLimit{}) && classMax == 0 || !m.spawnsOnStart(s) {
		return true
	}
	now := m.cfg.Clock.Now()
	began := make([]time.Time, 0, len(m.starting))
	var same []time.Time // of s's class
	for o, t := range m.starting {
		if o != s {
			began = append(began, t)
			if classMax > 0 && o.desc.Ext().StartClass == class {
				same = append(same, t)
			}
		}
	}
	ok, again := mayStart(l, now, began, m.readPressure(now))
	if ok && classMax > 0 {
		// The class's own limit, with the same grace.
		ok, again = mayStart(StartLimit{Max: classMax, Grace: l.Grace}, now, same, nil)
	}
	if ok {
		return true // execStart's move to phExec takes s off the queue (trackSlot)
	}
	if !s.waitSlot {
		s.waitSlot = true
		m.slotWait = append(m.slotWait, s)
	}
	// One timer for every waiter, at the soonest time an answer may change.
	if at := now.Add(again); again > 0 && (m.slotTimer == nil || at.Before(m.slotAt)) {
		m.stopTimer(&m.slotTimer)
		m.slotAt = at
		m.slotTimer = m.timer(again, func() {
			m.slotTimer = nil
			m.wakeSlotWaiters()
		})
	}
	return false
}

// readPressure reads the PSI at most once per re-check period, and only
// when a threshold is set; nil means no reading.
func (m *Manager) readPressure(now time.Time) *Pressure {
	l := m.cfg.StartLimit
	if !l.usesPressure() || m.cfg.Pressure == nil {
		return nil
	}
	if m.pressureOK && now.Sub(m.pressureAt) < l.recheck() {
		return &m.pressure
	}
	p, err := m.cfg.Pressure.ReadPressure()
	if err != nil {
		p = Pressure{}
	}
	m.pressure, m.pressureAt, m.pressureOK = p, now, true
	return &m.pressure
}

// wakeSlotWaiters steps every service waiting for a slot, oldest first.
func (m *Manager) wakeSlotWaiters() {
	for _, w := range m.slotWait {
		m.enqueue(w)
	}
}

// dropSlotWait takes s off the slot queue.
func (m *Manager) dropSlotWait(s *svc) {
	if !s.waitSlot {
		return
	}
	s.waitSlot = false
	for i, w := range m.slotWait {
		if w == s {
			m.slotWait = append(m.slotWait[:i], m.slotWait[i+1:]...)
			break
		}
	}
}

// trackSlot keeps the set of services holding a slot as s moves from one
// stage to another (called by setState).
func (m *Manager) trackSlot(s *svc, from, to stage) {
	exec := stage{Starting, phExec}
	if to == exec && from != exec && m.spawnsOnStart(s) {
		m.starting[s] = m.cfg.Clock.Now()
	}
	if from == exec && to != exec {
		if _, held := m.starting[s]; held {
			delete(m.starting, s)
			m.wakeSlotWaiters()
		}
	}
	if to != (stage{Starting, phWaitDeps}) {
		m.dropSlotWait(s)
	}
}
