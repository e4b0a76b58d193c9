package sys

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mkUdevDev adds a device to a fake sysfs (dev/char/ID and its uevent)
// and udev database (data/cID, tags/TAG/cID).
func mkUdevDev(t *testing.T, root, id, subsystem, name, devname, record string, tags ...string) {
	t.Helper()
	mkSysDev(t, root, id, subsystem, name, devname)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "udev", "data"), 0o755))
	must(os.WriteFile(filepath.Join(root, "udev", "data", "c"+id), []byte(record), 0o644))
	for _, tag := range tags {
		must(os.MkdirAll(filepath.Join(root, "udev", "tags", tag), 0o755))
		must(os.WriteFile(filepath.Join(root, "udev", "tags", tag, "c"+id), nil, 0o644))
	}
}

func TestParseUdevRecord(t *testing.T) {
	for _, c := range []struct {
		in   string
		tags []string
		prop map[string]string
		err  string
	}{
		{in: "S:dri/by-path/x\nI:123\nE:ID_SEAT=seat1\nE:ID_FOR_SEAT=drm-pci-0000_00_02_0\nG:seat\nG:master-of-seat\nV:1\n",
			tags: []string{"seat", "master-of-seat"}, prop: map[string]string{"ID_SEAT": "seat1", "ID_FOR_SEAT": "drm-pci-0000_00_02_0"}},
		// Current tags (Q:) say what applies now; G: keeps old tags.
		{in: "G:seat\nG:uaccess\nQ:seat\n", tags: []string{"seat"}, prop: map[string]string{}},
		{in: "E:A=b=c\n", prop: map[string]string{"A": "b=c"}},
		{in: "", prop: map[string]string{}},
		{in: "E:=x\n", err: "line 1: property"},
		{in: "G:seat\nnonsense\n", err: "line 2:"},
		{in: "X\n", err: "line 1:"},
	} {
		r, err := ParseUdevRecord([]byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(r.Tags, c.tags) || !reflect.DeepEqual(r.Props, c.prop) {
			t.Errorf("%q: got %v %v, want %v %v", c.in, r.Tags, r.Props, c.tags, c.prop)
		}
	}
	if _, err := ParseUdevRecord(bytes.Repeat([]byte("E:A=b\n"), maxUdevRecord/5)); err == nil {
		t.Error("a record beyond the size bound was accepted")
	}
}

func TestSeatDevices(t *testing.T) {
	root := t.TempDir()
	mkUdevDev(t, root, "226:0", "drm", "card0", "dri/card0", "G:seat\nG:master-of-seat\nG:uaccess\n", "seat", "master-of-seat", "uaccess")
	mkUdevDev(t, root, "226:128", "drm", "renderD128", "dri/renderD128", "G:uaccess\nG:seat\n", "uaccess", "seat")
	mkUdevDev(t, root, "13:64", "input", "event0", "input/event0", "G:seat\nE:ID_SEAT=seat1\n", "seat")
	// A sound node: tagged uaccess only, its seat inherited in ID_SEAT.
	mkUdevDev(t, root, "116:3", "sound", "pcmC0D0p", "snd/pcmC0D0p", "G:uaccess\nE:ID_SEAT=seat0\n", "uaccess")
	// A tags entry whose record lost the tag (Q: wins).
	mkUdevDev(t, root, "13:65", "input", "event1", "input/event1", "G:seat\nQ:other\n", "seat")
	// Bad seat name, DEVNAME leaving /dev, missing record: skipped.
	mkUdevDev(t, root, "13:66", "input", "event2", "input/event2", "G:seat\nE:ID_SEAT=../x\n", "seat")
	mkUdevDev(t, root, "13:67", "input", "event3", "../../etc/shadow", "G:seat\n", "seat")
	mkUdevDev(t, root, "13:68", "input", "event4", "input/event4", "G:seat\n", "seat")
	if err := os.Remove(filepath.Join(root, "udev", "data", "c13:68")); err != nil {
		t.Fatal(err)
	}
	// Devices without nodes are in the tags directories too.
	for _, id := range []string{"+input:input5", "n3", "+sound:card0"} {
		if err := os.WriteFile(filepath.Join(root, "udev", "tags", "seat", id), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u := &Udev{RunDir: filepath.Join(root, "udev"), Sys: filepath.Join(root, "sys"), Dev: "/dev"}
	if !u.Running() {
		t.Fatal("Running: false with a database")
	}
	devs, err := u.SeatDevices()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range devs {
		got = append(got, strings.Join([]string{d.ID, d.Node, d.Seat, map[bool]string{true: "master"}[d.Master], map[bool]string{true: "uaccess"}[d.Uaccess]}, " "))
	}
	want := []string{
		"c116:3 /dev/snd/pcmC0D0p seat0  uaccess",
		"c13:64 /dev/input/event0 seat1  ",
		"c226:0 /dev/dri/card0 seat0 master uaccess",
		"c226:128 /dev/dri/renderD128 seat0  uaccess",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SeatDevices:\n got %q\nwant %q", got, want)
	}
	if d := devs[2]; d.Major != 226 || d.Minor != 0 || d.Block || !strings.HasSuffix(d.SysPath, "/drm/card0") {
		t.Errorf("card0: %+v", d)
	}
	if (&Udev{RunDir: filepath.Join(root, "none")}).Running() {
		t.Error("Running: true without a database")
	}
	if _, err := u.Record("../../etc/passwd"); err == nil {
		t.Error("Record accepted a path")
	}
}

func TestParseDeviceIDAndSeatName(t *testing.T) {
	for id, ok := range map[string]bool{"c226:0": true, "b8:16": true, "c4096:0": false, "c1:1048576": false,
		"n3": false, "+drm:card0": false, "c:1": false, "c1:": false, "x1:2": false, "c-1:2": false} {
		if _, _, _, got := ParseDeviceID(id); got != ok {
			t.Errorf("ParseDeviceID(%q) = %v", id, got)
		}
	}
	for s, ok := range map[string]bool{"seat0": true, "seat-usb_1": true, "seat": false, "seatx/y": false,
		"s0": false, "seat\x00": false, "seat" + strings.Repeat("a", 252): false} {
		if ValidSeatName(s) != ok {
			t.Errorf("ValidSeatName(%q) = %v", s, !ok)
		}
	}
}

func TestUdevMessage(t *testing.T) {
	ev := UdevEvent{"ACTION": "add", "DEVPATH": "/devices/pci0000:00/drm/card0", "SUBSYSTEM": "drm",
		"DEVNAME": "/dev/dri/card0", "MAJOR": "226", "MINOR": "0", "TAGS": ":seat:master-of-seat:uaccess:",
		"CURRENT_TAGS": ":seat:master-of-seat:"}
	b := EncodeUdevMessage(ev)
	got, err := ParseUdevMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Errorf("round trip: %v", got)
	}
	if !got.HasTag("master-of-seat") || got.HasTag("uaccess") || got.HasTag("seat-") {
		t.Error("HasTag does not follow CURRENT_TAGS")
	}
	if !relevant(got) || relevant(UdevEvent{"ACTION": "add", "DEVPATH": "/x", "SUBSYSTEM": "net"}) {
		t.Error("relevant")
	}
	bad := func(name string, f func(b []byte) []byte) {
		t.Helper()
		c := f(append([]byte(nil), b...))
		if _, err := ParseUdevMessage(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	bad("kernel format", func([]byte) []byte { return []byte("add@/devices/x\x00ACTION=add\x00DEVPATH=/devices/x\x00") })
	bad("short", func(b []byte) []byte { return b[:20] })
	bad("magic", func(b []byte) []byte { b[8] ^= 1; return b })
	bad("header size", func(b []byte) []byte { binary.NativeEndian.PutUint32(b[12:], 8); return b })
	bad("offset", func(b []byte) []byte { binary.NativeEndian.PutUint32(b[16:], 1<<31); return b })
	bad("length", func(b []byte) []byte { binary.NativeEndian.PutUint32(b[20:], ^uint32(0)); return b })
	bad("no key", func(b []byte) []byte {
		b = append(b, "=x\x00"...)
		binary.NativeEndian.PutUint32(b[20:], binary.NativeEndian.Uint32(b[20:])+3)
		return b
	})
	bad("no action", func([]byte) []byte { return EncodeUdevMessage(UdevEvent{"DEVPATH": "/x"}) })
}

func FuzzParseUdevMessage(f *testing.F) {
	f.Add(EncodeUdevMessage(UdevEvent{"ACTION": "remove", "DEVPATH": "/devices/x", "TAGS": ":seat:"}))
	f.Add([]byte("libudev\x00\xfe\xed\xca\xfe"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseUdevMessage(b)
		if err != nil {
			return
		}
		// What parses re-encodes to the same properties.
		again, err := ParseUdevMessage(EncodeUdevMessage(ev))
		if err != nil || !reflect.DeepEqual(again, ev) {
			t.Fatalf("re-encoded %v: %v %v", ev, again, err)
		}
	})
}

func FuzzParseUdevRecord(f *testing.F) {
	f.Add([]byte("S:x\nE:ID_SEAT=seat1\nG:seat\nQ:seat\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseUdevRecord(b)
		if err != nil {
			return
		}
		for k := range r.Props {
			if k == "" || strings.ContainsAny(k, "=\n") {
				t.Fatalf("bad key %q", k)
			}
		}
	})
}

// TestUdevMonitorNetlink sends udev-format messages on the monitor group
// of a private network namespace (root only): the monitor takes a
// userspace root sender's message and skips the kernel's format.
func TestUdevMonitorNetlink(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("skipped: needs root (a network namespace of its own)")
	}
	type result struct {
		m    *UdevMonitor
		send int
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// This thread enters the namespace and is never given back (the
		// goroutine ends locked, so the runtime discards the thread); the
		// sockets stay in the namespace they were made in.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		m, err := OpenUdevMonitor()
		if err != nil {
			ch <- result{err: err}
			return
		}
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		}
		ch <- result{m: m, send: fd, err: err}
	}()
	r := <-ch
	if r.err != nil {
		t.Skipf("skipped: no private netlink namespace: %v", r.err)
	}
	defer r.m.Close()
	defer unix.Close(r.send)
	to := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: udevMonitorGroup}
	ev := UdevEvent{"ACTION": "add", "DEVPATH": "/devices/x/drm/card0", "SUBSYSTEM": "drm", "MAJOR": "226", "MINOR": "0",
		"DEVNAME": "/dev/dri/card0", "TAGS": ":seat:master-of-seat:"}
	for _, msg := range [][]byte{
		[]byte("add@/devices/x\x00ACTION=add\x00DEVPATH=/devices/x\x00"), // the kernel's format
		EncodeUdevMessage(ev),
	} {
		if err := unix.Sendto(r.send, msg, 0, to); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	got := make(chan UdevEvent, 1)
	go func() { e, _ := r.m.Receive(); got <- e }()
	select {
	case e := <-got:
		if !reflect.DeepEqual(e, ev) {
			t.Errorf("received %v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event received")
	}
	// Close ends a Receive waiting for more.
	done := make(chan error, 1)
	go func() { _, err := r.m.Receive(); done <- err }()
	time.Sleep(20 * time.Millisecond)
	r.m.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Receive after Close: no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end Receive")
	}
}
