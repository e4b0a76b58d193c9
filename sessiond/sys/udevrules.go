package sys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// seatRulePrefix names the rules AttachDevice writes and FlushDevices
// removes, as logind's: RulesDir/72-seat-ID_FOR_SEAT.rules.
const seatRulePrefix = "72-seat-"

// AttachDevice assigns the device at sysfs path (and what hangs below
// it) to seat through a udev rule matching its ID_FOR_SEAT, then has udev
// process the device and its children again so the new ID_SEAT applies
// at once. The device must be tagged seat and have ID_FOR_SEAT.
func (u *Udev) AttachDevice(seat, sysfs string) error {
	if !ValidSeatName(seat) {
		return fmt.Errorf("seat %q is not valid: %w", seat, syscall.EINVAL)
	}
	dir, err := u.sysDevice(sysfs)
	if err != nil {
		return err
	}
	id, err := u.deviceID(dir)
	if err != nil {
		return err
	}
	rec, err := u.Record(id)
	if err != nil || !rec.HasTag("seat") {
		return fmt.Errorf("device %s lacks the 'seat' udev tag: %w", sysfs, syscall.ENODEV)
	}
	forSeat := rec.Props["ID_FOR_SEAT"]
	if forSeat == "" {
		return fmt.Errorf("device %s lacks the 'ID_FOR_SEAT' udev property: %w", sysfs, syscall.ENODEV)
	}
	// udev makes it of a subsystem and a path tag; anything else would
	// leave the file name or the rule's quotes.
	if !safeRuleWord(forSeat) {
		return fmt.Errorf("device %s: ID_FOR_SEAT %q is not a plain name: %w", sysfs, forSeat, syscall.EINVAL)
	}
	rule := fmt.Sprintf("# Written by sessiond (AttachDevice): %s on %s\nTAG==\"seat\", ENV{ID_FOR_SEAT}==\"%s\", ENV{ID_SEAT}=\"%s\"\n", forSeat, seat, forSeat, seat)
	if err := os.MkdirAll(u.RulesDir, 0o755); err != nil {
		return fmt.Errorf("rules directory: %w", err)
	}
	if err := writeAtomic(filepath.Join(u.RulesDir, seatRulePrefix+forSeat+".rules"), []byte(rule)); err != nil {
		return err
	}
	return u.trigger(dir)
}

// FlushDevices removes every rule AttachDevice wrote and has udev process
// all devices again, so they return to their default seats.
func (u *Udev) FlushDevices() error {
	ents, err := os.ReadDir(u.RulesDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rules directory: %w", err)
	}
	var first error
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, seatRulePrefix) || !strings.HasSuffix(n, ".rules") {
			continue
		}
		if err := os.Remove(filepath.Join(u.RulesDir, n)); err != nil && first == nil {
			first = err
		}
	}
	if err := u.trigger(filepath.Join(u.Sys, "devices")); err != nil && first == nil {
		first = err
	}
	return first
}

func safeRuleWord(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return s != "." && s != ".."
}

// sysDevice checks a caller's sysfs path as logind does (normalized, below
// /sys) and resolves it to the device directory (class links followed);
// it must stay inside sysfs and be a device (have a uevent file).
func (u *Udev) sysDevice(p string) (string, error) {
	if p == "" || filepath.Clean(p) != p || !filepath.IsAbs(p) {
		return "", fmt.Errorf("path %q is not normalized: %w", p, syscall.EINVAL)
	}
	rel, ok := strings.CutPrefix(p, "/sys/")
	if !ok {
		return "", fmt.Errorf("path %s is not in /sys: %w", p, syscall.EINVAL)
	}
	root, err := filepath.EvalSymlinks(u.Sys)
	if err != nil {
		return "", fmt.Errorf("sysfs: %w", err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(root, rel))
	if err != nil {
		return "", fmt.Errorf("device %s: %w", p, syscall.ENODEV)
	}
	if in, err := filepath.Rel(root, dir); err != nil || !filepath.IsLocal(in) {
		return "", fmt.Errorf("device %s leads out of sysfs: %w", p, syscall.EINVAL)
	}
	if st, err := os.Stat(filepath.Join(dir, "uevent")); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a device: %w", p, syscall.ENODEV)
	}
	return dir, nil
}

// deviceID is udev's id of the device in sysfs directory dir: cM:m or
// bM:m for a node, nIFINDEX for a network interface, else
// +SUBSYSTEM:SYSNAME.
func (u *Udev) deviceID(dir string) (string, error) {
	sub, err := os.Readlink(filepath.Join(dir, "subsystem"))
	if err != nil {
		return "", fmt.Errorf("device %s has no subsystem: %w", dir, syscall.ENODEV)
	}
	subsystem := filepath.Base(sub)
	if b, err := os.ReadFile(filepath.Join(dir, "dev")); err == nil {
		kind := "c"
		if subsystem == "block" {
			kind = "b"
		}
		id := kind + strings.TrimSpace(string(b))
		if _, _, _, ok := ParseDeviceID(id); ok {
			return id, nil
		}
	}
	if subsystem == "net" {
		if b, err := os.ReadFile(filepath.Join(dir, "ifindex")); err == nil {
			return "n" + strings.TrimSpace(string(b)), nil
		}
	}
	return "+" + subsystem + ":" + strings.ReplaceAll(filepath.Base(dir), "!", "/"), nil
}

// trigger writes "change" to the uevent file of dir and of every device
// below it, as `udevadm trigger --action=change` does; symlinks are not
// followed, so each device is visited once.
func (u *Udev) trigger(dir string) error {
	var first error
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a device that went away meanwhile
		}
		if d.IsDir() || d.Name() != "uevent" {
			return nil
		}
		n++
		if err := os.WriteFile(p, []byte("change"), 0); err != nil && first == nil && !errors.Is(err, os.ErrNotExist) {
			first = fmt.Errorf("trigger %s: %w", filepath.Dir(p), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("trigger %s: no device: %w", dir, syscall.ENODEV)
	}
	return first
}

// writeAtomic replaces path with data through a temporary file.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
