package calendar

import "time"

// Instant is one moment read on both clocks a timer uses: Boot on the
// monotonic clock counted from boot (wall-clock jumps and suspend do not
// move it backwards), Wall on the wall clock.
type Instant struct {
	Boot time.Duration
	Wall time.Time
}

// IsZero reports whether i is the zero Instant (never).
func (i Instant) IsZero() bool { return i.Boot == 0 && i.Wall.IsZero() }

// Trigger names, as the settings of a timer service spell them.
const (
	OnCalendar     = "on-calendar"
	OnBoot         = "on-boot"
	OnActive       = "on-active"
	OnUnitInactive = "on-unit-inactive"
)

// Triggers is a timer's schedule. Each list may hold several values; the
// earliest elapse of all of them wins.
type Triggers struct {
	Calendar        []*Spec
	OnBoot          []time.Duration // after boot, once per boot
	OnActive        []time.Duration // after the timer started, once per start
	OnUnitInactive  []time.Duration // after the target last became inactive, again each time
	RandomizedDelay time.Duration   // each elapse is put off by a random part of this
	Persistent      bool            // a calendar run missed while off happens at the next start
}

// State is what a timer knows of its history. Its owner (the service
// manager's loop) keeps it and passes it to Triggers' methods, which return
// a changed copy and never keep it.
type State struct {
	Activated      Instant       // when the timer was started
	LastRun        Instant       // its last elapse since then; zero = none
	Stored         time.Time     // the last run as stored on disk before this start; zero = none
	TargetInactive Instant       // when the target last became inactive; zero = never
	Delay          time.Duration // the random delay drawn for the coming elapse
}

// Rand is the random source of the randomized delay; math/rand/v2's
// *rand.Rand is one.
type Rand interface {
	Int64N(n int64) int64
}

// Elapse is when a timer next fires.
type Elapse struct {
	Wait    time.Duration // from now; 0 = now
	At      time.Time     // Wait read on the wall clock, for status
	Trigger string        // the setting that elapses (OnCalendar, OnBoot, ...)
	Missed  bool          // a calendar elapse already passed (machine off, or the clock jumped over it)
}

// Start is the state of a timer started at now. stored is the last run
// persisted by an earlier start (zero if none); it counts only if the
// timer is Persistent.
func (tr *Triggers) Start(now Instant, stored time.Time, rnd Rand) State {
	st := State{Activated: now, Delay: tr.drawDelay(rnd)}
	if tr.Persistent {
		st.Stored = stored
	}
	return st
}

// Ran records that the timer fired at now (the target was started) and
// draws the delay of the next elapse. A Persistent timer's caller stores
// the returned LastRun.Wall.
func (tr *Triggers) Ran(st State, now Instant, rnd Rand) State {
	st.LastRun = now
	st.Delay = tr.drawDelay(rnd)
	return st
}

// Inactive records that the target became inactive at now, which arms the
// on-unit-inactive triggers.
func (tr *Triggers) Inactive(st State, now Instant) State {
	st.TargetInactive = now
	return st
}

func (tr *Triggers) drawDelay(rnd Rand) time.Duration {
	if tr.RandomizedDelay <= 0 || rnd == nil {
		return 0
	}
	return time.Duration(rnd.Int64N(int64(tr.RandomizedDelay)))
}

// Next is the timer's next elapse as seen at now, or false if none of its
// triggers will elapse again. It depends only on its arguments: after a
// wall-clock jump the caller calls it again and the calendar triggers are
// read anew, while the monotonic ones stay where they were.
func (tr *Triggers) Next(st State, now Instant) (Elapse, bool) {
	var best Elapse
	found := false
	consider := func(wait time.Duration, trigger string, missed bool) {
		if !found || wait < best.Wait {
			best, found = Elapse{Wait: wait, Trigger: trigger, Missed: missed}, true
		}
	}
	for _, d := range tr.OnBoot {
		// One elapse per boot, and none that passed before the timer
		// started (as systemd: a timer does not run triggers from the past).
		if e := d; e >= st.Activated.Boot && !ranSince(st, e) {
			consider(e-now.Boot, OnBoot, false)
		}
	}
	for _, d := range tr.OnActive {
		if e := st.Activated.Boot + d; !ranSince(st, e) {
			consider(e-now.Boot, OnActive, false)
		}
	}
	if !st.TargetInactive.IsZero() && (st.LastRun.IsZero() || st.LastRun.Boot < st.TargetInactive.Boot) {
		for _, d := range tr.OnUnitInactive {
			consider(st.TargetInactive.Boot+d-now.Boot, OnUnitInactive, false)
		}
	}
	base := tr.calendarBase(st, now)
	for _, s := range tr.Calendar {
		if t, ok := s.Next(base); ok {
			wait := t.Sub(now.Wall)
			consider(wait, OnCalendar, wait < 0)
		}
	}
	if !found {
		return Elapse{}, false
	}
	best.Wait = max(best.Wait, 0) + st.Delay
	best.At = now.Wall.Add(best.Wait)
	return best, true
}

// ranSince reports whether the timer already fired at or after the boot
// clock's e in this start.
func ranSince(st State, e time.Duration) bool {
	return !st.LastRun.IsZero() && st.LastRun.Boot >= e
}

// calendarBase is the wall time calendar elapses are counted from: the
// last run, else the stored one (so a run missed while off is due once),
// else the start. A base later than now means the wall clock went back:
// counting from it would put the next run too far off, so now counts.
func (tr *Triggers) calendarBase(st State, now Instant) time.Time {
	base := st.Activated.Wall
	switch {
	case !st.LastRun.IsZero():
		base = st.LastRun.Wall
	case tr.Persistent && !st.Stored.IsZero():
		base = st.Stored
	}
	if base.After(now.Wall) {
		base = now.Wall
	}
	return base.In(now.Wall.Location())
}
