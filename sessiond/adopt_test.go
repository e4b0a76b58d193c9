package sessiond

import (
	"errors"
	"reflect"
	"testing"
)

// TestAdoptAfterRestart: a sessiond killed while a compositor held its
// session's VT and devices is followed by one that takes them back: the
// session file names the controller and the devices, the new sessiond
// finds them in the controller's process, prepares the VT again and
// pauses them when the session is no longer in front.
func TestAdoptAfterRestart(t *testing.T) {
	dir := t.TempDir()
	dh := newDevHost(t)
	vts := &ctlVTs{fakeVTs: fakeVTs{active: 2}}
	w1 := newWorldCfg(t, dir, dh.fakeHost, vts, func(c *Config) { c.Host = dh })
	a := w1.mustCreate(CreateRequest{UID: 1000, PID: 300, TTY: "tty2", Type: "wayland"})
	b := w1.mustCreate(CreateRequest{UID: 1001, PID: 301, TTY: "tty3", Type: "wayland"})
	const ctlA, ctlB = ":1.7", ":1.9"
	w1.state(func(s *state) {
		for id, ctl := range map[string]string{a.ID: ctlA, b.ID: ctlB} {
			ss := s.sessions[id]
			if err := s.takeControl(ss, ctl, false); err != nil {
				t.Fatal(err)
			}
			if ss.ID == a.ID {
				for _, k := range []devKey{{226, 0}, {13, 64}} {
					f, _, err := s.takeDevice(ss, ctl, k)
					if err != nil {
						t.Fatal(err)
					}
					f.Close()
				}
			}
		}
	})
	if f := w1.file("systemd/sessions/" + a.ID); f["CONTROLLER"] != ctlA || f["DEVICES"] != "13:64 226:0" {
		t.Fatalf("session file: CONTROLLER=%q DEVICES=%q", f["CONTROLLER"], f["DEVICES"])
	}
	w1.stop() // SIGKILL: nothing released
	vts.take()

	// VT 3 came to the front meanwhile; b's compositor left the bus.
	vts.Activate(3)
	dh2 := newDevHost(t)
	dh2.devs = dh.devs
	w2 := newWorldCfg(t, dir, dh.fakeHost, vts, func(c *Config) { c.Host = dh2 })
	ue := &unicastEmitter{fakeEmitter: w2.em}
	w2.state(func(s *state) { s.em = ue })
	w2.m.adoptControllers(func(name string) (int, error) {
		if name == ctlB {
			return 0, errors.New("no such name")
		}
		return 4242, nil
	}, func(string) bool { return true })
	w2.state(func(s *state) {
		ss := s.sessions[a.ID]
		if ss.Controller != ctlA || len(ss.devices) != 2 || ss.vt == nil {
			t.Errorf("a: controller %q, %d devices, vt %v", ss.Controller, len(ss.devices), ss.vt)
		}
		if sb := s.sessions[b.ID]; sb.Controller != "" || sb.restored != nil {
			t.Errorf("b: controller %q", sb.Controller)
		}
	})
	dh2.mu.Lock()
	adopted := append([]string(nil), dh2.adopted...)
	dh2.mu.Unlock()
	sortStrings(adopted)
	if want := []string{"4242:card0", "4242:event0"}; !reflect.DeepEqual(adopted, want) {
		t.Errorf("adopted %v, want %v", adopted, want)
	}
	got := vts.take()
	sortStrings(got)
	if want := []string{"restore 3", "take 2 uid 1000", "take 3 uid 1001"}; !reflect.DeepEqual(got, want) {
		t.Errorf("VTs: %v, want %v (b's VT given back to text mode)", got, want)
	}
	// a is in the background now: its devices were paused at once.
	sig := ue.take()
	sortStrings(sig)
	if want := []string{ctlA + " PauseDevice 13:64 force", ctlA + " PauseDevice 226:0 pause"}; !reflect.DeepEqual(sig, want) {
		t.Errorf("signals %v, want %v", sig, want)
	}
	access := dh2.takeAccess()
	sortStrings(access)
	if want := []string{"card0:off", "event0:off"}; !reflect.DeepEqual(access, want) {
		t.Errorf("access %v, want %v", access, want)
	}
	// Back in front: resumed as usual.
	vts.Activate(2)
	w2.state(func(s *state) { s.vtChanged(2) })
	sig = ue.take()
	sortStrings(sig)
	if want := []string{ctlA + " ResumeDevice 13:64 fd", ctlA + " ResumeDevice 226:0 fd"}; !reflect.DeepEqual(sig, want) {
		t.Errorf("signals on resume %v, want %v", sig, want)
	}
}

func TestDecodeControl(t *testing.T) {
	for _, c := range []struct {
		f    map[string]string
		want *restoredControl
	}{
		{map[string]string{}, nil},
		{map[string]string{"CONTROLLER": "org.x"}, nil},
		{map[string]string{"CONTROLLER": ":"}, nil},
		{map[string]string{"CONTROLLER": ":1.7"}, &restoredControl{name: ":1.7"}},
		{map[string]string{"CONTROLLER": ":1.7", "DEVICES": "226:0 x 13:64 5000:1 1:2:3 13:"},
			&restoredControl{name: ":1.7", devs: []devKey{{226, 0}, {13, 64}}}},
	} {
		if got := decodeControl(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("decodeControl(%v) = %+v, want %+v", c.f, got, c.want)
		}
	}
}
