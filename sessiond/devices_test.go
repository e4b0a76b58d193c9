package sessiond

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

// The plain fake host has no devices at all.
func (h *fakeHost) LookupDevice(major, minor uint32) (sys.DeviceInfo, error) {
	return sys.DeviceInfo{}, fmt.Errorf("character device %d:%d: %w", major, minor, syscall.ENODEV)
}

func (h *fakeHost) OpenDevice(d sys.DeviceInfo) (*os.File, error) { return nil, syscall.ENODEV }

func (h *fakeHost) SetDeviceAccess(sys.DeviceInfo, *os.File, bool) error {
	return nil
}

func (h *fakeHost) AdoptDevice(pid int, d sys.DeviceInfo) (*os.File, error) {
	return nil, syscall.ENODEV
}

// devHost is a fake host with a device table; its nodes are temporary
// files and it records every access change as "node:on|off".
type devHost struct {
	*fakeHost
	dir    string
	devs   map[devKey]sys.DeviceInfo
	mu     sync.Mutex
	access []string
	opens  int
	// adopted records AdoptDevice calls as "pid:node".
	adopted  []string
	adoptErr string
}

func newDevHost(t *testing.T) *devHost {
	h := &devHost{fakeHost: newFakeHost(), dir: t.TempDir(), devs: map[devKey]sys.DeviceInfo{}}
	for _, d := range []sys.DeviceInfo{
		{Major: 226, Minor: 0, Kind: sys.DeviceDRM, Node: "card0", Seat: "seat0"},
		{Major: 13, Minor: 64, Kind: sys.DeviceEvdev, Node: "event0", Seat: "seat0"},
		{Major: 243, Minor: 0, Kind: sys.DeviceHidraw, Node: "hidraw0", Seat: "seat0"},
		{Major: 13, Minor: 65, Kind: sys.DeviceEvdev, Node: "event1", Seat: "seat1"},
	} {
		d.Node = filepath.Join(h.dir, d.Node)
		if err := os.WriteFile(d.Node, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		h.devs[devKey{d.Major, d.Minor}] = d
	}
	return h
}

func (h *devHost) LookupDevice(major, minor uint32) (sys.DeviceInfo, error) {
	if d, ok := h.devs[devKey{major, minor}]; ok {
		return d, nil
	}
	return h.fakeHost.LookupDevice(major, minor)
}

func (h *devHost) OpenDevice(d sys.DeviceInfo) (*os.File, error) {
	h.mu.Lock()
	h.opens++
	h.mu.Unlock()
	return os.OpenFile(d.Node, os.O_RDWR, 0)
}

func (h *devHost) SetDeviceAccess(d sys.DeviceInfo, f *os.File, on bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.access = append(h.access, fmt.Sprintf("%s:%v", filepath.Base(d.Node), map[bool]string{true: "on", false: "off"}[on]))
	return nil
}

func (h *devHost) takeAccess() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.access
	h.access = nil
	return a
}

// unicastEmitter records signals addressed to one peer, as "dest name
// major:minor arg".
type unicastEmitter struct {
	*fakeEmitter
	mu   sync.Mutex
	uni  []string
	fdOK bool
}

func (e *unicastEmitter) EmitTo(dest string, path godbus.ObjectPath, name string, args ...any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	last := fmt.Sprint(args[2])
	if fd, ok := args[2].(godbus.UnixFD); ok {
		last = "fd"
		var st unix.Stat_t
		e.fdOK = unix.Fstat(int(fd), &st) == nil
	}
	e.uni = append(e.uni, fmt.Sprintf("%s %s %d:%d %s", dest, strings.TrimPrefix(name, IfaceSession+"."), args[0], args[1], last))
	return nil
}

