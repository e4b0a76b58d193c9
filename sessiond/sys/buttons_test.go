package sys

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func inputRecord(typ, code uint16, val int32) []byte {
	b := make([]byte, inputEvSize)
	binary.NativeEndian.PutUint16(b[16:], typ)
	binary.NativeEndian.PutUint16(b[18:], code)
	binary.NativeEndian.PutUint32(b[20:], uint32(val))
	return b
}

// readInput decodes records however the reads split them.
func TestReadInput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stream []byte
	for _, rec := range [][]byte{
		inputRecord(evKey, keyPower, 1),
		inputRecord(evKey, keyPower, 0), // release: nothing
		inputRecord(evKey, keyPower, 2), // autorepeat: nothing
		inputRecord(0, 0, 0),            // EV_SYN
		inputRecord(evKey, 30, 1),       // KEY_A: nothing
		inputRecord(evSw, swLid, 1),
		inputRecord(evKey, keySleep, 1),
		inputRecord(evKey, keySuspend, 1),
		inputRecord(evKey, keyRestart, 1),
		inputRecord(evSw, swLid, 0),
		inputRecord(evSw, swDock, 1),
	} {
		stream = append(stream, rec...)
	}
	go func() {
		// Odd-sized writes: records arrive split.
		for len(stream) > 0 {
			n := min(len(stream), 17)
			_, _ = w.Write(stream[:n])
			stream = stream[n:]
		}
		w.Close()
	}()
	var got []InputEvent
	if err := readInput(r, func(ev InputEvent) { got = append(got, ev) }); err != io.EOF {
		t.Errorf("readInput ended with %v, want EOF", err)
	}
	want := []InputEvent{{InputPowerKey, true, false}, {InputLid, true, false}, {InputSuspendKey, true, false},
		{InputHibernateKey, true, false}, {InputRebootKey, true, false}, {InputLid, false, false}, {InputDock, true, false}}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// Files that are not evdev devices (the ioctls fail) are skipped.
func TestSysButtonsSkipsNonDevices(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "event0"), []byte("not a device"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &Buttons{Dir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	n := 0
	stop, err := b.Watch(func(InputEvent) { n++ })
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if n != 0 {
		t.Errorf("%d events from a plain file", n)
	}
	if _, err := (&Buttons{Dir: filepath.Join(dir, "absent")}).Watch(func(InputEvent) {}); err == nil {
		t.Error("missing input directory accepted")
	}
}

// recordLog keeps the messages and "device" attributes logged.
type recordLog struct {
	mu   sync.Mutex
	seen []string
}

func (r *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (r *recordLog) Handle(_ context.Context, rec slog.Record) error {
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "device" {
			r.mu.Lock()
			r.seen = append(r.seen, rec.Message+" "+a.Value.String())
			r.mu.Unlock()
		}
		return true
	})
	return nil
}
func (r *recordLog) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recordLog) WithGroup(string) slog.Handler      { return r }

func (r *recordLog) has(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.seen {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// A device node created after Watch started is looked at too (the ACPI
// power button appears when udev loads its driver); other names are not,
// and nothing is opened after stop.
func TestSysButtonsHotplug(t *testing.T) {
	dir := t.TempDir()
	rec := &recordLog{}
	b := &Buttons{Dir: dir, Log: slog.New(rec)}
	stop, err := b.Watch(func(InputEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mouse0", "event7"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !rec.has("event7") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !rec.has("event7") {
		t.Fatalf("event7, created after Watch, was never opened: %v", rec.seen)
	}
	if rec.has("mouse0") {
		t.Errorf("mouse0 (not an event device) was opened: %v", rec.seen)
	}
	stop()
	if err := os.WriteFile(filepath.Join(dir, "event8"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if rec.has("event8") {
		t.Errorf("event8 was opened after stop: %v", rec.seen)
	}
}

func TestInotifyNames(t *testing.T) {
	ev := func(name string, pad int) []byte {
		b := make([]byte, unix.SizeofInotifyEvent+len(name)+pad)
		binary.NativeEndian.PutUint32(b[12:], uint32(len(name)+pad))
		copy(b[unix.SizeofInotifyEvent:], name)
		return b
	}
	buf := append(append(ev("event3", 10), ev("", 0)...), ev("event12", 1)...)
	got := inotifyNames(append(buf, 1, 2, 3)) // a torn tail is ignored
	if strings.Join(got, ",") != "event3,event12" {
		t.Errorf("inotifyNames = %q", got)
	}
	if got := inotifyNames(ev("x", 0)[:unix.SizeofInotifyEvent]); got != nil {
		t.Errorf("a header without its name gave %q", got)
	}
}
