package sys

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Udev reads udev's database: the devices udev tagged (RunDir/tags/TAG/ID)
// and their records (RunDir/data/ID), and sysfs for the nodes. The zero
// value is unusable; NewUdev gives the machine's paths.
type Udev struct {
	// RunDir is normally /run/udev.
	RunDir string
	// Sys is normally /sys, Dev /dev.
	Sys, Dev string
	// RulesDir is where AttachDevice writes its rules (/etc/udev/rules.d).
	RulesDir string
}

// NewUdev returns the machine's udev paths.
func NewUdev() *Udev {
	return &Udev{RunDir: "/run/udev", Sys: "/sys", Dev: "/dev", RulesDir: "/etc/udev/rules.d"}
}

// SeatDevice is a device node udev put on a seat: tagged "seat" (or
// "uaccess", whose nodes inherit their parent's seat), with its seat from
// ID_SEAT (seat0 when unset).
type SeatDevice struct {
	ID           string // udev's device id: c226:0, b11:0
	Major, Minor uint32
	Block        bool
	Node         string // /dev/dri/card0
	SysPath      string // /sys/devices/…/drm/card0
	Seat         string
	Master       bool // tagged master-of-seat: the seat can be graphical
	Uaccess      bool // tagged uaccess: the active user gets an ACL
}

// UdevRecord is one file of udev's database: its tags (current tags
// when the file names them, as udev ≥ 247 writes) and properties.
type UdevRecord struct {
	Tags  []string
	Props map[string]string
}

// HasTag reports whether the record carries tag.
func (r UdevRecord) HasTag(tag string) bool {
	for _, t := range r.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// maxUdevRecord bounds a database file: real ones are a few KiB.
const maxUdevRecord = 1 << 20

// ParseUdevRecord parses a udev database file: one "X:value" per line,
// G: a tag, Q: a current tag, E: KEY=VALUE; other line kinds (S:, L:, I:,
// W:, V:) are skipped. Current tags win over tags when present, since a
// tag can stay in G: after the rule that set it stopped matching.
func ParseUdevRecord(data []byte) (UdevRecord, error) {
	r := UdevRecord{Props: map[string]string{}}
	if len(data) > maxUdevRecord {
		return r, fmt.Errorf("udev record of %d bytes: too large", len(data))
	}
	var tags, current []string
	for n, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			return r, fmt.Errorf("line %d: %q is not X:value", n+1, trunc(line))
		}
		val := string(line[2:])
		switch line[0] {
		case 'G':
			tags = append(tags, val)
		case 'Q':
			current = append(current, val)
		case 'E':
			k, v, ok := strings.Cut(val, "=")
			if !ok || k == "" {
				return r, fmt.Errorf("line %d: property %q has no KEY=", n+1, trunc(line))
			}
			r.Props[k] = v
		}
	}
	r.Tags = tags
	if current != nil {
		r.Tags = current
	}
	return r, nil
}

func trunc(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// Running reports whether udev has a database (udevd ran on this boot).
func (u *Udev) Running() bool {
	st, err := os.Stat(filepath.Join(u.RunDir, "data"))
	return err == nil && st.IsDir()
}

// Record reads the database file of device id (c226:0, +drm:card0-1).
func (u *Udev) Record(id string) (UdevRecord, error) {
	if !validDeviceID(id) {
		return UdevRecord{}, fmt.Errorf("udev device id %q: invalid", id)
	}
	data, err := os.ReadFile(filepath.Join(u.RunDir, "data", id))
	if err != nil {
		return UdevRecord{}, err
	}
	r, err := ParseUdevRecord(data)
	if err != nil {
		return r, fmt.Errorf("%s: %w", filepath.Join(u.RunDir, "data", id), err)
	}
	return r, nil
}

// validDeviceID: a file name, never a path.
func validDeviceID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, "/\x00")
}

// tagged lists the device ids udev tagged tag.
func (u *Udev) tagged(tag string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(u.RunDir, "tags", tag))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ents))
	for _, e := range ents {
		ids = append(ids, e.Name())
	}
	return ids, nil
}

// SeatDevices lists the device nodes tagged seat or uaccess, with their
// seats, sorted by id. Devices without a node (input parents, sound
// cards, network interfaces) place nothing on a seat by themselves: udev
// copies their ID_SEAT to the nodes below them.
func (u *Udev) SeatDevices() ([]SeatDevice, error) {
	seen := map[string]bool{}
	var out []SeatDevice
	for _, tag := range []string{"seat", "uaccess"} {
		ids, err := u.tagged(tag)
		if err != nil {
			return nil, fmt.Errorf("udev tag %s: %w", tag, err)
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			d, ok := u.seatDevice(id)
			if ok {
				out = append(out, d)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// seatDevice builds the SeatDevice of a c/b id; false when it is not a
// node, is gone, or has no valid record (a device removed between the
// listing and the read is simply not there).
func (u *Udev) seatDevice(id string) (SeatDevice, bool) {
	d := SeatDevice{ID: id, Seat: "seat0"}
	maj, min, block, ok := ParseDeviceID(id)
	if !ok {
		return d, false
	}
	d.Major, d.Minor, d.Block = maj, min, block
	rec, err := u.Record(id)
	if err != nil {
		return d, false
	}
	if s := rec.Props["ID_SEAT"]; s != "" {
		if !ValidSeatName(s) {
			return d, false
		}
		d.Seat = s
	}
	d.Master = rec.HasTag("master-of-seat")
	d.Uaccess = rec.HasTag("uaccess")
	if !rec.HasTag("seat") && !d.Uaccess {
		return d, false // tagged once, no longer (a stale tags entry)
	}
	kind := "char"
	if block {
		kind = "block"
	}
	link := filepath.Join(u.Sys, "dev", kind, fmt.Sprintf("%d:%d", maj, min))
	target, err := filepath.EvalSymlinks(link)
	if err != nil {
		return d, false
	}
	d.SysPath = target
	node, err := devName(filepath.Join(target, "uevent"))
	if err != nil || node == "" {
		return d, false
	}
	d.Node = filepath.Join(u.Dev, node)
	return d, true
}

// devName reads DEVNAME= of a sysfs uevent file: a name below /dev.
func devName(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "DEVNAME="); ok {
			if !filepath.IsLocal(v) {
				return "", fmt.Errorf("%s: DEVNAME %q leaves /dev", path, v)
			}
			return v, nil
		}
	}
	return "", nil
}

// ParseDeviceID splits udev's id of a device node: "c" or "b", then
// MAJOR:MINOR.
func ParseDeviceID(id string) (major, minor uint32, block, ok bool) {
	if len(id) < 4 || (id[0] != 'c' && id[0] != 'b') {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(id[1:], ":")
	if !found {
		return 0, 0, false, false
	}
	ma, err1 := strconv.ParseUint(a, 10, 32)
	mi, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil || ma > MaxMajor || mi > MaxMinor {
		return 0, 0, false, false
	}
	return uint32(ma), uint32(mi), id[0] == 'b', true
}

// ValidSeatName is logind's seat_name_is_valid: "seat" and then letters,
// digits, '-' and '_' (at most 255 bytes).
func ValidSeatName(s string) bool {
	rest, ok := strings.CutPrefix(s, "seat")
	if !ok || rest == "" || len(s) > 255 {
		return false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
