package sessiond

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

func (m *Manager) devArgs(c *bus.Call) (devKey, error) {
	var k devKey
	if err := c.Store(&k.major, &k.minor); err != nil {
		return k, err
	}
	return k, nil
}

func (m *Manager) hTakeDevice(c *bus.Call) ([]any, error) {
	k, err := m.devArgs(c)
	if err != nil {
		return nil, err
	}
	var f *os.File
	var inactive bool
	err = m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		var err error
		f, inactive, err = s.takeDevice(ss, c.Sender, k)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.AfterReply(func() { _ = f.Close() })
	return []any{godbus.UnixFD(f.Fd()), inactive}, nil
}

func (m *Manager) hReleaseDevice(c *bus.Call) ([]any, error) {
	k, err := m.devArgs(c)
	if err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		return s.releaseDevice(ss, c.Sender, k)
	})
}

func (m *Manager) hPauseDeviceComplete(c *bus.Call) ([]any, error) {
	k, err := m.devArgs(c)
	if err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		return s.pauseComplete(ss, c.Sender, k)
	})
}

// errnoError answers a failed device operation as sd-bus answers a
// negative errno: the few standard names, else System.Error.E….
func errnoError(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return bus.Errorf(bus.ErrFailed, "%v", err)
	}
	switch errno {
	case syscall.EPERM, syscall.EACCES:
		return bus.Errorf(bus.ErrAccessDenied, "%v", err)
	case syscall.EINVAL:
		return bus.Errorf(bus.ErrInvalidArgs, "%v", err)
	case syscall.ENOENT:
		return bus.Errorf("org.freedesktop.DBus.Error.FileNotFound", "%v", err)
	}
	if name := unix.ErrnoName(errno); name != "" {
		return bus.Errorf("System.Error."+name, "%v", err)
	}
	return bus.Errorf(bus.ErrFailed, "%v", err)
}

// devKey is a device number, the key of a session's devices.
type devKey struct{ major, minor uint32 }

// checkDevKey is logind's check of TakeDevice's, ReleaseDevice's and
// PauseDeviceComplete's arguments, made before anything else.
func checkDevKey(k devKey) error {
	if k.major > sys.MaxMajor || k.minor > sys.MaxMinor {
		return bus.Errorf(bus.ErrInvalidArgs, "Device major/minor is not valid.")
	}
	return nil
}

// device is a device node opened for a session controller. sessiond keeps
// its own descriptor: the controller's copy shares its open file
// description, so revoking ours revokes theirs.
type device struct {
	info   sys.DeviceInfo
	f      *os.File
	active bool
}

// errBusy is what sd-bus makes of logind's -EBUSY (a second controller).
const errBusy = "System.Error.EBUSY"

// takeControl is logind's session_set_controller: the VT is prepared
// first (a failure leaves everything as it was), then a previous
// controller (forced out) loses its devices, told so; the VT stays in
// graphics mode for the new one.
func (s *state) takeControl(ss *session, sender string, force bool) error {
	if ss.Controller == sender {
		return nil
	}
	if ss.Controller != "" && !force {
		return bus.Errorf(errBusy, "Session %s has a controller already", ss.ID)
	}
	if err := s.prepareVT(ss); err != nil {
		return errnoError(err)
	}
	s.dropControl(ss, true)
	ss.Controller = sender
	s.touchSessionOnly(ss) // CONTROLLER=, for a restarted sessiond
	return nil
}

// releaseControl drops the controller (ReleaseControl, the session
// stopping): it is told its devices are gone, the session gets its
// original type back and its VT returns to text mode.
func (s *state) releaseControl(ss *session) {
	if ss.Controller != "" {
		s.revertType(ss)
	}
	s.dropControl(ss, true)
	s.restoreVT(ss)
}

// revertType: a controller's SetType lasts as long as its control.
func (s *state) revertType(ss *session) {
	if ss.OriginalType != "" && ss.Type != ss.OriginalType {
		ss.Type = ss.OriginalType
		s.touchSession(ss)
	}
}

