package sessiond

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
	b := &SysButtons{Dir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	n := 0
	stop, err := b.Watch(func(InputEvent) { n++ })
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if n != 0 {
		t.Errorf("%d events from a plain file", n)
	}
	if _, err := (&SysButtons{Dir: filepath.Join(dir, "absent")}).Watch(func(InputEvent) {}); err == nil {
		t.Error("missing input directory accepted")
	}
}

func TestHandleInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		conf   func(c *LoginConfig)
		lock   inhibitWhat // a block lock taken first
		events []InputEvent
		want   string // backend call, "" = none
		lid    bool   // LidClosed afterwards
	}{
		{name: "power key", events: []InputEvent{{Kind: InputPowerKey, On: true}}, want: "poweroff"},
		{name: "reboot key", events: []InputEvent{{Kind: InputRebootKey, On: true}}, want: "reboot"},
		{name: "suspend key", events: []InputEvent{{Kind: InputSuspendKey, On: true}}, want: "suspend"},
		{name: "hibernate key", events: []InputEvent{{Kind: InputHibernateKey, On: true}}, want: "hibernate"},
		{name: "ignored", conf: func(c *LoginConfig) { c.HandlePowerKey = "ignore" }, events: []InputEvent{{Kind: InputPowerKey, On: true}}},
		{name: "key inhibited", lock: inhibitPowerKey, events: []InputEvent{{Kind: InputPowerKey, On: true}}},
		{name: "key inhibitor ignored", conf: func(c *LoginConfig) { c.PowerKeyIgnoreInhibited = true }, lock: inhibitPowerKey,
			events: []InputEvent{{Kind: InputPowerKey, On: true}}, want: "poweroff"},
		{name: "shutdown blocked", lock: inhibitShutdown, events: []InputEvent{{Kind: InputPowerKey, On: true}}},
		{name: "lid closes", events: []InputEvent{{Kind: InputLid, On: true}}, want: "suspend", lid: true},
		{name: "lid initially closed", events: []InputEvent{{Kind: InputLid, On: true, Initial: true}}, lid: true},
		{name: "lid opens", events: []InputEvent{{Kind: InputLid, On: true, Initial: true}, {Kind: InputLid, On: false}}},
		{name: "docked lid", events: []InputEvent{{Kind: InputDock, On: true}, {Kind: InputLid, On: true}}, lid: true},
		{name: "lid ignores sleep locks by default", lock: inhibitSleep, events: []InputEvent{{Kind: InputLid, On: true}}, want: "suspend", lid: true},
		{name: "lid switch lock is ignored by default", lock: inhibitLidSwitch, events: []InputEvent{{Kind: InputLid, On: true}}, want: "suspend", lid: true},
		{name: "lid lock honoured", conf: func(c *LoginConfig) { c.LidSwitchIgnoreInhibited = false }, lock: inhibitLidSwitch,
			events: []InputEvent{{Kind: InputLid, On: true}}, lid: true},
		{name: "hibernate unavailable", conf: func(c *LoginConfig) { c.HandlePowerKey = "hybrid-sleep" }, events: []InputEvent{{Kind: InputPowerKey, On: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, p, _ := powerWorld(t, "")
			if tc.conf != nil {
				w.state(func(s *state) { tc.conf(&s.cfg.Login) })
			}
			if tc.lock != 0 {
				w.inhibit(tc.lock, modeBlock, 1000)
			}
			for _, ev := range tc.events {
				w.state(func(s *state) { s.handleInput(ev) })
			}
			if tc.want == "" {
				p.none(t)
			} else if k := p.next(t); k != tc.want {
				t.Errorf("backend got %s, want %s", k, tc.want)
			}
			w.state(func(s *state) {
				if lc := s.managerProps()["LidClosed"].Value(); lc != tc.lid {
					t.Errorf("LidClosed = %v, want %v", lc, tc.lid)
				}
			})
		})
	}
}

// HandlePowerKey=lock sends Lock to every session.
func TestHandleInputLock(t *testing.T) {
	w, p, _ := powerWorld(t, "")
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 100, Service: "login", Seat: "seat0", TTY: "pts/1"})
	w.state(func(s *state) { s.cfg.Login.HandlePowerKey = "lock" })
	w.em.take()
	w.state(func(s *state) { s.handleInput(InputEvent{Kind: InputPowerKey, On: true}) })
	p.none(t)
	locked := false
	for _, s := range w.em.take() {
		locked = locked || (s.name == IfaceSession+".Lock" && s.path == sessionPath(rep.ID))
	}
	if !locked {
		t.Error("no Lock signal for the session")
	}
}
