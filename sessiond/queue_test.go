package sessiond

import (
	"context"
	"testing"
	"time"
)

// TestPostKeepsOrder: events one watcher posts are applied in the order
// it posted them (two VT switches or lid events must not land reversed).
func TestPostKeepsOrder(t *testing.T) {
	w := newWorld(t, "", nil, &fakeVTs{active: 1})
	const n = 2000
	var applied []int // touched only on the owner goroutine
	for i := range n {
		w.m.post(func(s *state) { applied = append(applied, i) })
	}
	checkInOrder(t, w, "every event applied", &applied, n)
}

// TestPostFromOwner: the owner goroutine may post (more than any buffer
// holds) without deadlocking itself, and its events run after the
// current one, in order.
func TestPostFromOwner(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	const n = 5000
	var applied []int
	done := make(chan struct{})
	go func() {
		w.state(func(s *state) {
			for i := range n {
				s.m.post(func(s *state) { applied = append(applied, i) })
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("posting from the owner goroutine deadlocked")
	}
	checkInOrder(t, w, "the owner's events", &applied, n)
}

// TestPostAfterStop: once the loop is gone a watcher's post returns
// instead of blocking it forever.
func TestPostAfterStop(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	w.stop()
	done := make(chan struct{})
	go func() {
		for range 10000 {
			w.m.post(func(s *state) {})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("post blocked after the loop stopped")
	}
	if err := w.m.do(func(s *state) error { return nil }); err != errStopped {
		t.Errorf("do after stop: %v, want errStopped", err)
	}
}

// TestDoWaitsOnlyWhileRunning: a request queued just as the loop stops
// is answered with errStopped rather than left waiting.
func TestDoWaitsOnlyWhileRunning(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	release := make(chan struct{})
	go func() { _ = w.m.do(func(s *state) error { <-release; return nil }) }()
	time.Sleep(10 * time.Millisecond)
	res := make(chan error, 1)
	go func() { res <- w.m.do(func(s *state) error { return nil }) }()
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { w.stop() }()
	time.Sleep(10 * time.Millisecond)
	close(release)
	select {
	case err := <-res:
		if err != nil && err != errStopped {
			t.Errorf("do: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("do still waiting after the loop stopped")
	}
}

// checkInOrder waits until n events are in *applied (which only the
// owner goroutine touches) and checks they ran in posting order. It
// checks on the test goroutine: t.Fatal inside a state closure would end
// the owner goroutine instead.
func checkInOrder(t *testing.T, w *world, what string, applied *[]int, n int) {
	t.Helper()
	w.waitFor(what, func() bool {
		k := 0
		w.state(func(s *state) { k = len(*applied) })
		return k == n
	})
	var got []int
	w.state(func(s *state) { got = append(got, *applied...) })
	for i, v := range got {
		if v != i {
			t.Fatalf("event %d applied as number %d", v, i)
		}
	}
}
