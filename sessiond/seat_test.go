package sessiond

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

func TestVTSeat(t *testing.T) {
	vts := &fakeVTs{active: 2}
	w := newWorld(t, "", nil, vts)
	if _, err := w.create(CreateRequest{UID: 1000, PID: 100, Seat: "seat0"}); errName(err) != bus.ErrInvalidArgs {
		t.Errorf("no vtnr on a VT seat: %v", err)
	}
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 101, TTY: "tty2"})
	b := w.mustCreate(CreateRequest{UID: 1001, PID: 102, TTY: "tty3"})
	if a.Seat != "seat0" || a.VTNr != 2 || b.VTNr != 3 {
		t.Errorf("replies %+v %+v", a, b)
	}
	if _, err := w.create(CreateRequest{UID: 1001, PID: 103, TTY: "tty3"}); errName(err) != bus.ErrSessionBusy {
		t.Errorf("second session on tty3: %v", err)
	}
	if st := w.file("systemd/seats/seat0"); st["ACTIVE"] != a.ID || st["CAN_TTY"] != "1" {
		t.Errorf("seat0 %v", st)
	}
	w.em.take()
	w.state(func(s *state) {
		if err := s.activate(s.sessions[b.ID]); err != nil {
			t.Fatal(err)
		}
	})
	if vts.active != 3 {
		t.Errorf("VT %d after activating the tty3 session", vts.active)
	}
	if st := w.file("systemd/seats/seat0"); st["ACTIVE"] != b.ID {
		t.Errorf("seat0 active %q", st["ACTIVE"])
	}
	// Active went false on a, true on b, and seat0's ActiveSession changed.
	changed := map[string]bool{}
	for _, s := range w.em.take() {
		if s.name == bus.IfaceProperties+".PropertiesChanged" {
			for k := range s.args[1].(map[string]godbus.Variant) {
				changed[string(s.path)+" "+k] = true
			}
		}
	}
	for _, k := range []string{"/org/freedesktop/login1/session/c1 Active", "/org/freedesktop/login1/session/c2 Active", "/org/freedesktop/login1/seat/seat0 ActiveSession"} {
		if !changed[k] {
			t.Errorf("no PropertiesChanged for %s (got %v)", k, changed)
		}
	}
	// The kernel switches VT behind our back.
	w.state(func(s *state) { s.vtChanged(5) })
	if st := w.file("systemd/seats/seat0"); st["ACTIVE"] != "" {
		t.Errorf("seat0 active %q on an empty VT", st["ACTIVE"])
	}
}

func TestCanGraphicalAppears(t *testing.T) {
	var mu sync.Mutex
	graphics := false
	host := newFakeHost()
	dir := t.TempDir()
	w := newWorldCfg(t, dir, host, nil, func(c *Config) {
		c.CanGraphical = func() bool { mu.Lock(); defer mu.Unlock(); return graphics }
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.m.watchSeats(ctx, time.Millisecond)
	if st := w.file("systemd/seats/seat0"); st["CAN_GRAPHICAL"] != "0" {
		t.Fatalf("seat0 %v", st)
	}
	w.em.take()
	mu.Lock()
	graphics = true // the DRM driver bound
	mu.Unlock()
	w.waitFor("CAN_GRAPHICAL=1", func() bool { return w.file("systemd/seats/seat0")["CAN_GRAPHICAL"] == "1" })
	w.waitFor("PropertiesChanged(CanGraphical)", func() bool {
		w.em.mu.Lock()
		defer w.em.mu.Unlock()
		for _, s := range w.em.got {
			if s.path == seatPath("seat0") && s.name == bus.IfaceProperties+".PropertiesChanged" {
				if v, ok := s.args[1].(map[string]godbus.Variant)["CanGraphical"]; ok && v.Value() == true {
					return true
				}
			}
		}
		return false
	})
}

// TestSeatWrittenOncePublished: a seat changed before PublishSeats (udev's
// first report comes ahead of the bus name) is not written then, with an
// error logged at every boot, but when the seats directory is published.
func TestSeatWrittenOncePublished(t *testing.T) {
	var logged bytes.Buffer
	w := newWorldUnpublished(t, "", nil, nil, func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	m, cfg := w.m, w.cfg
	seatFile := filepath.Join(cfg.seatsDir(), "seat0")
	if err := m.do(func(s *state) error {
		s.seats["seat0"].CanGraph = true
		s.saveSeat(s.seats["seat0"])
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(seatFile); !os.IsNotExist(err) {
		t.Fatalf("seat file before PublishSeats: %v", err)
	}
	if logged.Len() > 0 {
		t.Fatalf("a seat change before PublishSeats logged:\n%s", logged.String())
	}
	if err := m.PublishSeats(); err != nil {
		t.Fatal(err)
	}
	f, err := readEnvFile(seatFile)
	if err != nil {
		t.Fatal(err)
	}
	if f["CAN_GRAPHICAL"] != "1" {
		t.Errorf("seat file after PublishSeats: CAN_GRAPHICAL=%q, want 1 (the change made before)", f["CAN_GRAPHICAL"])
	}
}
