package daemon

import (
	"context"
	"testing"
	"time"
)

// The watch arms its timerfd, fires nothing while the clock is left
// alone, and ends with its context. (Setting the wall clock is not done
// here: it would be the host's; TestTimerWallClockSet covers what the
// manager does when told.)
func TestWatchClockSetEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sets := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() { watchClockSet(ctx, func() { sets <- struct{}{} }, testLog{t}); close(done) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not end with its context")
	}
	select {
	case <-sets:
		t.Fatal("a clock change reported while nobody set the clock")
	default:
	}
}
