package sessiond

import "ginit/sessiond/sys"

// VTController is what a VTs can do for session controllers (sys.VTs
// does; a VTs without it leaves the VTs in text mode).
type VTController interface {
	// TakeVT puts VT n in graphics mode for uid, keyboard off, its
	// switches under sessiond's control (VT_PROCESS).
	TakeVT(n, uid uint32) (sys.VTHandle, error)
	// ReleaseActive lets a pending switch away from the foreground VT go
	// on when no session holds it.
	ReleaseActive() error
	// WatchSwitches calls release or acquire (on a goroutine of its own)
	// when the kernel asks for a switch away from, or reports one to, a
	// VT in VT_PROCESS mode.
	WatchSwitches(release, acquire func()) (stop func(), err error)
}

func (s *state) vtController() VTController {
	vc, _ := s.cfg.VTs.(VTController)
	return vc
}

// prepareVT is TakeControl's VT step, as logind's: a session on a VT of
// seat0 gets its VT in graphics mode while a controller holds it. A
// session without a VT (or a seat without VTs) has nothing to prepare.
func (s *state) prepareVT(ss *session) error {
	if ss.vt != nil || ss.VTNr == 0 {
		return nil
	}
	st := s.seats[ss.Seat]
	vc := s.vtController()
	if st == nil || !st.HasVTs || vc == nil {
		return nil
	}
	h, err := vc.TakeVT(ss.VTNr, ss.UID)
	if err != nil {
		return err
	}
	ss.vt = h
	s.log().Info("VT taken for a session controller", "session", ss.ID, "vt", ss.VTNr)
	return nil
}

// restoreVT gives a session's VT back to the text console (ReleaseControl,
// the controller gone, the session ending) — unless another session's
// controller holds the same VT by now (a greeter's session ending after
// the user's compositor took the VT): then it is only closed.
func (s *state) restoreVT(ss *session) {
	if ss.vt == nil {
		return
	}
	for _, o := range s.sessions {
		if o != ss && o.vt != nil && o.Seat == ss.Seat && o.VTNr == ss.VTNr {
			_ = ss.vt.Close()
			ss.vt = nil
			s.log().Info("VT left to another session's controller", "session", ss.ID, "vt", ss.VTNr, "holder", o.ID)
			return
		}
	}
	if err := ss.vt.Restore(); err != nil {
		s.log().Warn("restore VT", "session", ss.ID, "vt", ss.VTNr, "err", err)
	} else {
		s.log().Info("VT restored to text mode", "session", ss.ID, "vt", ss.VTNr)
	}
	ss.vt = nil
}

// vtRelease answers the kernel's request to switch away from the
// foreground VT: the session holding it pauses its devices (DRM master
// dropped, evdev revoked, PauseDevice sent), then the switch may go on —
// logind's session_leave_vt. With nobody holding the VT the switch is
// let go all the same, so the console never stays stuck.
func (s *state) vtRelease() {
	vc := s.vtController()
	if vc == nil {
		return
	}
	n, err := s.cfg.VTs.Active()
	if err != nil {
		s.log().Warn("VT switch requested, foreground VT unknown", "err", err)
	}
	var holder *session
	if st := s.seats["seat0"]; st != nil && err == nil {
		for _, id := range st.Sessions {
			if ss := s.sessions[id]; ss != nil && ss.VTNr == n && ss.vt != nil {
				holder = ss
				break
			}
		}
	}
	if holder == nil {
		s.log().Warn("VT switch requested with no session holding the VT; releasing it", "vt", n)
		if err := vc.ReleaseActive(); err != nil {
			s.log().Warn("release VT", "vt", n, "err", err)
		}
		return
	}
	s.pauseDevices(holder)
	if err := holder.vt.Release(); err != nil {
		// No switch is coming: the session stays in front, with its devices.
		s.log().Warn("release VT", "session", holder.ID, "vt", n, "err", err)
		s.resumeDevices(holder)
	}
}

// vtAcquire acknowledges a switch to a VT a session holds; its devices
// resume when the foreground VT is seen to change (vtChanged).
func (s *state) vtAcquire() {
	n, err := s.cfg.VTs.Active()
	if err != nil {
		return
	}
	if st := s.seats["seat0"]; st != nil {
		for _, id := range st.Sessions {
			if ss := s.sessions[id]; ss != nil && ss.VTNr == n && ss.vt != nil {
				if err := ss.vt.Acknowledge(); err != nil {
					s.log().Debug("acknowledge VT", "session", ss.ID, "vt", n, "err", err)
				}
				s.vtChanged(n)
				return
			}
		}
	}
}
