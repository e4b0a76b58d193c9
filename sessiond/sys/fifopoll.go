package sys

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// FIFOPoller watches many FIFO read ends with one epoll set and one
// goroutine, where FIFO.Watch costs a goroutine (and its stack) per
// FIFO: with thousands of sessions that was most of sessiond's memory
// per session. This set only learns when one may be readable; the read
// that decides EOF holds the FIFO's lock, so a FIFO closed meanwhile
// (its descriptor perhaps reused) is never read.
type FIFOPoller struct {
	epfd, wake int
	done       chan struct{}

	mu      sync.Mutex // guards next, watches, closed; a leaf lock
	next    int32
	watches map[int32]*fifoWatch
	closed  bool
}

type fifoWatch struct {
	h   *FIFO
	eof func()
}

// wakeKey is the eventfd's key in the epoll set; FIFOs get keys from 1.
const wakeKey = 0

// NewFIFOPoller returns a running poller; Close stops it.
func NewFIFOPoller() (*FIFOPoller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeKey}); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll_ctl eventfd: %w", err)
	}
	p := &FIFOPoller{epfd: epfd, wake: wake, done: make(chan struct{}), watches: map[int32]*fifoWatch{}}
	go p.loop()
	return p, nil
}

// Watch calls eof (on the poller's goroutine, or before Watch returns
// when no writer holds h now: it must not block) once every writer of h
// is gone, unless h is closed first; as FIFO.Watch, without a goroutine
// of its own.
func (p *FIFOPoller) Watch(h *FIFO, eof func()) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("watch fifo: poller closed")
	}
	p.next++
	key := p.next
	p.watches[key] = &fifoWatch{h: h, eof: eof}
	p.mu.Unlock()
	h.mu.Lock()
	h.poller, h.key = p, key
	err := errors.New("closed")
	if h.fd >= 0 {
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, h.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: key})
	}
	h.mu.Unlock()
	if err != nil {
		p.forget(key)
		return fmt.Errorf("watch fifo: epoll_ctl: %w", err)
	}
	// A FIFO no writer has opened since we did never reports a hang-up:
	// read it once now (as FIFO.Watch's first read would).
	p.check(key)
	return nil
}

// forget drops key; a closed file has already left the epoll set.
func (p *FIFOPoller) forget(key int32) {
	p.mu.Lock()
	delete(p.watches, key)
	p.mu.Unlock()
}

func (p *FIFOPoller) loop() {
	defer close(p.done)
	evs := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(p.epfd, evs, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range evs[:n] {
			if ev.Fd == wakeKey {
				return
			}
			p.check(ev.Fd)
		}
	}
}

// check reads what key's FIFO holds: stray bytes are dropped, EOF (no
// writer left) ends the watch and calls eof.
func (p *FIFOPoller) check(key int32) {
	p.mu.Lock()
	w := p.watches[key]
	p.mu.Unlock()
	if w == nil {
		return // closed or ended since epoll_wait returned
	}
	eof := false
	var buf [64]byte
	// Under the FIFO's lock: a concurrent Close waits, so a closed (and
	// perhaps reused) descriptor is never read. The read end is
	// non-blocking: the lock is held for a read or two.
	w.h.mu.Lock()
	for fd := w.h.fd; fd >= 0; {
		n, err := unix.Read(fd, buf[:])
		if n > 0 {
			continue // clients do not write; ignore stray bytes
		}
		if n == 0 && err == nil {
			eof = true
			_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		}
		break // EOF, EAGAIN (writers left) or an error: done
	}
	w.h.mu.Unlock()
	if !eof {
		return
	}
	p.mu.Lock()
	_, still := p.watches[key]
	delete(p.watches, key)
	p.mu.Unlock()
	if still {
		w.eof()
	}
}

// Close stops the poller; FIFOs watched stay open and are no longer
// watched.
func (p *FIFOPoller) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	_, _ = unix.Write(p.wake, one)
	<-p.done
	unix.Close(p.wake)
	unix.Close(p.epfd)
}
