package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeHandle is an in-memory PAM handle.
type fakeHandle struct {
	items   map[Item]string
	env     map[string]string
	kept    *Kept
	dropped []Kept
	logs    []string
	putErr  error
}

func (h *fakeHandle) Item(i Item) (string, error) { return h.items[i], nil }
func (h *fakeHandle) GetEnv(n string) string      { return h.env[n] }
func (h *fakeHandle) PutEnv(n, v string) error {
	if h.putErr != nil {
		return h.putErr
	}
	h.env[n] = v
	return nil
}
func (h *fakeHandle) Keep(k Kept) error { h.kept = &k; return nil }
func (h *fakeHandle) Kept() (Kept, bool) {
	if h.kept == nil {
		return Kept{}, false
	}
	return *h.kept, true
}

// Drop closes the FIFO like the shim's cleanup does.
func (h *fakeHandle) Drop() {
	if h.kept != nil {
		if h.kept.FIFO >= 0 {
			_ = unix.Close(h.kept.FIFO)
		}
		h.dropped = append(h.dropped, *h.kept)
	}
	h.kept = nil
}
func (h *fakeHandle) Log(p Priority, msg string) {
	h.logs = append(h.logs, fmt.Sprintf("%d %s", p, msg))
}

func (h *fakeHandle) logged(p Priority, sub string) bool {
	for _, l := range h.logs {
		if strings.HasPrefix(l, fmt.Sprintf("%d ", p)) && strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// fakeBus records calls and answers from its fields.
type fakeBus struct {
	dialErr    error
	createErr  error
	releaseErr error
	reply      Reply
	addr       string
	created    []Request
	released   []string
	open       int // connections not yet closed
}

func (b *fakeBus) dial(_ context.Context, addr string) (Bus, error) {
	b.addr = addr
	if b.dialErr != nil {
		return nil, b.dialErr
	}
	b.open++
	return busConn{b}, nil
}

type busConn struct{ b *fakeBus }

func (c busConn) CreateSession(_ context.Context, r Request) (Reply, error) {
	c.b.created = append(c.b.created, r)
	return c.b.reply, c.b.createErr
}
func (c busConn) ReleaseSession(_ context.Context, id string) error {
	c.b.released = append(c.b.released, id)
	return c.b.releaseErr
}
func (c busConn) Close() error { c.b.open--; return nil }

type world struct {
	h   *fakeHandle
	bus *fakeBus
	sys System
	rt  string // a valid runtime dir of the current user
	uid uint32
	r   *os.File
}

// newWorld: user "alice" is the current uid; the reply is a session "7"
// whose FIFO is the write end of a pipe (w.r is the read end).
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{uid: uint32(os.Getuid()), rt: t.TempDir()}
	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.r = r
	t.Cleanup(func() { r.Close() })
	fd, err := unix.Dup(int(wr.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	wr.Close()
	w.h = &fakeHandle{items: map[Item]string{ItemUser: "alice", ItemService: "login", ItemTTY: "tty3"}, env: map[string]string{}}
	w.bus = &fakeBus{reply: Reply{ID: "7", ObjectPath: "/org/freedesktop/login1/session/_37", RuntimePath: w.rt,
		FIFO: fd, UID: w.uid, Seat: "seat0", VTNr: 3}}
	t.Cleanup(func() {
		if w.h.kept != nil && w.h.kept.FIFO >= 0 {
			_ = unix.Close(w.h.kept.FIFO)
		}
	})
	w.sys = System{
		Dial: w.bus.dial,
		LookupUID: func(n string) (uint32, error) {
			if n == "alice" {
				return w.uid, nil
			}
			return 0, fmt.Errorf("no user %s", n)
		},
		Getenv:       func(string) string { return "" },
		SecureGetenv: func(string) string { return "" },
		Getpid:       func() int { return 4242 },
	}
	return w
}

// fifoClosed reports whether every write end of the pipe is closed.
func (w *world) fifoClosed(t *testing.T) bool {
	t.Helper()
	fd := int(w.r.Fd()) // Fd makes the file blocking: call it once
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	n, err := unix.Read(fd, make([]byte, 1))
	return n == 0 && err == nil
}

func TestOpenExportsAndKeeps(t *testing.T) {
	w := newWorld(t)
	if err := os.WriteFile(filepath.Join(w.rt, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	orig := w.bus.reply.FIFO
	if err := Open(w.h, w.sys, []string{"desktop=test"}); err != nil {
		t.Fatal(err)
	}
	if w.bus.addr != DefaultSystemBus || w.bus.open != 0 {
		t.Errorf("dialled %q, %d connections left open", w.bus.addr, w.bus.open)
	}
	wantReq := Request{UID: w.uid, PID: 4242, Service: "login", Type: "tty", Class: "user", Desktop: "test", TTY: "tty3", VTNr: 3}
	if len(w.bus.created) != 1 || w.bus.created[0] != wantReq {
		t.Errorf("CreateSession %+v, want %+v", w.bus.created, wantReq)
	}
	want := map[string]string{"XDG_SESSION_ID": "7", "XDG_RUNTIME_DIR": w.rt, "XDG_SEAT": "seat0", "XDG_VTNR": "3",
		"XDG_SESSION_TYPE": "tty", "XDG_SESSION_CLASS": "user", "XDG_SESSION_DESKTOP": "test",
		"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + escapeBusAddress(w.rt+"/bus")}
	if fmt.Sprint(w.h.env) != fmt.Sprint(want) {
		t.Errorf("PAM environment %v, want %v", w.h.env, want)
	}
	k, ok := w.h.Kept()
	if !ok || k.ID != "7" || k.Existing || k.FIFO < 3 {
		t.Fatalf("kept %+v %v", k, ok)
	}
	if flags, err := unix.FcntlInt(uintptr(k.FIFO), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("kept FIFO fd %d: flags %#x, %v; want close-on-exec", k.FIFO, flags, err)
	}
	if _, err := unix.FcntlInt(uintptr(orig), unix.F_GETFD, 0); k.FIFO != orig && err == nil {
		t.Errorf("received descriptor %d still open next to its duplicate %d", orig, k.FIFO)
	}
	if w.fifoClosed(t) {
		t.Fatal("FIFO closed while the session is open")
	}

	if err := Close(w.h, w.sys, nil); err != nil {
		t.Fatal(err)
	}
	if len(w.bus.released) != 1 || w.bus.released[0] != "7" || w.bus.open != 0 {
		t.Errorf("released %v, %d connections open", w.bus.released, w.bus.open)
	}
	if _, ok := w.h.Kept(); ok || !w.fifoClosed(t) {
		t.Error("close_session left the FIFO open")
	}
}

func TestOpenFailurePolicy(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		setup   func(*world)
		wantErr bool
		logP    Priority
		logSub  string
	}{
		{"no bus", nil, func(w *world) { w.bus.dialErr = fmt.Errorf("%w: connect: no such file", ErrUnreachable) },
			false, Warning, "continuing without a session"},
		{"no sessiond", nil, func(w *world) { w.bus.createErr = fmt.Errorf("%w: ServiceUnknown", ErrUnreachable) },
			false, Warning, "CreateSession"},
		{"refused", nil, func(w *world) { w.bus.createErr = errors.New("Invalid session type") },
			false, Error, "Invalid session type"},
		{"refused, strict", []string{"strict"}, func(w *world) { w.bus.createErr = errors.New("Invalid session type") },
			true, Error, "Invalid session type"},
		{"no sessiond, strict", []string{"strict"}, func(w *world) { w.bus.dialErr = ErrUnreachable },
			true, Warning, "system bus"},
		{"unknown user", nil, func(w *world) { w.h.items[ItemUser] = "mallory" }, false, Error, "mallory"},
		{"no user", nil, func(w *world) { w.h.items[ItemUser] = "" }, false, Error, "PAM_USER is not set"},
		{"busy: no log without debug", nil, func(w *world) { w.bus.createErr = fmt.Errorf("%w: SessionBusy", ErrSessionBusy) },
			false, Debug, ""},
		{"busy, debug", []string{"debug"}, func(w *world) { w.bus.createErr = fmt.Errorf("%w: SessionBusy", ErrSessionBusy) },
			false, Debug, "not creating a session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			_ = unix.Close(w.bus.reply.FIFO) // no reply reaches the module
			w.bus.reply.FIFO = -1
			tt.setup(w)
			err := Open(w.h, w.sys, tt.args)
			if (err != nil) != tt.wantErr {
				t.Errorf("Open: %v, want error %v", err, tt.wantErr)
			}
			if len(w.h.env) != 0 {
				t.Errorf("environment set without a session: %v", w.h.env)
			}
			if _, ok := w.h.Kept(); ok {
				t.Error("data kept without a session")
			}
			if tt.logSub == "" && len(w.h.logs) != 0 || tt.logSub != "" && !w.h.logged(tt.logP, tt.logSub) {
				t.Errorf("logs %q, want priority %d containing %q", w.h.logs, tt.logP, tt.logSub)
			}
			if w.bus.open != 0 {
				t.Errorf("%d bus connections left open", w.bus.open)
			}
		})
	}
}

func TestOpenRuntimeDir(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*world)
		export bool
	}{
		{"own directory", func(*world) {}, true},
		{"another user's session", func(w *world) { w.bus.reply.UID = w.uid + 1 }, false},
		{"missing directory", func(w *world) { w.bus.reply.RuntimePath = filepath.Join(w.rt, "nope") }, false},
		{"relative path", func(w *world) { w.bus.reply.RuntimePath = "run/user/1" }, false},
		{"a symlink", func(w *world) {
			l := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(w.rt, l); err != nil {
				t.Fatal(err)
			}
			w.bus.reply.RuntimePath = l
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			tt.mod(w)
			if err := Open(w.h, w.sys, nil); err != nil {
				t.Fatal(err)
			}
			_, got := w.h.env["XDG_RUNTIME_DIR"]
			if got != tt.export || w.h.env["XDG_SESSION_ID"] != "7" {
				t.Errorf("env %v: XDG_RUNTIME_DIR exported %v, want %v", w.h.env, got, tt.export)
			}
		})
	}
}

func TestOpenDetails(t *testing.T) {
	t.Run("bus address from secure environment only", func(t *testing.T) {
		w := newWorld(t)
		w.sys.Getenv = func(n string) string { return "unix:path=/evil" }
		w.sys.SecureGetenv = func(n string) string {
			if n == "DBUS_SYSTEM_BUS_ADDRESS" {
				return "unix:path=/private/bus"
			}
			return ""
		}
		if err := Open(w.h, w.sys, nil); err != nil || w.bus.addr != "unix:path=/private/bus" {
			t.Errorf("Open: %v, dialled %q", err, w.bus.addr)
		}
	})
	t.Run("PAM environment before process environment", func(t *testing.T) {
		w := newWorld(t)
		w.h.env["XDG_SESSION_CLASS"] = "greeter"
		w.sys.Getenv = func(n string) string {
			return map[string]string{"XDG_SESSION_CLASS": "user", "XDG_SESSION_DESKTOP": "fromproc"}[n]
		}
		if err := Open(w.h, w.sys, []string{"class=lock-screen"}); err != nil {
			t.Fatal(err)
		}
		if r := w.bus.created[0]; r.Class != "greeter" || r.Desktop != "fromproc" {
			t.Errorf("class %q desktop %q, want greeter fromproc", r.Class, r.Desktop)
		}
	})
	t.Run("no vtnr, no seat: not exported", func(t *testing.T) {
		w := newWorld(t)
		w.h.items[ItemTTY] = "pts/1"
		w.bus.reply.Seat, w.bus.reply.VTNr = "", 0
		if err := Open(w.h, w.sys, nil); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.h.env["XDG_SEAT"]; ok {
			t.Errorf("XDG_SEAT exported: %v", w.h.env)
		}
		if _, ok := w.h.env["XDG_VTNR"]; ok {
			t.Errorf("XDG_VTNR exported: %v", w.h.env)
		}
	})
	t.Run("putenv failure after the session was made", func(t *testing.T) {
		w := newWorld(t)
		w.h.putErr = errors.New("no memory")
		if err := Open(w.h, w.sys, nil); err != nil {
			t.Fatal(err)
		}
		if !w.h.logged(Error, "XDG_SESSION_ID") {
			t.Errorf("logs %q", w.h.logs)
		}
		if _, ok := w.h.Kept(); !ok {
			t.Error("FIFO not kept")
		}
	})
	t.Run("unknown option logged", func(t *testing.T) {
		w := newWorld(t)
		if err := Open(w.h, w.sys, []string{"bogus=1"}); err != nil {
			t.Fatal(err)
		}
		if !w.h.logged(Warning, `"bogus=1"`) {
			t.Errorf("logs %q", w.h.logs)
		}
	})
}

func TestClose(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		existing bool
		setup    func(*world)
		released bool
		wantErr  bool
		logSub   string
	}{
		{"releases", nil, false, func(*world) {}, true, false, ""},
		{"existing session not released", nil, true, func(*world) {}, false, false, ""},
		{"already gone", []string{"debug"}, false, func(w *world) { w.bus.releaseErr = fmt.Errorf("%w: x", ErrNoSuchSession) }, true, false, "already gone"},
		{"bus gone", nil, false, func(w *world) { w.bus.dialErr = ErrUnreachable }, false, false, "ignored"},
		{"bus gone, strict", []string{"strict"}, false, func(w *world) { w.bus.dialErr = ErrUnreachable }, false, true, "system bus"},
		{"release refused", nil, false, func(w *world) { w.bus.releaseErr = errors.New("Access denied") }, true, false, "Access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.bus.reply.Existing = tt.existing
			if err := Open(w.h, w.sys, nil); err != nil {
				t.Fatal(err)
			}
			tt.setup(w)
			err := Close(w.h, w.sys, tt.args)
			if (err != nil) != tt.wantErr {
				t.Errorf("Close: %v, want error %v", err, tt.wantErr)
			}
			if got := len(w.bus.released) == 1; got != tt.released {
				t.Errorf("released %v, want a release %v", w.bus.released, tt.released)
			}
			if _, ok := w.h.Kept(); ok || !w.fifoClosed(t) {
				t.Error("FIFO still held after close_session")
			}
			if tt.logSub != "" && !strings.Contains(strings.Join(w.h.logs, "\n"), tt.logSub) {
				t.Errorf("logs %q lack %q", w.h.logs, tt.logSub)
			}
		})
	}
	t.Run("nothing opened", func(t *testing.T) {
		w := newWorld(t)
		if err := Close(w.h, w.sys, nil); err != nil || len(w.bus.released) != 0 || w.bus.addr != "" {
			t.Errorf("Close: %v, released %v, dialled %q", err, w.bus.released, w.bus.addr)
		}
	})
}

