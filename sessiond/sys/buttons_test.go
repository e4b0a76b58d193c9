package sys

import (
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
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
