package daemon

import "runtime"

// idleWidth is how many Ps ginit keeps outside bursts: the reaper's
// waitid holds one while it blocks; the other runs everything else. With
// a second P idle, sysmon leaves the blocked one alone (a P in a system
// call is taken away only when no other is idle), so the reaper's return
// from waitid takes its own P back at once; with one P, sysmon takes it
// after 20 µs, and each return then wakes sysmon, which naps every 20 µs
// through the rest of the respawn (crash-loop CPU 1.2x).
const idleWidth = 2

// procs sizes the runtime's Ps (GOMAXPROCS) to what ginit is doing: idle,
// and through one-at-a-time work (a crash loop's respawns, a status),
// idleWidth Ps, whatever the machine: the threads, per-P caches and GC
// workers of the others are not kept. Through a burst (a boot's thousand
// forks, the stop of a large target) every P the runtime chose at start,
// so that the forks overlap. The zero value leaves GOMAXPROCS alone.
type procs struct {
	wide int // the runtime's own choice at start; 0: not managed
}

// idleProcs narrows ginit to idleWidth Ps unless GOMAXPROCS was set: the
// user's choice stands for the whole run. It runs before ginit starts a
// thread of its own: Ps made and dropped later left ~150 kB behind.
func idleProcs(getenv func(string) string) procs {
	if getenv("GOMAXPROCS") != "" {
		return procs{}
	}
	wide := runtime.GOMAXPROCS(0)
	if wide <= idleWidth {
		return procs{}
	}
	runtime.GOMAXPROCS(idleWidth)
	return procs{wide: wide}
}

// widen gives a burst every P; narrow returns to idleWidth once it
// settled. Each is a brief stop of the world, once a burst.
func (p procs) widen() {
	if p.wide > 0 {
		runtime.GOMAXPROCS(p.wide)
	}
}

func (p procs) narrow() {
	if p.wide > 0 {
		runtime.GOMAXPROCS(idleWidth)
	}
}
