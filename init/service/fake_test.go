package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ginit/internal/power"
)

const sigterm, sigkill = int(syscall.SIGTERM), int(syscall.SIGKILL)

// fakeClock fires timers only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
	fired   bool
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves time forward, firing due timers in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.fired && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		next.fired = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}

type fakeProc struct {
	pid     int
	svc     string
	kind    ProcKind
	argv    []string
	sockets []string // SpawnRequest.Sockets
	n       Notifier
	mu      sync.Mutex
	signals []int
	trees   []int
}

func (p *fakeProc) Pid() int { return p.pid }
func (p *fakeProc) Signal(sig int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signals = append(p.signals, sig)
	return nil
}
func (p *fakeProc) KillTree(sig int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trees = append(p.trees, sig)
	return nil
}

func (p *fakeProc) treeSigs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.trees...)
}

func (p *fakeProc) sigs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.signals...)
}

// fakeSpawner records spawns; the test ends processes with exit().
type fakeSpawner struct {
	mu       sync.Mutex
	nextPid  int
	spawns   []*fakeProc // in spawn order
	failExec map[string]bool
	adopted  []string
	released []string
}

func (f *fakeSpawner) Spawn(req SpawnRequest, n Notifier) (Proc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failExec[req.Desc.Name] {
		return nil, fmt.Errorf("service '%s': exec %s: %w", req.Desc.Name, req.Argv[0], syscall.ENOENT)
	}
	f.nextPid++
	p := &fakeProc{pid: 100 + f.nextPid, svc: req.Desc.Name, kind: req.Kind, argv: req.Argv, sockets: req.Sockets, n: n}
	f.spawns = append(f.spawns, p)
	return p, nil
}

func (f *fakeSpawner) Adopt(d *Description, n Notifier) (Proc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextPid++
	p := &fakeProc{pid: 5000 + f.nextPid, svc: d.Name, kind: ProcStart, n: n}
	f.spawns = append(f.spawns, p)
	f.adopted = append(f.adopted, d.Name)
	return p, nil
}

func (f *fakeSpawner) Release(d *Description) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, d.Name)
}

// last returns the newest process of svc of the given kind.
func (f *fakeSpawner) last(svc string, kind ProcKind) *fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.spawns) - 1; i >= 0; i-- {
		if p := f.spawns[i]; p.svc == svc && p.kind == kind {
			return p
		}
	}
	return nil
}

func (f *fakeSpawner) count(svc string, kind ProcKind) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.spawns {
		if p.svc == svc && p.kind == kind {
			n++
		}
	}
	return n
}

func (f *fakeSpawner) order() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.spawns {
		if p.kind == ProcStart {
			out = append(out, p.svc)
		}
	}
	return out
}

// harness runs a Manager over a set of descriptions.
type harness struct {
	t     *testing.T
	m     *Manager
	clock *fakeClock
	sp    *fakeSpawner
	descs map[string]*Description
	ctx   context.Context
	done  chan struct{}
	kind  power.Kind
	logs  *logBuf
	trans *transitions
}

type logBuf struct {
	mu    sync.Mutex
	lines []string
}

// has reports whether a logged line contains sub.
func (l *logBuf) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if strings.Contains(x, sub) {
			return true
		}
	}
	return false
}

func (l *logBuf) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// svcDesc builds a description with dinit's defaults.
func svcDesc(name string, t Type, deps ...Dep) *Description {
	d := &Description{
		Name: name, Type: t, Deps: deps,
		RestartDelay: 200 * time.Millisecond, RestartLimitInterval: 10 * time.Second, RestartLimitCount: 3,
		StartTimeout: 60 * time.Second, StopTimeout: 10 * time.Second, TermSignal: int32(syscall.SIGTERM),
	}
	if t != TypeInternal && t != TypeTriggered {
		d.Command = []string{"/bin/" + name}
	}
	if t == TypeProcess || t == TypeBGProcess {
		d.Restart = RestartNo
	}
	return d
}

func need(n string) Dep     { return Dep{Name: n, Kind: DepRegular} }
func waitsFor(n string) Dep { return Dep{Name: n, Kind: DepWaitsFor} }

func newHarness(t *testing.T, descs ...*Description) *harness {
	t.Helper()
	return newHarnessCfg(t, nil, descs...)
}

