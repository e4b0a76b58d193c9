package supervise

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/rawsys"
)

// outputs copies services' output pipes into their in-memory buffers
// (log-type buffer, and the default tail) from one goroutine. A goroutine
// per pipe, with its stack and read buffer, cost about 10 KiB for every
// service, most of ginit's memory with a thousand services; one epoll set
// costs a few dozen bytes a pipe. The epoll fd is itself watched by the Go
// runtime's poller, so waiting for output holds no thread.
//
// Writers must not block: they are memory buffers. Output that goes to disk
// (a rotating log file) keeps a goroutine of its own.
type outputs struct {
	ep *os.File // the epoll set, nonblocking, in the runtime poller

	mu    sync.Mutex // guards pipes and closed; never held across a write
	pipes map[int32]io.Writer
	// closed: run has ended; later pipes are closed at once.
	closed bool
}

// readChunk is the read buffer, and at most this much of one pipe is read
// per round, so that one chatty service cannot hold up the others.
const readChunk = 4096

func newOutputs() (*outputs, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("epoll fd: %w", err)
	}
	return &outputs{ep: os.NewFile(uintptr(fd), "outputs"), pipes: map[int32]io.Writer{}}, nil
}

// pipe makes a pipe whose read end is copied into w from now on and returns
// its write end (blocking, for the child). Every call is raw (rawsys): a
// respawn's set-up must not wake the runtime's sysmon.
func (o *outputs) pipe(w io.Writer) (int, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil { // raw in x/sys
		return -1, fmt.Errorf("output pipe: %w", err)
	}
	r := p[0]
	if err := rawsys.SetNonblock(r); err != nil {
		rawsys.Close(p[0])
		rawsys.Close(p[1])
		return -1, fmt.Errorf("output pipe: %w", err)
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		rawsys.Close(r) // nobody reads any more: like a dead ginit
		return p[1], nil
	}
	o.pipes[int32(r)] = w
	o.mu.Unlock()
	if err := o.ctl(unix.EPOLL_CTL_ADD, r); err != nil {
		o.mu.Lock()
		// run may have ended meanwhile and closed r already.
		if _, ok := o.pipes[int32(r)]; ok {
			delete(o.pipes, int32(r))
			rawsys.Close(r)
		}
		o.mu.Unlock()
		rawsys.Close(p[1])
		return -1, fmt.Errorf("output pipe: epoll_ctl: %w", err)
	}
	return p[1], nil
}

func (o *outputs) ctl(op, fd int) error {
	rc, err := o.ep.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	if err := rc.Control(func(ep uintptr) {
		cerr = unix.EpollCtl(int(ep), op, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
	}); err != nil {
		return err
	}
	return cerr
}

// run copies output until stop is closed, then closes the pipes (as
// ginit's own exit would) and the epoll set.
func (o *outputs) run(stop <-chan struct{}) {
	rc, err := o.ep.SyscallConn()
	if err != nil {
		return
	}
	ended := make(chan struct{})
	go func() {
		select {
		case <-stop:
		case <-ended:
		}
		// Wakes the Read below with an error.
		_ = o.ep.SetReadDeadline(time.Unix(1, 0))
	}()
	events := make([]unix.EpollEvent, 64)
	buf := make([]byte, readChunk)
	_ = rc.Read(func(ep uintptr) bool {
		for {
			n, err := rawsys.EpollPoll(int(ep), events)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n == 0 {
				return false // wait for the poller
			}
			for _, ev := range events[:n] {
				o.drain(int(ep), int(ev.Fd), buf)
			}
		}
	})
	close(ended)
	o.mu.Lock()
	o.closed = true
	for fd := range o.pipes {
		unix.Close(int(fd))
	}
	clear(o.pipes)
	o.mu.Unlock()
	o.ep.Close()
}

// drain reads what one pipe holds (up to readChunk) into its writer and
// drops the pipe at its end.
func (o *outputs) drain(ep, fd int, buf []byte) {
	o.mu.Lock()
	w := o.pipes[int32(fd)]
	o.mu.Unlock()
	if w == nil {
		return
	}
	n, err := rawsys.Read(fd, buf) // nonblocking; again on EINTR
	if n > 0 {
		_, _ = w.Write(buf[:n])
		return
	}
	if errors.Is(err, unix.EAGAIN) {
		return
	}
	// EOF: every writer has closed (the service's processes are gone).
	_ = unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, fd, nil) // raw in x/sys
	o.mu.Lock()
	delete(o.pipes, int32(fd))
	o.mu.Unlock()
	rawsys.Close(fd)
}
