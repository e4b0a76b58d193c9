package sessiond

import "ginit/sessiond/sys"

// handleInput applies HandlePowerKey= and friends, as logind does: a
// handle-* block lock hands the key to the lock holder (unless
// …IgnoreInhibited=yes), and the action itself still respects
// shutdown/sleep block locks unless that setting says to ignore them.
func (s *state) handleInput(ev sys.InputEvent) {
	lc := &s.cfg.Login
	var action string
	var lockWhat inhibitWhat
	var ignoreInhibited bool
	switch ev.Kind {
	case sys.InputLid:
		if s.power.lidClosed != ev.On {
			s.power.lidClosed = ev.On
			s.mutated = true
		}
		if ev.Initial || !ev.On {
			return
		}
		action = lc.HandleLidSwitchExternalPower
		if action == "" {
			action = lc.HandleLidSwitch
		}
		if s.power.docked {
			action = lc.HandleLidSwitchDocked
		}
		lockWhat, ignoreInhibited = inhibitLidSwitch, lc.LidSwitchIgnoreInhibited
	case sys.InputDock:
		if s.power.docked != ev.On {
			s.power.docked = ev.On
			s.mutated = true
		}
		return
	case sys.InputPowerKey:
		action, lockWhat, ignoreInhibited = lc.HandlePowerKey, inhibitPowerKey, lc.PowerKeyIgnoreInhibited
	case sys.InputRebootKey:
		action, lockWhat, ignoreInhibited = lc.HandleRebootKey, inhibitRebootKey, lc.RebootKeyIgnoreInhibited
	case sys.InputSuspendKey:
		action, lockWhat, ignoreInhibited = lc.HandleSuspendKey, inhibitSuspendKey, lc.SuspendKeyIgnoreInhibited
	case sys.InputHibernateKey:
		action, lockWhat, ignoreInhibited = lc.HandleHibernateKey, inhibitHibernateKey, lc.HibernateKeyIgnoreInhibited
	default:
		return
	}
	log := s.log().With("input", string(ev.Kind), "action", action)
	if action == "ignore" || action == "" {
		return
	}
	if !ignoreInhibited {
		if in := s.blockedBy(lockWhat, ^uint32(0)); in != nil {
			log.Info("key handled by an inhibitor's holder", "who", in.Who, "pid", in.PID)
			return
		}
	}
	switch action {
	case "lock":
		for _, ss := range s.sessions {
			s.emit(sessionPath(ss.ID), IfaceSession+".Lock")
		}
		return
	case "sleep":
		action = "suspend"
	}
	a := actionByName(action)
	switch {
	case a == nil:
		log.Warn("action not supported by sessiond")
		return
	case s.cfg.Power == nil || (a.sleep() && !s.cfg.Power.CanSleep(a.name)):
		log.Warn("action not available on this machine")
		return
	case s.power.action != nil:
		log.Info("another power action is under way", "running", s.power.action.act.name)
		return
	}
	if !ignoreInhibited {
		if in := s.blockedBy(a.what, ^uint32(0)); in != nil {
			log.Info("refused: inhibited", "who", in.Who, "why", in.Why, "pid", in.PID)
			return
		}
	}
	log.Info("input event starts a power action")
	s.startAction(a)
}
