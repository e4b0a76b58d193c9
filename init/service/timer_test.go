package service

import (
	"errors"
	"sync"
	"testing"
	"time"

	"ginit/internal/calendar"
)

// jumpClock is the fake clock with a wall clock that can be set apart
// from the boot clock, as settimeofday or a suspend does.
type jumpClock struct {
	*fakeClock
	start time.Time
	mu    sync.Mutex
	off   time.Duration
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fakeClock.Now().Add(c.off)
}

func (c *jumpClock) SinceBoot() time.Duration { return c.fakeClock.Now().Sub(c.start) }

func (c *jumpClock) jump(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// memStore is a TimerStore in memory.
type memStore struct {
	mu    sync.Mutex
	last  map[string]time.Time
	err   error
	saves int
}

func (s *memStore) Last(name string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[name], s.err
}

func (s *memStore) Save(name string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[name] = at
	s.saves++
}

type fixedRand int64

func (r fixedRand) Int64N(n int64) int64 { return min(int64(r), n-1) }

func timerDesc(name, target string, tr calendar.Triggers) *Description {
	d := svcDesc(name, TypeTimer)
	d.Command = nil
	d.Timer = &TimerSpec{Target: target, Triggers: tr}
	return d
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	// Small steps: a timer the loop re-arms while the clock moves must be
	// seen by the same advance.
	const step = 100 * time.Millisecond
	for d > 0 {
		s := min(d, step)
		h.clock.Advance(s)
		h.sync()
		d -= s
	}
}

func (h *harness) starts(name string) int { return h.sp.count(name, ProcStart) }

// A timer with on-active and on-unit-inactive runs a scripted target, which
// returns to Stopped after each run, once after start and then each
// interval after the previous run ended.
func TestTimerRunsTaskRepeatedly(t *testing.T) {
	h := newHarness(t,
		svcDesc("job", TypeScripted),
		timerDesc("tick", "job", calendar.Triggers{OnActive: []time.Duration{10 * time.Second}, OnUnitInactive: []time.Duration{30 * time.Second}}))
	if err := h.m.Start(h.ctx, "tick", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	in := h.wantState("tick", Started)
	if in.TimerTarget != "job" || in.NextTrigger != calendar.OnActive || !in.NextRun.Equal(h.clock.Now().Add(10*time.Second)) {
		t.Fatalf("status before the first run: %+v", in)
	}
	h.wantState("job", Stopped)
	for run := 1; run <= 3; run++ {
		wait := 30 * time.Second
		if run == 1 {
			wait = 10 * time.Second
		}
		h.advance(wait - 100*time.Millisecond)
		if n := h.starts("job"); n != run-1 {
			t.Fatalf("run %d: %d starts before the elapse", run, n)
		}
		h.advance(100 * time.Millisecond)
		if n := h.starts("job"); n != run {
			t.Fatalf("run %d: %d starts after the elapse", run, n)
		}
		h.advance(5 * time.Second) // the script runs 5s
		h.exit("job", ProcStart, exited(0))
		h.wantState("job", Stopped)
		in := h.wantState("tick", Started)
		if in.Runs != run || !in.NextRun.Equal(h.clock.Now().Add(30*time.Second)) || in.NextTrigger != calendar.OnUnitInactive {
			t.Fatalf("run %d: status %+v", run, in)
		}
	}
	if err := h.m.Stop(h.ctx, "tick", StopOpts{}); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Minute)
	if n := h.starts("job"); n != 3 {
		t.Fatalf("%d starts after the timer stopped", n)
	}
	if in := h.wantState("tick", Stopped); !in.NextRun.IsZero() || in.LastRun.IsZero() {
		t.Fatalf("stopped timer: next %v last %v", in.NextRun, in.LastRun)
	}
}

// An elapse while the target still runs does not start it twice.
func TestTimerSkipsBusyTarget(t *testing.T) {
	h := newHarness(t,
		svcDesc("job", TypeScripted),
		timerDesc("tick", "job", calendar.Triggers{OnActive: []time.Duration{time.Second, 2 * time.Second}}))
	if err := h.m.Start(h.ctx, "tick", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	h.advance(3 * time.Second)
	if n := h.starts("job"); n != 1 {
		t.Fatalf("%d starts, want 1", n)
	}
	if !h.logs.has("still starting; elapse skipped") {
		t.Fatal("the skipped elapse was not logged")
	}
}

// Stopping a timer waits for the run in progress; the run is not killed.
func TestTimerStopWaitsForRun(t *testing.T) {
	h := newHarness(t,
		svcDesc("job", TypeScripted),
		timerDesc("tick", "job", calendar.Triggers{OnActive: []time.Duration{time.Second}}))
	if err := h.m.Start(h.ctx, "tick", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Second)
	done := make(chan error, 1)
	go func() { done <- h.m.Stop(h.ctx, "tick", StopOpts{}) }()
	h.waitFor("tick", func(in Info) bool { return in.State == Stopping })
	h.advance(5 * time.Second) // less than stop-timeout
	select {
	case err := <-done:
		t.Fatalf("stop returned while the run went on: %v", err)
	default:
	}
	if sigs := h.sp.last("job", ProcStart).treeSigs(); len(sigs) != 0 {
		t.Fatalf("the run was signalled: %v", sigs)
	}
	h.exit("job", ProcStart, exited(0))
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	h.wantState("tick", Stopped)
	h.wantState("job", Stopped)
}

// After its stop-timeout a stopping timer brings the run down.
func TestTimerStopTimeoutKillsRun(t *testing.T) {
	h := newHarness(t,
		svcDesc("job", TypeScripted),
		timerDesc("tick", "job", calendar.Triggers{OnActive: []time.Duration{time.Second}}))
	if err := h.m.Start(h.ctx, "tick", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Second)
	if err := h.m.Stop(h.ctx, "tick", StopOpts{NoWait: true}); err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Second)
	p := h.sp.last("job", ProcStart)
	if sigs := p.treeSigs(); len(sigs) != 1 || sigs[0] != sigterm {
		t.Fatalf("run's signals after the timer's stop-timeout: %v", sigs)
	}
	h.wantState("tick", Stopping)
	h.exit("job", ProcStart, killedBy(sigterm))
	h.wantState("tick", Stopped)
}

// A calendar timer follows the wall clock: set forward past an elapse,
// the elapse happens at the next clock check; set back, it waits again.
func TestTimerCalendarClockJump(t *testing.T) {
	var jc *jumpClock
	h := newHarnessCfg(t, func(c *Config) {
		fc := c.Clock.(*fakeClock)
		fc.now = time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)
		jc = &jumpClock{fakeClock: fc, start: fc.now.Add(-time.Hour)}
		c.Clock = jc
	},
		svcDesc("job", TypeInternal),
		timerDesc("hourly", "job", calendar.Triggers{Calendar: []*calendar.Spec{mustSpec(t, "hourly")}}))
	if err := h.m.Start(h.ctx, "hourly", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	in := h.wantState("hourly", Started)
	if want := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC); !in.NextRun.Equal(want) {
		t.Fatalf("next %v, want %v", in.NextRun, want)
	}
	jc.jump(2 * time.Hour) // 12:00:30 on the wall, the boot clock unmoved
	h.advance(clockCheck + time.Second)
	in = h.wantState("hourly", Started)
	if in.Runs != 1 {
		t.Fatalf("runs %d after the clock jumped past an elapse", in.Runs)
	}
	if want := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC); !in.NextRun.Equal(want) {
		t.Fatalf("next %v, want %v", in.NextRun, want)
	}
	if !h.logs.has("wall clock moved by 2h0m0s") {
		t.Fatal("the jump was not logged")
	}
	jc.jump(-2 * time.Hour) // 10:01:31, before the last run: the next elapse is 11:00 again
	h.advance(clockCheck)
	in = h.wantState("hourly", Started)
	if want := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC); in.Runs != 1 || !in.NextRun.Equal(want) {
		t.Fatalf("after setting the clock back: runs %d next %v, want 1 and %v", in.Runs, in.NextRun, want)
	}
}

