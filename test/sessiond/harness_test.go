// Package sessiond_test runs the built sessiond on a private dbus-daemon
// inside a private mount namespace (own /run, own /etc/pam.d, own cgroup
// subtree) and drives it only with real clients: pamtester with
// pam_systemd.so, loginctl, busctl, and a C program using libsystemd's
// sd-login. It needs root; without the prerequisites every test skips
// with the reason.
package sessiond_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"ginit/sessiond"
)

const (
	innerEnv = "SESSIOND_IT_INNER" // set in the re-executed test binary
	skipEnv  = "SESSIOND_IT_SKIP"  // why the tests cannot run here
	binEnv   = "SESSIOND_BIN"      // the sessiond binary to test
	busAddr  = "unix:path=/run/dbus/system_bus_socket"
)

// TestMain re-executes the test binary in a private mount namespace
// (unshare --mount --propagation private), so that mounting a tmpfs on
// /run and a directory on /etc/pam.d never reaches the host.
func TestMain(m *testing.M) {
	if os.Getenv(innerEnv) == "" {
		reason := prerequisites()
		if reason == "" {
			code, err := reexec()
			if err == nil {
				os.Exit(code)
			}
			reason = err.Error()
		}
		os.Setenv(skipEnv, reason)
	}
	os.Exit(m.Run())
}

func pamModule(name string) string {
	for _, d := range []string{"/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
		"/lib/aarch64-linux-gnu/security", "/usr/lib/aarch64-linux-gnu/security", "/lib/security", "/usr/lib/security"} {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name)
		}
	}
	return ""
}

func prerequisites() string {
	if os.Geteuid() != 0 {
		return "needs root (mount namespace, cgroups, tmpfs runtime dirs)"
	}
	for _, c := range []string{"unshare", "dbus-daemon", "pamtester", "loginctl", "busctl", "cc", "setpriv"} {
		if _, err := exec.LookPath(c); err != nil {
			return "missing command " + c
		}
	}
	for _, mod := range []string{"pam_systemd.so", "pam_exec.so", "pam_permit.so"} {
		if pamModule(mod) == "" {
			return "missing PAM module " + mod
		}
	}
	if _, err := os.Stat("/usr/include/systemd/sd-login.h"); err != nil {
		return "missing libsystemd-dev (sd-login.h)"
	}
	if sessiond.DetectCgroupRoots().Unified == "" {
		return "no cgroup2 hierarchy (sd_pid_get_session reads the unified one)"
	}
	if err := exec.Command("unshare", "--mount", "--propagation", "private", "true").Run(); err != nil {
		return "cannot create a mount namespace: " + err.Error()
	}
	return ""
}

func reexec() (int, error) {
	bin := os.Getenv(binEnv)
	if bin == "" {
		dir, err := os.MkdirTemp("", "sessiond-it-bin")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "sessiond")
		out, err := exec.Command("go", "build", "-o", bin, "ginit/sessiond/cmd/sessiond").CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("build sessiond: %v\n%s", err, out)
		}
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), innerEnv+"=1", binEnv+"="+abs)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// env is one private world: /run, /etc/pam.d, a bus, a cgroup subtree
// and a sessiond.
type env struct {
	tb      testing.TB
	dir     string
	cgroups []string // our subtree roots (unified, legacy)
	args    []string // sessiond's arguments
	dbus    *exec.Cmd
	daemon  *exec.Cmd
	conn    *godbus.Conn
	procs   []*exec.Cmd
	owner   string // unique name of the running sessiond
}

func newEnv(tb testing.TB) *env { tb.Helper(); return newEnvWith(tb, nil) }

