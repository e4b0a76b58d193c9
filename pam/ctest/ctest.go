//go:build cgo

package ctest

/*
#cgo CFLAGS: -std=c11 -Wall -Wextra -Werror -I${SRCDIR}/..
#include <stdlib.h>
#include <string.h>
#include "logic.c"

// The test's side of pamsd_inputs' and pamsd_parse_options' callbacks.
struct tctx {
	const char *const *argv;
	int argc;
	int *unknown; // per argument: reported unknown
	const char *const *env; // NAME, value, NAME, value, ..., NULL
	uint32_t vt;
	char notes[4096];
	size_t nlen;
};

static void t_unknown(void *ctx, const char *arg)
{
	struct tctx *t = ctx;
	for (int i = 0; i < t->argc; i++)
		if (t->argv[i] == arg)
			t->unknown[i] = 1;
}

static const char *t_env(void *ctx, const char *name)
{
	struct tctx *t = ctx;
	for (const char *const *e = t->env; e != NULL && e[0] != NULL; e += 2)
		if (strcmp(e[0], name) == 0)
			return e[1];
	return NULL;
}

static uint32_t t_vt(void *ctx, const char *display)
{
	(void)display;
	return ((struct tctx *)ctx)->vt;
}

static void t_note(void *ctx, const char *msg)
{
	struct tctx *t = ctx;
	size_t n = strlen(msg);
	if (t->nlen + n + 2 > sizeof t->notes)
		return;
	memcpy(t->notes + t->nlen, msg, n);
	t->nlen += n;
	t->notes[t->nlen++] = '\n';
	t->notes[t->nlen] = '\0';
}

static void t_parse(struct tctx *t, struct pamsd_options *o)
{
	pamsd_parse_options(t->argc, t->argv, o, t_unknown, t);
}

static void t_build(struct tctx *t, struct pamsd_inputs *in, struct pamsd_request *r)
{
	in->env = t_env;
	in->display_vt = t->vt == (uint32_t)-1 ? NULL : t_vt;
	in->note = t_note;
	in->ctx = t;
	pamsd_build_request(in, r);
}
*/
import "C"

import (
	"strings"
	"unsafe"
)

// Options mirrors struct pamsd_options; a NULL string is "".
type Options struct {
	Class, Type, Desktop string
	Debug, Strict        bool
	BusWait              float64 // seconds
}

// Item mirrors enum pamsd_item.
type Item int

// The PAM items of a request.
const (
	ItemService  Item = C.PAMSD_ITEM_SERVICE
	ItemTTY      Item = C.PAMSD_ITEM_TTY
	ItemRUser    Item = C.PAMSD_ITEM_RUSER
	ItemRHost    Item = C.PAMSD_ITEM_RHOST
	ItemXDisplay Item = C.PAMSD_ITEM_XDISPLAY
)

// DefaultBusWait is PAMSD_DEFAULT_BUS_WAIT.
const DefaultBusWait = float64(C.PAMSD_DEFAULT_BUS_WAIT)

// cstrings holds C copies of Go strings until free.
type cstrings []unsafe.Pointer

func (c *cstrings) str(s string) *C.char {
	p := C.CString(s)
	*c = append(*c, unsafe.Pointer(p))
	return p
}