func (e *unicastEmitter) take() []string {
	if e.settle != nil {
		e.settle() // device signals go after the replies
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.uni
	e.uni = nil
	return u
}

// devWorld is a world with devHost, a VT seat (VT 2 in front) and the
// unicast recorder.
func devWorld(t *testing.T) (*world, *devHost, *unicastEmitter, *fakeVTs) {
	dh := newDevHost(t)
	vts := &fakeVTs{active: 2}
	w := newWorldCfg(t, "", dh.fakeHost, vts, func(c *Config) { c.Host = dh })
	ue := &unicastEmitter{fakeEmitter: w.em}
	w.state(func(s *state) { s.em = ue })
	return w, dh, ue, vts
}

// TestTakeDeviceChecks: only the controller gets devices, only DRM cards,
// evdev and hidraw nodes, only of its own seat; every refusal carries
// logind's error name.
func TestTakeDeviceChecks(t *testing.T) {
	w, _, _, _ := devWorld(t)
	onSeat := w.mustCreate(CreateRequest{UID: 1000, PID: 300, TTY: "tty2", Type: "wayland"})
	seatless := w.mustCreate(CreateRequest{UID: 1000, PID: 301, TTY: "pts/4"})
	const ctl = ":1.42"
	w.state(func(s *state) {
		for _, id := range []string{onSeat.ID, seatless.ID} {
			if err := s.takeControl(s.sessions[id], ctl, false); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.takeControl(s.sessions[onSeat.ID], ctl, false); err != nil {
			t.Errorf("TakeControl again by the controller: %v", err)
		}
		if err := s.takeControl(s.sessions[onSeat.ID], ":1.43", false); errName(err) != errBusy {
			t.Errorf("second controller: %v, want %s", err, errBusy)
		}
	})
	for _, c := range []struct {
		name    string
		session string
		sender  string
		k       devKey
		want    string // "" = success
	}{
		{"major out of range", onSeat.ID, ctl, devKey{1 << 12, 0}, bus.ErrInvalidArgs},
		{"minor out of range", onSeat.ID, ctl, devKey{226, 1 << 20}, bus.ErrInvalidArgs},
		{"out of range beats not in control", onSeat.ID, ":1.99", devKey{0xffffffff, 0}, bus.ErrInvalidArgs},
		{"not the controller", onSeat.ID, ":1.99", devKey{226, 0}, bus.ErrNotInControl},
		{"session without seat", seatless.ID, ctl, devKey{226, 0}, bus.ErrAccessDenied},
		{"/dev/null", onSeat.ID, ctl, devKey{1, 3}, "System.Error.ENODEV"},
		{"a VT", onSeat.ID, ctl, devKey{4, 1}, "System.Error.ENODEV"},
		{"/dev/kvm", onSeat.ID, ctl, devKey{10, 232}, "System.Error.ENODEV"},
		{"device of another seat", onSeat.ID, ctl, devKey{13, 65}, bus.ErrAccessDenied},
		{"DRM card", onSeat.ID, ctl, devKey{226, 0}, ""},
		{"evdev", onSeat.ID, ctl, devKey{13, 64}, ""},
		{"hidraw", onSeat.ID, ctl, devKey{243, 0}, ""},
		{"taken twice", onSeat.ID, ctl, devKey{226, 0}, bus.ErrDeviceIsTaken},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.state(func(s *state) {
				f, inactive, err := s.takeDevice(s.sessions[c.session], c.sender, c.k)
				if f != nil {
					f.Close()
				}
				if errName(err) != c.want || (c.want == "" && (err != nil || inactive)) {
					t.Errorf("TakeDevice(%d, %d): %v inactive=%v, want %q", c.k.major, c.k.minor, err, inactive, c.want)
				}
			})
		})
	}
	w.state(func(s *state) {
		ss := s.sessions[onSeat.ID]
		for _, c := range []struct {
			err  error
			want string
		}{
			{s.releaseDevice(ss, ctl, devKey{1 << 12, 0}), bus.ErrInvalidArgs},
			{s.pauseComplete(ss, ctl, devKey{0, 1 << 20}), bus.ErrInvalidArgs},
			{s.releaseDevice(ss, ":1.99", devKey{226, 0}), bus.ErrNotInControl},
			{s.releaseDevice(ss, ctl, devKey{1, 3}), bus.ErrDeviceNotTaken},
		} {
			if errName(c.err) != c.want {
				t.Errorf("got %v, want %s", c.err, c.want)
			}
		}
	})
}

