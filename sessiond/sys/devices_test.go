package sys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mkSysDev builds sysfs's dev/char/ID -> devices/…/NAME with a subsystem
// link and uevent, as the kernel lays it out.
func mkSysDev(t *testing.T, root, id, subsystem, name, devname string) {
	t.Helper()
	dev := filepath.Join(root, "sys", "devices", "virtual", subsystem, name)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(dev, 0o755))
	must(os.MkdirAll(filepath.Join(root, "sys", "class", subsystem), 0o755))
	must(os.MkdirAll(filepath.Join(root, "sys", "dev", "char"), 0o755))
	must(os.Symlink("../../../../class/"+subsystem, filepath.Join(dev, "subsystem")))
	must(os.WriteFile(filepath.Join(dev, "uevent"), []byte("MAJOR=x\nDEVNAME="+devname+"\n"), 0o644))
	must(os.Symlink("../../devices/virtual/"+subsystem+"/"+name, filepath.Join(root, "sys", "dev", "char", id)))
}

// key is a device number.
type key struct{ major, minor uint32 }

func TestLookupDevice(t *testing.T) {
	root := t.TempDir()
	mkSysDev(t, root, "226:0", "drm", "card0", "dri/card0")
	mkSysDev(t, root, "226:128", "drm", "renderD128", "dri/renderD128")
	mkSysDev(t, root, "13:64", "input", "event0", "input/event0")
	mkSysDev(t, root, "13:63", "input", "mice", "input/mice")
	mkSysDev(t, root, "243:0", "hidraw", "hidraw0", "hidraw0")
	mkSysDev(t, root, "1:3", "mem", "null", "null")
	mkSysDev(t, root, "4:1", "tty", "tty1", "tty1")
	mkSysDev(t, root, "10:232", "misc", "kvm", "kvm")
	mkSysDev(t, root, "13:70", "input", "event6", "../etc/shadow")
	if err := os.MkdirAll(filepath.Join(root, "udev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "udev", "c13:64"), []byte("G:seat\nE:ID_SEAT=seat1\nE:ID_INPUT=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := devRoots{sys: filepath.Join(root, "sys"), dev: "/dev", udev: filepath.Join(root, "udev")}
	for _, c := range []struct {
		k    key
		want string // "kind node seat" or the errno
	}{
		{key{226, 0}, "drm /dev/dri/card0 seat0"},
		{key{13, 64}, "evdev /dev/input/event0 seat1"},
		{key{243, 0}, "hidraw /dev/hidraw0 seat0"},
		{key{226, 128}, "ENODEV"}, // render nodes are not handed out
		{key{13, 63}, "ENODEV"},   // nor legacy mice
		{key{1, 3}, "ENODEV"},
		{key{4, 1}, "ENODEV"},
		{key{10, 232}, "ENODEV"},
		{key{99, 99}, "ENODEV"},
		{key{13, 70}, "EINVAL"},
		{key{1 << 12, 0}, "EINVAL"},
	} {
		d, err := r.lookup(c.k.major, c.k.minor)
		got := fmt.Sprintf("%s %s %s", d.Kind, d.Node, d.Seat)
		var errno syscall.Errno
		if err != nil {
			got = fmt.Sprint(err)
			if errors.As(err, &errno) {
				got = unix.ErrnoName(errno)
			}
		}
		if got != c.want {
			t.Errorf("lookup %d:%d = %q, want %q (%v)", c.k.major, c.k.minor, got, c.want, err)
		}
	}
}

// TestOpenDeviceNode: only the very character device is opened; a
// symlink or a node of another device number is refused.
func TestOpenDeviceNode(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mknod needs root")
	}
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod: %v", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(null, link); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d  DeviceInfo
		ok bool
	}{
		{DeviceInfo{Major: 1, Minor: 3, Node: null}, true},
		{DeviceInfo{Major: 1, Minor: 5, Node: null}, false},
		{DeviceInfo{Major: 1, Minor: 3, Node: link}, false},
		{DeviceInfo{Major: 1, Minor: 3, Node: plain}, false},
		{DeviceInfo{Major: 1, Minor: 3, Node: filepath.Join(dir, "missing")}, false},
	} {
		f, err := (&Host{}).OpenDevice(c.d)
		if (err == nil) != c.ok {
			t.Errorf("open %s as %d:%d: %v, want ok=%v", c.d.Node, c.d.Major, c.d.Minor, err, c.ok)
		}
		if f != nil {
			flags, _ := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
			if flags&unix.FD_CLOEXEC == 0 {
				t.Error("device descriptor without close-on-exec")
			}
			f.Close()
		}
	}
}

// TestAdoptDevice duplicates one of this process's own descriptors
// through pidfd_getfd: the copy shares the open file description (a
// status flag set on it shows on the original).
func TestAdoptDevice(t *testing.T) {
	orig, err := os.OpenFile("/dev/zero", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	var h Host
	d := DeviceInfo{Major: 1, Minor: 5, Kind: DeviceDRM, Node: "/dev/zero"}
	f, err := h.AdoptDevice(os.Getpid(), d)
	if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
		t.Skipf("skipped: no pidfd_getfd here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFL, unix.O_NONBLOCK|unix.O_RDWR); err != nil {
		t.Fatal(err)
	}
	fl, err := unix.FcntlInt(orig.Fd(), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("the adopted descriptor does not share the original's open file description (flags %#x, %v)", fl, err)
	}
	if _, err := h.AdoptDevice(os.Getpid(), DeviceInfo{Major: 1, Minor: 7, Kind: DeviceDRM, Node: "/dev/full"}); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("a device not open: %v", err)
	}
	// The node's name with another device behind it is refused.
	if _, err := h.AdoptDevice(os.Getpid(), DeviceInfo{Major: 1, Minor: 3, Kind: DeviceDRM, Node: "/dev/zero"}); err == nil {
		t.Error("adopted a descriptor of another device number")
	}
}
