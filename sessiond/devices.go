package sessiond

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	bus "ginit/dbus"
)

// Device majors that get special pause/resume handling.
const (
	majorInput = 13
	majorDRM   = 226
)

// ioctls used to revoke and restore device access on VT/session switches.
const (
	drmIoctlSetMaster  = 0x641e
	drmIoctlDropMaster = 0x641f
	evIoctlRevoke      = 0x40044591
)

type devKey struct{ major, minor uint32 }

// device is a device node opened for a session controller. sessiond keeps
// its own descriptor: the controller's copy shares its open file
// description, so revoking ours revokes theirs.
type device struct {
	f      *os.File
	paused bool
}

// devicePath finds the node of a character device: udev's /dev/char
// link when there is one, else the DEVNAME sysfs reports.
func devicePath(k devKey) (string, error) {
	path := fmt.Sprintf("/dev/char/%d:%d", k.major, k.minor)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	data, err := os.ReadFile(fmt.Sprintf("/sys/dev/char/%d:%d/uevent", k.major, k.minor))
	if err != nil {
		return "", fmt.Errorf("no character device %d:%d", k.major, k.minor)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if name, ok := strings.CutPrefix(l, "DEVNAME="); ok && name != "" && !strings.Contains(name, "..") {
			return filepath.Join("/dev", name), nil
		}
	}
	return "", fmt.Errorf("character device %d:%d has no node name", k.major, k.minor)
}

func openDevice(k devKey) (*os.File, error) {
	path, err := devicePath(k)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR ||
		unix.Major(st.Rdev) != k.major || unix.Minor(st.Rdev) != k.minor {
		return nil, fmt.Errorf("%s is not character device %d:%d", path, k.major, k.minor)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func (s *state) takeControl(ss *session, sender string, force bool) error {
	if ss.Controller != "" && ss.Controller != sender && !force {
		return bus.Errorf(bus.ErrDeviceIsTaken, "Session %s has a controller already", ss.ID)
	}
	if ss.Controller != sender {
		s.releaseControl(ss)
	}
	ss.Controller = sender
	return nil
}

// releaseControl drops the controller and closes its devices.
func (s *state) releaseControl(ss *session) {
	for k, d := range ss.devices {
		_ = d.f.Close()
		delete(ss.devices, k)
	}
	ss.Controller = ""
}

// nameGone releases control of sessions whose controller left the bus.
func (s *state) nameGone(name string) {
	for _, ss := range s.sessions {
		if ss.Controller == name {
			s.releaseControl(ss)
		}
	}
}

// takeDevice opens a device for the controller; it returns a descriptor
// for the reply (the caller closes it after sending) and whether the
// session is inactive (the device then starts paused).
func (s *state) takeDevice(ss *session, sender string, k devKey) (*os.File, bool, error) {
	if ss.Controller == "" || ss.Controller != sender {
		return nil, false, bus.Errorf(bus.ErrNotInControl, "You are not in control of this session")
	}
	if _, taken := ss.devices[k]; taken {
		return nil, false, bus.Errorf(bus.ErrDeviceIsTaken, "Device already taken")
	}
	f, err := openDevice(k)
	if err != nil {
		return nil, false, bus.Errorf(bus.ErrFailed, "%v", err)
	}
	d := &device{f: f}
	active := s.sessionActive(ss)
	if !active {
		d.paused = true
		pauseFD(k, f)
	} else if k.major == majorDRM {
		_ = unix.IoctlSetInt(int(f.Fd()), drmIoctlSetMaster, 0)
	}
	dup, err := dupFile(f)
	if err != nil {
		_ = f.Close()
		return nil, false, err
	}
	if ss.devices == nil {
		ss.devices = map[devKey]*device{}
	}
	ss.devices[k] = d
	return dup, !active, nil
}

func (s *state) releaseDevice(ss *session, sender string, k devKey) error {
	if ss.Controller == "" || ss.Controller != sender {
		return bus.Errorf(bus.ErrNotInControl, "You are not in control of this session")
	}
	d, ok := ss.devices[k]
	if !ok {
		return bus.Errorf(bus.ErrDeviceNotTaken, "Device not taken")
	}
	_ = d.f.Close()
	delete(ss.devices, k)
	return nil
}

func (s *state) pauseComplete(ss *session, sender string, k devKey) error {
	if ss.Controller == "" || ss.Controller != sender {
		return bus.Errorf(bus.ErrNotInControl, "You are not in control of this session")
	}
	if _, ok := ss.devices[k]; !ok {
		return bus.Errorf(bus.ErrDeviceNotTaken, "Device not taken")
	}
	return nil
}

func pauseFD(k devKey, f *os.File) {
	switch k.major {
	case majorDRM:
		_ = unix.IoctlSetInt(int(f.Fd()), drmIoctlDropMaster, 0)
	case majorInput:
		_ = unix.IoctlSetInt(int(f.Fd()), evIoctlRevoke, 0)
	}
}

// pauseDevices runs when ss stops being the active session.
func (s *state) pauseDevices(ss *session) {
	for k, d := range ss.devices {
		if d.paused {
			continue
		}
		d.paused = true
		pauseFD(k, d.f)
		kind := "force"
		if k.major == majorDRM {
			kind = "pause"
		}
		s.emit(sessionPath(ss.ID), IfaceSession+".PauseDevice", k.major, k.minor, kind)
	}
}

// resumeDevices runs when ss becomes active. Revoked input devices are
// reopened; DRM devices get master back.
func (s *state) resumeDevices(ss *session) {
	for k, d := range ss.devices {
		if !d.paused {
			continue
		}
		if k.major == majorInput {
			f, err := openDevice(k)
			if err != nil {
				s.log().Warn("reopen device", "session", ss.ID, "err", err)
				continue
			}
			_ = d.f.Close()
			d.f = f
		} else if k.major == majorDRM {
			_ = unix.IoctlSetInt(int(d.f.Fd()), drmIoctlSetMaster, 0)
		}
		d.paused = false
		dup, err := dupFile(d.f)
		if err != nil {
			continue
		}
		s.signals = append(s.signals, signal{
			path: sessionPath(ss.ID), name: IfaceSession + ".ResumeDevice",
			args: []any{k.major, k.minor, godbus.UnixFD(dup.Fd())}, after: func() { _ = dup.Close() },
		})
	}
}

func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("dup: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}