// TestDevicesPauseAndResume: a VT switch revokes the controller's access
// and tells it alone; switching back restores access (evdev reopened,
// DRM master back) with a ResumeDevice carrying a live descriptor.
func TestDevicesPauseAndResume(t *testing.T) {
	w, dh, ue, _ := devWorld(t)
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 300, TTY: "tty2", Type: "wayland"})
	b := w.mustCreate(CreateRequest{UID: 1000, PID: 301, TTY: "tty3", Type: "wayland"})
	const ctl = ":1.42"
	w.state(func(s *state) {
		ss := s.sessions[a.ID]
		if err := s.takeControl(ss, ctl, false); err != nil {
			t.Fatal(err)
		}
		for _, k := range []devKey{{226, 0}, {13, 64}} {
			f, inactive, err := s.takeDevice(ss, ctl, k)
			if err != nil || inactive {
				t.Fatalf("TakeDevice %v: %v inactive=%v", k, err, inactive)
			}
			f.Close()
		}
		// Taken by the background session: handed out paused.
		if err := s.takeControl(s.sessions[b.ID], ":1.50", false); err != nil {
			t.Fatal(err)
		}
		f, inactive, err := s.takeDevice(s.sessions[b.ID], ":1.50", devKey{243, 0})
		if err != nil || !inactive {
			t.Fatalf("TakeDevice in the background: %v inactive=%v", err, inactive)
		}
		f.Close()
	})
	if got, want := fmt.Sprint(dh.takeAccess()), "[card0:on event0:on hidraw0:off]"; got != want {
		t.Errorf("access on take: %s, want %s", got, want)
	}
	w.em.take()
	ue.take()
	w.state(func(s *state) { _ = s.activate(s.sessions[b.ID]) })
	got := ue.take()
	if !contains(got, ctl+" PauseDevice 226:0 pause") || !contains(got, ctl+" PauseDevice 13:64 force") ||
		!contains(got, ":1.50 ResumeDevice 243:0 fd") {
		t.Errorf("switch away: %v", got)
	}
	if acc := fmt.Sprint(dh.takeAccess()); !strings.Contains(acc, "card0:off") || !strings.Contains(acc, "event0:off") {
		t.Errorf("access after switching away: %s", acc)
	}
	opens := dh.opens
	w.state(func(s *state) { _ = s.activate(s.sessions[a.ID]) })
	got = ue.take()
	if !contains(got, ctl+" ResumeDevice 226:0 fd") || !contains(got, ctl+" ResumeDevice 13:64 fd") || !ue.fdOK {
		t.Errorf("switch back: %v (fd valid when sent: %v)", got, ue.fdOK)
	}
	if acc := fmt.Sprint(dh.takeAccess()); !strings.Contains(acc, "card0:on") || dh.opens <= opens {
		t.Errorf("resume: access %s, opens %d -> %d (evdev must be reopened)", acc, opens, dh.opens)
	}
	// Nothing about devices went to everyone on the bus.
	for _, s := range w.em.take() {
		if strings.Contains(s.name, "Device") {
			t.Errorf("broadcast %s %v", s.name, s.args)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestDevicesRevokedOnRelease: ReleaseControl, a forced takeover, the
// session stopping and the controller leaving the bus all take device
// access back before closing sessiond's descriptor.
func TestDevicesRevokedOnRelease(t *testing.T) {
	const ctl = ":1.42"
	for _, c := range []struct {
		name   string
		end    func(s *state, ss *session)
		notify bool // the controller is told "gone"
	}{
		{"release control", func(s *state, ss *session) { s.releaseControl(ss) }, true},
		{"forced takeover", func(s *state, ss *session) { _ = s.takeControl(ss, ":1.77", true) }, true},
		{"logout", func(s *state, ss *session) { s.stopSession(ss, false) }, true},
		{"controller left the bus", func(s *state, ss *session) { s.nameGone(ctl) }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, dh, ue, _ := devWorld(t)
			a := w.mustCreate(CreateRequest{UID: 1000, PID: 300, TTY: "tty2", Type: "wayland"})
			var kept *os.File
			w.state(func(s *state) {
				ss := s.sessions[a.ID]
				_ = s.takeControl(ss, ctl, false)
				f, _, err := s.takeDevice(ss, ctl, devKey{13, 64})
				if err != nil {
					t.Fatal(err)
				}
				kept = f // the controller's copy
			})
			defer kept.Close()
			dh.takeAccess()
			ue.take()
			w.state(func(s *state) {
				ss := s.sessions[a.ID]
				c.end(s, ss)
				if ss.Controller == ctl || len(ss.devices) != 0 {
					t.Errorf("controller %q, %d devices left", ss.Controller, len(ss.devices))
				}
			})
			if acc := dh.takeAccess(); !contains(acc, "event0:off") {
				t.Errorf("access not revoked: %v", acc)
			}
			if gone := contains(ue.take(), ctl+" PauseDevice 13:64 gone"); gone != c.notify {
				t.Errorf("PauseDevice gone sent: %v, want %v", gone, c.notify)
			}
		})
	}
}

// TestSendToNeverBroadcasts: a device signal goes to one peer or nowhere.
func TestSendToNeverBroadcasts(t *testing.T) {
	if err := sendTo(&fakeEmitter{}, ":1.1", sessionPath("c1"), IfaceSession+".ResumeDevice", uint32(1), uint32(2), godbus.UnixFD(0)); err == nil {
		t.Error("an emitter without unicast accepted a device signal")
	}
}

// FuzzDeviceCalls drives the Session and Seat device/VT methods with any
// arguments, of the right types or not: each call succeeds or answers a
// logind error (*bus.Error of a known name), never panics, and never hands
// out a device the session may not have.
func FuzzDeviceCalls(f *testing.F) {
	for _, s := range []struct {
		op, shape    uint8
		a, b         uint32
		inControl    bool
		seatless     bool
		beforeSwitch bool
	}{
		{0, 0, 226, 0, true, false, false},
		{0, 0, 13, 64, true, false, true},
		{0, 0, 1, 3, true, false, false},
		{0, 0, 4, 1, false, false, false},
		{0, 0, 1 << 12, 0, true, false, false},
		{0, 0, 226, 1 << 20, true, true, false},
		{1, 0, 226, 0, true, false, false},
		{2, 0, 13, 64, true, false, false},
		{3, 0, 3, 0, true, false, false},
		{3, 0, 64, 0, true, false, false},
		{3, 0, 0xffffffff, 0, true, false, false},
		{4, 0, 0, 0, true, false, false},
		{0, 1, 226, 0, true, false, false},
		{3, 2, 0, 0, true, false, false},
	} {
		f.Add(s.op, s.shape, s.a, s.b, s.inControl, s.seatless, s.beforeSwitch)
	}
	known := map[string]bool{
		bus.ErrInvalidArgs: true, bus.ErrNotInControl: true, bus.ErrDeviceIsTaken: true, bus.ErrDeviceNotTaken: true,
		bus.ErrAccessDenied: true, "System.Error.ENODEV": true,
	}
	f.Fuzz(func(t *testing.T, op, shape uint8, a, b uint32, inControl, seatless, beforeSwitch bool) {
		w, _, _, _ := devWorld(t)
		onSeat := w.mustCreate(CreateRequest{UID: 1000, PID: 300, TTY: "tty2", Type: "wayland"})
		w.mustCreate(CreateRequest{UID: 1000, PID: 301, TTY: "tty3", Type: "wayland"})
		id := onSeat.ID
		if seatless {
			id = w.mustCreate(CreateRequest{UID: 1000, PID: 302, TTY: "pts/1"}).ID
		}
		const ctl = ":1.42"
		w.state(func(s *state) {
			if err := s.takeControl(s.sessions[id], ctl, false); err != nil {
				t.Fatal(err)
			}
		})
		if beforeSwitch {
			w.state(func(s *state) { _ = s.switchTo(s.seats["seat0"], 3) })
		}
		sender := ctl
		if !inControl {
			sender = ":1.99"
		}
		var body []any
		switch shape % 4 {
		case 0:
			body = []any{a, b}
		case 1:
			body = []any{fmt.Sprint(a), b}
		case 2:
			body = nil
		case 3:
			body = []any{a}
		}
		c := &bus.Call{Sender: sender, Path: sessionPath(id), Body: body}
		var err error
		var out []any
		switch op % 5 {
		case 0:
			out, err = w.m.hTakeDevice(c)
		case 1:
			_, _ = w.m.hTakeDevice(&bus.Call{Sender: ctl, Path: sessionPath(id), Body: []any{a, b}})
			_, err = w.m.hReleaseDevice(c)
		case 2:
			_, err = w.m.hPauseDeviceComplete(c)
		case 3:
			c.Path = seatPath("seat0")
			_, err = w.m.hSwitchTo(c)
		case 4:
			c.Path = seatPath("seat0")
			_, err = w.m.hSwitchStep(1)(c)
		}
		if err != nil {
			var e *bus.Error
			if !errors.As(err, &e) || !known[e.Name] || e.Message == "" {
				t.Fatalf("op %d body %v: error %#v is not a logind answer", op%5, body, err)
			}
			return
		}
		if op%5 == 0 {
			// Handed out: only a known device of the session's seat, to
			// its controller, with the right arguments.
			if len(out) != 2 || shape%4 != 0 || !inControl || seatless {
				t.Fatalf("TakeDevice(%v) as %s succeeded: %v", body, sender, out)
			}
			if _, ok := newDevHost(t).devs[devKey{a, b}]; !ok || (a == 13 && b == 65) {
				t.Fatalf("TakeDevice handed out %d:%d", a, b)
			}
		}
		w.state(func(s *state) {
			if v := s.seats["seat0"].Active; v != "" && s.sessions[v] == nil {
				t.Fatalf("seat0 active session %q does not exist", v)
			}
		})
	})
}

// AdoptDevice of the fake opens the node again (a test stands for the
// controller's descriptor); adoptErr makes it fail for one node.
func (h *devHost) AdoptDevice(pid int, d sys.DeviceInfo) (*os.File, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if filepath.Base(d.Node) == h.adoptErr {
		return nil, syscall.ENOENT
	}
	h.adopted = append(h.adopted, fmt.Sprintf("%d:%s", pid, filepath.Base(d.Node)))
	return os.OpenFile(d.Node, os.O_RDWR, 0)
}
