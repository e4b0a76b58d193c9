package sessiond

import (
	"testing"

	"ginit/sessiond/sys"
)

func TestHandleInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		conf   func(c *LoginConfig)
		lock   inhibitWhat // a block lock taken first
		events []sys.InputEvent
		want   string // backend call, "" = none
		lid    bool   // LidClosed afterwards
	}{
		{name: "power key", events: []sys.InputEvent{{Kind: sys.InputPowerKey, On: true}}, want: "poweroff"},
		{name: "reboot key", events: []sys.InputEvent{{Kind: sys.InputRebootKey, On: true}}, want: "reboot"},
		{name: "suspend key", events: []sys.InputEvent{{Kind: sys.InputSuspendKey, On: true}}, want: "suspend"},
		{name: "hibernate key", events: []sys.InputEvent{{Kind: sys.InputHibernateKey, On: true}}, want: "hibernate"},
		{name: "ignored", conf: func(c *LoginConfig) { c.HandlePowerKey = "ignore" }, events: []sys.InputEvent{{Kind: sys.InputPowerKey, On: true}}},
		{name: "key inhibited", lock: inhibitPowerKey, events: []sys.InputEvent{{Kind: sys.InputPowerKey, On: true}}},
		{name: "key inhibitor ignored", conf: func(c *LoginConfig) { c.PowerKeyIgnoreInhibited = true }, lock: inhibitPowerKey,
			events: []sys.InputEvent{{Kind: sys.InputPowerKey, On: true}}, want: "poweroff"},
		{name: "shutdown blocked", lock: inhibitShutdown, events: []sys.InputEvent{{Kind: sys.InputPowerKey, On: true}}},
		{name: "lid closes", events: []sys.InputEvent{{Kind: sys.InputLid, On: true}}, want: "suspend", lid: true},
		{name: "lid initially closed", events: []sys.InputEvent{{Kind: sys.InputLid, On: true, Initial: true}}, lid: true},
		{name: "lid opens", events: []sys.InputEvent{{Kind: sys.InputLid, On: true, Initial: true}, {Kind: sys.InputLid, On: false}}},
		{name: "docked lid", events: []sys.InputEvent{{Kind: sys.InputDock, On: true}, {Kind: sys.InputLid, On: true}}, lid: true},
		{name: "lid ignores sleep locks by default", lock: inhibitSleep, events: []sys.InputEvent{{Kind: sys.InputLid, On: true}}, want: "suspend", lid: true},
		{name: "lid switch lock is ignored by default", lock: inhibitLidSwitch, events: []sys.InputEvent{{Kind: sys.InputLid, On: true}}, want: "suspend", lid: true},
		{name: "lid lock honoured", conf: func(c *LoginConfig) { c.LidSwitchIgnoreInhibited = false }, lock: inhibitLidSwitch,
			events: []sys.InputEvent{{Kind: sys.InputLid, On: true}}, lid: true},
		{name: "hibernate unavailable", conf: func(c *LoginConfig) { c.HandlePowerKey = "hybrid-sleep" }, events: []sys.InputEvent{{Kind: sys.InputPowerKey, On: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, p, _ := powerWorld(t, "")
			if tc.conf != nil {
				w.state(func(s *state) { tc.conf(&s.cfg.Login) })
			}
			if tc.lock != 0 {
				w.inhibit(tc.lock, modeBlock, 1000)
			}
			for _, ev := range tc.events {
				w.state(func(s *state) { s.handleInput(ev) })
			}
			if tc.want == "" {
				p.none(t)
			} else if k := p.next(t); k != tc.want {
				t.Errorf("backend got %s, want %s", k, tc.want)
			}
			w.state(func(s *state) {
				if lc := s.managerProps()["LidClosed"].Value(); lc != tc.lid {
					t.Errorf("LidClosed = %v, want %v", lc, tc.lid)
				}
			})
		})
	}
}

// HandlePowerKey=lock sends Lock to every session.
func TestHandleInputLock(t *testing.T) {
	w, p, _ := powerWorld(t, "")
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 100, Service: "login", Seat: "seat0", TTY: "pts/1"})
	w.state(func(s *state) { s.cfg.Login.HandlePowerKey = "lock" })
	w.em.take()
	w.state(func(s *state) { s.handleInput(sys.InputEvent{Kind: sys.InputPowerKey, On: true}) })
	p.none(t)
	locked := false
	for _, s := range w.em.take() {
		locked = locked || (s.name == IfaceSession+".Lock" && s.path == sessionPath(rep.ID))
	}
	if !locked {
		t.Error("no Lock signal for the session")
	}
}
