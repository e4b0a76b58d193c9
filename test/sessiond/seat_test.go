package sessiond_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"ginit/internal/testenv"
)

// fakeSeatDevices builds a udev world of the test's own: a sysfs tree
// (two DRM nodes and a USB hub tagged seat), udev's database in the
// private /run/udev, and the nodes under the test's dev directory. The
// nodes are made with the numbers of /dev/null and /dev/zero, so nothing
// real is ever reachable through them.
func fakeSeatDevices(e *env) {
	tb := e.TB
	tb.Helper()
	sys, dev := e.Path("sys"), e.Path("dev")
	must := func(err error, what string) { tb.Helper(); e.Must(err, what) }
	node := func(id, sub, name, devname, record string, tags ...string) {
		dir := filepath.Join(sys, "devices", "virtual", sub, name)
		must(os.MkdirAll(dir, 0o755), "mkdir "+dir)
		must(os.MkdirAll(filepath.Join(sys, "class", sub), 0o755), "class")
		must(os.MkdirAll(filepath.Join(sys, "dev", "char"), 0o755), "dev/char")
		_ = os.Symlink("../../../../class/"+sub, filepath.Join(dir, "subsystem"))
		must(os.WriteFile(filepath.Join(dir, "uevent"), []byte("DEVNAME="+devname+"\n"), 0o644), "uevent")
		must(os.WriteFile(filepath.Join(dir, "dev"), []byte(id+"\n"), 0o644), "dev")
		must(os.Symlink("../../devices/virtual/"+sub+"/"+name, filepath.Join(sys, "dev", "char", id)), "dev link")
		p := filepath.Join(dev, devname)
		must(os.MkdirAll(filepath.Dir(p), 0o755), "mkdir dev")
		var maj, min uint32
		_, err := fmt.Sscanf(id, "%d:%d", &maj, &min)
		must(err, "device id "+id)
		must(unix.Mknod(p, unix.S_IFCHR|0o660, int(unix.Mkdev(maj, min))), "mknod "+p)
		must(os.MkdirAll("/run/udev/data", 0o755), "udev data")
		must(os.WriteFile("/run/udev/data/c"+id, []byte(record), 0o644), "udev record")
		for _, tag := range tags {
			must(os.MkdirAll("/run/udev/tags/"+tag, 0o755), "udev tags")
			must(os.WriteFile("/run/udev/tags/"+tag+"/c"+id, nil, 0o644), "udev tag")
		}
	}
	node("1:3", "drm", "card0", "dri/card0", "G:seat\nG:master-of-seat\nG:uaccess\nQ:seat\nQ:master-of-seat\nQ:uaccess\n", "seat", "master-of-seat", "uaccess")
	node("1:5", "drm", "renderD128", "dri/renderD128", "G:seat\nG:uaccess\n", "seat", "uaccess")
	hub := filepath.Join(sys, "devices", "pci0000:00", "usb1", "1-1")
	must(os.MkdirAll(filepath.Join(hub, "1-1:1.0"), 0o755), "hub")
	must(os.MkdirAll(filepath.Join(sys, "bus", "usb"), 0o755), "bus")
	must(os.Symlink("../../../../bus/usb", filepath.Join(hub, "subsystem")), "hub subsystem")
	for _, d := range []string{hub, filepath.Join(hub, "1-1:1.0")} {
		must(os.WriteFile(filepath.Join(d, "uevent"), nil, 0o644), "hub uevent")
	}
	must(os.WriteFile(filepath.Join(hub, "dev"), []byte("189:1\n"), 0o644), "hub dev")
	must(os.WriteFile("/run/udev/data/c189:1", []byte("G:seat\nE:ID_FOR_SEAT=usb-pci-0000_00_14_0-usb-0_1\n"), 0o644), "hub record")
	must(os.WriteFile("/run/udev/tags/seat/c189:1", nil, 0o644), "hub tag")
	e.args = append(e.args, "-udev-dir", "/run/udev", "-udev-sys", sys, "-udev-dev", dev, "-udev-rules-dir", e.Path("rules.d"))
}

