package sessiond

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeUserManagers records Start and Stop; a gate, when set, holds the
// next calls until the test lets them go.
type fakeUserManagers struct {
	mu       sync.Mutex
	calls    []string // "start 1000", "stop 1000"
	startErr error
	gate     chan struct{} // nil: answer at once
}

func (f *fakeUserManagers) record(what string, u UserInfo) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s %d", what, u.UID))
	return f.gate
}

func (f *fakeUserManagers) Start(ctx context.Context, u UserInfo) error {
	if g := f.record("start", u); g != nil {
		<-g
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.startErr
}

func (f *fakeUserManagers) Stop(ctx context.Context, u UserInfo) error {
	if g := f.record("stop", u); g != nil {
		<-g
	}
	return nil
}

func (f *fakeUserManagers) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// timerClock is the fake clock whose timers the test fires.
type timerClock struct {
	fakeClock
	mu     sync.Mutex
	timers []*umTimer
}

type umTimer struct {
	mu      *sync.Mutex // the clock's
	f       func()
	stopped bool
	d       time.Duration
}

func (t *umTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *timerClock) AfterFunc(d time.Duration, f func()) stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &umTimer{mu: &c.mu, f: f, d: d}
	c.timers = append(c.timers, t)
	return t
}

// stopDelay is the tests' UserStopDelay; the clock's other timers (a
// terminated session's SIGKILL) are left alone.
const stopDelay = 7 * time.Second

// fire runs the armed stop-delay timers and reports how many there were.
func (c *timerClock) fire() int {
	c.mu.Lock()
	var due []func()
	for _, t := range c.timers {
		if !t.stopped && t.d == stopDelay {
			t.stopped = true
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
	return len(due)
}

func (c *timerClock) armed() (n int, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.timers {
		if !t.stopped && t.d == stopDelay {
			n++
			d = t.d
		}
	}
	return n, d
}

type umWorld struct {
	*world
	um    *fakeUserManagers
	clock *timerClock
}

func newUMWorld(t *testing.T, runDir string) *umWorld {
	t.Helper()
	um := &fakeUserManagers{}
	clock := &timerClock{fakeClock: fakeClock{now: time.Unix(1_700_000_000, 0)}}
	w := newWorldCfg(t, runDir, nil, nil, func(c *Config) {
		c.UserManagers, c.Clock = um, clock
		c.Login = DefaultLoginConfig()
		c.Login.UserStopDelay = stopDelay
	})
	return &umWorld{world: w, um: um, clock: clock}
}

// waitReady waits for a CreateReply's Ready, failing after a while.
func waitReady(t *testing.T, rep *CreateReply) {
	t.Helper()
	select {
	case <-rep.Ready:
	case <-time.After(5 * time.Second):
		t.Fatal("Ready never closed")
	}
}

func (w *umWorld) wantCalls(want ...string) {
	w.t.Helper()
	w.waitFor(fmt.Sprintf("user manager calls %q", want), func() bool { return slices.Equal(w.um.got(), want) })
}

// end closes a session and empties its scope, as a logout does.
func (w *umWorld) end(rep *CreateReply) {
	rep.FIFO.Close()
	w.host.empty(rep.ID)
	w.waitFor("session "+rep.ID+" to go", func() bool { return !w.exists("systemd/sessions/" + rep.ID) })
}

// TestUserManagerLifetime: the first session starts the manager once and
// answers once it is ready; the last one leaves the user closing for
// UserStopDelay, after which the manager stops and the user and its
// runtime directory go.
func TestUserManagerLifetime(t *testing.T) {
	w := newUMWorld(t, "")
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 100})
	waitReady(t, a)
	b := w.mustCreate(CreateRequest{UID: 1000, PID: 101})
	waitReady(t, b)
	w.wantCalls("start 1000")
	f := w.file("systemd/users/1000")
	if f["SERVICE"] != "user@1000.service" || f["SLICE"] != "user-1000.slice" {
		t.Errorf("user file: SERVICE=%q SLICE=%q", f["SERVICE"], f["SLICE"])
	}
	w.state(func(s *state) {
		if p := s.userProps(s.users[1000]); p["Service"].Value() != "user@1000.service" || p["Slice"].Value() != "user-1000.slice" {
			t.Errorf("User.Service %v, User.Slice %v", p["Service"], p["Slice"])
		}
	})
	w.end(a)
	if n, _ := w.clock.armed(); n != 0 {
		t.Error("stop delay armed while a session is left")
	}
	w.end(b)
	if f := w.file("systemd/users/1000"); f["STATE"] != "closing" || f["STOPPING"] != "yes" {
		t.Errorf("after the last session: STATE=%s STOPPING=%s, want closing, yes", f["STATE"], f["STOPPING"])
	}
	if !w.exists("user/1000") {
		t.Fatal("the runtime dir went before the manager stopped")
	}
	if n, d := w.clock.armed(); n != 1 || d != 7*time.Second {
		t.Fatalf("stop timers armed: %d of %v, want 1 of UserStopDelay 7s", n, d)
	}
	w.clock.fire()
	w.wantCalls("start 1000", "stop 1000")
	w.waitFor("user to go", func() bool { return !w.exists("systemd/users/1000") && !w.exists("user/1000") })
}

