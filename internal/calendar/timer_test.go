package calendar

import (
	"slices"
	"testing"
	"time"
)

// fakeClock is the machine's two clocks under test control.
type fakeClock struct{ now Instant }

// advance lets d pass on both clocks.
func (c *fakeClock) advance(d time.Duration) {
	c.now.Boot += d
	c.now.Wall = c.now.Wall.Add(d)
}

// jump moves only the wall clock (settimeofday, an NTP step).
func (c *fakeClock) jump(d time.Duration) { c.now.Wall = c.now.Wall.Add(d) }

// reboot is the machine off for d and booted again: the boot clock starts over.
func (c *fakeClock) reboot(d time.Duration) {
	c.now.Wall = c.now.Wall.Add(d)
	c.now.Boot = 2 * time.Second
}

// fixedRand returns its values in turn (each below n), so delays are known.
type fixedRand struct{ vals []int64 }

func (r *fixedRand) Int64N(n int64) int64 {
	v := r.vals[0] % n
	r.vals = append(r.vals[1:], r.vals[0])
	return v
}

func mustSpec(t *testing.T, expr string) *Spec {
	t.Helper()
	s, err := Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wallAt(t *testing.T, s string) time.Time {
	t.Helper()
	w, err := time.Parse(time.DateTime, s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// event happens to the machine before run number `before` (0 = before the
// first) is awaited.
type event struct {
	before int
	do     func(*fakeClock, *Triggers, State) State
}

func jumpBy(d time.Duration) func(*fakeClock, *Triggers, State) State {
	return func(c *fakeClock, _ *Triggers, st State) State { c.jump(d); return st }
}

// targetRuns has the target run for d after the timer fired, then go inactive.
func targetRuns(d time.Duration) func(*fakeClock, *Triggers, State) State {
	return func(c *fakeClock, tr *Triggers, st State) State {
		c.advance(d)
		return tr.Inactive(st, c.now)
	}
}

func TestTimerRuns(t *testing.T) {
	daily := func(t *testing.T) []*Spec { return []*Spec{mustSpec(t, "daily")} }
	cases := []struct {
		name     string
		triggers func(*testing.T) Triggers
		start    string        // wall clock at the timer's start
		boot     time.Duration // boot clock then
		stored   string        // last run stored on disk, "" = none
		events   []event
		runs     int
		want     []string // "wall time trigger[ missed]"; fewer than runs = the timer is done
	}{
		{
			name:     "daily from its start",
			triggers: func(t *testing.T) Triggers { return Triggers{Calendar: daily(t)} },
			start:    "2026-12-02 10:00:00", runs: 3,
			want: []string{"2026-12-03 00:00:00 on-calendar", "2026-12-04 00:00:00 on-calendar", "2026-12-05 00:00:00 on-calendar"},
		},
		{
			name:     "persistent: a run missed while off happens once at the start",
			triggers: func(t *testing.T) Triggers { return Triggers{Calendar: daily(t), Persistent: true} },
			start:    "2026-12-10 10:00:00", stored: "2026-12-02 00:00:00", runs: 3,
			want: []string{"2026-12-10 10:00:00 on-calendar missed", "2026-12-11 00:00:00 on-calendar", "2026-12-12 00:00:00 on-calendar"},
		},
		{
			name:     "persistent, nothing missed",
			triggers: func(t *testing.T) Triggers { return Triggers{Calendar: daily(t), Persistent: true} },
			start:    "2026-12-10 10:00:00", stored: "2026-12-10 00:00:00", runs: 1,
			want: []string{"2026-12-11 00:00:00 on-calendar"},
		},
		{
			name:     "not persistent: the stored run is ignored",
			triggers: func(t *testing.T) Triggers { return Triggers{Calendar: daily(t)} },
			start:    "2026-12-10 10:00:00", stored: "2026-12-02 00:00:00", runs: 1,
			want: []string{"2026-12-11 00:00:00 on-calendar"},
		},
		{
			name:     "persistent: a stored run in the future (clock set back) counts from now",
			triggers: func(t *testing.T) Triggers { return Triggers{Calendar: daily(t), Persistent: true} },
			start:    "2026-12-10 10:00:00", stored: "2027-01-01 00:00:00", runs: 1,
			want: []string{"2026-12-11 00:00:00 on-calendar"},
		},
		{
			name:     "wall clock set back a day and a half: re-evaluated from now",
			triggers: func(t *testing.T) Triggers { return Triggers{Calendar: daily(t)} },
			start:    "2026-12-02 10:00:00", runs: 2,
			events: []event{{1, jumpBy(-36 * time.Hour)}},
			want:   []string{"2026-12-03 00:00:00 on-calendar", "2026-12-02 00:00:00 on-calendar"},
		},
		{
			name:     "wall clock jumps forward over three elapses: one run, then on schedule",
			triggers: func(t *testing.T) Triggers { return Triggers{Calendar: daily(t)} },
			start:    "2026-12-02 10:00:00", runs: 3,
			events: []event{{1, jumpBy(3*24*time.Hour + 5*time.Hour)}},
			want:   []string{"2026-12-03 00:00:00 on-calendar", "2026-12-06 05:00:00 on-calendar missed", "2026-12-07 00:00:00 on-calendar"},
		},
		{
			name:     "on-boot once per boot",
			triggers: func(*testing.T) Triggers { return Triggers{OnBoot: []time.Duration{5 * time.Minute}} },
			start:    "2026-12-02 10:00:00", boot: 3 * time.Second, runs: 3,
			want: []string{"2026-12-02 10:04:57 on-boot"},
		},
		{
			name:     "on-boot already past when the timer starts: never",
			triggers: func(*testing.T) Triggers { return Triggers{OnBoot: []time.Duration{5 * time.Minute}} },
			start:    "2026-12-02 10:00:00", boot: time.Hour, runs: 3,
		},
		{
			name:     "on-active once per start, untouched by a wall-clock jump",
			triggers: func(*testing.T) Triggers { return Triggers{OnActive: []time.Duration{time.Hour + 30*time.Second}} },
			start:    "2026-12-02 10:00:00", boot: time.Minute, runs: 2,
			events: []event{{0, jumpBy(24 * time.Hour)}},
			want:   []string{"2026-12-03 11:00:30 on-active"},
		},
		{
			name: "on-boot then every 15min after the target finished",
			triggers: func(*testing.T) Triggers {
				return Triggers{OnBoot: []time.Duration{5 * time.Minute}, OnUnitInactive: []time.Duration{15 * time.Minute}}
			},
			start: "2026-12-02 10:00:00", boot: 3 * time.Second, runs: 3,
			events: []event{{1, targetRuns(2 * time.Minute)}, {2, targetRuns(10 * time.Minute)}},
			want:   []string{"2026-12-02 10:04:57 on-boot", "2026-12-02 10:21:57 on-unit-inactive", "2026-12-02 10:46:57 on-unit-inactive"},
		},
		{
			name: "on-unit-inactive waits while the target has not gone inactive",
			triggers: func(*testing.T) Triggers {
				return Triggers{OnActive: []time.Duration{0}, OnUnitInactive: []time.Duration{time.Minute}}
			},
			start: "2026-12-02 10:00:00", boot: time.Minute, runs: 2,
			want: []string{"2026-12-02 10:00:00 on-active"},
		},
		{
			name: "the earliest trigger wins",
			triggers: func(t *testing.T) Triggers {
				return Triggers{Calendar: []*Spec{mustSpec(t, "*:0/20"), mustSpec(t, "hourly")}, OnActive: []time.Duration{5 * time.Minute}}
			},
			start: "2026-12-02 10:01:00", boot: time.Minute, runs: 4,
			want: []string{"2026-12-02 10:06:00 on-active", "2026-12-02 10:20:00 on-calendar", "2026-12-02 10:40:00 on-calendar", "2026-12-02 11:00:00 on-calendar"},
		},
		{
			name: "randomized delay: drawn at the start and after each run",
			triggers: func(t *testing.T) Triggers {
				return Triggers{Calendar: daily(t), RandomizedDelay: time.Hour}
			},
			start: "2026-12-02 10:00:00", runs: 3,
			want: []string{"2026-12-03 00:10:00 on-calendar", "2026-12-04 00:50:00 on-calendar", "2026-12-05 00:10:00 on-calendar"},
		},
		{
			name: "randomized delay also puts off a missed run",
			triggers: func(t *testing.T) Triggers {
				return Triggers{Calendar: daily(t), RandomizedDelay: time.Hour, Persistent: true}
			},
			start: "2026-12-10 10:00:00", stored: "2026-12-01 00:00:00", runs: 2,
			want: []string{"2026-12-10 10:10:00 on-calendar missed", "2026-12-11 00:50:00 on-calendar"},
		},
		{
			name: "DST: 02:30 in Berlin is skipped on the spring-forward day",
			triggers: func(t *testing.T) Triggers {
				return Triggers{Calendar: []*Spec{mustSpec(t, "*-*-* 02:30 Europe/Berlin")}}
			},
			start: "2026-03-28 12:00:00", runs: 2,
			want: []string{"2026-03-30 00:30:00 on-calendar", "2026-03-31 00:30:00 on-calendar"},
		},
		{
			name: "DST: 02:30 in Berlin elapses once on the fall-back day",
			triggers: func(t *testing.T) Triggers {
				return Triggers{Calendar: []*Spec{mustSpec(t, "*-*-* 02:30 Europe/Berlin")}}
			},
			start: "2026-10-24 12:00:00", runs: 2,
			want: []string{"2026-10-25 00:30:00 on-calendar", "2026-10-26 01:30:00 on-calendar"},
		},
		{
			name:     "nothing to trigger",
			triggers: func(*testing.T) Triggers { return Triggers{} },
			start:    "2026-12-02 10:00:00", runs: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := c.triggers(t)
			clk := &fakeClock{now: Instant{Boot: c.boot, Wall: wallAt(t, c.start)}}
			if clk.now.Boot == 0 {
				clk.now.Boot = time.Hour
			}
			var stored time.Time
			if c.stored != "" {
				stored = wallAt(t, c.stored)
			}
			// 10 and 50 minutes in turn, out of the hour of delay.
			rnd := &fixedRand{vals: []int64{int64(10 * time.Minute), int64(50 * time.Minute)}}
			st := tr.Start(clk.now, stored, rnd)
			var got []string
			for i := range c.runs {
				for _, e := range c.events {
					if e.before == i {
						st = e.do(clk, &tr, st)
					}
				}
				el, ok := tr.Next(st, clk.now)
				if !ok {
					break
				}
				if el.Wait < 0 || !el.At.Equal(clk.now.Wall.Add(el.Wait)) {
					t.Fatalf("elapse %+v at %v", el, clk.now)
				}
				clk.advance(el.Wait)
				s := clk.now.Wall.UTC().Format(time.DateTime) + " " + el.Trigger
				if el.Missed {
					s += " missed"
				}
				got = append(got, s)
				st = tr.Ran(st, clk.now, rnd)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("runs\n  %q\nwant\n  %q", got, c.want)
			}
		})
	}
}

// A persistent timer's whole cycle across a reboot: the stored last run
// is what the caller wrote from LastRun.Wall.
func TestTimerPersistsAcrossReboot(t *testing.T) {
	tr := Triggers{Calendar: []*Spec{mustSpec(t, "*-*-* 12:00")}, Persistent: true}
	clk := &fakeClock{now: Instant{Boot: time.Minute, Wall: wallAt(t, "2026-12-02 11:00:00")}}
	st := tr.Start(clk.now, time.Time{}, nil)
	el, _ := tr.Next(st, clk.now)
	clk.advance(el.Wait)
	st = tr.Ran(st, clk.now, nil)
	disk := st.LastRun.Wall

	clk.reboot(3 * 24 * time.Hour) // off over three noons
	st = tr.Start(clk.now, disk, nil)
	el, _ = tr.Next(st, clk.now)
	if el.Wait != 0 || !el.Missed {
		t.Fatalf("after the reboot: %+v, want one missed run now", el)
	}
	st = tr.Ran(st, clk.now, nil)
	el, _ = tr.Next(st, clk.now)
	if want := wallAt(t, "2026-12-06 12:00:00"); !el.At.Equal(want) || el.Missed {
		t.Errorf("after the catch-up run: %+v, want %v", el, want)
	}
}
