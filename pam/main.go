// Command pam_sessiond is the PAM session module pam_sessiond.so, built
// with -buildmode=c-shared. This package is only the cgo shim between
// libpam and ginit/pam/internal/session, where the logic lives: the C
// side (shim.c) defines the pam_sm_* entry points and the Go side here
// adapts a pam_handle_t to session.Handle.
package main

/*
#cgo LDFLAGS: -lpam
#include <stdlib.h>
#include <syslog.h>
#include <security/pam_appl.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"

	"ginit/pam/internal/session"
)

func main() {}

// handle adapts a pam_handle_t to session.Handle.
type handle struct {
	h *C.pam_handle_t
}

var _ session.Handle = handle{}

func (p handle) Item(it session.Item) (string, error) {
	var n C.int
	switch it {
	case session.ItemService:
		n = C.PAM_SERVICE
	case session.ItemUser:
		n = C.PAM_USER
	case session.ItemTTY:
		n = C.PAM_TTY
	case session.ItemRUser:
		n = C.PAM_RUSER
	case session.ItemRHost:
		n = C.PAM_RHOST
	case session.ItemXDisplay:
		n = C.PAM_XDISPLAY
	default:
		return "", fmt.Errorf("unknown item %d", it)
	}
	var rc C.int
	s := C.pamsd_item(p.h, n, &rc)
	if rc != C.PAM_SUCCESS {
		return "", fmt.Errorf("pam_get_item(%d): %s", int(n), C.GoString(C.pam_strerror(p.h, rc)))
	}
	if s == nil {
		return "", nil
	}
	return C.GoString(s), nil
}

func (p handle) GetEnv(name string) string {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	if v := C.pam_getenv(p.h, cs); v != nil {
		return C.GoString(v)
	}
	return ""
}

func (p handle) PutEnv(name, value string) error {
	cs := C.CString(name + "=" + value)
	defer C.free(unsafe.Pointer(cs))
	if rc := C.pam_putenv(p.h, cs); rc != C.PAM_SUCCESS {
		return fmt.Errorf("pam_putenv %s: %s", name, C.GoString(C.pam_strerror(p.h, rc)))
	}
	return nil
}

func (p handle) Keep(k session.Kept) error {
	cs := C.CString(k.ID)
	defer C.free(unsafe.Pointer(cs))
	ex := C.int(0)
	if k.Existing {
		ex = 1
	}
	if rc := C.pamsd_keep(p.h, cs, C.int(k.FIFO), ex); rc != C.PAM_SUCCESS {
		return fmt.Errorf("pam_set_data: %s", C.GoString(C.pam_strerror(p.h, rc)))
	}
	return nil
}

func (p handle) Kept() (session.Kept, bool) {
	var (
		id     *C.char
		fd, ex C.int
	)
	if C.pamsd_kept(p.h, &id, &fd, &ex) == 0 {
		return session.Kept{}, false
	}
	return session.Kept{ID: C.GoString(id), FIFO: int(fd), Existing: ex != 0}, true
}

func (p handle) Drop() { C.pamsd_drop(p.h) }

func (p handle) Log(pr session.Priority, msg string) {
	prio := C.int(C.LOG_ERR)
	switch pr {
	case session.Debug:
		prio = C.LOG_DEBUG
	case session.Warning:
		prio = C.LOG_WARNING
	}
	cs := C.CString(msg)
	defer C.free(unsafe.Pointer(cs))
	C.pamsd_log(p.h, prio, cs)
}

// system reads the environment through libc at call time: the
// application may have changed it since the Go runtime started, and
// secure_getenv knows whether this is a set-uid program.
func system() session.System {
	getenv := func(secure bool) func(string) string {
		return func(name string) string {
			cs := C.CString(name)
			defer C.free(unsafe.Pointer(cs))
			var v *C.char
			if secure {
				v = C.pamsd_secure_getenv(cs)
			} else {
				v = C.getenv(cs)
			}
			if v == nil {
				return ""
			}
			return C.GoString(v)
		}
	}
	return session.System{
		Dial:         session.DialSystemBus,
		LookupUID:    session.LookupUID,
		Getenv:       getenv(false),
		SecureGetenv: getenv(true),
		Getpid:       os.Getpid,
		DisplayVT: func(d string) (uint32, error) {
			return session.DisplayVT(session.X11SocketDir, d)
		},
		Timeout: session.DefaultTimeout,
	}
}

func args(argc C.int, argv **C.char) []string {
	if argc <= 0 || argv == nil {
		return nil
	}
	out := make([]string, 0, int(argc))
	for _, a := range unsafe.Slice(argv, int(argc)) {
		out = append(out, C.GoString(a))
	}
	return out
}

//export goOpenSession
func goOpenSession(pamh *C.pam_handle_t, flags C.int, argc C.int, argv **C.char) C.int {
	if err := session.Open(handle{pamh}, system(), args(argc, argv)); err != nil {
		return C.PAM_SESSION_ERR
	}
	return C.PAM_SUCCESS
}

//export goCloseSession
func goCloseSession(pamh *C.pam_handle_t, flags C.int, argc C.int, argv **C.char) C.int {
	if err := session.Close(handle{pamh}, system(), args(argc, argv)); err != nil {
		return C.PAM_SESSION_ERR
	}
	return C.PAM_SUCCESS
}
