package sessiond

import (
	"sort"
	"strings"

	bus "ginit/dbus"
)

// inhibitor is one inhibitor lock. Taking locks (Manager.Inhibit, with
// the FIFO under RunDir/systemd/inhibit) arrives with the power
// management issue; the list, the BlockInhibited/DelayInhibited
// properties and ListInhibitors already read from state.inhibitors.
type inhibitor struct {
	What, Who, Why, Mode string
	UID, PID             uint32
}

// inhibited is the colon-joined union of what the locks of mode hold.
func (s *state) inhibited(mode string) string {
	set := map[string]bool{}
	for _, in := range s.inhibitors {
		if in.Mode == mode {
			for _, w := range strings.Split(in.What, ":") {
				set[w] = true
			}
		}
	}
	var l []string
	for w := range set {
		l = append(l, w)
	}
	sort.Strings(l)
	return strings.Join(l, ":")
}

func (s *state) inhibitorList() []inhibitorEntry {
	out := make([]inhibitorEntry, 0, len(s.inhibitors))
	for _, in := range s.inhibitors {
		out = append(out, inhibitorEntry{in.What, in.Who, in.Why, in.Mode, in.UID, in.PID})
	}
	return out
}

// powerMethods are the Manager's power and inhibitor methods (PowerOff,
// Reboot, Suspend, …WithFlags, Can…, Inhibit, ScheduleShutdown): none
// yet. They slot in here; their polkit-less authorization goes next to
// ownerOrRoot in bus.go, and PrepareForShutdown/PrepareForSleep are
// already declared signals.
func (m *Manager) powerMethods() []bus.Method { return nil }
