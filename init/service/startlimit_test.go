package service

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestMayStart(t *testing.T) {
	t0 := time.Unix(5000, 0)
	ago := func(ds ...time.Duration) []time.Time {
		var out []time.Time
		for _, d := range ds {
			out = append(out, t0.Add(-d))
		}
		return out
	}
	sec := time.Second
	tests := []struct {
		name  string
		l     StartLimit
		began []time.Time
		p     *Pressure
		ok    bool
		again time.Duration
	}{
		{"no limit", StartLimit{}, ago(0, 0, 0), nil, true, 0},
		{"below the limit", StartLimit{Max: 3}, ago(sec, sec), nil, true, 0},
		{"at the limit, no grace", StartLimit{Max: 2}, ago(time.Hour, sec), nil, false, 0},
		{"at the limit, grace: look again when the oldest leaves it", StartLimit{Max: 2, Grace: 10 * sec}, ago(7*sec, 2*sec), nil, false, 3 * sec},
		{"a start past its grace does not count", StartLimit{Max: 2, Grace: 10 * sec}, ago(10*sec, 2*sec), nil, true, 0},
		{"all past grace", StartLimit{Max: 1, Grace: sec}, ago(sec, 5*sec, time.Minute), nil, true, 0},
		{"cpu pressure above threshold", StartLimit{CPU: 50}, nil, &Pressure{CPU: 50.01}, false, time.Second},
		{"cpu pressure at threshold", StartLimit{CPU: 50}, nil, &Pressure{CPU: 50}, true, 0},
		{"io pressure above threshold, own recheck", StartLimit{IO: 10, Recheck: 250 * time.Millisecond}, nil, &Pressure{IO: 80}, false, 250 * time.Millisecond},
		{"io pressure ignored without an io threshold", StartLimit{CPU: 10}, nil, &Pressure{IO: 99}, true, 0},
		{"pressure low but limit reached", StartLimit{Max: 1, CPU: 10}, ago(sec), &Pressure{CPU: 1}, false, 0},
		{"no reading: thresholds not applied", StartLimit{Max: 4, CPU: 1}, ago(sec), nil, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, again := mayStart(tc.l, t0, tc.began, tc.p)
			if ok != tc.ok || again != tc.again {
				t.Errorf("mayStart = %v, %v; want %v, %v", ok, again, tc.ok, tc.again)
			}
		})
	}
}

// fakePressure is a PSI reading the test sets.
type fakePressure struct {
	mu    sync.Mutex
	p     Pressure
	reads int
}

func (f *fakePressure) ReadPressure() (Pressure, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.p, nil
}

func (f *fakePressure) set(p Pressure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.p = p
}

// slotHarness loads boot, waiting for n scripted services, under l.
func slotHarness(t *testing.T, n int, l StartLimit, psi PressureReader) *harness {
	t.Helper()
	boot := svcDesc("boot", TypeInternal)
	descs := []*Description{boot}
	for i := range n {
		name := fmt.Sprintf("s%d", i)
		boot.Deps = append(boot.Deps, waitsFor(name))
		descs = append(descs, svcDesc(name, TypeScripted))
	}
	return newHarnessCfg(t, func(c *Config) { c.StartLimit, c.Pressure = l, psi }, descs...)
}

func (h *harness) wantSpawned(n int) {
	h.t.Helper()
	h.sync()
	if got := len(h.sp.order()); got != n {
		h.t.Fatalf("%d start commands spawned, want %d: %v", got, n, h.sp.order())
	}
}

func TestStartSlots(t *testing.T) {
	h := slotHarness(t, 5, StartLimit{Max: 2}, nil)
	ch := h.startAsync("boot", StartOpts{})
	h.wantSpawned(2)
	if in := h.status("s4"); in.State != Starting || in.StatusText != waitSlotText {
		t.Fatalf("s4: %v %q, want starting, %q", in.State, in.StatusText, waitSlotText)
	}
	h.exit("s0", ProcStart, exited(0))
	h.wantSpawned(3)
	h.exit("s1", ProcStart, exited(1)) // a failed start frees its slot too
	h.wantSpawned(4)
	for _, s := range []string{"s2", "s3"} {
		h.exit(s, ProcStart, exited(0))
	}
	h.wantSpawned(5)
	if in := h.status("s4"); in.StatusText != "" {
		t.Errorf("s4 spawned but status still %q", in.StatusText)
	}
	h.exit("s4", ProcStart, exited(0))
	if err := recv(t, ch); err != nil {
		t.Fatalf("start boot: %v", err)
	}
}

func TestStartSlotGrace(t *testing.T) {
	h := slotHarness(t, 3, StartLimit{Max: 1, Grace: 5 * time.Second}, nil)
	h.startAsync("boot", StartOpts{})
	h.wantSpawned(1)
	h.clock.Advance(4 * time.Second)
	h.wantSpawned(1)
	h.clock.Advance(time.Second) // s0 leaves its grace: s1 may go
	h.wantSpawned(2)
	h.clock.Advance(5 * time.Second)
	h.wantSpawned(3)
}

func TestStartSlotPressure(t *testing.T) {
	psi := &fakePressure{p: Pressure{CPU: 90}}
	h := slotHarness(t, 2, StartLimit{CPU: 40, Recheck: time.Second}, psi)
	h.startAsync("boot", StartOpts{})
	h.wantSpawned(0)
	psi.set(Pressure{CPU: 30})
	h.clock.Advance(999 * time.Millisecond)
	h.wantSpawned(0)
	h.clock.Advance(time.Millisecond)
	h.wantSpawned(2)
	psi.mu.Lock()
	defer psi.mu.Unlock()
	if psi.reads != 2 {
		t.Errorf("PSI read %d times, want once per re-check period (2)", psi.reads)
	}
}

func TestStartSlotCancelled(t *testing.T) {
	h := slotHarness(t, 3, StartLimit{Max: 1}, nil)
	h.startAsync("boot", StartOpts{})
	h.wantSpawned(1)
	if err := h.m.Stop(h.ctx, "boot", StopOpts{Force: true}); err != nil {
		t.Fatalf("stop boot: %v", err)
	}
	for _, s := range []string{"s1", "s2"} {
		if in := h.status(s); in.State != Stopped || in.StatusText != "" {
			t.Errorf("%s: %v %q, want stopped and no longer waiting", s, in.State, in.StatusText)
		}
	}
	var queued int
	if err := h.m.call(h.ctx, func() { queued = len(h.m.slotWait) }); err != nil {
		t.Fatal(err)
	}
	if queued != 0 {
		t.Errorf("%d services still queued for a slot", queued)
	}
}

// A pressure re-check due sooner than the grace of the oldest start is not
// put off until then.
func TestStartSlotSoonestRecheck(t *testing.T) {
	psi := &fakePressure{}
	h := slotHarness(t, 3, StartLimit{Max: 1, Grace: 10 * time.Second, CPU: 50, Recheck: time.Second}, psi)
	h.startAsync("boot", StartOpts{})
	h.wantSpawned(1) // s0 holds the slot; the others wait for its grace
	h.clock.Advance(time.Second)
	psi.set(Pressure{CPU: 90})
	h.exit("s0", ProcStart, exited(0)) // a slot, but under pressure: wait a re-check
	h.wantSpawned(1)
	psi.set(Pressure{})
	h.clock.Advance(time.Second)
	h.wantSpawned(2)
}
