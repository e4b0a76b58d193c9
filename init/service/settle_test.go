package service

import (
	"fmt"
	"testing"
	"time"
)

// TestSettled: Settled runs once the loop has been quiet for SettleDelay
// after events, is postponed by events inside that time, runs once per
// quiet spell however long it lasts, and again after the next burst (not
// after a lone event).
func TestSettled(t *testing.T) {
	settled := make(chan time.Time, 8)
	var h *harness
	h = newHarnessCfg(t, func(c *Config) {
		c.SettleDelay = time.Second
		c.Settled = func() { settled <- h.clock.Now() }
	}, svcDesc("a", TypeInternal))
	start := h.clock.Now()
	burst := func() {
		for range settleMinEvents + 1 {
			h.status("a")
		}
	}
	burst()                                 // events: the timer is armed
	h.clock.Advance(999 * time.Millisecond) // not yet
	h.status("a")                           // an event within the delay
	n := timers(h.clock)
	h.clock.Advance(time.Millisecond) // fires, but the loop was not quiet: armed again
	waitArmed(t, h.clock, n)
	h.clock.Advance(time.Second) // quiet for a whole delay: settled
	var at time.Time
	select {
	case at = <-settled:
	case <-time.After(5 * time.Second):
		t.Fatal("Settled was not called")
	}
	if want := start.Add(2 * time.Second); !at.Equal(want) {
		t.Fatalf("settled at +%v, want +%v (an event inside the delay must postpone it)", at.Sub(start), want.Sub(start))
	}
	h.clock.Advance(time.Hour) // still quiet: nothing more
	n = timers(h.clock)
	burst() // the next burst arms the timer at its first event...
	waitArmed(t, h.clock, n)
	n = timers(h.clock)
	h.clock.Advance(time.Second) // ...so it is looked at again a second later
	waitArmed(t, h.clock, n)
	select {
	case at := <-settled:
		t.Fatalf("settled again at +%v inside a burst", at.Sub(start))
	default:
	}
	h.clock.Advance(time.Second)
	select {
	case at := <-settled:
		if want := start.Add(time.Hour + 4*time.Second); !at.Equal(want) {
			t.Fatalf("settled again at +%v, want +%v", at.Sub(start), want.Sub(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Settled was not called after a later burst")
	}
	// A lone event is not worth settling for.
	n = timers(h.clock)
	h.status("a")
	waitArmed(t, h.clock, n)
	h.clock.Advance(time.Second)
	time.Sleep(100 * time.Millisecond)
	select {
	case at := <-settled:
		t.Fatalf("settled at +%v after a lone event", at.Sub(start))
	default:
	}
}

// timers is how many timers were ever armed on c.
func timers(c *fakeClock) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// waitArmed waits until the loop has armed a timer after the first n:
// Advance only posts a fired timer's event, which the loop runs after
// Advance returns.
func waitArmed(t *testing.T, c *fakeClock, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for timers(c) <= n {
		if time.Now().After(deadline) {
			t.Fatal("no timer armed")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSettledAfterOneBigEvent: one start that brings up many services (a
// boot's target) is a busy spell even though it is a single event.
func TestSettledAfterOneBigEvent(t *testing.T) {
	settled := make(chan struct{}, 8)
	descs := []*Description{}
	var deps []Dep
	for i := range settleMinEvents {
		name := fmt.Sprintf("s%d", i)
		descs = append(descs, svcDesc(name, TypeInternal))
		deps = append(deps, need(name))
	}
	descs = append(descs, svcDesc("target", TypeInternal, deps...))
	h := newHarnessCfg(t, func(c *Config) {
		c.SettleDelay = time.Second
		c.Settled = func() { settled <- struct{}{} }
	}, descs...)
	// Start alone, no polling: the spell is this one event.
	n := timers(h.clock)
	if err := h.m.Start(h.ctx, "target", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	waitArmed(t, h.clock, n)
	// The start's own follow-up events keep the first look busy; the
	// second finds the loop quiet.
	n = timers(h.clock)
	h.clock.Advance(time.Second)
	waitArmed(t, h.clock, n)
	h.clock.Advance(time.Second)
	select {
	case <-settled:
	case <-time.After(5 * time.Second):
		t.Fatal("Settled was not called after one event that started many services")
	}
}

// TestCompactKeepsContents: compact swaps the burst-grown sets for ones of
// their size and loses no entry.
func TestCompactKeepsContents(t *testing.T) {
	for _, n := range []int{0, 1, 100} {
		m := New(Config{})
		want := map[Proc]*svc{}
		for i := range n {
			s := &svc{desc: &Description{Name: fmt.Sprintf("s%d", i)}}
			p := &fakeProc{pid: i + 1}
			m.procs[p], want[p] = s, s
			m.starting[s] = time.Unix(int64(i), 0)
		}
		m.compact()
		if len(m.procs) != n || len(m.starting) != n || m.queued == nil {
			t.Fatalf("n=%d: after compact procs %d, starting %d, queued nil %v", n, len(m.procs), len(m.starting), m.queued == nil)
		}
		for p, s := range want {
			if m.procs[p] != s {
				t.Fatalf("n=%d: compact lost proc %v", n, p)
			}
			if _, ok := m.starting[s]; !ok {
				t.Fatalf("n=%d: compact lost a starting entry", n)
			}
		}
	}
}

// TestBurst: Burst is called once for a batch of forks (before the first
// of them), not for a crash loop's one-at-a-time respawns, and again for
// the next big event only after Settled.
func TestBurst(t *testing.T) {
	const n = 20
	descs := []*Description{}
	var deps []Dep
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		descs = append(descs, svcDesc(name, TypeProcess))
		deps = append(deps, need(name))
	}
	crasher := svcDesc("crasher", TypeProcess)
	crasher.Restart, crasher.RestartDelay, crasher.RestartLimitCount = RestartYes, 0, 0
	descs = append(descs, svcDesc("target", TypeInternal, deps...), crasher)
	bursts := make(chan int, 8) // the forks made before each Burst
	settled := make(chan struct{}, 8)
	var h *harness
	h = newHarnessCfg(t, func(c *Config) {
		c.SettleDelay = time.Second
		c.SpawnParallel = 4
		c.Settled = func() { settled <- struct{}{} }
		c.Burst = func() {
			forks := 0
			for i := range n {
				forks += h.sp.count(fmt.Sprintf("p%d", i), ProcStart)
			}
			bursts <- forks
		}
	}, descs...)
	noBurst := func(what string) {
		t.Helper()
		h.sync()
		select {
		case f := <-bursts:
			t.Fatalf("Burst called %s (after %d forks)", what, f)
		default:
		}
	}
	if err := h.m.Start(h.ctx, "target", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-bursts:
		if f != 0 {
			t.Fatalf("Burst called after %d of the batch's forks, want before the first", f)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Burst not called for a batch of forks")
	}
	noBurst("twice in one burst")

	// A crash loop after settling: each respawn is one fork of its own.
	for quiet := false; !quiet; {
		n := timers(h.clock)
		h.clock.Advance(time.Second)
		select {
		case <-settled:
			quiet = true
		case <-time.After(100 * time.Millisecond):
			waitArmed(t, h.clock, n)
		}
	}
	if err := h.m.Start(h.ctx, "crasher", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		h.waitSpawns("crasher", ProcStart, i+1)
		h.exit("crasher", ProcStart, ExitStatus{Code: 1})
	}
	noBurst("for a crash loop's respawns")

	// One event that stops the target and its services is a burst.
	if err := h.m.Stop(h.ctx, "target", StopOpts{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bursts:
	case <-time.After(5 * time.Second):
		t.Fatal("Burst not called for the stop of a large target")
	}
}
