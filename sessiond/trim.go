package sessiond

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// DefaultTrimDelay is how long the heap must go without a collection
// before MemoryTrim gives its free pages back.
const DefaultTrimDelay = 500 * time.Millisecond

// MemoryTrim gives the heap's free pages back to the kernel once the
// daemon's work has paused: a burst (logins, a client's run of calls)
// leaves the heap at its peak, and the runtime's scavenger returns what
// exceeds its goal slowly or not at all; with 1000 sessions some 0.9 MB
// stayed resident that a FreeOSMemory gave back (smaps of the heap
// arena: 3464 kB before, 2556 kB after). A collection is the sign of
// work that allocated, whoever did it (the owner, the bus reader's
// inline calls); once none has run for a whole delay, release runs,
// once per pause. Idle, nothing wakes: the timer is armed by a
// collection.
type MemoryTrim struct {
	clock   Clock
	delay   time.Duration
	release func() // debug.FreeOSMemory in sessiond
	stats   func() heapStats

	mu    sync.Mutex // held across release, so a collection's note waits for after
	armed bool
	seen  heapStats // when the timer was armed, or last armed again
	after heapStats // once the last release (its own collection) ended
}

// heapStats are the runtime's counts of finished collections and of
// bytes allocated, since the start.
type heapStats struct{ cycles, allocs uint64 }

// trimMinAlloc is how much must have been allocated since the last
// release for another to be worth its collection: the runtime's forced
// collection of an idle daemon (every two minutes) finds next to nothing.
const trimMinAlloc = 1 << 20

// pauseMaxAlloc is the most a delay may allocate and still be a pause:
// a delay without a collection is no pause when the heap is large (its
// next collection is megabytes away) and calls keep coming: a release
// then is a forced collection, and faults on the pages given back, in
// the middle of the work. With 5000 sessions, sessiond with the trim
// spent 23% more CPU per GetSessionByPID over sdbench's 300 calls than
// a build without it (69 us against 56).
const pauseMaxAlloc = 64 << 10

// NewMemoryTrim returns a trim that calls release after delay without a
// collection; stats reads the heap's counters (nil: the runtime's).
func NewMemoryTrim(clock Clock, delay time.Duration, release func(), stats func() heapStats) *MemoryTrim {
	if stats == nil {
		stats = runtimeHeapStats
	}
	return &MemoryTrim{clock: clock, delay: delay, release: release, stats: stats}
}

// runtimeHeapStats reads the counters from runtime/metrics (no stop of
// the world, unlike ReadMemStats).
func runtimeHeapStats() heapStats {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	var h heapStats
	if s[0].Value.Kind() == metrics.KindUint64 {
		h.cycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		h.allocs = s[1].Value.Uint64()
	}
	return h
}

// Start has the trim told of every collection from now on: a sentinel
// whose finalizer notes the collection and sets itself again.
func (t *MemoryTrim) Start() {
	watchCollections(t.Collected)
}

// gcSentinel is garbage at once; its finalizer runs after the
// collection that found it. It holds a pointer so that it is not one of
// the tiny allocator's objects, whose block other objects keep alive.
type gcSentinel struct{ _ *byte }

func watchCollections(f func()) {
	s := &gcSentinel{}
	runtime.SetFinalizer(s, func(*gcSentinel) {
		f()
		watchCollections(f)
	})
}

// Collected notes a collection: the timer starts unless it runs, or the
// collection was the last release's own.
func (t *MemoryTrim) Collected() {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.stats()
	if h.cycles <= t.after.cycles || t.armed {
		return
	}
	t.armed, t.seen = true, h
	t.clock.AfterFunc(t.delay, t.fire)
}

// fire is the timer's end: the memory goes back if the delay was a pause
// (no collection ran and next to nothing was allocated meanwhile) and
// enough was allocated since the last release, else the timer starts
// again or, for too little, the pause is let be.
func (t *MemoryTrim) fire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.stats()
	if h.cycles != t.seen.cycles || h.allocs-t.seen.allocs > pauseMaxAlloc {
		t.seen = h
		t.clock.AfterFunc(t.delay, t.fire)
		return
	}
	t.armed = false
	if h.allocs-t.after.allocs < trimMinAlloc {
		t.after.cycles = h.cycles
		return
	}
	t.release()
	t.after = t.stats()
}
