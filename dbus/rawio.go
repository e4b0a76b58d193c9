package dbus

import (
	"syscall"
	"unsafe"
)

// rawIO is the Conn's recvmsg and sendmsg, made as raw system calls
// from inside the netpoller's RawConn.Read and Write (which still park
// the goroutine until the socket is ready). Both are MSG_DONTWAIT on a
// non-blocking socket, so they never block; made through
// syscall.Syscall instead (as net.UnixConn does), each entered the
// runtime's syscall state, which wakes a sleeping sysmon, and sysmon
// hands the only P to another thread when it finds one in a system call
// for a tick: per GetSessionByPID that was 26 µs of sysmon's CPU and
// 1.4 of its wake-ups, and a second thread taking turns with the first
// (schedstat per thread, sdbench).
type rawIO struct {
	rc syscall.RawConn

	// The reader's message header (only the reader receives).
	rmsg  syscall.Msghdr
	riov  syscall.Iovec
	rn    int
	rerr  syscall.Errno
	rfunc func(fd uintptr) bool

	// The writers' (used under the Conn's wmu).
	wmsg  syscall.Msghdr
	wiov  syscall.Iovec
	wn    int
	werr  syscall.Errno
	wfunc func(fd uintptr) bool
}

// msgCall makes one non-blocking recvmsg or sendmsg (trap), again after
// EINTR; ok is false on EAGAIN, for the poller to wait on the socket.
func msgCall(trap, fd uintptr, msg *syscall.Msghdr, flags uintptr) (n int, e syscall.Errno, ok bool) {
	for {
		r, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(msg)), flags)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, 0, false
		}
		return int(r), e, true
	}
}

func newRawIO(rc syscall.RawConn) *rawIO {
	r := &rawIO{rc: rc}
	r.rmsg.Iov, r.rmsg.Iovlen = &r.riov, 1
	r.wmsg.Iov, r.wmsg.Iovlen = &r.wiov, 1
	r.rfunc = func(fd uintptr) bool {
		var ok bool
		r.rn, r.rerr, ok = msgCall(syscall.SYS_RECVMSG, fd, &r.rmsg, syscall.MSG_DONTWAIT|syscall.MSG_CMSG_CLOEXEC)
		return ok // false: wait until readable
	}
	r.wfunc = func(fd uintptr) bool {
		var ok bool
		r.wn, r.werr, ok = msgCall(syscall.SYS_SENDMSG, fd, &r.wmsg, syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL)
		return ok // false: wait until writable
	}
	return r
}

// setMsg points msg's one buffer (iov) at b (not empty) and its ancillary
// data at oob (none when empty).
func setMsg(msg *syscall.Msghdr, iov *syscall.Iovec, b, oob []byte) {
	iov.Base = &b[0]
	iov.SetLen(len(b))
	msg.Control = nil
	msg.SetControllen(0)
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
}

// recv reads into p (not empty) and its ancillary data into oob; the
// reader's alone.
func (r *rawIO) recv(p, oob []byte) (n, oobn int, err error) {
	setMsg(&r.rmsg, &r.riov, p, oob)
	if err := r.rc.Read(r.rfunc); err != nil {
		return 0, 0, err
	}
	if r.rerr != 0 {
		return 0, 0, r.rerr
	}
	return r.rn, int(r.rmsg.Controllen), nil
}

// send writes all of b, oob with its first bytes; under the Conn's wmu.
func (r *rawIO) send(b, oob []byte) error {
	for len(b) > 0 {
		setMsg(&r.wmsg, &r.wiov, b, oob)
		if err := r.rc.Write(r.wfunc); err != nil {
			return err
		}
		if r.werr != 0 {
			return r.werr
		}
		// The descriptors went with the first bytes; the rest is plain.
		b, oob = b[r.wn:], nil
	}
	return nil
}