// TestUserManagerLoginWhileClosing: a login within the stop delay keeps
// the running manager (no stop, no second start); one while the stop is
// under way starts it again once stopped and waits for that.
func TestUserManagerLoginWhileClosing(t *testing.T) {
	w := newUMWorld(t, "")
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 100})
	waitReady(t, a)
	w.end(a)
	b := w.mustCreate(CreateRequest{UID: 1000, PID: 101})
	waitReady(t, b)
	if n := w.clock.fire(); n != 0 {
		t.Errorf("%d stop timers still armed after a new login", n)
	}
	if f := w.file("systemd/users/1000"); f["STOPPING"] != "no" || f["STATE"] == "closing" {
		t.Errorf("user after a new login: %v", f)
	}
	w.end(b)
	gate := make(chan struct{})
	w.um.mu.Lock()
	w.um.gate = gate
	w.um.mu.Unlock()
	w.clock.fire()
	w.wantCalls("start 1000", "stop 1000")
	c := w.mustCreate(CreateRequest{UID: 1000, PID: 102})
	select {
	case <-c.Ready:
		t.Fatal("Ready before the manager stopped and started again")
	case <-time.After(20 * time.Millisecond):
	}
	w.um.mu.Lock()
	w.um.gate = nil
	w.um.mu.Unlock()
	close(gate)
	waitReady(t, c)
	w.wantCalls("start 1000", "stop 1000", "start 1000")
	if !w.exists("user/1000") {
		t.Error("runtime dir removed under a live session")
	}
}

// TestUserManagerTerminateAndLinger: TerminateUser stops the manager at
// once; enabling linger starts it without a session and keeps it after
// the last one; a failed start lets the user go with its session and is
// tried again by the next login.
func TestUserManagerTerminateAndLinger(t *testing.T) {
	w := newUMWorld(t, "")
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 100})
	waitReady(t, a)
	w.state(func(s *state) {
		s.terminate(s.users[1000].Sessions)
		s.stopManager(s.users[1000])
	})
	w.wantCalls("start 1000", "stop 1000")
	if n, _ := w.clock.armed(); n != 0 {
		t.Error("TerminateUser armed a stop delay")
	}

	w.state(func(s *state) {
		if err := s.setLinger(1001, true); err != nil {
			t.Fatal(err)
		}
	})
	w.wantCalls("start 1000", "stop 1000", "start 1001")
	b := w.mustCreate(CreateRequest{UID: 1001, PID: 110})
	waitReady(t, b)
	w.end(b)
	if n, _ := w.clock.armed(); n != 0 || len(w.um.got()) != 3 {
		t.Errorf("lingering user's manager: %d timers, calls %q", n, w.um.got())
	}
	w.state(func(s *state) {
		if err := s.setLinger(1001, false); err != nil {
			t.Fatal(err)
		}
	})
	if n, _ := w.clock.armed(); n != 1 {
		t.Errorf("linger disabled without sessions: %d stop timers, want 1", n)
	}

	w.um.mu.Lock()
	w.um.startErr = errors.New("no ginit")
	w.um.mu.Unlock()
	c := w.mustCreate(CreateRequest{UID: 0, PID: 120})
	waitReady(t, c)
	w.end(c)
	w.waitFor("user 0 to go after a failed start", func() bool { return !w.exists("systemd/users/0") })
	d := w.mustCreate(CreateRequest{UID: 0, PID: 121})
	waitReady(t, d)
	if got := w.um.got(); got[len(got)-1] != "start 0" || len(got) != 5 {
		t.Errorf("calls %q: want a second start for uid 0", got)
	}
}

// TestUserManagerRestore: a restarted sessiond asks again for the
// managers of the users it restores (Start is idempotent), and a user
// left closing gets its stop delay afresh.
func TestUserManagerRestore(t *testing.T) {
	dir := t.TempDir()
	w := newUMWorld(t, dir)
	a := w.mustCreate(CreateRequest{UID: 1000, PID: 100})
	waitReady(t, a)
	b := w.mustCreate(CreateRequest{UID: 1001, PID: 101})
	waitReady(t, b)
	w.end(b)
	w.stop()

	w2 := newUMWorld(t, dir)
	w2.waitFor("both managers asked for", func() bool {
		got := w2.um.got()
		return len(got) == 2 && slices.Contains(got, "start 1000") && slices.Contains(got, "start 1001")
	})
	w2.waitFor("closing user's stop delay", func() bool { n, _ := w2.clock.armed(); return n == 1 })
	w2.clock.fire()
	w2.waitFor("closing user's manager stopped", func() bool { return slices.Contains(w2.um.got(), "stop 1001") })
	w2.waitFor("closing user gone", func() bool { return !w2.exists("systemd/users/1001") })
	if !w2.exists("systemd/users/1000") || slices.Contains(w2.um.got(), "stop 1000") {
		t.Errorf("user with a session: calls %q", w2.um.got())
	}
}
