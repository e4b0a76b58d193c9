package cgroup2

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Watcher reports changes of cgroups' cgroup.events (populated, frozen)
// through one inotify fd read by one goroutine, so emptiness is learnt
// when the kernel says so instead of by polling.
//
// Callbacks run on the Watcher's goroutine, must not block, and may be
// called for changes that leave "populated" as it was: they should re-read
// it (Populated). Lock order: mu is taken alone and never held while a
// callback runs.
type Watcher struct {
	f *os.File

	mu   sync.Mutex
	subs map[int32][]*sub // watch descriptor -> subscribers
}

type sub struct{ changed func() }

// NewWatcher starts a Watcher; Close ends it.
func NewWatcher() (*Watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	w := &Watcher{f: os.NewFile(uintptr(fd), "inotify"), subs: map[int32][]*sub{}}
	go w.run()
	return w, nil
}

// Close stops the Watcher; no callback runs after its goroutine sees it.
func (w *Watcher) Close() error { return w.f.Close() }

// Watch calls changed whenever dir's cgroup.events changes, until the
// returned cancel is called or dir is removed. Several watches of one dir
// are independent.
func (w *Watcher) Watch(dir string, changed func()) (cancel func(), err error) {
	path := filepath.Join(dir, "cgroup.events")
	rc, err := w.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var wd int
	var addErr error
	if err := rc.Control(func(fd uintptr) {
		wd, addErr = unix.InotifyAddWatch(int(fd), path, unix.IN_MODIFY)
	}); err != nil {
		return nil, err
	}
	if addErr != nil {
		return nil, fmt.Errorf("watch %s: %w", path, addErr)
	}
	s := &sub{changed}
	w.mu.Lock()
	w.subs[int32(wd)] = append(w.subs[int32(wd)], s)
	w.mu.Unlock()
	return func() { w.cancel(int32(wd), s, rc) }, nil
}

func (w *Watcher) cancel(wd int32, s *sub, rc interface{ Control(func(uintptr)) error }) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.subs[wd]
	for i, q := range l {
		if q == s {
			l = append(l[:i:i], l[i+1:]...)
			break
		}
	}
	if len(l) > 0 {
		w.subs[wd] = l
		return
	}
	if _, ok := w.subs[wd]; !ok {
		return // the kernel dropped the watch already (IN_IGNORED)
	}
	delete(w.subs, wd)
	_ = rc.Control(func(fd uintptr) { _, _ = unix.InotifyRmWatch(int(fd), uint32(wd)) })
}

func (w *Watcher) run() {
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		for _, ev := range parseEvents(buf[:n]) {
			w.deliver(ev)
		}
	}
}

// event is the part of a struct inotify_event that Watcher uses.
type event struct {
	wd   int32
	mask uint32
}

// parseEvents decodes a read from an inotify fd (native byte order; the
// names that follow each event are skipped: a file watch has none).
func parseEvents(b []byte) []event {
	var evs []event
	for len(b) >= unix.SizeofInotifyEvent {
		ev := event{
			wd:   int32(binary.NativeEndian.Uint32(b[0:4])),
			mask: binary.NativeEndian.Uint32(b[4:8]),
		}
		nameLen := int(binary.NativeEndian.Uint32(b[12:16]))
		evs = append(evs, ev)
		if len(b) < unix.SizeofInotifyEvent+nameLen {
			break
		}
		b = b[unix.SizeofInotifyEvent+nameLen:]
	}
	return evs
}

// deliver calls the subscribers of one event. An overflowed queue lost
// events, so everyone is told to re-read; a watch the kernel dropped (its
// cgroup was removed) gets a last call so that no one waits for it.
func (w *Watcher) deliver(ev event) {
	w.mu.Lock()
	var subs []*sub
	if ev.mask&unix.IN_Q_OVERFLOW != 0 {
		for _, l := range w.subs {
			subs = append(subs, l...)
		}
	} else {
		subs = append(subs, w.subs[ev.wd]...)
	}
	if ev.mask&unix.IN_IGNORED != 0 {
		delete(w.subs, ev.wd)
	}
	w.mu.Unlock()
	for _, s := range subs {
		s.changed()
	}
}