// TestSeatDevicesAndACLs: seat0 is graphical from udev's master-of-seat
// node; the active session's user gets an ACL on the uaccess nodes
// (getfacl), loses it when another session is in front and gets it back;
// loginctl attach and flush-devices write and remove logind's rules, root
// only without polkit.
func TestSeatDevicesAndACLs(t *testing.T) {
	if _, err := exec.LookPath("getfacl"); err != nil {
		t.Skip("skipped: getfacl missing (Debian acl)")
	}
	e := newEnvWith(t, fakeSeatDevices)
	if seat := testenv.ParseKV(e.OK("loginctl", "show-seat", "seat0")); seat["CanGraphical"] != "yes" {
		t.Errorf("show-seat seat0: %v", seat)
	}
	card, render := e.Path("dev/dri/card0"), e.Path("dev/dri/renderD128")
	acl := func(p string) string { t.Helper(); return e.OK("getfacl", "-n", "-p", p) }
	hasUser := func(p, uid string) bool { t.Helper(); return strings.Contains(acl(p), "user:"+uid+":rw-") }

	nobody := e.hold("nobody", "pts/9", "XDG_SEAT=seat0")
	e.WaitFor("nobody's ACLs", func() bool { return hasUser(card, "65534") && hasUser(render, "65534") })
	if a := acl(card); !strings.Contains(a, "mask::rw-") || !strings.Contains(a, "group::r--") {
		t.Errorf("card0 ACL:\n%s", a)
	}
	// root's session comes to the front (the newest on a seat without
	// VTs): nobody's entries go, root gets none.
	root := e.hold("root", "pts/7", "XDG_SEAT=seat0")
	e.WaitFor("nobody's ACLs gone", func() bool { return !hasUser(card, "65534") && !hasUser(render, "65534") })
	if strings.Contains(acl(card), "user:0:") {
		t.Errorf("root got an entry:\n%s", acl(card))
	}
	e.OK("loginctl", "activate", nobody.ID)
	e.WaitFor("nobody's ACLs back", func() bool { return hasUser(card, "65534") && hasUser(render, "65534") })
	// seat-status reads the seat from sessiond (and its device tree from
	// the machine's udev, which this namespace does not have).
	if st := e.OK("loginctl", "seat-status", "seat0", "--no-pager"); !strings.Contains(st, "Sessions: ") || !strings.Contains(st, nobody.ID) || !strings.Contains(st, root.ID) {
		t.Errorf("seat-status:\n%s", st)
	}

	// AttachDevice: refused to an unprivileged caller, done for root.
	hub := "/sys/devices/pci0000:00/usb1/1-1"
	if out, err := e.Run(nil, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "loginctl", "attach", "seat1", hub); err == nil {
		t.Errorf("attach as nobody succeeded: %s", out)
	} else if !strings.Contains(out, "nteractive authentication required") && !strings.Contains(out, "ccess denied") {
		t.Errorf("attach as nobody: %s", out)
	}
	e.OK("loginctl", "attach", "seat1", hub)
	rule, err := os.ReadFile(e.Path("rules.d/72-seat-usb-pci-0000_00_14_0-usb-0_1.rules"))
	e.Must(err, "read the attach rule")
	if !strings.Contains(string(rule), `TAG=="seat", ENV{ID_FOR_SEAT}=="usb-pci-0000_00_14_0-usb-0_1", ENV{ID_SEAT}="seat1"`) {
		t.Errorf("rule:\n%s", rule)
	}
	if b, _ := os.ReadFile(e.Path("sys/devices/pci0000:00/usb1/1-1/1-1:1.0/uevent")); string(b) != "change" {
		t.Errorf("the hub's child was not triggered: %q", b)
	}
	if out, err := e.Run(nil, "loginctl", "attach", "seat1", "/sys/../etc"); err == nil {
		t.Errorf("attach of /sys/../etc succeeded: %s", out)
	}
	e.OK("loginctl", "flush-devices")
	if _, err := os.Stat(e.Path("rules.d/72-seat-usb-pci-0000_00_14_0-usb-0_1.rules")); !os.IsNotExist(err) {
		t.Errorf("rule left after flush-devices: %v", err)
	}
}

// TestControllerSurvivesRestart: sessiond killed with SIGKILL and started
// again gives the session's controller its control back (the session file
// names it), so ReleaseControl from it works and a stranger still cannot.
func TestControllerSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	nobody := e.hold("nobody", "pts/9", "XDG_SEAT=seat0")
	obj := e.conn.Object("org.freedesktop.login1", sessionPath(nobody.ID))
	e.Must(obj.Call("org.freedesktop.login1.Session.TakeControl", 0, false).Err, "TakeControl")
	if f := testenv.ParseKV(string(mustRead(t, "/run/systemd/sessions/"+nobody.ID))); f["CONTROLLER"] != e.conn.Names()[0] {
		t.Fatalf("session file CONTROLLER=%q, want %q", f["CONTROLLER"], e.conn.Names()[0])
	}
	e.killDaemon()
	e.startDaemon()
	other, err := godbus.Connect(testenv.BusAddr)
	e.Must(err, "second connection")
	defer other.Close()
	if err := other.Object("org.freedesktop.login1", sessionPath(nobody.ID)).Call("org.freedesktop.login1.Session.ReleaseControl", 0).Err; err == nil {
		t.Error("a stranger released control")
	}
	if err := obj.Call("org.freedesktop.login1.Session.ReleaseControl", 0).Err; err != nil {
		t.Errorf("ReleaseControl after the restart: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
