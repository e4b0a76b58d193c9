package sessiond

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"ginit/sessiond/sys"
)

// fakeUdev is a udev database the test edits; change() plays an event.
type fakeUdev struct {
	mu      sync.Mutex
	running bool
	devs    []sys.SeatDevice
	watch   func()
}

func (u *fakeUdev) Running() bool { u.mu.Lock(); defer u.mu.Unlock(); return u.running }

func (u *fakeUdev) SeatDevices() ([]sys.SeatDevice, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]sys.SeatDevice(nil), u.devs...), nil
}

func (u *fakeUdev) Watch(changed func()) (func(), error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.watch = changed
	return func() {}, nil
}

func (u *fakeUdev) set(devs ...sys.SeatDevice) {
	u.mu.Lock()
	u.devs = devs
	u.mu.Unlock()
}

// fakeACL records each node's named users.
type fakeACL struct {
	mu    sync.Mutex
	users map[string]map[uint32]bool
	calls int
}

func (a *fakeACL) SetDeviceACL(d sys.SeatDevice, uid uint32, grant bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if a.users[d.Node] == nil {
		a.users[d.Node] = map[uint32]bool{}
	}
	if grant {
		a.users[d.Node][uid] = true
	} else {
		delete(a.users[d.Node], uid)
	}
	return nil
}

func (a *fakeACL) ResetDeviceACL(d sys.SeatDevice, uid uint32, grant bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.users[d.Node] = map[uint32]bool{}
	if grant {
		a.users[d.Node][uid] = true
	}
	return nil
}

// of lists "node:uid" for every entry.
func (a *fakeACL) of() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for n, us := range a.users {
		for uid := range us {
			out = append(out, fmt.Sprintf("%s:%d", n, uid))
		}
	}
	sort.Strings(out)
	return out
}

func dev(id, node, seat string, master, uaccess bool) sys.SeatDevice {
	maj, min, _, _ := sys.ParseDeviceID(id)
	return sys.SeatDevice{ID: id, Major: maj, Minor: min, Node: node, Seat: seat, Master: master, Uaccess: uaccess}
}

var (
	card0  = dev("c226:0", "/dev/dri/card0", "seat0", true, true)
	render = dev("c226:128", "/dev/dri/renderD128", "seat0", false, true)
	event0 = dev("c13:64", "/dev/input/event0", "seat0", false, false)
	card1  = dev("c226:1", "/dev/dri/card1", "seat1", true, true)
	snd    = dev("c116:3", "/dev/snd/pcmC0D0p", "seat0", false, true)
)

func TestUdevSeatsAndACLs(t *testing.T) {
	u := &fakeUdev{running: true}
	u.set(card0, render, event0, card1)
	acl := &fakeACL{users: map[string]map[uint32]bool{}}
	host := newFakeHost()
	host.users[1002] = "carol"
	w := newWorldCfg(t, "", host, nil, func(c *Config) {
		c.Udev, c.ACL = u, acl
		c.CanGraphical = func() bool { return false } // ignored: udev knows
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.m.watchSeats(ctx, time.Millisecond)
	w.waitFor("the watch", func() bool { u.mu.Lock(); defer u.mu.Unlock(); return u.watch != nil })
	if st := w.file("systemd/seats/seat0"); st["CAN_GRAPHICAL"] != "1" {
		t.Errorf("seat0 %v", st)
	}
	if st := w.file("systemd/seats/seat1"); st["CAN_GRAPHICAL"] != "1" || st["IS_SEAT0"] != "0" {
		t.Errorf("seat1 %v", st)
	}
	// Two sessions on seat0 (no VTs: the newest is active), one on seat1.
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 101, Seat: "seat0", Type: "wayland"})
	want := []string{"/dev/dri/card0:1000", "/dev/dri/renderD128:1000"}
	if got := acl.of(); !reflect.DeepEqual(got, want) {
		t.Errorf("ACLs after the first login: %v, want %v", got, want)
	}
	w.mustCreate(CreateRequest{UID: 1001, PID: 102, Seat: "seat0", Type: "wayland"})
	want = []string{"/dev/dri/card0:1001", "/dev/dri/renderD128:1001"}
	if got := acl.of(); !reflect.DeepEqual(got, want) {
		t.Errorf("ACLs after the second login: %v, want %v", got, want)
	}
	w.mustCreate(CreateRequest{UID: 1002, PID: 103, Seat: "seat1", Type: "x11"})
	want = []string{"/dev/dri/card0:1001", "/dev/dri/card1:1002", "/dev/dri/renderD128:1001"}
	if got := acl.of(); !reflect.DeepEqual(got, want) {
		t.Errorf("ACLs with a seat1 login: %v, want %v", got, want)
	}
	// Back to the first user.
	w.state(func(s *state) {
		if err := s.activate(s.sessions[a.ID]); err != nil {
			t.Fatal(err)
		}
	})
	want = []string{"/dev/dri/card0:1000", "/dev/dri/card1:1002", "/dev/dri/renderD128:1000"}
	if got := acl.of(); !reflect.DeepEqual(got, want) {
		t.Errorf("ACLs after switching back: %v, want %v", got, want)
	}
	// Hot-plug: a sound node appears; the active user gets it.
	u.set(card0, render, event0, card1, snd)
	u.watch()
	want = []string{"/dev/dri/card0:1000", "/dev/dri/card1:1002", "/dev/dri/renderD128:1000", "/dev/snd/pcmC0D0p:1000"}
	if got := acl.of(); !reflect.DeepEqual(got, want) {
		t.Errorf("ACLs after a hot-plug: %v, want %v", got, want)
	}
	// Many events and rescans of an unchanged database write nothing new.
	before := acl.of()
	for range 1000 {
		u.watch()
	}
	if got := acl.of(); !reflect.DeepEqual(got, before) {
		t.Errorf("rescans changed ACLs: %v", got)
	}
	// The graphics card goes: CanGraphical false, announced.
	w.em.take()
	u.set(render, event0, card1, snd)
	u.watch()
	if st := w.file("systemd/seats/seat0"); st["CAN_GRAPHICAL"] != "0" {
		t.Errorf("seat0 after unplugging card0: %v", st)
	}
	found := false
	for _, s := range w.em.take() {
		if s.path == seatPath("seat0") && s.name == "org.freedesktop.DBus.Properties.PropertiesChanged" {
			if v, ok := s.args[1].(map[string]godbus.Variant)["CanGraphical"]; ok && v.Value() == false {
				found = true
			}
		}
	}
	if !found {
		t.Error("no PropertiesChanged(CanGraphical=false)")
	}
	// The poll of Config.CanGraphical does not override udev.
	time.Sleep(10 * time.Millisecond)
	if st := w.file("systemd/seats/seat0"); st["CAN_GRAPHICAL"] != "0" {
		t.Errorf("the poll overrode udev: %v", st)
	}
}

