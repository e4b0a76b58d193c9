package sessiond

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// gate holds a side effect: entered receives once it has started, and
// it goes on once release is closed.
type gate struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 1), release: make(chan struct{})} }

func (g *gate) hold() {
	g.entered <- struct{}{}
	<-g.release
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// gateHost is a fakeHost whose RemoveScope (cgroup cleanup) waits at a
// gate.
type gateHost struct {
	*fakeHost
	g *gate
}

func (h *gateHost) RemoveScope(uid uint32, id string) { h.g.hold() }

// gateEmitter holds the first signal of one name at a gate.
type gateEmitter struct {
	*fakeEmitter
	name string
	g    *gate
	held bool
}

func (e *gateEmitter) Emit(path godbus.ObjectPath, name string, args ...any) error {
	if name == e.name && !e.held {
		e.held = true // only the owner emits: no lock needed
		e.g.hold()
	}
	return e.fakeEmitter.Emit(path, name, args...)
}

// TestReplyBeforeSideEffects: a method answers once its change is made
// in memory and published, before the side effects that decide no
// answer (signals, state files, cgroup cleanup): each call below gets
// its reply while one of those is held, and the view already shows what
// the reply promised.
func TestReplyBeforeSideEffects(t *testing.T) {
	const sender = ":1.9"
	cases := []struct {
		name string
		// signal, when set, is the signal held; else RemoveScope is.
		signal string
		// emptyScope: the session's scope has no process left, so
		// ending it removes the session (and its cgroup) at once.
		emptyScope bool
		call       func(w *world, id string) error
		check      func(t *testing.T, w *world, id string)
	}{
		{name: "CreateSession", signal: IfaceManager + ".SessionNew",
			call: func(w *world, id string) error {
				_, err := w.create(CreateRequest{UID: 1000, PID: 500, TTY: "pts/9"})
				return err
			},
			check: func(t *testing.T, w *world, _ string) {
				if _, ok := w.m.view.ledBy(500); !ok {
					t.Error("the new session is not in the view")
				}
			}},
		{name: "SetLockedHint", signal: bus.IfaceProperties + ".PropertiesChanged",
			call: func(w *world, id string) error {
				got := make(chan error, 1)
				w.m.aSetLockedHint(&bus.Call{Sender: sender, Path: sessionPath(id), Body: []any{true}}, func(_ []any, err error) { got <- err })
				return <-got
			},
			check: func(t *testing.T, w *world, id string) {
				if sv, ok := w.m.view.session(id); !ok || !sv.rec.LockedHint {
					t.Error("the view does not show the session locked")
				}
			}},
		{name: "LockSession", signal: IfaceSession + ".Lock",
			call: func(w *world, id string) error {
				_, err := w.m.sessionArgOp(opLock)(&bus.Call{Sender: sender, Body: []any{id}})
				return err
			}},
		{name: "ReleaseSession", emptyScope: true,
			call: func(w *world, id string) error {
				_, err := w.m.hReleaseSession(&bus.Call{Sender: sender, Body: []any{id}})
				return err
			},
			check: func(t *testing.T, w *world, id string) {
				if _, ok := w.m.view.session(id); ok {
					t.Error("the released session is still in the view")
				}
			}},
		{name: "TerminateSession", emptyScope: true,
			call: func(w *world, id string) error {
				_, err := w.m.sessionArgOp(opTerminate)(&bus.Call{Sender: sender, Body: []any{id}})
				return err
			},
			check: func(t *testing.T, w *world, id string) {
				if _, ok := w.m.view.session(id); ok {
					t.Error("the terminated session is still in the view")
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGate()
			host := newFakeHost()
			var w *world
			if c.signal == "" {
				w = newWorldCfg(t, "", host, nil, func(cfg *Config) { cfg.Host = &gateHost{fakeHost: host, g: g} })
			} else {
				w = newWorld(t, "", host, nil)
			}
			t.Cleanup(g.open) // before the world stops: its loop may be held
			id := ""
			if c.name != "CreateSession" {
				id = w.mustCreate(CreateRequest{UID: 1000, PID: 400, TTY: "pts/1"}).ID
				w.settle()
			}
			if c.emptyScope {
				host.mu.Lock()
				host.populated[id] = false
				host.mu.Unlock()
			}
			if c.signal != "" {
				ge := &gateEmitter{fakeEmitter: w.em, name: c.signal, g: g}
				w.state(func(s *state) { s.em = ge })
			}
			res := make(chan error, 1)
			go func() { res <- c.call(w, id) }()
			<-g.entered
			select {
			case err := <-res:
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s did not reply while its side effect was held", c.name)
			}
			if c.check != nil {
				c.check(t, w, id)
			}
			g.open()
			w.settle()
		})
	}
}

// orderEmitter records, at the first signal of one name, whether the
// caller had its answer by then.
type orderEmitter struct {
	*fakeEmitter
	name     string
	answered *atomic.Bool
	seen     atomic.Int32 // 1: answered first, 2: not
}

func (e *orderEmitter) Emit(path godbus.ObjectPath, name string, args ...any) error {
	if name == e.name && e.seen.Load() == 0 {
		if e.answered.Load() {
			e.seen.Store(1)
		} else {
			e.seen.Store(2)
		}
	}
	return e.fakeEmitter.Emit(path, name, args...)
}

// TestReplyFirstOneP: on one P, as sessiond runs, a handler waiting in
// do gets its answer before the batch's signals are sent, though
// nothing the owner does blocks in between.
func TestReplyFirstOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	w := newWorld(t, "", nil, nil)
	var answered atomic.Bool
	oe := &orderEmitter{fakeEmitter: w.em, name: IfaceManager + ".SessionNew", answered: &answered}
	w.state(func(s *state) { s.em = oe })
	done := make(chan error, 1)
	go func() {
		_, err := w.create(CreateRequest{UID: 1000, PID: 600, TTY: "pts/3"})
		answered.Store(true)
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.settle()
	if got := oe.seen.Load(); got != 1 {
		t.Errorf("SessionNew was sent before CreateSession's caller had its answer (seen=%d)", got)
	}
}
