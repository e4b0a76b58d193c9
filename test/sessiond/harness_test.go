// Package sessiond_test runs the built sessiond on a private dbus-daemon
// inside a private mount namespace (own /run, own /etc/pam.d, own cgroup
// subtree) and drives it only with real clients: pamtester with
// pam_systemd.so, loginctl, busctl, and a C program using libsystemd's
// sd-login. It needs root; without the prerequisites every test skips
// with the reason.
package sessiond_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	godbus "github.com/godbus/dbus/v5"

	"ginit/internal/testenv"
	"ginit/sessiond"
)

// TestMain re-executes the test binary in a private mount namespace, so
// that mounting a tmpfs on /run and a directory on /etc/pam.d never
// reaches the host.
func TestMain(m *testing.M) {
	testenv.Main(m, prerequisites, "sessiond")
}

func prerequisites() string {
	if r := testenv.Prerequisites([]string{"busctl", "cc", "setpriv"}, []string{"pam_systemd.so"}); r != "" {
		return r
	}
	if _, err := os.Stat("/usr/include/systemd/sd-login.h"); err != nil {
		return "missing libsystemd-dev (sd-login.h)"
	}
	return ""
}

// env is one private world (testenv.Env) with a sessiond whose power
// actions go to stand-ins of our own, and a bus connection of the test's.
type env struct {
	*testenv.Env
	args  []string // sessiond's arguments
	conn  *godbus.Conn
	owner string // unique name of the running sessiond
}

func newEnv(tb testing.TB) *env { tb.Helper(); return newEnvWith(tb, nil) }

// newEnvWith is newEnv with a hook that runs just before sessiond starts
// (to write its logind.conf or change its arguments).
func newEnvWith(tb testing.TB, setup func(e *env)) *env {
	tb.Helper()
	e := &env{Env: testenv.New(tb)}
	e.writePAM()
	uni, leg := e.MakeCgroups("sessiond-it")
	// polkitd (run as its own user by the polkit test) may own its name.
	e.StartBus(`
  <include ignore_missing="yes">/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>`)

	// Power actions go to a control socket and a sysfs stand-in of our
	// own, never to the host's init or kernel.
	e.Must(os.MkdirAll(e.Path("power"), 0o755), "mkdir power")
	e.Must(os.MkdirAll(e.Path("input"), 0o755), "mkdir input")
	e.Must(os.WriteFile(e.Path("power/state"), []byte("freeze mem disk\n"), 0o644), "power/state")
	e.Must(os.WriteFile(e.Path("power/disk"), []byte("[platform] shutdown reboot suspend\n"), 0o644), "power/disk")
	e.args = []string{"-bus", testenv.BusAddr, "-run-dir", "/run", "-cgroup-root", uni, "-cgroup-legacy-root", leg,
		"-vts", "off", "-linger-dir", e.Path("linger"), "-stop-timeout", "3s",
		"-config", e.Path("logind.conf"), "-ginit-socket", e.Path("ginitctl"), "-sys-power", e.Path("power"),
		"-wtmp", e.Path("wtmp"), "-input-dir", e.Path("input")}
	if setup != nil {
		setup(e)
	}
	e.startDaemon()

	var err error
	e.conn, err = godbus.Connect(testenv.BusAddr)
	e.Must(err, "connect to the private bus")
	tb.Cleanup(func() { e.conn.Close() })
	return e
}

// startDaemon starts sessiond and waits for its readiness notification
// (-ready-fd), after which it must own its name and have published seat0.
func (e *env) startDaemon() {
	e.TB.Helper()
	e.StartDaemon(filepath.Join(testenv.BinDir(), "sessiond"), e.args...)
	c, err := godbus.Connect(testenv.BusAddr)
	e.Must(err, "connect to the private bus")
	defer c.Close()
	var owner string
	e.Must(c.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, "org.freedesktop.login1").Store(&owner), "GetNameOwner")
	if owner == e.owner {
		e.TB.Fatalf("login1 still owned by the previous sessiond %s", owner)
	}
	e.owner = owner
	if _, err := os.Stat("/run/systemd/seats/seat0"); err != nil {
		e.TB.Fatalf("ready before seat0 was published: %v", err)
	}
}

// killDaemon kills sessiond with SIGKILL (no clean-up at all).
func (e *env) killDaemon() {
	_ = e.Daemon.Process.Signal(syscall.SIGKILL)
	_ = e.Daemon.Wait()
}

// writePAM writes two services: sdtest (pam_systemd only: the session
// ends when pamtester exits) and sdhold (pam_exec then keeps pamtester
// inside open_session, running sleep, until the session is terminated).
func (e *env) writePAM() {
	base := "auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_systemd.so\n"
	e.WritePAM(map[string]string{
		"sdtest": base,
		"sdhold": base + "session optional pam_exec.so " + e.HoldScript("") + "\n",
	})
}

// hold opens a session for user on tty (unique per held session) with
// extraEnv and waits until it is established.
func (e *env) hold(user, tty string, extraEnv ...string) *testenv.Held {
	e.TB.Helper()
	h := e.Hold("sdhold", user, tty, nil, extraEnv)
	if h.ID == "" {
		e.TB.Fatalf("held session of %s on %s has no XDG_SESSION_ID: %v", user, tty, h.Vars)
	}
	return h
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i > 0 && i+2 < len(data) && data[i+2] != 'Z'
}

// prop reads one property with godbus.
func (e *env) prop(path godbus.ObjectPath, iface, name string) any {
	e.TB.Helper()
	v, err := e.conn.Object(sessiond.BusName, path).GetProperty(iface + "." + name)
	e.Must(err, "get "+iface+"."+name+" on "+string(path))
	return v.Value()
}