// dropControl drops the controller and its devices, revoking the access
// of its descriptors. notify tells a controller still on the bus with
// PauseDevice "gone".
func (s *state) dropControl(ss *session, notify bool) {
	for k := range ss.devices {
		s.dropDevice(ss, k, notify)
	}
	if ss.Controller != "" {
		ss.Controller = ""
		s.touchSessionOnly(ss)
	}
}

// dropDevice revokes and closes one device of ss.
func (s *state) dropDevice(ss *session, k devKey, notify bool) {
	d := ss.devices[k]
	if d.active {
		s.setAccess(ss, d, false)
	}
	if notify && ss.Controller != "" {
		s.emitTo(ss.Controller, sessionPath(ss.ID), IfaceSession+".PauseDevice", nil, k.major, k.minor, "gone")
	}
	_ = d.f.Close()
	delete(ss.devices, k)
	s.touchSessionOnly(ss) // DEVICES=
}

func (s *state) setAccess(ss *session, d *device, on bool) bool {
	if err := s.cfg.Host.SetDeviceAccess(d.info, d.f, on); err != nil {
		s.log().Warn("device access", "session", ss.ID, "device", d.info.Node, "on", on, "err", err)
		return false
	}
	return true
}

// nameGone releases control of sessions whose controller left the bus.
func (s *state) nameGone(name string) {
	for _, ss := range s.sessions {
		if ss.Controller == name {
			s.revertType(ss)
			s.dropControl(ss, false)
			s.restoreVT(ss)
		}
	}
}

// takeDevice opens a device for the controller; it returns a descriptor
// for the reply (the caller closes it after sending) and whether the
// device starts paused (the session is not in the foreground). The checks
// and their order are logind's: controller, taken, seat, kind, seat of
// the device.
func (s *state) takeDevice(ss *session, sender string, k devKey) (*os.File, bool, error) {
	if err := checkController(ss, sender, k); err != nil {
		return nil, false, err
	}
	if _, taken := ss.devices[k]; taken {
		return nil, false, bus.Errorf(bus.ErrDeviceIsTaken, "Device already taken")
	}
	if ss.Seat == "" {
		return nil, false, bus.Errorf(bus.ErrAccessDenied, "Session %s has no seat, so no devices", ss.ID)
	}
	info, err := s.cfg.Host.LookupDevice(k.major, k.minor)
	if err != nil {
		return nil, false, errnoError(err)
	}
	if info.Seat != ss.Seat {
		return nil, false, bus.Errorf(bus.ErrAccessDenied, "Device %d:%d is on seat %s, session %s on %s", k.major, k.minor, info.Seat, ss.ID, ss.Seat)
	}
	f, err := s.cfg.Host.OpenDevice(info)
	if err != nil {
		return nil, false, errnoError(err)
	}
	d := &device{info: info, f: f, active: s.sessionActive(ss)}
	if d.active {
		// logind: DRM master refused (another master) means the device
		// starts paused; the controller gets it on the next resume.
		if err := s.cfg.Host.SetDeviceAccess(info, f, true); err != nil {
			if !errors.Is(err, syscall.EINVAL) {
				_ = f.Close()
				return nil, false, errnoError(err)
			}
			d.active = false
		}
	}
	if !d.active {
		// DRM master goes to the first opener; evdev is readable until
		// revoked: take both back at once.
		_ = s.cfg.Host.SetDeviceAccess(info, f, false)
	}
	dup, err := sys.Dup(f)
	if err != nil {
		_ = f.Close()
		return nil, false, err
	}
	if ss.devices == nil {
		ss.devices = map[devKey]*device{}
	}
	ss.devices[k] = d
	s.touchSessionOnly(ss) // DEVICES=
	return dup, !d.active, nil
}

// checkController is the first checks of every device call, in logind's
// order: a valid device number, asked by the session's controller.
func checkController(ss *session, sender string, k devKey) error {
	if err := checkDevKey(k); err != nil {
		return err
	}
	if ss.Controller == "" || ss.Controller != sender {
		return bus.Errorf(bus.ErrNotInControl, "You are not in control of this session")
	}
	return nil
}