// array returns a C array of the strings, NULL-terminated.
func (c *cstrings) array(ss []string) **C.char {
	a := (**C.char)(C.calloc(C.size_t(len(ss)+1), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	*c = append(*c, unsafe.Pointer(a))
	s := unsafe.Slice(a, len(ss)+1)
	for i, v := range ss {
		s[i] = c.str(v)
	}
	return a
}

func (c *cstrings) free() {
	for _, p := range *c {
		C.free(p)
	}
}

func gostr(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// ParseOptions runs pamsd_parse_options and returns the options and the
// arguments it reported as unknown or malformed.
func ParseOptions(args []string) (Options, []string) {
	var cs cstrings
	defer cs.free()
	var t C.struct_tctx
	t.argv = cs.array(args)
	t.argc = C.int(len(args))
	flags := (*C.int)(C.calloc(C.size_t(len(args)+1), C.size_t(unsafe.Sizeof(C.int(0)))))
	cs = append(cs, unsafe.Pointer(flags))
	t.unknown = flags
	var o C.struct_pamsd_options
	C.t_parse(&t, &o)
	var unknown []string
	for i, f := range unsafe.Slice(flags, len(args)) {
		if f != 0 {
			unknown = append(unknown, args[i])
		}
	}
	return Options{Class: gostr(o.class_), Type: gostr(o._type), Desktop: gostr(o.desktop),
		Debug: o.debug != 0, Strict: o.strict != 0, BusWait: float64(o.bus_wait)}, unknown
}

// Request mirrors struct pamsd_request.
type Request struct {
	UID, PID                            uint32
	Service, Type, Class, Desktop, Seat string
	VTNr                                uint32
	TTY, Display                        string
	Remote                              bool
	RemoteUser, RemoteHost              string
}

// Inputs are pamsd_inputs: a missing item is absent from Items, the
// environment is Env (PAM and process environment in one), and VT is
// what the display lookup answers (NoDisplayVT: no lookup at all).
type Inputs struct {
	UID, PID uint32
	Opts     Options
	Items    map[Item]string
	Env      map[string]string
	VT       uint32
}

// NoDisplayVT as Inputs.VT passes no display lookup.
const NoDisplayVT = ^uint32(0)

// BuildRequest runs pamsd_build_request; it also returns the notes.
func BuildRequest(in Inputs) (Request, []string) {
	var cs cstrings
	defer cs.free()
	var t C.struct_tctx
	var env []string
	for k, v := range in.Env {
		env = append(env, k, v)
	}
	t.env = cs.array(env)
	t.vt = C.uint32_t(in.VT)
	// C memory: the inputs point at the options.
	opts := (*C.struct_pamsd_options)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_pamsd_options{}))))
	cs = append(cs, unsafe.Pointer(opts))
	opt := func(s string) *C.char {
		if s == "" {
			return nil
		}
		return cs.str(s)
	}
	opts.class_, opts._type, opts.desktop = opt(in.Opts.Class), opt(in.Opts.Type), opt(in.Opts.Desktop)
	var ci C.struct_pamsd_inputs
	ci.uid, ci.pid, ci.opts = C.uint32_t(in.UID), C.uint32_t(in.PID), opts
	for it, v := range in.Items {
		ci.items[it] = cs.str(v)
	}
	var r C.struct_pamsd_request
	C.t_build(&t, &ci, &r)
	var notes []string
	if t.nlen > 0 {
		notes = strings.Split(strings.TrimSuffix(C.GoString(&t.notes[0]), "\n"), "\n")
	}
	return Request{UID: uint32(r.uid), PID: uint32(r.pid), Service: gostr(r.service), Type: gostr(r._type),
		Class: gostr(r.class_), Desktop: gostr(r.desktop), Seat: gostr(r.seat), VTNr: uint32(r.vtnr),
		TTY: gostr(r.tty), Display: gostr(r.display), Remote: r.remote != 0,
		RemoteUser: gostr(r.remote_user), RemoteHost: gostr(r.remote_host)}, notes
}

// VTOfTTY runs pamsd_vt_of_tty.
func VTOfTTY(tty string) uint32 {
	var cs cstrings
	defer cs.free()
	return uint32(C.pamsd_vt_of_tty(cs.str(tty)))
}

// VTOfStat runs pamsd_vt_of_stat; why is "" on success.
func VTOfStat(stat []byte) (vt uint32, why string) {
	p := C.CBytes(stat)
	defer C.free(p)
	var w *C.char
	vt = uint32(C.pamsd_vt_of_stat((*C.char)(p), C.size_t(len(stat)), &w))
	return vt, gostr(w)
}

// X11Socket runs pamsd_x11_socket with a buffer of size bytes.
func X11Socket(dir, display string, size int) (string, bool) {
	var cs cstrings
	defer cs.free()
	buf := (*C.char)(C.malloc(C.size_t(size + 1)))
	defer C.free(unsafe.Pointer(buf))
	if C.pamsd_x11_socket(cs.str(dir), cs.str(display), buf, C.size_t(size)) != 0 {
		return "", false
	}
	return C.GoString(buf), true
}

// EscapeBusAddress runs pamsd_escape_bus_address with a buffer of size
// bytes.
func EscapeBusAddress(s string, size int) (string, bool) {
	var cs cstrings
	defer cs.free()
	buf := (*C.char)(C.malloc(C.size_t(size + 1)))
	defer C.free(unsafe.Pointer(buf))
	if C.pamsd_escape_bus_address(cs.str(s), buf, C.size_t(size)) != 0 {
		return "", false
	}
	return C.GoString(buf), true
}

// Quote runs pamsd_quote with a buffer of size bytes.
func Quote(s string, size int) string {
	var cs cstrings
	defer cs.free()
	buf := (*C.char)(C.malloc(C.size_t(size + 1)))
	defer C.free(unsafe.Pointer(buf))
	C.pamsd_quote(cs.str(s), buf, C.size_t(size))
	if size == 0 {
		return ""
	}
	return C.GoString(buf)
}

// ParseSeconds runs pamsd_parse_seconds.
func ParseSeconds(s string) (float64, bool) {
	var cs cstrings
	defer cs.free()
	var v C.double
	ok := C.pamsd_parse_seconds(cs.str(s), &v) == 0
	return float64(v), ok
}

// IsLocalhost runs pamsd_is_localhost.
func IsLocalhost(host string) bool {
	var cs cstrings
	defer cs.free()
	return C.pamsd_is_localhost(cs.str(host)) != 0
}