func mustSpec(t *testing.T, s string) *calendar.Spec {
	t.Helper()
	sp, err := calendar.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// A persistent timer whose stored last run is older than an elapse runs
// at once; a damaged store is logged and the timer waits for the next.
func TestTimerPersistent(t *testing.T) {
	day := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		stored   time.Time
		err      error
		wantRuns int
		wantLog  string
	}{
		{"missed", day.Add(-36 * time.Hour), nil, 1, ""},
		{"not missed", day.Add(-time.Hour), nil, 0, ""},
		{"never ran", time.Time{}, nil, 0, ""},
		{"damaged", day.Add(-72 * time.Hour), errors.New("timers/t: line 1: bad time"), 0, "timers/t: line 1: bad time; starting as if it never ran"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &memStore{last: map[string]time.Time{"t": tc.stored}, err: tc.err}
			h := newHarnessCfg(t, func(c *Config) {
				c.Clock.(*fakeClock).now = day
				c.TimerStore = st
			},
				svcDesc("job", TypeInternal),
				timerDesc("t", "job", calendar.Triggers{Calendar: []*calendar.Spec{mustSpec(t, "daily")}, Persistent: true}))
			if err := h.m.Start(h.ctx, "t", StartOpts{}); err != nil {
				t.Fatal(err)
			}
			h.advance(time.Second)
			in := h.wantState("t", Started)
			if in.Runs != tc.wantRuns {
				t.Fatalf("runs %d, want %d", in.Runs, tc.wantRuns)
			}
			if want := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC); !in.NextRun.Equal(want) {
				t.Fatalf("next %v, want %v", in.NextRun, want)
			}
			if tc.wantRuns > 0 && (st.saves != 1 || st.last["t"].Sub(day) > time.Second) {
				t.Fatalf("store: %d saves, last %v", st.saves, st.last["t"])
			}
			if tc.wantLog != "" && !h.logs.has(tc.wantLog) {
				t.Fatalf("log lacks %q", tc.wantLog)
			}
		})
	}
}