func TestUdevSeatAppearsAndGoes(t *testing.T) {
	u := &fakeUdev{running: true}
	u.set(card0)
	w := newWorldCfg(t, "", nil, nil, func(c *Config) { c.Udev = u })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.m.watchSeats(ctx, time.Hour)
	w.waitFor("the watch", func() bool { u.mu.Lock(); defer u.mu.Unlock(); return u.watch != nil })
	if w.exists("systemd/seats/seat1") {
		t.Fatal("seat1 before its card")
	}
	w.em.take()
	u.set(card0, card1)
	u.watch()
	if !w.exists("systemd/seats/seat1") {
		t.Fatal("no seat1 file after its card appeared")
	}
	names := func() []string {
		var out []string
		for _, s := range w.em.take() {
			if s.path == ManagerPath {
				out = append(out, s.name[len(IfaceManager)+1:]+" "+s.args[0].(string))
			}
		}
		return out
	}
	if got := names(); !reflect.DeepEqual(got, []string{"SeatNew seat1"}) {
		t.Errorf("signals %v", got)
	}
	u.set(card0)
	u.watch()
	if w.exists("systemd/seats/seat1") {
		t.Error("seat1 file left after its card went")
	}
	if got := names(); !reflect.DeepEqual(got, []string{"SeatRemoved seat1"}) {
		t.Errorf("signals %v", got)
	}
	// udev's database disappears: seat0 keeps what it had, and the poll
	// takes over CanGraphical.
	u.mu.Lock()
	u.running = false
	u.mu.Unlock()
	u.watch()
	w.state(func(s *state) {
		if s.seats["seat0"].devs.known {
			t.Error("seat0 still follows a udev that is gone")
		}
	})
}

// TestUdevACLResetAtStart: entries a previous sessiond granted (killed
// before it could take them back) are gone once the nodes are known.
func TestUdevACLResetAtStart(t *testing.T) {
	u := &fakeUdev{running: true}
	u.set(card0, render)
	acl := &fakeACL{users: map[string]map[uint32]bool{"/dev/dri/card0": {1001: true}, "/dev/dri/renderD128": {1001: true, 1000: true}}}
	w := newWorldCfg(t, "", nil, nil, func(c *Config) { c.Udev, c.ACL = u, acl })
	w.state(func(*state) {}) // one flush
	if got := acl.of(); len(got) != 0 {
		t.Errorf("entries left from before the start: %v", got)
	}
	w.mustCreate(CreateRequest{UID: 1000, PID: 101, Seat: "seat0"})
	if got, want := acl.of(), []string{"/dev/dri/card0:1000", "/dev/dri/renderD128:1000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ACLs %v, want %v", got, want)
	}
}