// newHarnessCfg is newHarness with a change to the manager's Config.
func newHarnessCfg(t *testing.T, tweak func(*Config), descs ...*Description) *harness {
	t.Helper()
	h := &harness{
		t: t, clock: &fakeClock{now: time.Unix(1000, 0)}, sp: &fakeSpawner{failExec: map[string]bool{}},
		descs: map[string]*Description{}, done: make(chan struct{}), logs: &logBuf{},
		trans: &transitions{},
	}
	for _, d := range descs {
		h.descs[d.Name] = d
	}
	cfg := Config{
		Load:    h.load,
		Spawner: h.sp, Clock: h.clock, Logger: h.logs,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h.m = New(cfg)
	h.m.transition = h.trans.record
	ctx, cancel := context.WithCancel(context.Background())
	h.ctx = ctx
	go func() {
		h.kind, _ = h.m.Run(ctx)
		close(h.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-h.done
		h.trans.checkLegal(t)
		// Run has returned: the records may be read here. The busy count
		// that checkIdle trusts must match a recount.
		n := 0
		for _, s := range h.m.order {
			if busy(s.state, s.ph) {
				n++
			}
		}
		if n != h.m.busy {
			t.Errorf("manager counts %d busy services, a recount %d", h.m.busy, n)
		}
		// So must each service's count of holding edges, which lets
		// releaseDeps skip the walk.
		for _, s := range h.m.order {
			held := int32(0)
			for _, e := range s.deps {
				if e.hold {
					held++
				}
			}
			if held != s.holding {
				t.Errorf("service '%s' counts %d holding edges, a recount %d", s.name(), s.holding, held)
			}
		}
		if t.Failed() {
			for _, l := range h.logs.lines {
				t.Log(l)
			}
		}
	})
	return h
}

func (h *harness) load(name string) ([]*Description, error) {
	var out []*Description
	seen := map[string]bool{}
	var walk func(string) error
	walk = func(n string) error {
		if seen[n] {
			return nil
		}
		seen[n] = true
		d := h.descs[n]
		if d == nil {
			return fmt.Errorf("service '%s' not found", n)
		}
		out = append(out, d)
		for _, e := range d.Deps {
			if e.Kind <= DepWaitsFor {
				if err := walk(e.Name); err != nil {
					return err
				}
			}
		}
		if d.Timer != nil {
			return walk(d.Timer.Target)
		}
		return nil
	}
	return out, walk(name)
}

func (h *harness) status(name string) Info {
	h.t.Helper()
	in, err := h.m.Status(h.ctx, name)
	if err != nil {
		h.t.Fatalf("status %s: %v", name, err)
	}
	return in
}

func (h *harness) wantState(name string, st State) Info {
	h.t.Helper()
	in := h.status(name)
	if in.State != st {
		h.t.Fatalf("service %s: state %s, want %s (reason %s)", name, in.State, st, in.Reason)
	}
	return in
}

// sync waits until the manager has processed everything posted so far.
func (h *harness) sync() {
	h.t.Helper()
	if _, err := listAll(h.ctx, h.m); err != nil && !errors.Is(err, ErrManagerExited) {
		h.t.Fatal(err)
	}
}

// runReturns waits for Run to return after what.
func (h *harness) runReturns(what string) {
	h.t.Helper()
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		h.t.Fatalf("Run did not return after %s", what)
	}
}

func (h *harness) exit(svc string, kind ProcKind, st ExitStatus) {
	h.t.Helper()
	p := h.sp.last(svc, kind)
	if p == nil {
		h.t.Fatalf("no process for %s", svc)
	}
	p.n.Exited(p, st)
	h.sync()
}

// startAsync starts name waiting, in the background.
func (h *harness) startAsync(name string, o StartOpts) chan error {
	ch := make(chan error, 1)
	go func() { ch <- h.m.Start(h.ctx, name, o) }()
	h.waitFor(name, func(in Info) bool { return in.Explicit || in.State != Stopped })
	return ch
}

// waitFor polls until name is loaded and cond holds: requests sent from
// other goroutines have then been processed.
func (h *harness) waitFor(name string, cond func(Info) bool) {
	h.t.Helper()
	for i := 0; i < 5000; i++ {
		list, _ := listAll(h.ctx, h.m)
		for _, in := range list {
			if in.Name == name && cond(in) {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("%s: condition not reached", name)
}

func recv(t *testing.T, ch chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("no reply within 5s")
		return nil
	}
}

func exited(code int) ExitStatus  { return ExitStatus{Code: code} }
func killedBy(sig int) ExitStatus { return ExitStatus{Signaled: true, Signal: sig} }
func isStartErr(err error) bool   { var se *StartError; return errors.As(err, &se) }
func startReason(err error) StopReason {
	var se *StartError
	if errors.As(err, &se) {
		return se.Reason
	}
	return ReasonNone
}
