package sys

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// DeviceKind is the kind of device TakeDevice hands out; logind hands out
// DRM cards, evdev nodes and hidraw nodes, nothing else, because those are
// the ones whose access it can take back (drop DRM master, EVIOCREVOKE,
// HIDIOCREVOKE) when the session goes to the background.
type DeviceKind int

// The device kinds.
const (
	DeviceDRM DeviceKind = iota + 1
	DeviceEvdev
	DeviceHidraw
)

func (k DeviceKind) String() string {
	switch k {
	case DeviceDRM:
		return "drm"
	case DeviceEvdev:
		return "evdev"
	case DeviceHidraw:
		return "hidraw"
	}
	return "unknown"
}

// DeviceInfo is a character device as sysfs and udev describe it.
type DeviceInfo struct {
	Major, Minor uint32
	Kind         DeviceKind
	Node         string // the device node, e.g. /dev/dri/card0
	Seat         string // udev's ID_SEAT; seat0 when unset
}

// The largest device numbers Linux has (12-bit major, 20-bit minor), as
// logind's DEVICE_MAJOR_VALID/DEVICE_MINOR_VALID.
const (
	MaxMajor = 1<<12 - 1
	MaxMinor = 1<<20 - 1
)

// ioctls that give and take back device access. They act on the open
// file description, which the controller's descriptor shares with ours.
const (
	drmIoctlSetMaster  = 0x641e     // DRM_IOCTL_SET_MASTER
	drmIoctlDropMaster = 0x641f     // DRM_IOCTL_DROP_MASTER
	evIoctlRevoke      = 0x40044591 // EVIOCREVOKE
	hidIoctlRevoke     = 0x4004480d // HIDIOCREVOKE
)

// devRoots are where devices are looked up: normally /sys, /dev and
// udev's database /run/udev/data. Tests use a tree of their own.
type devRoots struct{ sys, dev, udev string }

// LookupDevice finds character device major:minor in sysfs: a DRM card,
// an evdev or a hidraw node (anything else is ENODEV), its node and its
// seat.
func (h *Host) LookupDevice(major, minor uint32) (DeviceInfo, error) {
	return devRoots{sys: "/sys", dev: "/dev", udev: "/run/udev/data"}.lookup(major, minor)
}

// SetDeviceAccess gives (DRM master) or takes back (DRM master dropped,
// evdev/hidraw revoked) the access of every descriptor that shares f's
// open file description, with the DRM, evdev and hidraw ioctls.
func (h *Host) SetDeviceAccess(d DeviceInfo, f *os.File, on bool) error {
	var req uint
	switch {
	case d.Kind == DeviceDRM && on:
		req = drmIoctlSetMaster
	case d.Kind == DeviceDRM:
		req = drmIoctlDropMaster
	case on:
		return nil // evdev and hidraw are reopened instead
	case d.Kind == DeviceEvdev:
		req = evIoctlRevoke
	case d.Kind == DeviceHidraw:
		req = hidIoctlRevoke
	default:
		return fmt.Errorf("device %d:%d: unknown kind", d.Major, d.Minor)
	}
	if err := unix.IoctlSetInt(int(f.Fd()), req, 0); err != nil {
		return fmt.Errorf("%s: %s access: %w", d.Node, map[bool]string{true: "give", false: "revoke"}[on], err)
	}
	return nil
}