// TestOpenWaitsForBus: with a user manager (its ginitctl socket) in the
// runtime directory, open_session waits until the session bus accepts
// connections, then exports its address; without a manager it does not
// wait, and a bus that never comes costs bus_wait and a warning, never the
// login.
func TestOpenWaitsForBus(t *testing.T) {
	tests := []struct {
		name     string
		manager  bool
		busAfter time.Duration // -1: never
		args     []string
		export   bool
		warn     bool
	}{
		{"bus comes up", true, 100 * time.Millisecond, nil, true, false},
		{"bus already there", true, 0, nil, true, false},
		{"no manager", false, -1, nil, false, false},
		{"bus never comes", true, -1, []string{"bus_wait=0.2"}, false, true},
		{"waiting off", true, -1, []string{"bus_wait=0"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.manager {
				if err := os.WriteFile(filepath.Join(w.rt, "ginitctl"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			listen := func() {
				l, err := net.Listen("unix", filepath.Join(w.rt, "bus"))
				if err != nil {
					t.Error(err)
					return
				}
				t.Cleanup(func() { l.Close() })
			}
			switch {
			case tt.busAfter == 0:
				listen()
			case tt.busAfter > 0:
				timer := time.AfterFunc(tt.busAfter, listen)
				t.Cleanup(func() { timer.Stop() })
			}
			start := time.Now()
			if err := Open(w.h, w.sys, tt.args); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			_, got := w.h.env["DBUS_SESSION_BUS_ADDRESS"]
			if got != tt.export || w.h.logged(Warning, "session bus") != tt.warn {
				t.Errorf("bus address exported %v (want %v), warned %v (want %v); logs %q", got, tt.export, !tt.warn, tt.warn, w.h.logs)
			}
			if tt.busAfter > 0 && took < tt.busAfter {
				t.Errorf("returned after %v, before the bus (%v)", took, tt.busAfter)
			}
			if !tt.manager && took > time.Second {
				t.Errorf("waited %v without a manager", took)
			}
		})
	}
}
