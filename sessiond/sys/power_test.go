package sys

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"ginit/init/control"
	"ginit/init/control/server"
	"ginit/internal/power"
	"ginit/internal/utmp"
)

func TestSysPowerSleep(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := &Power{PowerDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	write("state", "freeze disk\n")
	write("disk", "[platform] shutdown reboot\n")
	for kind, want := range map[string]bool{"suspend": true, "hibernate": true, "hybrid-sleep": false, "suspend-then-hibernate": false} {
		if got := p.CanSleep(kind); got != want {
			t.Errorf("CanSleep(%s) = %v with state 'freeze disk'", kind, got)
		}
	}
	if err := p.Sleep(context.Background(), "suspend"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "state")); string(data) != "freeze" {
		t.Errorf("state = %q, want freeze (no mem offered)", data)
	}
	write("disk", "[platform] shutdown reboot suspend\n")
	write("state", "mem disk\n")
	if !p.CanSleep("hybrid-sleep") {
		t.Error("hybrid-sleep not offered with the suspend disk mode")
	}
	if err := p.Sleep(context.Background(), "hybrid-sleep"); err != nil {
		t.Fatal(err)
	}
	st, _ := os.ReadFile(filepath.Join(dir, "state"))
	dk, _ := os.ReadFile(filepath.Join(dir, "disk"))
	if string(st) != "disk" || string(dk) != "suspend" {
		t.Errorf("hybrid-sleep wrote state=%q disk=%q", st, dk)
	}
	if err := (&Power{PowerDir: filepath.Join(dir, "nope")}).Sleep(context.Background(), "hibernate"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("writing a missing state file: %v", err)
	}
}

type recordBackend struct {
	mu   sync.Mutex
	reqs []control.Request
	code control.Code
}

func (b *recordBackend) requests() []control.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]control.Request(nil), b.reqs...)
}

func (b *recordBackend) setCode(c control.Code) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.code = c
}

func (b *recordBackend) Do(ctx context.Context, req control.Request) control.Response {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reqs = append(b.reqs, req)
	return control.Response{Code: b.code, Message: "no"}
}

type testLogger struct{ t *testing.T }

func (l testLogger) Printf(f string, a ...any) { l.t.Logf(f, a...) }

func TestSysPowerShutdown(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "ctl")
	wtmp := filepath.Join(dir, "wtmp")
	be := &recordBackend{}
	srv, err := server.NewServer(sock, be, testLogger{t})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	defer func() { cancel(); srv.Close(); <-done }()

	var rebooted []int
	p := &Power{ControlSocket: sock, Wtmp: wtmp, RebootFallback: true, Reboot: func(cmd int) error { rebooted = append(rebooted, cmd); return nil },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := p.Shutdown(context.Background(), power.Poweroff); err != nil {
		t.Fatal(err)
	}
	if r := be.requests(); len(r) != 1 || r[0].Op != control.OpShutdown || r[0].Shutdown != "poweroff" {
		t.Errorf("ginit got %+v", r)
	}
	// ginit ends the machine, so ginit writes the shutdown record.
	if _, err := os.Stat(wtmp); !os.IsNotExist(err) {
		t.Errorf("sessiond wrote a wtmp record although ginit carries the shutdown out (%v)", err)
	}
	// ginit answers no: no going around it.
	be.setCode(control.Refused)
	if err := p.Shutdown(context.Background(), power.Reboot); err == nil || len(rebooted) != 0 {
		t.Errorf("refused reboot: err=%v, reboot(2) calls %v", err, rebooted)
	}
	// Nobody answers: reboot(2) only when allowed, and then sessiond
	// writes the one record.
	p.ControlSocket = filepath.Join(dir, "absent")
	if err := p.Shutdown(context.Background(), power.Halt); err != nil || len(rebooted) != 1 {
		t.Errorf("fallback: err=%v, reboot(2) calls %v", err, rebooted)
	}
	data, err := os.ReadFile(wtmp)
	if err != nil || len(data) != utmp.Size {
		t.Fatalf("wtmp after the fallback: %d bytes, %v", len(data), err)
	}
	if r, err := utmp.Decode(data); err != nil || r.User != "shutdown" || r.Type != utmp.RunLevel {
		t.Errorf("wtmp record %+v, %v", r, err)
	}
	p.RebootFallback = false
	if err := p.Shutdown(context.Background(), power.Halt); err == nil || !strings.Contains(err.Error(), "absent") || len(rebooted) != 1 {
		t.Errorf("no fallback: err=%v, reboot(2) calls %v", err, rebooted)
	}
}
