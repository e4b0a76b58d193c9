package sessiond

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// restoredControl is what a session file says of its controller
// (CONTROLLER=, DEVICES=), for a restarted sessiond to take it back.
type restoredControl struct {
	name string
	devs []devKey
}

// maxRestoredDevices bounds DEVICES= (a compositor takes a few dozen).
const maxRestoredDevices = 1024

// controlRecord is the session file's controller lines: CONTROLLER= as
// logind writes it, and DEVICES= (major:minor …) that logind keeps in
// systemd's descriptor store instead.
func controlRecord(ss *session) []kv {
	if ss.Controller == "" {
		return nil
	}
	vals := []kv{{"CONTROLLER", ss.Controller}}
	if len(ss.devices) > 0 {
		devs := make([]string, 0, len(ss.devices))
		for k := range ss.devices {
			devs = append(devs, fmt.Sprintf("%d:%d", k.major, k.minor))
		}
		sort.Strings(devs)
		vals = append(vals, kv{"DEVICES", strings.Join(devs, " ")})
	}
	return vals
}

// decodeControl reads controlRecord back; nil when there is no valid
// controller. Bad device entries are skipped.
func decodeControl(f map[string]string) *restoredControl {
	name := f["CONTROLLER"]
	if len(name) < 2 || name[0] != ':' || len(name) > 255 || strings.ContainsAny(name, " \t") {
		return nil
	}
	rc := &restoredControl{name: name}
	for _, w := range strings.Fields(f["DEVICES"]) {
		a, b, ok := strings.Cut(w, ":")
		ma, err1 := strconv.ParseUint(a, 10, 32)
		mi, err2 := strconv.ParseUint(b, 10, 32)
		k := devKey{uint32(ma), uint32(mi)}
		if !ok || err1 != nil || err2 != nil || checkDevKey(k) != nil || len(rc.devs) >= maxRestoredDevices {
			continue
		}
		rc.devs = append(rc.devs, k)
	}
	return rc
}

// adoptJob is one session whose controller a previous sessiond had.
type adoptJob struct {
	id   string
	ctl  restoredControl
	uid  uint32
	devs map[devKey]*device
}

// adoptControllers takes back, after a restart, the controllers the
// session files name that are still on the bus: their VTs are put under
// this sessiond's VT_PROCESS control again, and each device they were
// given is found among the controller's descriptors and duplicated
// (pidfd_getfd), so its access can be revoked again when the session
// goes to the background. pidOf names the controller's process (the bus
// daemon's GetConnectionUnixProcessID); hasOwner says whether the name
// is still on the bus once adopted (it may have left meanwhile; its
// NameOwnerChanged then came before the adoption and found nothing).
// Anything that fails leaves that session without a controller, as
// before the restart support: it is logged.
func (m *Manager) adoptControllers(pidOf func(name string) (int, error), hasOwner func(name string) bool) {
	var jobs []adoptJob
	_ = m.do(func(s *state) error {
		for _, ss := range s.sessions {
			if ss.restored != nil {
				if !ss.Stopping && ss.Controller == "" {
					jobs = append(jobs, adoptJob{id: ss.ID, ctl: *ss.restored, uid: ss.UID})
				}
				ss.restored = nil
			}
		}
		return nil
	})
	for _, j := range jobs {
		pid, err := pidOf(j.ctl.name)
		if err != nil {
			m.cfg.Log.Info("controller of a restored session is gone", "session", j.id, "controller", j.ctl.name, "err", err)
			// Its VT was left in graphics mode, keyboard off: give it back.
			id := j.id
			_ = m.do(func(s *state) error {
				if ss := s.sessions[id]; ss != nil && ss.Controller == "" {
					if err := s.prepareVT(ss); err == nil {
						s.restoreVT(ss)
					}
				}
				return nil
			})
			continue
		}
		j.devs = map[devKey]*device{}
		for _, k := range j.ctl.devs {
			info, err := m.cfg.Host.LookupDevice(k.major, k.minor)
			if err != nil {
				m.cfg.Log.Warn("device of a restored controller", "session", j.id, "device", fmt.Sprintf("%d:%d", k.major, k.minor), "err", err)
				continue
			}
			f, err := m.cfg.Host.AdoptDevice(pid, info)
			if err != nil {
				m.cfg.Log.Warn("device of a restored controller", "session", j.id, "device", info.Node, "pid", pid, "err", err)
				continue
			}
			j.devs[k] = &device{info: info, f: f, active: true}
		}
		var installed bool
		err = m.do(func(s *state) error {
			installed = s.installAdopted(j)
			return nil
		})
		if err != nil || !installed {
			for _, d := range j.devs {
				_ = d.f.Close()
			}
			continue
		}
		if !hasOwner(j.ctl.name) {
			name := j.ctl.name
			m.post(func(s *state) { s.nameGone(name) })
		}
	}
}

// installAdopted makes j's controller the session's again, on the owner
// loop: its VT prepared, its devices kept; a session no longer in front
// has them paused at once (revoked, PauseDevice sent).
func (s *state) installAdopted(j adoptJob) bool {
	ss := s.sessions[j.id]
	if ss == nil || ss.Stopping || ss.Controller != "" {
		return false
	}
	if err := s.prepareVT(ss); err != nil {
		s.log().Warn("VT of a restored controller", "session", ss.ID, "err", err)
	}
	ss.Controller = j.ctl.name
	ss.devices = j.devs
	s.touchSessionOnly(ss)
	s.log().Info("controller of a restored session taken back", "session", ss.ID, "controller", ss.Controller, "devices", len(j.devs))
	if !s.sessionActive(ss) {
		s.pauseDevices(ss)
	}
	return true
}
