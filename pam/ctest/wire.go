//go:build cgo

package ctest

/*
#cgo CFLAGS: -std=c11 -Wall -Wextra -Werror -I${SRCDIR}/..
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wire.c"
#include "bus.c"

static long w_parse(const void *b, size_t n, struct pamsd_msg *m, long *body_off)
{
	long r = pamsd_wire_parse(b, n, m);
	*body_off = r > 0 ? (long)(m->body - (const uint8_t *)b) : 0;
	return r;
}

static void w_deadline(struct timespec *d, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (long)(ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

// w_call opens a connection, calls CreateSession (or ReleaseSession
// when id is not NULL) and closes it, as module.c does.
static int w_call(const char *addr, int ms, const struct pamsd_request *req, const char *id,
		  struct pamsd_reply *rep, struct pamsd_err *err)
{
	struct timespec d;
	w_deadline(&d, ms);
	struct pamsd_bus *b = pamsd_bus_open(addr, &d, err);
	if (b == NULL)
		return -1;
	int r = id != NULL ? pamsd_bus_release_session(b, id, err) : pamsd_bus_create_session(b, req, rep, err);
	pamsd_bus_close(b);
	return r;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Msg is pamsd_wire_parse's view of a message.
type Msg struct {
	Type                 byte
	BigEndian            bool
	Serial               uint32
	HasReplySerial       bool
	ReplySerial          uint32
	ErrorName, Signature string
	HasErrorName         bool
	UnixFDs              uint32
	BodyOffset, BodyLen  int
	ErrorText            string
	CreateReply          *CreateReply
	CreateReplyNotOK     string
}

// CreateReply is pamsd_wire_create_reply's reading of a body.
type CreateReply struct {
	ID, ObjectPath, RuntimePath, Seat string
	FDIndex, UID, VTNr, Existing      uint32
}

// ParseMessage runs pamsd_wire_parse on b: the message's length (0: more
// bytes needed, -1: malformed) and, when complete, what it read,
// including its body as CreateSession's reply and as an error's text.
func ParseMessage(b []byte) (int, Msg) {
	p := C.CBytes(b)
	defer C.free(p)
	var m C.struct_pamsd_msg
	var off C.long
	n := int(C.w_parse(p, C.size_t(len(b)), &m, &off))
	if n <= 0 {
		return n, Msg{}
	}
	g := Msg{Type: byte(m._type), BigEndian: m.big_endian != 0, Serial: uint32(m.serial),
		HasReplySerial: m.has_reply_serial != 0, ReplySerial: uint32(m.reply_serial),
		ErrorName: gostr(m.error_name), HasErrorName: m.error_name != nil, Signature: gostr(m.signature),
		UnixFDs: uint32(m.unix_fds), BodyOffset: int(off), BodyLen: int(m.body_len),
		ErrorText: C.GoString(C.pamsd_wire_error_text(&m))}
	var cr C.struct_pamsd_create_reply
	var why *C.char
	if C.pamsd_wire_create_reply(&m, &cr, &why) == 0 {
		g.CreateReply = &CreateReply{ID: gostr(cr.id), ObjectPath: gostr(cr.object_path),
			RuntimePath: gostr(cr.runtime_path), Seat: gostr(cr.seat), FDIndex: uint32(cr.fd_index),
			UID: uint32(cr.uid), VTNr: uint32(cr.vtnr), Existing: uint32(cr.existing)}
	} else {
		g.CreateReplyNotOK = C.GoString(why)
	}
	return n, g
}

// MethodCall is pamsd_wire_call's message for the arguments, with a body
// of the given strings (signature "s" each).
func MethodCall(serial uint32, dest, path, iface, member string, args []string) []byte {
	var cs cstrings
	defer cs.free()
	var body, w C.struct_pamsd_wbuf
	sig := ""
	for _, a := range args {
		C.pamsd_put_str(&body, cs.str(a))
		sig += "s"
	}
	var d *C.char
	if dest != "" {
		d = cs.str(dest)
	}
	C.pamsd_wire_call(&w, C.uint32_t(serial), d, cs.str(path), cs.str(iface), cs.str(member), cs.str(sig), &body)
	out := C.GoBytes(unsafe.Pointer(w.p), C.int(w.len))
	C.pamsd_wbuf_free(&body)
	C.pamsd_wbuf_free(&w)
	return out
}

// ValidUTF8 is pamsd_valid_utf8.
func ValidUTF8(s string) bool {
	var cs cstrings
	defer cs.free()
	return C.pamsd_valid_utf8(cs.str(s)) != 0
}

// ErrKind is enum pamsd_err_kind.
type ErrKind int

const (
	ErrOther         = ErrKind(C.PAMSD_ERR_OTHER)
	ErrUnreachable   = ErrKind(C.PAMSD_ERR_UNREACHABLE)
	ErrBusy          = ErrKind(C.PAMSD_ERR_BUSY)
	ErrNoSuchSession = ErrKind(C.PAMSD_ERR_NO_SUCH_SESSION)
)

// BusError is a failed call's struct pamsd_err.
type BusError struct {
	Kind ErrKind
	Dial bool
	Msg  string
}

func (e *BusError) Error() string { return e.Msg }

// Reply is CreateSession's answer as the module gets it; FIFO is the
// received descriptor (-1: none), the caller's to close.
type Reply struct {
	ID, ObjectPath, RuntimePath, Seat string
	FIFO                              int
	UID, VTNr                         uint32
	Existing                          bool
}

func busCall(addr string, ms int, r *Request, id *string) (Reply, error) {
	var cs cstrings
	defer cs.free()
	var req C.struct_pamsd_request
	var cid *C.char
	if r != nil {
		req.uid, req.pid, req.vtnr = C.uint32_t(r.UID), C.uint32_t(r.PID), C.uint32_t(r.VTNr)
		req.service, req._type, req.class_ = cs.str(r.Service), cs.str(r.Type), cs.str(r.Class)
		req.desktop, req.seat, req.tty, req.display = cs.str(r.Desktop), cs.str(r.Seat), cs.str(r.TTY), cs.str(r.Display)
		req.remote_user, req.remote_host = cs.str(r.RemoteUser), cs.str(r.RemoteHost)
		if r.Remote {
			req.remote = 1
		}
	}
	if id != nil {
		cid = cs.str(*id)
	}
	rep := C.struct_pamsd_reply{fifo: -1}
	var e C.struct_pamsd_err
	if C.w_call(cs.str(addr), C.int(ms), &req, cid, &rep, &e) != 0 {
		return Reply{FIFO: -1}, &BusError{Kind: ErrKind(e.kind), Dial: e.dial != 0, Msg: C.GoString(&e.msg[0])}
	}
	out := Reply{ID: gostr(rep.id), ObjectPath: gostr(rep.object_path), RuntimePath: gostr(rep.runtime_path),
		Seat: gostr(rep.seat), FIFO: int(rep.fifo), UID: uint32(rep.uid), VTNr: uint32(rep.vtnr),
		Existing: rep.existing != 0}
	rep.fifo = -1 // handed to the caller
	C.pamsd_reply_free(&rep)
	return out, nil
}

// CreateSession connects to addr, calls CreateSession within ms
// milliseconds and closes the connection, as the module does.
func CreateSession(addr string, ms int, r Request) (Reply, error) {
	return busCall(addr, ms, &r, nil)
}

// ReleaseSession is the same for ReleaseSession.
func ReleaseSession(addr string, ms int, id string) error {
	_, err := busCall(addr, ms, nil, &id)
	return err
}

// AsBusError is errors.As for a *BusError.
func AsBusError(err error) (*BusError, bool) {
	var be *BusError
	ok := errors.As(err, &be)
	return be, ok
}
