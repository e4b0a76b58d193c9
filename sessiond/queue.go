package sessiond

import "sync"

// queue is the owner loop's one inbox: bus handlers (do) and watchers,
// timers and the loop itself (post) append closures, and only the loop
// takes them, oldest first, so closures run in the order they were
// queued — two VT changes or lid events posted by one watcher are
// applied in the order it saw them.
//
// Why not a bounded channel (init/service's events channel): a sender
// blocks while it is full. The owner goroutine posts too (a closure
// scheduling a follow-up, a clock that fires inline), and an owner
// blocked on its own full inbox never drains it: a deadlock. A watcher
// blocked on it stalls its device or FIFO for as long as the owner is
// busy. So push never blocks anyone, and the queue is unbounded. What
// bounds it is its producers: each do caller waits for its answer, and
// a watcher or timer posts once per real event (a VT switch, a key, a
// FIFO closing, a timer firing), so the queue only grows while the owner
// is stuck — and then nothing else could help either.
//
// Once the loop has stopped, close hands back what is left (Run answers
// each waiting do with errStopped) and later pushes are refused, so no
// caller waits for a loop that is gone.
type queue struct {
	mu     sync.Mutex
	items  []request
	closed bool
	// wake holds a token whenever items may be non-empty; capacity 1, so
	// a push never waits for the loop.
	wake chan struct{}
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

// push appends r; false once the queue is closed.
func (q *queue) push(r request) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, r)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // a token is already there
	}
	return true
}

// take removes up to limit requests, oldest first.
func (q *queue) take(limit int) []request {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(limit, len(q.items))
	out := make([]request, n)
	copy(out, q.items)
	clear(q.items[:n])
	q.items = q.items[n:]
	if len(q.items) == 0 {
		q.items = nil // let the backing array go after a burst
	}
	return out
}

// close refuses further pushes and returns what was never taken.
func (q *queue) close() []request {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	left := q.items
	q.items = nil
	return left
}