// checkTaken is ReleaseDevice's and PauseDeviceComplete's checks: the
// controller's, then that it holds the device.
func checkTaken(ss *session, sender string, k devKey) error {
	if err := checkController(ss, sender, k); err != nil {
		return err
	}
	if _, ok := ss.devices[k]; !ok {
		return bus.Errorf(bus.ErrDeviceNotTaken, "Device not taken")
	}
	return nil
}

func (s *state) releaseDevice(ss *session, sender string, k devKey) error {
	if err := checkTaken(ss, sender, k); err != nil {
		return err
	}
	s.dropDevice(ss, k, true)
	return nil
}

// pauseComplete acknowledges a PauseDevice: access was taken back when it
// was sent, so there is nothing left to do but check the call.
func (s *state) pauseComplete(ss *session, sender string, k devKey) error {
	return checkTaken(ss, sender, k)
}

// pauseDevices runs when ss stops being the active session: access is
// taken back at once (DRM master dropped, evdev/hidraw revoked), and the
// controller told.
func (s *state) pauseDevices(ss *session) {
	for k, d := range ss.devices {
		if !d.active {
			continue
		}
		s.setAccess(ss, d, false)
		d.active = false
		kind := "force"
		if d.info.Kind == sys.DeviceDRM {
			kind = "pause"
		}
		s.emitTo(ss.Controller, sessionPath(ss.ID), IfaceSession+".PauseDevice", nil, k.major, k.minor, kind)
	}
}

// resumeDevices runs when ss becomes active. Revoked evdev and hidraw
// descriptors are dead for good, so those are reopened; DRM devices get
// master back.
func (s *state) resumeDevices(ss *session) {
	for k, d := range ss.devices {
		if d.active {
			continue
		}
		if d.info.Kind == sys.DeviceDRM {
			if !s.setAccess(ss, d, true) {
				continue
			}
		} else {
			f, err := s.cfg.Host.OpenDevice(d.info)
			if err != nil {
				s.log().Warn("reopen device", "session", ss.ID, "device", d.info.Node, "err", err)
				continue
			}
			_ = d.f.Close()
			d.f = f
		}
		d.active = true
		dup, err := sys.Dup(d.f)
		if err != nil {
			// Access is back, but the controller cannot be told: say so,
			// as a failed reopen is.
			s.log().Warn("resume device: no descriptor for the controller", "session", ss.ID, "device", d.info.Node, "err", err)
			continue
		}
		s.emitTo(ss.Controller, sessionPath(ss.ID), IfaceSession+".ResumeDevice", func() { _ = dup.Close() },
			k.major, k.minor, godbus.UnixFD(dup.Fd()))
	}
}

// unicaster is an Emitter that can address a signal to one peer.
type unicaster interface {
	EmitTo(dest string, path godbus.ObjectPath, name string, values ...any) error
}

// emitTo sends a signal to dest only, once the batch is flushed (after
// its replies): device
// signals go to the controller alone, as logind's do (a broadcast
// ResumeDevice would hand the device's descriptor to every listener).
// after runs once it is sent (or dropped).
func (s *state) emitTo(dest string, path godbus.ObjectPath, name string, after func(), args ...any) {
	s.afterFlush(func() {
		if after != nil {
			defer after()
		}
		if dest == "" {
			return
		}
		if err := sendTo(s.em, dest, path, name, args...); err != nil {
			s.log().Warn("emit signal", "signal", name, "to", dest, "err", err)
		}
	})
}

func sendTo(em Emitter, dest string, path godbus.ObjectPath, name string, args ...any) error {
	switch e := em.(type) {
	case nil:
		return nil
	case unicaster:
		return e.EmitTo(dest, path, name, args...)
	case *godbus.Conn:
		return bus.EmitTo(e, dest, path, name, args...)
	}
	// Never fall back to a broadcast.
	return fmt.Errorf("emitter %T cannot address one peer", em)
}
