package sessiond_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// uinput ioctls and the one key the test device has.
const (
	uiSetEvBit   = 0x40045564 // UI_SET_EVBIT
	uiSetKeyBit  = 0x40045565 // UI_SET_KEYBIT
	uiDevSetup   = 0x405c5503 // UI_DEV_SETUP
	uiDevCreate  = 0x5501     // UI_DEV_CREATE
	uiDevDestroy = 0x5502     // UI_DEV_DESTROY
	evSyn        = 0x00
	evKey        = 0x01
	keyA         = 30
)

// uinputDevice makes a one-key keyboard through /dev/uinput and returns
// the uinput descriptor and its evdev node's major:minor; cleanup
// destroys it.
func uinputDevice(t *testing.T) (int, uint32, uint32) {
	t.Helper()
	fd, err := unix.Open("/dev/uinput", unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("skipped: no /dev/uinput to make an evdev device with (%v)", err)
	}
	t.Cleanup(func() { _ = unix.IoctlSetInt(fd, uiDevDestroy, 0); unix.Close(fd) })
	if err := unix.IoctlSetInt(fd, uiSetEvBit, evKey); err != nil {
		t.Fatalf("UI_SET_EVBIT: %v", err)
	}
	if err := unix.IoctlSetInt(fd, uiSetKeyBit, keyA); err != nil {
		t.Fatalf("UI_SET_KEYBIT: %v", err)
	}
	var setup struct {
		Bustype, Vendor, Product, Version uint16
		Name                              [80]byte
		FFEffectsMax                      uint32
	}
	setup.Bustype, setup.Vendor, setup.Product = 0x06, 0x1234, 0x5678 // BUS_VIRTUAL
	name := fmt.Sprintf("ginit-sessiond-test-%d", os.Getpid())
	copy(setup.Name[:], name)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uiDevSetup, uintptr(unsafe.Pointer(&setup))); e != 0 {
		t.Fatalf("UI_DEV_SETUP: %v", e)
	}
	if err := unix.IoctlSetInt(fd, uiDevCreate, 0); err != nil {
		t.Fatalf("UI_DEV_CREATE: %v", err)
	}
	// Find the evdev node below the input device of that name.
	var dev string
	deadline := time.Now().Add(5 * time.Second)
	for dev == "" && time.Now().Before(deadline) {
		inputs, _ := filepath.Glob("/sys/devices/virtual/input/input*")
		for _, in := range inputs {
			if b, _ := os.ReadFile(filepath.Join(in, "name")); strings.TrimSpace(string(b)) == name {
				if ev, _ := filepath.Glob(filepath.Join(in, "event*", "dev")); len(ev) == 1 {
					b, _ := os.ReadFile(ev[0])
					dev = strings.TrimSpace(string(b))
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var maj, min uint32
	if _, err := fmt.Sscanf(dev, "%d:%d", &maj, &min); err != nil {
		t.Fatalf("evdev node of %s not found (%q)", name, dev)
	}
	return fd, maj, min
}

// press writes one key press and its report through uinput.
func press(t *testing.T, ui int) {
	t.Helper()
	// struct input_event: a timeval (ignored on write), type, code, value.
	ev := func(typ, code uint16, val int32) []byte {
		var e struct {
			Time  unix.Timeval
			Type  uint16
			Code  uint16
			Value int32
		}
		e.Type, e.Code, e.Value = typ, code, val
		return (*[unsafe.Sizeof(e)]byte)(unsafe.Pointer(&e))[:]
	}
	for _, b := range [][]byte{ev(evKey, keyA, 1), ev(evSyn, 0, 0), ev(evKey, keyA, 0), ev(evSyn, 0, 0)} {
		if _, err := unix.Write(ui, b); err != nil {
			t.Fatalf("uinput write: %v", err)
		}
	}
}

// readable waits for fd to have an event (nil) or fail (its error).
func readable(fd int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(fds, 2000); err != nil {
		return err
	}
	buf := make([]byte, 24*16)
	_, err := unix.Read(fd, buf)
	return err
}

// TestEvdevHandover takes a real evdev node (made through uinput) for a
// session's controller: it reads while the session is in front, is
// revoked (ENODEV) with PauseDevice "force" when another session comes
// to the front, and a fresh descriptor arrives in ResumeDevice when the
// session is back.
func TestEvdevHandover(t *testing.T) {
	ui, maj, min := uinputDevice(t)
	e := newEnv(t)
	sigs := make(chan *godbus.Signal, 64)
	e.conn.Signal(sigs)
	e.Must(e.conn.AddMatchSignal(godbus.WithMatchSender("org.freedesktop.login1"), godbus.WithMatchInterface("org.freedesktop.login1.Session")), "match")

	nobody := e.hold("nobody", "pts/9", "XDG_SEAT=seat0")
	obj := e.conn.Object("org.freedesktop.login1", sessionPath(nobody.ID))
	e.Must(obj.Call("org.freedesktop.login1.Session.TakeControl", 0, false).Err, "TakeControl")
	var fd godbus.UnixFD
	var inactive bool
	e.Must(obj.Call("org.freedesktop.login1.Session.TakeDevice", 0, maj, min).Store(&fd, &inactive), "TakeDevice")
	defer unix.Close(int(fd))
	if inactive {
		t.Fatal("TakeDevice: inactive on the active session")
	}
	press(t, ui)
	if err := readable(int(fd)); err != nil {
		t.Fatalf("read while in front: %v", err)
	}

	e.hold("root", "pts/7", "XDG_SEAT=seat0") // now in front
	if !waitSignal(sigs, func(s *godbus.Signal) bool {
		return strings.HasSuffix(s.Name, ".PauseDevice") && len(s.Body) == 3 && s.Body[0] == maj && s.Body[1] == min && s.Body[2] == "force"
	}) {
		t.Fatal("no PauseDevice force")
	}
	press(t, ui)
	if err := readable(int(fd)); !errors.Is(err, unix.ENODEV) {
		t.Errorf("read after the pause: %v, want ENODEV (revoked)", err)
	}

	e.OK("loginctl", "activate", nobody.ID)
	fresh := -1
	if !waitSignal(sigs, func(s *godbus.Signal) bool {
		if strings.HasSuffix(s.Name, ".ResumeDevice") && len(s.Body) == 3 && s.Body[0] == maj && s.Body[1] == min {
			if f, ok := s.Body[2].(godbus.UnixFD); ok {
				fresh = int(f)
				return true
			}
		}
		return false
	}) {
		t.Fatal("no ResumeDevice")
	}
	defer unix.Close(fresh)
	press(t, ui)
	if err := readable(fresh); err != nil {
		t.Errorf("read from the resumed descriptor: %v", err)
	}
	e.Must(obj.Call("org.freedesktop.login1.Session.ReleaseControl", 0).Err, "ReleaseControl")
}
