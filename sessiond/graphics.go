package sessiond

import (
	"context"
	"time"
)

// pollGraphics re-checks seat0's CanGraphical until ctx ends. Without
// udev there is no event when a DRM driver binds late in boot, and
// display managers wait for CanGraphical to become true (PropertiesChanged
// and a rewritten seat file), so polling is the fallback.
func (m *Manager) pollGraphics(ctx context.Context, every time.Duration) {
	if m.cfg.CanGraphical == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v := m.cfg.CanGraphical()
			m.post(func(s *state) { s.setCanGraphical(v) })
		}
	}
}

func (s *state) setCanGraphical(v bool) {
	st := s.seats["seat0"]
	if st == nil || st.CanGraph == v {
		return
	}
	st.CanGraph = v
	s.dirtySeat[st.ID] = true
	s.mutated = true
	s.log().Info("seat0 graphics changed", "can_graphical", v)
}
