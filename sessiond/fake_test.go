package sessiond

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

func errName(err error) string {
	var e *bus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}

func itoa(n int) string { return utoa(uint32(n)) }

// fakeHost records what sessiond asks of the machine.
type fakeHost struct {
	mu        sync.Mutex
	placed    map[string]int // session id → leader
	populated map[string]bool
	watches   map[string]func()
	kills     []string // "id:signal"
	pidSess   map[int]string
	users     map[uint32]string
	runtime   map[string]bool
	peers     map[string]bus.Creds // bus sender -> credentials; others are root
	killErr   error                // what Kill answers
}

func newFakeHost() *fakeHost {
	return &fakeHost{placed: map[string]int{}, populated: map[string]bool{}, watches: map[string]func(){},
		pidSess: map[int]string{}, users: map[uint32]string{0: "root", 1000: "alice", 1001: "bob"}, runtime: map[string]bool{},
		peers: map[string]bus.Creds{}}
}

func (h *fakeHost) PlaceInScope(uid uint32, id string, pid int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.placed[id] = pid
	h.populated[id] = true
	h.pidSess[pid] = id
	return nil
}

func (h *fakeHost) ScopePopulated(uid uint32, id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.populated[id]
}

func (h *fakeHost) WatchScope(uid uint32, id string, changed func()) (func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watches[id] = changed
	return func() {}, nil
}

// empty makes a scope empty and fires its watch, as the kernel would.
func (h *fakeHost) empty(id string) {
	h.mu.Lock()
	h.populated[id] = false
	w := h.watches[id]
	h.mu.Unlock()
	if w != nil {
		w()
	}
}

func (h *fakeHost) KillScope(uid uint32, id string, sig syscall.Signal) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.kills = append(h.kills, fmt.Sprintf("%s:%d", id, sig))
	return nil
}

func (h *fakeHost) RemoveScope(uid uint32, id string) {}

func (h *fakeHost) SessionOfPID(pid int) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok := h.pidSess[pid]
	return id, ok
}

// peerCreds stands in for the bus daemon's GetConnectionCredentials.
func (h *fakeHost) peerCreds(c *bus.Call) (bus.Creds, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peers[c.Sender], nil
}

func (h *fakeHost) AuditSessionID(pid int) (uint32, bool) { return 0, false }

func (h *fakeHost) CreateRuntimeDir(path string, uid, gid uint32) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runtime[path] = true
	return os.MkdirAll(path, 0o700)
}

func (h *fakeHost) RemoveRuntimeDir(path string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.runtime, path)
	return os.RemoveAll(path)
}

func (h *fakeHost) LookupUser(uid uint32) (string, uint32, error) {
	if n, ok := h.users[uid]; ok {
		return n, uid, nil
	}
	return "", 0, errors.New("no such user")
}

func (h *fakeHost) LookupName(name string) (uint32, error) {
	for uid, n := range h.users {
		if n == name {
			return uid, nil
		}
	}
	return 0, errors.New("no such user")
}

func (h *fakeHost) Kill(pid int, sig syscall.Signal) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.killErr
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func (c *fakeClock) Monotonic() time.Duration { return time.Duration(c.Now().Unix()) * time.Second }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(time.Hour, f) }

type sent struct {
	path godbus.ObjectPath
	name string
	args []any
}

type fakeEmitter struct {
	mu  sync.Mutex
	got []sent
	// settle, when set, waits until the owner has carried out what it
	// replied to (signals are sent after the replies).
	settle func()
}

func (e *fakeEmitter) Emit(path godbus.ObjectPath, name string, args ...any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, sent{path, name, args})
	return nil
}

func (e *fakeEmitter) take() []sent {
	if e.settle != nil {
		e.settle()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.got
	e.got = nil
	return g
}

type fakeVTs struct {
	mu     sync.Mutex
	active uint32
}

func (v *fakeVTs) Active() (uint32, error) { v.mu.Lock(); defer v.mu.Unlock(); return v.active, nil }

func (v *fakeVTs) Activate(n uint32) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.active = n
	return nil
}

func (v *fakeVTs) Watch(func(uint32)) (func(), error) {
	return func() {}, nil
}

// world is a Manager on fakes with its loop running.
type world struct {
	t    *testing.T
	m    *Manager
	host *fakeHost
	em   *fakeEmitter
	cfg  Config
	stop func()
}

func newWorld(t *testing.T, runDir string, host *fakeHost, vts VTs) *world {
	t.Helper()
	return newWorldCfg(t, runDir, host, vts, nil)
}

func newWorldCfg(t *testing.T, runDir string, host *fakeHost, vts VTs, adjust func(*Config)) *world {
	t.Helper()
	w := newWorldUnpublished(t, runDir, host, vts, adjust)
	if err := w.m.PublishSeats(); err != nil {
		t.Fatal(err)
	}
	return w
}

// newWorldUnpublished is newWorldCfg up to the bus name: the loop runs,
// the seats directory is not written yet (Serve's PublishSeats).
func newWorldUnpublished(t *testing.T, runDir string, host *fakeHost, vts VTs, adjust func(*Config)) *world {
	t.Helper()
	if runDir == "" {
		runDir = t.TempDir()
	}
	if host == nil {
		host = newFakeHost()
	}
	cfg := Config{
		RunDir: runDir, LingerDir: filepath.Join(runDir, "linger"), Host: host, Clock: &fakeClock{now: time.Unix(1_700_000_000, 0)},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	cfg.PeerCreds = host.peerCreds
	if vts != nil {
		cfg.VTs = vts
	}
	if adjust != nil {
		adjust(&cfg)
	}
	em := &fakeEmitter{}
	m := NewManager(cfg, em)
	ctx, cancel := context.WithCancel(context.Background())
	m.SetContext(ctx)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	loopDone := make(chan struct{})
	go func() { m.Run(ctx); close(loopDone) }()
	em.settle = func() { _ = m.do(func(*state) error { return nil }) }
	// Stopping waits for the loop, so nothing writes into the temporary
	// directory after the test.
	stop := func() { cancel(); <-loopDone }
	t.Cleanup(stop)
	return &world{t: t, m: m, host: host, em: em, cfg: cfg, stop: stop}
}

func (w *world) create(r CreateRequest) (*CreateReply, error) {
	var rep *CreateReply
	err := w.m.do(func(s *state) error {
		var err error
		rep, err = s.create(&r)
		return err
	})
	if rep != nil {
		w.t.Cleanup(func() { rep.FIFO.Close() })
	}
	return rep, err
}

func (w *world) mustCreate(r CreateRequest) *CreateReply {
	w.t.Helper()
	rep, err := w.create(r)
	if err != nil {
		w.t.Fatalf("create %+v: %v", r, err)
	}
	return rep
}

// settle waits until the owner has carried out the side effects of
// everything answered so far: they run after the replies (apply), and
// the owner takes this no-op only after them.
func (w *world) settle() { w.em.settle() }

func (w *world) file(rel string) map[string]string {
	w.t.Helper()
	w.settle()
	m, err := readEnvFile(filepath.Join(w.cfg.RunDir, rel))
	if err != nil {
		w.t.Fatalf("read %s: %v", rel, err)
	}
	return m
}

func (w *world) waitFor(what string, ok func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *world) exists(rel string) bool {
	w.settle()
	_, err := os.Stat(filepath.Join(w.cfg.RunDir, rel))
	return err == nil
}

func (w *world) state(f func(s *state)) {
	w.t.Helper()
	if err := w.m.do(func(s *state) error { f(s); return nil }); err != nil {
		w.t.Fatal(err)
	}
}
