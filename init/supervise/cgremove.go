package supervise

import (
	"sync"
)

// remover removes the cgroups of released services off the manager's
// goroutine. An rmdir of a cgroup (kernfs removing its interface files
// under cgroup_mutex) was 17-22% of the manager's CPU in a stop of
// thousands of services, and nothing needs the directory gone at once:
// only the next start of the same service (claim) and the daemon's exit
// (Run drains the queue before it returns).
//
// One worker goroutine runs while the queue holds anything and ends when
// it is empty, so an idle Supervisor keeps no goroutine for it. Entries
// are removed in the order they were released.
type remover struct {
	// remove removes one service cgroup with what its service left below
	// it, logging what it could not (Supervisor.removeCgroup).
	remove func(dir string)

	mu      sync.Mutex
	changed *sync.Cond // busy or running changed
	queue   []string
	queued  map[string]bool // in queue and not claimed back
	busy    map[string]bool // being removed: by the worker, or inline
	running bool            // a worker goroutine runs
}

func newRemover(remove func(dir string)) *remover {
	r := &remover{remove: remove, queued: map[string]bool{}, busy: map[string]bool{}}
	r.changed = sync.NewCond(&r.mu)
	return r
}

// add queues dir for removal.
func (r *remover) add(dir string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queued[dir] {
		return
	}
	r.queued[dir] = true
	r.queue = append(r.queue, dir)
	if !r.running {
		r.running = true
		go r.work()
	}
}

func (r *remover) work() {
	r.mu.Lock()
	for {
		dir := ""
		for dir == "" && len(r.queue) > 0 {
			d := r.queue[0]
			r.queue = r.queue[1:]
			if r.queued[d] {
				delete(r.queued, d)
				dir = d
			}
		}
		if dir == "" {
			// The burst is over: give its memory back.
			r.queue, r.running = nil, false
			r.changed.Broadcast()
			r.mu.Unlock()
			return
		}
		r.busy[dir] = true
		r.mu.Unlock()
		r.remove(dir)
		r.mu.Lock()
		delete(r.busy, dir)
		r.changed.Broadcast()
	}
}

// claim is called before dir is made for a new start: a removal still
// queued is done now, on the caller's goroutine, and one under way is
// waited for, so that the start never has its fresh cgroup removed under
// it. (Reusing the queued directory instead would keep limits a reloaded
// description no longer sets.)
func (r *remover) claim(dir string) {
	r.mu.Lock()
	for r.busy[dir] {
		r.changed.Wait()
	}
	queued := r.queued[dir]
	delete(r.queued, dir)
	r.mu.Unlock()
	if queued {
		r.remove(dir)
	}
}

// inline runs f, a removal of dir by another goroutine than the worker
// (the reaper's, at a stopped process's exit), as one of the remover's
// own: a start of the same service (claim) waits until f is done.
func (r *remover) inline(dir string, f func()) {
	r.mu.Lock()
	for r.busy[dir] {
		r.changed.Wait()
	}
	r.busy[dir] = true
	r.mu.Unlock()
	f()
	r.mu.Lock()
	delete(r.busy, dir)
	r.changed.Broadcast()
	r.mu.Unlock()
}

// flush waits until every queued removal is done.
func (r *remover) flush() {
	r.mu.Lock()
	for r.running {
		r.changed.Wait()
	}
	r.mu.Unlock()
}
