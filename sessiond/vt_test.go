package sessiond

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"syscall"
	"testing"

	"ginit/sessiond/sys"
)

// ctlVTs is fakeVTs that can also hand VTs to controllers; it logs every
// VT operation in order.
type ctlVTs struct {
	fakeVTs
	mu      sync.Mutex
	ops     []string
	takeErr error
	relErr  error
}

func (v *ctlVTs) log(f string, a ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.ops = append(v.ops, fmt.Sprintf(f, a...))
}

func (v *ctlVTs) take() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	o := v.ops
	v.ops = nil
	return o
}

func (v *ctlVTs) TakeVT(n, uid uint32) (sys.VTHandle, error) {
	if v.takeErr != nil {
		return nil, v.takeErr
	}
	v.log("take %d uid %d", n, uid)
	return &fakeVT{v: v, n: n}, nil
}

func (v *ctlVTs) ReleaseActive() error { v.log("release-active"); return nil }

func (v *ctlVTs) WatchSwitches(release, acquire func()) (func(), error) { return func() {}, nil }

type fakeVT struct {
	v *ctlVTs
	n uint32
}

func (h *fakeVT) Release() error     { h.v.log("reldisp %d", h.n); return h.v.relErr }
func (h *fakeVT) Acknowledge() error { h.v.log("ackacq %d", h.n); return nil }
func (h *fakeVT) Restore() error     { h.v.log("restore %d", h.n); return nil }
func (h *fakeVT) Close() error       { h.v.log("close %d", h.n); return nil }

// TestVTHandover: TakeControl puts the session's VT under the controller;
// a switch away pauses the devices before the VT is released; a switch
// back acknowledges and resumes; ReleaseControl, the controller leaving
// the bus and the session ending each restore the VT once.
func TestVTHandover(t *testing.T) {
	dh := newDevHost(t)
	vts := &ctlVTs{fakeVTs: fakeVTs{active: 2}}
	w := newWorldCfg(t, "", dh.fakeHost, vts, func(c *Config) { c.Host = dh })
	ue := &unicastEmitter{fakeEmitter: w.em}
	w.state(func(s *state) { s.em = ue })
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 300, TTY: "tty2", Type: "tty"})
	b := w.mustCreate(CreateRequest{UID: 1001, PID: 301, TTY: "tty3"})
	const ctl = ":1.7"
	w.state(func(s *state) {
		ss := s.sessions[a.ID]
		if err := s.takeControl(ss, ctl, false); err != nil {
			t.Fatal(err)
		}
		ss.Type = "wayland" // the controller's SetType
		for _, k := range []devKey{{226, 0}, {13, 64}} {
			f, _, err := s.takeDevice(ss, ctl, k)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	})
	if got := vts.take(); !reflect.DeepEqual(got, []string{"take 2 uid 1000"}) {
		t.Errorf("TakeControl: %v", got)
	}
	dh.takeAccess()
	// A second TakeControl by the same controller does nothing more.
	w.state(func(s *state) { _ = s.takeControl(s.sessions[a.ID], ctl, false) })
	if got := vts.take(); len(got) != 0 {
		t.Errorf("TakeControl again: %v", got)
	}

	// chvt 3: the kernel asks to release VT 2 (still in front).
	w.state(func(s *state) { s.vtRelease() })
	if got := vts.take(); !reflect.DeepEqual(got, []string{"reldisp 2"}) {
		t.Errorf("release: %v", got)
	}
	access := dh.takeAccess()
	sortStrings(access)
	if !reflect.DeepEqual(access, []string{"card0:off", "event0:off"}) {
		t.Errorf("access on release: %v", access)
	}
	sig := ue.take()
	sortStrings(sig)
	if want := []string{ctl + " PauseDevice 13:64 force", ctl + " PauseDevice 226:0 pause"}; !reflect.DeepEqual(sig, want) {
		t.Errorf("signals on release: %v, want %v", sig, want)
	}
	// The switch happens; nothing is paused twice.
	vts.Activate(3)
	w.state(func(s *state) { s.vtChanged(3) })
	if sig := ue.take(); len(sig) != 0 {
		t.Errorf("signals after the switch: %v", sig)
	}
	// Back to VT 2: acknowledged, then resumed with fresh evdev.
	vts.Activate(2)
	w.state(func(s *state) { s.vtAcquire() })
	if got := vts.take(); !reflect.DeepEqual(got, []string{"ackacq 2"}) {
		t.Errorf("acquire: %v", got)
	}
	sig = ue.take()
	sortStrings(sig)
	if want := []string{ctl + " ResumeDevice 13:64 fd", ctl + " ResumeDevice 226:0 fd"}; !reflect.DeepEqual(sig, want) {
		t.Errorf("signals on acquire: %v, want %v", sig, want)
	}

	// A release request with nobody on the foreground VT still lets go.
	vts.Activate(5)
	w.state(func(s *state) { s.vtChanged(5); s.vtRelease() })
	if got := vts.take(); !reflect.DeepEqual(got, []string{"release-active"}) {
		t.Errorf("release without a holder: %v", got)
	}
	vts.Activate(2)
	w.state(func(s *state) { s.vtChanged(2) })
	ue.take()

	// A failed VT_RELDISP keeps the session in front, devices resumed.
	vts.relErr = syscall.EINVAL
	w.state(func(s *state) { s.vtRelease() })
	vts.relErr = nil
	vts.take()
	sig = ue.take()
	sortStrings(sig)
	if want := []string{ctl + " PauseDevice 13:64 force", ctl + " PauseDevice 226:0 pause", ctl + " ResumeDevice 13:64 fd", ctl + " ResumeDevice 226:0 fd"}; !reflect.DeepEqual(sig, want) {
		t.Errorf("signals on a failed release: %v, want %v", sig, want)
	}

	// The controller leaves the bus: VT restored, type reverted.
	w.state(func(s *state) {
		s.nameGone(ctl)
		if ss := s.sessions[a.ID]; ss.Type != "tty" || ss.vt != nil || ss.Controller != "" {
			t.Errorf("after the controller left: type %s vt %v controller %q", ss.Type, ss.vt, ss.Controller)
		}
	})
	if got := vts.take(); !reflect.DeepEqual(got, []string{"restore 2"}) {
		t.Errorf("controller gone: %v", got)
	}
	// ReleaseControl restores; a forced takeover keeps the VT prepared.
	w.state(func(s *state) {
		ss := s.sessions[a.ID]
		_ = s.takeControl(ss, ":1.8", false)
		_ = s.takeControl(ss, ":1.9", true)
		s.releaseControl(ss)
	})
	if got := vts.take(); !reflect.DeepEqual(got, []string{"take 2 uid 1000", "restore 2"}) {
		t.Errorf("take, force, release: %v", got)
	}
	// The session ends with a controller: restored.
	w.state(func(s *state) {
		ss := s.sessions[b.ID]
		_ = s.takeControl(ss, ":1.10", false)
		s.stopSession(ss, false)
	})
	if got := vts.take(); !reflect.DeepEqual(got, []string{"take 3 uid 1001", "restore 3"}) {
		t.Errorf("session ended: %v", got)
	}
	// A VT that cannot be prepared fails TakeControl and changes nothing.
	vts.takeErr = fmt.Errorf("open /dev/tty2: %w", syscall.EACCES)
	w.state(func(s *state) {
		ss := s.sessions[a.ID]
		err := s.takeControl(ss, ":1.11", false)
		if errName(err) != "org.freedesktop.DBus.Error.AccessDenied" || ss.Controller != "" || !errors.Is(vts.takeErr, syscall.EACCES) {
			t.Errorf("TakeControl with a VT that fails: %v, controller %q", err, ss.Controller)
		}
	})
}