// newEnvWith is newEnv with a hook that runs just before sessiond starts
// (to write its logind.conf or change its arguments).
func newEnvWith(tb testing.TB, setup func(e *env)) *env {
	tb.Helper()
	if r := os.Getenv(skipEnv); r != "" {
		tb.Skip(r)
	}
	e := &env{tb: tb, dir: tb.TempDir()}
	e.must(unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"), "mount /run")
	tb.Cleanup(func() { _ = unix.Unmount("/run", unix.MNT_DETACH) })
	for _, d := range []string{"/run/systemd/system", "/run/dbus", e.path("pam.d"), e.path("held"), e.path("linger")} {
		e.must(os.MkdirAll(d, 0o755), "mkdir "+d)
	}
	e.writePAM()
	e.must(unix.Mount(e.path("pam.d"), "/etc/pam.d", "", unix.MS_BIND, ""), "bind /etc/pam.d")
	tb.Cleanup(func() { _ = unix.Unmount("/etc/pam.d", unix.MNT_DETACH) })

	roots := sessiond.DetectCgroupRoots()
	name := fmt.Sprintf("sessiond-it-%d-%d.slice", os.Getpid(), time.Now().UnixNano()%1e6)
	uni := filepath.Join(roots.Unified, name)
	e.must(os.MkdirAll(uni, 0o755), "cgroup")
	e.cgroups = append(e.cgroups, uni)
	leg := "none"
	if roots.Legacy != "" {
		leg = filepath.Join(roots.Legacy, name)
		if os.MkdirAll(leg, 0o755) == nil {
			e.cgroups = append(e.cgroups, leg)
		} else {
			leg = "none"
		}
	}
	tb.Cleanup(e.removeCgroups)

	policy, err := filepath.Abs("../../units/dbus-policy/org.freedesktop.login1.conf")
	e.must(err, "policy path")
	e.must(os.WriteFile(e.path("bus.conf"), []byte(fmt.Sprintf(busConfig, policy)), 0o644), "bus.conf")
	e.dbus = exec.Command("dbus-daemon", "--nofork", "--nopidfile", "--config-file="+e.path("bus.conf"))
	dlog, err := os.Create(e.path("dbus.log"))
	e.must(err, "dbus log")
	defer dlog.Close()
	e.dbus.Stdout, e.dbus.Stderr = dlog, dlog
	e.must(e.dbus.Start(), "start dbus-daemon")
	tb.Cleanup(func() { stop(e.dbus) })
	e.waitFor("bus socket", func() bool { _, err := os.Stat("/run/dbus/system_bus_socket"); return err == nil })

	// Power actions go to a control socket and a sysfs stand-in of our
	// own, never to the host's init or kernel.
	e.must(os.MkdirAll(e.path("power"), 0o755), "mkdir power")
	e.must(os.MkdirAll(e.path("input"), 0o755), "mkdir input")
	e.must(os.WriteFile(e.path("power/state"), []byte("freeze mem disk\n"), 0o644), "power/state")
	e.must(os.WriteFile(e.path("power/disk"), []byte("[platform] shutdown reboot suspend\n"), 0o644), "power/disk")
	e.args = []string{"-bus", busAddr, "-run-dir", "/run", "-cgroup-root", uni, "-cgroup-legacy-root", leg,
		"-vts", "off", "-linger-dir", e.path("linger"), "-stop-timeout", "3s",
		"-config", e.path("logind.conf"), "-ginit-socket", e.path("ginitctl"), "-sys-power", e.path("power"),
		"-wtmp", e.path("wtmp"), "-input-dir", e.path("input")}
	if setup != nil {
		setup(e)
	}
	e.startDaemon()
	tb.Cleanup(func() {
		stop(e.daemon)
		// A panic or (in a -race build) a data race fails the test even
		// if every client got its answer.
		if l := e.log(); strings.Contains(l, "panic:") || strings.Contains(l, "DATA RACE") {
			tb.Errorf("sessiond log shows a panic or data race:\n%s", l)
		}
	})

	e.conn, err = godbus.Connect(busAddr)
	e.must(err, "connect to the private bus")
	tb.Cleanup(func() { e.conn.Close() })
	tb.Cleanup(func() {
		for _, p := range e.procs {
			stop(p)
		}
	})
	return e
}

// busConfig is a system bus like Debian's system.conf (deny by default,
// services open themselves up) with sessiond's shipped policy included.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>` + busAddr + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
  </policy>
  <include>%s</include>
  <!-- lets polkitd (run as its own user by the polkit test) own its name -->
  <include ignore_missing="yes">/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>
</busconfig>
`

func (e *env) path(p string) string { return filepath.Join(e.dir, p) }

func (e *env) must(err error, what string) {
	e.tb.Helper()
	if err != nil {
		e.tb.Fatalf("%s: %v", what, err)
	}
}

func (e *env) waitFor(what string, ok func() bool) {
	e.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			e.tb.Fatalf("timed out waiting for %s; sessiond log:\n%s", what, e.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) log() string {
	b, _ := os.ReadFile(e.path("sessiond.log"))
	return string(b)
}

// startDaemon starts sessiond and waits for its readiness notification
// (-ready-fd), after which it must own its name and have published seat0.
func (e *env) startDaemon() {
	e.tb.Helper()
	logf, err := os.OpenFile(e.path("sessiond.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	e.must(err, "log file")
	defer logf.Close()
	rd, wr, err := os.Pipe()
	e.must(err, "ready pipe")
	defer rd.Close()
	e.daemon = exec.Command(os.Getenv(binEnv), append(e.args, "-ready-fd", "3")...)
	e.daemon.Stdout, e.daemon.Stderr = logf, logf
	e.daemon.ExtraFiles = []*os.File{wr}
	err = e.daemon.Start()
	wr.Close()
	e.must(err, "start sessiond")
	_ = rd.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := rd.Read(make([]byte, 1)); n != 1 {
		e.tb.Fatalf("no readiness notification from sessiond (%v); log:\n%s", err, e.log())
	}
	c, err := godbus.Connect(busAddr)
	e.must(err, "connect to the private bus")
	defer c.Close()
	var owner string
	e.must(c.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, "org.freedesktop.login1").Store(&owner), "GetNameOwner")
	if owner == e.owner {
		e.tb.Fatalf("login1 still owned by the previous sessiond %s", owner)
	}
	e.owner = owner
	if _, err := os.Stat("/run/systemd/seats/seat0"); err != nil {
		e.tb.Fatalf("ready before seat0 was published: %v", err)
	}
}

// killDaemon kills sessiond with SIGKILL (no clean-up at all).
func (e *env) killDaemon() {
	_ = e.daemon.Process.Signal(syscall.SIGKILL)
	_ = e.daemon.Wait()
}

// stop kills a process we started, by pid, and reaps it.
func stop(c *exec.Cmd) {
	if c == nil || c.Process == nil || c.ProcessState != nil {
		return
	}
	_ = c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
}

func (e *env) removeCgroups() {
	for _, root := range e.cgroups {
		// Kill anything left (cgroup.kill is recursive), then remove the
		// directories depth first.
		_ = os.WriteFile(filepath.Join(root, "cgroup.kill"), []byte("1"), 0o644)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			for try := 0; try < 50; try++ {
				if err := os.Remove(dirs[i]); err == nil || errors.Is(err, os.ErrNotExist) {
					break
				}
				if procs, _ := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs")); len(procs) > 0 {
					for _, f := range strings.Fields(string(procs)) {
						if pid, err := strconv.Atoi(f); err == nil {
							_ = syscall.Kill(pid, syscall.SIGKILL)
						}
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// writePAM writes two services: sdtest (pam_systemd only: the session
// ends when pamtester exits) and sdhold (pam_exec then keeps pamtester
// inside open_session, running sleep, until the session is terminated).
func (e *env) writePAM() {
	hold := e.path("hold.sh")
	script := `#!/bin/sh
[ "$PAM_TYPE" = open_session ] || exit 0
tag=$(echo "$PAM_USER-$PAM_TTY" | tr / _)
{ env | grep '^XDG_'; echo "PID=$$"; } > "` + e.path("held") + `/.$tag"
mv "` + e.path("held") + `/.$tag" "` + e.path("held") + `/$tag"
exec sleep 1000
`
	e.must(os.WriteFile(hold, []byte(script), 0o755), "hold.sh")
	base := "auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_systemd.so\n"
	e.must(os.WriteFile(e.path("pam.d/sdtest"), []byte(base), 0o644), "pam sdtest")
	e.must(os.WriteFile(e.path("pam.d/sdhold"), []byte(base+"session optional pam_exec.so "+hold+"\n"), 0o644), "pam sdhold")
	e.must(os.WriteFile(e.path("pam.d/other"), []byte("auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n"), 0o644), "pam other")
}

func (e *env) cmdEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "DBUS_SYSTEM_BUS_ADDRESS=" + busAddr, "LANG=C", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER="}, extra...)
}

// run runs a client command and returns its combined output.
func (e *env) run(extraEnv []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Env = e.cmdEnv(extraEnv...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return out.String(), err
}

// ok runs a command that must succeed.
func (e *env) ok(name string, args ...string) string {
	e.tb.Helper()
	out, err := e.run(nil, name, args...)
	if err != nil {
		e.tb.Fatalf("%s %s: %v\n%s\nsessiond log:\n%s", name, strings.Join(args, " "), err, out, e.log())
	}
	return out
}

// held is a session kept open by a pamtester blocked in open_session.
type held struct {
	cmd   *exec.Cmd
	id    string // XDG_SESSION_ID
	vars  map[string]string
	sleep int // the session's process (pam_exec's sleep)
}

// hold opens a session for user on tty (unique per held session) and
// waits until it is established.
func (e *env) hold(user, tty string, extraEnv ...string) *held {
	e.tb.Helper()
	c := exec.Command("pamtester", "-I", "tty="+tty, "sdhold", user, "open_session", "close_session")
	c.Env = e.cmdEnv(extraEnv...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	e.must(c.Start(), "start pamtester")
	e.procs = append(e.procs, c)
	file := filepath.Join(e.path("held"), strings.ReplaceAll(user+"-"+tty, "/", "_"))
	e.waitFor("session of "+user+" on "+tty+" (pamtester: "+out.String()+")", func() bool {
		_, err := os.Stat(file)
		return err == nil
	})
	data, err := os.ReadFile(file)
	e.must(err, "read held file")
	_ = os.Remove(file)
	h := &held{cmd: c, vars: map[string]string{}}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		h.vars[k] = v
	}
	h.id = h.vars["XDG_SESSION_ID"]
	h.sleep, _ = strconv.Atoi(h.vars["PID"])
	if h.id == "" || h.sleep == 0 {
		e.tb.Fatalf("held session incomplete: %q", data)
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
	e.tb.Helper()
	v, err := e.conn.Object(sessiond.BusName, path).GetProperty(iface + "." + name)
	e.must(err, "get "+iface+"."+name+" on "+string(path))
	return v.Value()
}
