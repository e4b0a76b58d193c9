package pam_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	godbus "github.com/godbus/dbus/v5"

	"ginit/internal/testenv"
)

// fakeLogin1 answers CreateSession with a reply of the wrong types (a
// lone string, and a descriptor the module must not keep).
type fakeLogin1 struct {
	calls int
	pipe  string // the descriptor's /proc link, "pipe:[inode]"
}

func (f *fakeLogin1) CreateSession(uid, pid uint32, service, typ, class, desktop, seat string, vtnr uint32,
	tty, display string, remote bool, ruser, rhost string, props []struct {
		Name  string
		Value godbus.Variant
	}) (string, godbus.UnixFD, *godbus.Error) {
	f.calls++
	r, w, err := os.Pipe()
	if err != nil {
		return "", 0, godbus.MakeFailedError(err)
	}
	r.Close()
	if l, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", w.Fd())); err == nil {
		f.pipe = l
	}
	return "7", godbus.UnixFD(w.Fd()), nil
}

// TestHostileInput: what a login must survive without losing the login
// or the application: a PAM item that is no UTF-8 (a bus drops a client
// that sends one), overlong items, and a login1 whose reply has the
// wrong types.
func TestHostileInput(t *testing.T) {
	t.Run("not UTF-8 and overlong items", func(t *testing.T) {
		e := newEnv(t, true)
		out, err := e.Run(nil, "pamtester", "-v", "-I", "tty=pts/\xff", "modtest", "root", "open_session", "close_session")
		if err != nil || !strings.Contains(out, "successfully opened") {
			t.Errorf("pamtester with a non-UTF-8 tty: %v\n%s", err, out)
		}
		if !e.sys.has("pam_sessiond", "CreateSession", "not valid UTF-8", "continuing without a session") {
			t.Errorf("no UTF-8 error logged:\n%s", e.sys.text())
		}
		// Longer than pam_sessiond's message buffers; libpam's own audit
		// record fails the PAM call beyond about 8 KiB.
		long := strings.Repeat("h", 4000)
		out, err = e.Run(nil, "pamtester", "-v", "-I", "rhost="+long, "modtest", "root", "open_session", "close_session")
		if err != nil || !strings.Contains(out, "successfully opened") || !strings.Contains(out, "successfully been closed") {
			t.Errorf("pamtester with a %d-byte rhost: %v\n%.500s\nsyslog:\n%.3000s", len(long), err, out, e.sys.text())
		}
	})
	t.Run("wrongly typed reply", func(t *testing.T) {
		e := newEnv(t, false)
		conn, err := godbus.Connect(testenv.BusAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		f := &fakeLogin1{}
		if err := conn.Export(f, "/org/freedesktop/login1", "org.freedesktop.login1.Manager"); err != nil {
			t.Fatal(err)
		}
		if r, err := conn.RequestName("org.freedesktop.login1", godbus.NameFlagDoNotQueue); err != nil || r != godbus.RequestNameReplyPrimaryOwner {
			t.Fatalf("own login1: %v %v", r, err)
		}
		h := e.hold("modhold", "root", "pts/4")
		if _, ok := h.Vars["XDG_SESSION_ID"]; ok || f.calls != 1 || f.pipe == "" {
			t.Errorf("XDG_SESSION_ID exported from a malformed reply (%d calls): %v", f.calls, h.Vars)
		}
		if !e.sys.has("pam_sessiond", "CreateSession", `signature "sh"`, "continuing without a session") {
			t.Errorf("no signature error logged:\n%s", e.sys.text())
		}
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", h.Cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ents {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", h.Cmd.Process.Pid, d.Name())); f.pipe != "" && l == f.pipe {
				t.Errorf("pamtester holds fd %s -> %s, the malformed reply's descriptor", d.Name(), l)
			}
		}
		if _, out := e.release(h); !strings.Contains(out, "successfully been closed") {
			t.Errorf("pamtester: %s", out)
		}
	})
}