// TestVTSharedByTwoSessions: a greeter's session ending after the user's
// compositor took the same VT leaves the VT in graphics mode.
func TestVTSharedByTwoSessions(t *testing.T) {
	vts := &ctlVTs{fakeVTs: fakeVTs{active: 7}}
	w := newWorld(t, "", nil, vts)
	greeter := w.mustCreate(CreateRequest{UID: 1001, PID: 300, TTY: "tty7", Class: "greeter"})
	w.state(func(s *state) { _ = s.takeControl(s.sessions[greeter.ID], ":1.2", false) })
	w.state(func(s *state) { s.stopSession(s.sessions[greeter.ID], false) })
	// greetd reuses the VT for the user's session once the greeter's is
	// closing; the greeter's compositor is still on the bus.
	user := w.mustCreate(CreateRequest{UID: 1000, PID: 301, TTY: "tty7"})
	w.state(func(s *state) {
		_ = s.takeControl(s.sessions[user.ID], ":1.7", false)
	})
	vts.take()
	w.state(func(s *state) {
		// The greeter's session had its VT restored when it stopped; make
		// it hold one again to play the late release.
		g := s.sessions[greeter.ID]
		g.vt = &fakeVT{v: vts, n: 7}
		g.Controller = ":1.2"
		s.nameGone(":1.2")
	})
	if got := vts.take(); !reflect.DeepEqual(got, []string{"close 7"}) {
		t.Errorf("greeter's late release: %v", got)
	}
	w.state(func(s *state) { s.releaseControl(s.sessions[user.ID]) })
	if got := vts.take(); !reflect.DeepEqual(got, []string{"restore 7"}) {
		t.Errorf("user's release: %v", got)
	}
}