// lookup resolves major:minor through sysfs (dev/char/M:m): its subsystem
// link and name give the kind, its uevent the node name, udev's database
// the seat. Nothing but what sysfs names is ever opened.
func (r devRoots) lookup(major, minor uint32) (DeviceInfo, error) {
	d := DeviceInfo{Major: major, Minor: minor, Seat: "seat0"}
	if major > MaxMajor || minor > MaxMinor {
		return d, fmt.Errorf("device %d:%d: %w", major, minor, syscall.EINVAL)
	}
	id := fmt.Sprintf("%d:%d", major, minor)
	dir := filepath.Join(r.sys, "dev", "char", id)
	link, err := os.Readlink(dir)
	if err != nil {
		return d, fmt.Errorf("character device %s: %w", id, syscall.ENODEV)
	}
	sub, err := os.Readlink(filepath.Join(dir, "subsystem"))
	if err != nil {
		return d, fmt.Errorf("character device %s has no subsystem: %w", id, syscall.ENODEV)
	}
	name, subsystem := filepath.Base(link), filepath.Base(sub)
	switch {
	case subsystem == "drm" && strings.HasPrefix(name, "card"):
		d.Kind = DeviceDRM
	case subsystem == "input" && strings.HasPrefix(name, "event"):
		d.Kind = DeviceEvdev
	case subsystem == "hidraw" && strings.HasPrefix(name, "hidraw"):
		d.Kind = DeviceHidraw
	default:
		return d, fmt.Errorf("character device %s is %s %s, not a DRM card, evdev or hidraw node: %w", id, subsystem, name, syscall.ENODEV)
	}
	uevent, err := os.ReadFile(filepath.Join(dir, "uevent"))
	if err != nil {
		return d, fmt.Errorf("character device %s: %w", id, err)
	}
	for _, l := range strings.Split(string(uevent), "\n") {
		if v, ok := strings.CutPrefix(l, "DEVNAME="); ok {
			// A name below /dev, never a way out of it.
			if !filepath.IsLocal(v) {
				return d, fmt.Errorf("character device %s: bad DEVNAME %q: %w", id, v, syscall.EINVAL)
			}
			d.Node = filepath.Join(r.dev, v)
		}
	}
	if d.Node == "" {
		return d, fmt.Errorf("character device %s has no node name: %w", id, syscall.ENODEV)
	}
	if seat := udevProperty(filepath.Join(r.udev, "c"+id), "ID_SEAT"); seat != "" {
		d.Seat = seat
	}
	return d, nil
}

// udevProperty reads one E: line of a udev database file ("" if none).
func udevProperty(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "E:"+key+"="); ok {
			return v
		}
	}
	return ""
}

// OpenDevice opens d's node read-write for a session controller without
// following a symlink and checks, before and after, that it is the
// character device d.
func (h *Host) OpenDevice(d DeviceInfo) (*os.File, error) {
	check := func(st *unix.Stat_t) error {
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != d.Major || unix.Minor(st.Rdev) != d.Minor {
			return fmt.Errorf("%s is not character device %d:%d: %w", d.Node, d.Major, d.Minor, syscall.ENODEV)
		}
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(d.Node, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Node, err)
	}
	if err := check(&st); err != nil {
		return nil, err
	}
	fd, err := unix.Open(d.Node, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.Node, err)
	}
	if err := unix.Fstat(fd, &st); err != nil || check(&st) != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("%s changed while opening it: %w", d.Node, syscall.ENODEV)
	}
	return os.NewFile(uintptr(fd), d.Node), nil
}

// Dup returns a second descriptor of f's open file description.
func Dup(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("dup: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// evIoctlGetVersion is EVIOCGVERSION: it fails with ENODEV on a revoked
// evdev descriptor.
const evIoctlGetVersion = 0x80044501

// AdoptDevice finds device d among process pid's open descriptors and
// duplicates it into sessiond with pidfd_getfd(2), so the copy shares the
// controller's open file description: dropping DRM master or revoking
// evdev on it acts on the controller's descriptor again. An evdev
// descriptor already revoked is passed over for a live one.
func (h *Host) AdoptDevice(pid int, d DeviceInfo) (*os.File, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd of %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var revoked *os.File
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if link, err := os.Readlink(filepath.Join(dir, e.Name())); err != nil || link != d.Node {
			continue
		}
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != d.Major || unix.Minor(st.Rdev) != d.Minor {
			_ = unix.Close(fd)
			continue
		}
		unix.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), d.Node)
		if d.Kind == DeviceEvdev {
			if _, err := unix.IoctlGetInt(fd, evIoctlGetVersion); errors.Is(err, unix.ENODEV) {
				if revoked == nil {
					revoked = f
				} else {
					_ = f.Close()
				}
				continue
			}
		}
		if revoked != nil {
			_ = revoked.Close()
		}
		return f, nil
	}
	if revoked != nil {
		return revoked, nil
	}
	return nil, fmt.Errorf("%s: not open in process %d: %w", d.Node, pid, syscall.ENOENT)
}
