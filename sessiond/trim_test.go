package sessiond

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// stepClock is a fakeClock whose timers fire only when the test says.
type stepClock struct {
	fakeClock
	mu      sync.Mutex
	pending []func()
}

func (c *stepClock) AfterFunc(_ time.Duration, f func()) stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, f)
	return stopFunc(func() bool { return false })
}

type stopFunc func() bool

func (f stopFunc) Stop() bool { return f() }

// fire runs the timers armed so far and returns how many there were.
func (c *stepClock) fire() int {
	c.mu.Lock()
	fs := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
	return len(fs)
}

// TestMemoryTrim: the memory goes back once a whole delay passed without
// a collection after one, once per pause; a collection during the delay
// starts it again; the release's own collection arms nothing.
func TestMemoryTrim(t *testing.T) {
	clk := &stepClock{}
	var h heapStats
	releases := 0
	// FreeOSMemory collects, and allocates next to nothing.
	release := func() { releases++; h.cycles++ }
	tr := NewMemoryTrim(clk, time.Second, release, func() heapStats { return h })
	const work = 4 << 20 // bytes a collection's worth of work allocated
	steps := []struct {
		name         string
		collections  int    // before the armed timers fire
		alloc        uint64 // bytes allocated before each of them
		busy         uint64 // bytes allocated after them, with no collection
		ownCollected bool
		timers       int // timers armed when they fire
		wantReleases int
	}{
		{"idle: no timer", 0, 0, 0, false, 0, 0},
		// The first collection arms the timer, the second comes during
		// the delay: its end starts it again.
		{"collections during the delay: armed again", 2, work, 0, false, 1, 0},
		// Calls go on with a large heap: no collection for a whole
		// delay, but no pause either.
		{"calls during the delay, no collection: armed again", 0, 0, 1 << 20, false, 1, 0},
		{"a quiet delay: released", 0, 0, 0, false, 1, 1},
		{"the release's own collection is noted: no timer", 0, 0, 0, true, 0, 1},
		{"work again: released again", 1, work, 0, false, 1, 2},
		{"a collection of an idle heap: not worth a release", 1, 1 << 10, 0, false, 1, 2},
		{"and it arms nothing more", 0, 0, 0, false, 0, 2},
		{"work, then a trickle of calls in the delay: still a pause", 1, work, 4 << 10, false, 1, 3},
	}
	for _, st := range steps {
		if st.ownCollected {
			tr.Collected() // the finalizer of the release's collection
		}
		for range st.collections {
			h.allocs += st.alloc
			h.cycles++
			tr.Collected()
		}
		h.allocs += st.busy
		if n := clk.fire(); n != st.timers {
			t.Fatalf("%s: %d timers armed, want %d", st.name, n, st.timers)
		}
		if releases != st.wantReleases {
			t.Fatalf("%s: %d releases, want %d", st.name, releases, st.wantReleases)
		}
	}
}

// TestWatchCollections: the sentinel's finalizer tells of collections,
// one after another (it sets itself again). The note never blocks: it runs
// on the runtime's one finalizer goroutine, for as long as the process
// lives (a blocking one stalled every later -count run's finalizers).
func TestWatchCollections(t *testing.T) {
	got := make(chan struct{}, 1)
	watchCollections(func() {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	for i := range 3 {
		runtime.GC()
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("collection %d not told", i)
		}
	}
}