// The randomized delay drawn for an elapse shows in the next run.
func TestTimerRandomizedDelay(t *testing.T) {
	h := newHarnessCfg(t, func(c *Config) { c.Rand = fixedRand(int64(7 * time.Second)) },
		svcDesc("job", TypeInternal),
		timerDesc("t", "job", calendar.Triggers{OnActive: []time.Duration{time.Minute}, RandomizedDelay: time.Minute}))
	if err := h.m.Start(h.ctx, "t", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	if in := h.wantState("t", Started); !in.NextRun.Equal(h.clock.Now().Add(67 * time.Second)) {
		t.Fatalf("next %v, want now+67s", in.NextRun)
	}
	h.advance(66 * time.Second)
	if h.starts("job") != 0 && h.wantState("job", Stopped).Explicit {
		t.Fatal("ran before its delay")
	}
	h.advance(time.Second)
	if in := h.wantState("t", Started); in.Runs != 1 {
		t.Fatalf("runs %d after the delayed elapse", in.Runs)
	}
}

// A target started by command is not the timer's run: stopping the timer
// does not wait for it, and an elapse meanwhile is skipped.
func TestTimerTargetStartedByHand(t *testing.T) {
	h := newHarness(t,
		svcDesc("job", TypeProcess),
		timerDesc("tick", "job", calendar.Triggers{OnActive: []time.Duration{time.Second}}))
	if err := h.m.Start(h.ctx, "tick", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Start(h.ctx, "job", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	h.advance(2 * time.Second)
	if n := h.starts("job"); n != 1 {
		t.Fatalf("%d starts", n)
	}
	if err := h.m.Stop(h.ctx, "tick", StopOpts{}); err != nil {
		t.Fatal(err)
	}
	h.wantState("tick", Stopped)
	h.wantState("job", Started)
}

// Shutdown stops a timer and its run.
func TestTimerShutdown(t *testing.T) {
	h := newHarness(t,
		svcDesc("job", TypeScripted),
		timerDesc("tick", "job", calendar.Triggers{OnActive: []time.Duration{time.Second}}))
	if err := h.m.Start(h.ctx, "tick", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Second)
	if err := h.m.Shutdown(h.ctx, 0); err != nil {
		t.Fatal(err)
	}
	h.exit("job", ProcStart, killedBy(sigterm))
	h.runReturns("shutdown")
}

// A thousand timers elapse in order and each runs its own target.
func TestTimerThousand(t *testing.T) {
	var descs []*Description
	for i := range 1000 {
		job := "job" + itoa(i)
		descs = append(descs, svcDesc(job, TypeInternal),
			timerDesc("t"+itoa(i), job, calendar.Triggers{OnActive: []time.Duration{time.Duration(i%10+1) * time.Second}}))
	}
	h := newHarness(t, descs...)
	for i := range 1000 {
		if err := h.m.Start(h.ctx, "t"+itoa(i), StartOpts{NoWait: true}); err != nil {
			t.Fatal(err)
		}
	}
	h.advance(10 * time.Second)
	list, err := listAll(h.ctx, h.m)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.Type == TypeTimer && (in.Runs != 1 || in.State != Started) {
			t.Fatalf("%s: %+v", in.Name, in)
		}
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// A process target runs until its process ends, is not restarted then
// (restart = yes notwithstanding), and the next elapse runs it again.
func TestTimerProcessTargetRunsOnce(t *testing.T) {
	job := svcDesc("job", TypeProcess)
	job.Restart = RestartYes
	h := newHarness(t, job,
		timerDesc("tick", "job", calendar.Triggers{OnActive: []time.Duration{time.Second}, OnUnitInactive: []time.Duration{time.Minute}}))
	if err := h.m.Start(h.ctx, "tick", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Second)
	h.wantState("job", Started)
	h.advance(10 * time.Second)
	h.exit("job", ProcStart, exited(0))
	h.advance(time.Second)
	if n := h.starts("job"); n != 1 {
		t.Fatalf("%d starts: the run was restarted", n)
	}
	h.wantState("job", Stopped)
	h.advance(time.Minute)
	if n := h.starts("job"); n != 2 {
		t.Fatalf("%d starts after on-unit-inactive", n)
	}
}

// WallClockSet re-evaluates calendar timers at once, without waiting for
// the minute's check.
func TestTimerWallClockSet(t *testing.T) {
	var jc *jumpClock
	h := newHarnessCfg(t, func(c *Config) {
		fc := c.Clock.(*fakeClock)
		fc.now = time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)
		jc = &jumpClock{fakeClock: fc, start: fc.now.Add(-time.Hour)}
		c.Clock = jc
	},
		svcDesc("job", TypeInternal),
		timerDesc("hourly", "job", calendar.Triggers{Calendar: []*calendar.Spec{mustSpec(t, "hourly")}}))
	if err := h.m.Start(h.ctx, "hourly", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	jc.jump(time.Hour)
	h.m.WallClockSet()
	h.sync()
	h.advance(100 * time.Millisecond) // far less than the minute
	if in := h.wantState("hourly", Started); in.Runs != 1 {
		t.Fatalf("runs %d after the clock was set past an elapse", in.Runs)
	}
}
