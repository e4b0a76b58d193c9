package sys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// usbTree is a fake sysfs with a USB hub tagged seat and an input device
// below it, and udev's record of the hub.
func usbTree(t *testing.T) (*Udev, string) {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	hub := filepath.Join(root, "sys", "devices", "pci0000:00", "usb1", "1-1")
	input := filepath.Join(hub, "1-1:1.0", "input", "input5")
	event := filepath.Join(input, "event5")
	for _, d := range []string{event, filepath.Join(root, "sys", "bus", "usb"), filepath.Join(root, "sys", "class", "input")} {
		must(os.MkdirAll(d, 0o755))
	}
	for _, d := range []string{hub, filepath.Join(hub, "1-1:1.0"), input, event} {
		must(os.WriteFile(filepath.Join(d, "uevent"), nil, 0o644))
	}
	must(os.Symlink("../../../../bus/usb", filepath.Join(hub, "subsystem")))
	must(os.Symlink("../../../../../../../class/input", filepath.Join(input, "subsystem")))
	must(os.WriteFile(filepath.Join(hub, "dev"), []byte("189:1\n"), 0o644))
	must(os.MkdirAll(filepath.Join(root, "udev", "data"), 0o755))
	must(os.WriteFile(filepath.Join(root, "udev", "data", "c189:1"), []byte("G:seat\nE:ID_FOR_SEAT=usb-pci-0000_00_14_0-usb-0_1\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "udev", "data", "+input:input5"), []byte("G:seat\n"), 0o644))
	return &Udev{RunDir: filepath.Join(root, "udev"), Sys: filepath.Join(root, "sys"), Dev: "/dev", RulesDir: filepath.Join(root, "rules.d")}, root
}

func TestAttachAndFlushDevices(t *testing.T) {
	u, root := usbTree(t)
	if err := u.AttachDevice("seat1", "/sys/devices/pci0000:00/usb1/1-1"); err != nil {
		t.Fatal(err)
	}
	rule, err := os.ReadFile(filepath.Join(u.RulesDir, "72-seat-usb-pci-0000_00_14_0-usb-0_1.rules"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `TAG=="seat", ENV{ID_FOR_SEAT}=="usb-pci-0000_00_14_0-usb-0_1", ENV{ID_SEAT}="seat1"`; !strings.Contains(string(rule), want+"\n") {
		t.Errorf("rule:\n%s\nwant %s", rule, want)
	}
	// The hub and everything below it got "change"; nothing else did.
	triggered := func() []string {
		var out []string
		_ = filepath.WalkDir(filepath.Join(root, "sys"), func(p string, d os.DirEntry, err error) error {
			if d.Name() == "uevent" {
				if b, _ := os.ReadFile(p); string(b) == "change" {
					rel, _ := filepath.Rel(filepath.Join(root, "sys"), filepath.Dir(p))
					out = append(out, rel)
					_ = os.WriteFile(p, nil, 0o644)
				}
			}
			return nil
		})
		return out
	}
	if got := triggered(); len(got) != 4 || got[len(got)-1] != "devices/pci0000:00/usb1/1-1" {
		t.Errorf("triggered %v", got)
	}
	// Other files in the rules directory stay.
	if err := os.WriteFile(filepath.Join(u.RulesDir, "70-mine.rules"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := u.FlushDevices(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(u.RulesDir)
	if len(ents) != 1 || ents[0].Name() != "70-mine.rules" {
		t.Errorf("after flush: %v", ents)
	}
	if got := triggered(); len(got) != 4 {
		t.Errorf("flush triggered %v", got)
	}
}

func TestAttachDeviceRefuses(t *testing.T) {
	u, root := usbTree(t)
	if err := os.Symlink("/etc", filepath.Join(root, "sys", "escape")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		seat, path string
		errno      syscall.Errno
	}{
		{"seat1", "/sys/devices/pci0000:00/usb1/1-1/../1-1", syscall.EINVAL},
		{"seat1", "sys/devices/pci0000:00/usb1/1-1", syscall.EINVAL},
		{"seat1", "/etc/passwd", syscall.EINVAL},
		{"seat1", "/sys/escape", syscall.EINVAL},
		{"seat1", "/sys/devices/none", syscall.ENODEV},
		{"seat1", "/sys/devices/pci0000:00/usb1", syscall.ENODEV},                          // no uevent
		{"seat1", "/sys/devices/pci0000:00/usb1/1-1/1-1:1.0/input/input5", syscall.ENODEV}, // no ID_FOR_SEAT
		{"../seat1", "/sys/devices/pci0000:00/usb1/1-1", syscall.EINVAL},
		{"seat1\"x", "/sys/devices/pci0000:00/usb1/1-1", syscall.EINVAL},
	} {
		err := u.AttachDevice(c.seat, c.path)
		if !errors.Is(err, c.errno) {
			t.Errorf("AttachDevice(%q, %q) = %v, want %v", c.seat, c.path, err, c.errno)
		}
	}
	// A hostile ID_FOR_SEAT never leaves the rules directory or the quotes.
	if err := os.WriteFile(filepath.Join(u.RunDir, "data", "c189:1"), []byte("G:seat\nE:ID_FOR_SEAT=../../x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := u.AttachDevice("seat1", "/sys/devices/pci0000:00/usb1/1-1"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("hostile ID_FOR_SEAT: %v", err)
	}
	if ents, _ := os.ReadDir(u.RulesDir); len(ents) != 0 {
		t.Errorf("rules written: %v", ents)
	}
}
