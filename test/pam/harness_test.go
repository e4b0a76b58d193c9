// Package pam_test drives the built pam_sessiond.so through the real
// pamtester against the built sessiond on a private dbus-daemon, inside a
// private mount namespace (own /run, /etc/pam.d and /dev/log, own cgroup
// subtree), and checks the result with the real loginctl and the module's
// syslog messages. It needs root; without the prerequisites every test
// skips with the reason.
package pam_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/sessiond"
)

const (
	innerEnv = "PAM_IT_INNER" // set in the re-executed test binary
	skipEnv  = "PAM_IT_SKIP"  // why the tests cannot run here
	binEnv   = "PAM_IT_BIN"   // directory with sessiond and pam_sessiond.so
	busAddr  = "unix:path=/run/dbus/system_bus_socket"
)

// TestMain re-executes the test binary in a private mount namespace
// (unshare --mount --propagation private), so that the tmpfs on /run,
// the PAM configuration on /etc/pam.d and the syslog socket on /dev/log
// never reach the host.
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
	for _, c := range []string{"unshare", "dbus-daemon", "pamtester", "loginctl"} {
		if _, err := exec.LookPath(c); err != nil {
			return "missing command " + c
		}
	}
	for _, mod := range []string{"pam_exec.so", "pam_permit.so", "pam_deny.so"} {
		if pamModule(mod) == "" {
			return "missing PAM module " + mod
		}
	}
	if sessiond.DetectCgroupRoots().Unified == "" {
		return "no cgroup2 hierarchy (sessiond places sessions in scopes there)"
	}
	if err := exec.Command("unshare", "--mount", "--propagation", "private", "true").Run(); err != nil {
		return "cannot create a mount namespace: " + err.Error()
	}
	return ""
}

// binaries returns a directory with sessiond and pam_sessiond.so: the
// build's ($GINIT_BIN, as make test sets it) or freshly built ones.
func binaries() (dir string, cleanup func(), err error) {
	if d := os.Getenv("GINIT_BIN"); d != "" {
		_, err1 := os.Stat(filepath.Join(d, "sessiond"))
		_, err2 := os.Stat(filepath.Join(d, "pam_sessiond.so"))
		if err1 == nil && err2 == nil {
			abs, err := filepath.Abs(d)
			return abs, func() {}, err
		}
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", nil, errors.New("GINIT_BIN has no sessiond and pam_sessiond.so, and there is no go to build them")
	}
	dir, err = os.MkdirTemp("", "pam-it-bin")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	for _, b := range [][]string{
		{"build", "-o", filepath.Join(dir, "sessiond"), "ginit/sessiond/cmd/sessiond"},
		{"build", "-buildmode=c-shared", "-o", filepath.Join(dir, "pam_sessiond.so"), "ginit/pam"},
	} {
		cmd := exec.Command("go", b...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("go %s: %v\n%s", strings.Join(b, " "), err, out)
		}
	}
	return dir, cleanup, nil
}

func reexec() (int, error) {
	dir, cleanup, err := binaries()
	if err != nil {
		return 0, err
	}
	defer cleanup()
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), innerEnv+"=1", binEnv+"="+dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// env is one private world: /run, /etc/pam.d, /dev/log, a bus, a cgroup
// subtree and (optionally) a sessiond.
type env struct {
	tb      testing.TB
	dir     string
	module  string // absolute path of pam_sessiond.so
	cgroups []string
	dbus    *exec.Cmd
	daemon  *exec.Cmd
	procs   []*exec.Cmd
	sys     *syslogSink
}

// newEnv sets up a world; withSessiond false leaves the bus without a
// login1 owner (a machine where sessiond is not running).
func newEnv(tb testing.TB, withSessiond bool) *env {
	tb.Helper()
	if r := os.Getenv(skipEnv); r != "" {
		tb.Skip(r)
	}
	bin := os.Getenv(binEnv)
	e := &env{tb: tb, dir: tb.TempDir(), module: filepath.Join(bin, "pam_sessiond.so")}
	e.must(unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"), "mount /run")
	tb.Cleanup(func() { _ = unix.Unmount("/run", unix.MNT_DETACH) })
	for _, d := range []string{"/run/systemd/system", "/run/dbus", e.path("pam.d"), e.path("held"), e.path("linger")} {
		e.must(os.MkdirAll(d, 0o755), "mkdir "+d)
	}
	e.writePAM()
	e.must(unix.Mount(e.path("pam.d"), "/etc/pam.d", "", unix.MS_BIND, ""), "bind /etc/pam.d")
	tb.Cleanup(func() { _ = unix.Unmount("/etc/pam.d", unix.MNT_DETACH) })
	e.sys = e.captureSyslog()

	roots := sessiond.DetectCgroupRoots()
	name := fmt.Sprintf("pam-it-%d-%d.slice", os.Getpid(), time.Now().UnixNano()%1e6)
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

	if withSessiond {
		e.startDaemon(filepath.Join(bin, "sessiond"), "-bus", busAddr, "-run-dir", "/run", "-cgroup-root", uni,
			"-cgroup-legacy-root", leg, "-vts", "off", "-linger-dir", e.path("linger"), "-stop-timeout", "3s")
		tb.Cleanup(func() {
			stop(e.daemon)
			if l := e.log(); strings.Contains(l, "panic:") || strings.Contains(l, "DATA RACE") {
				tb.Errorf("sessiond log shows a panic or data race:\n%s", l)
			}
		})
	}
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
			e.tb.Fatalf("timed out waiting for %s; sessiond log:\n%s\nsyslog:\n%s", what, e.log(), e.sys.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) log() string {
	b, _ := os.ReadFile(e.path("sessiond.log"))
	return string(b)
}

// startDaemon starts sessiond and waits for its readiness notification.
func (e *env) startDaemon(bin string, args ...string) {
	e.tb.Helper()
	logf, err := os.OpenFile(e.path("sessiond.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	e.must(err, "log file")
	defer logf.Close()
	rd, wr, err := os.Pipe()
	e.must(err, "ready pipe")
	defer rd.Close()
	e.daemon = exec.Command(bin, append(args, "-ready-fd", "3")...)
	e.daemon.Stdout, e.daemon.Stderr = logf, logf
	e.daemon.ExtraFiles = []*os.File{wr}
	err = e.daemon.Start()
	wr.Close()
	e.must(err, "start sessiond")
	_ = rd.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := rd.Read(make([]byte, 1)); n != 1 {
		e.tb.Fatalf("no readiness notification from sessiond (%v); log:\n%s", err, e.log())
	}
}

// syslogSink collects what processes send to /dev/log.
type syslogSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syslogSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// has waits briefly for a message containing every one of subs (syslog
// datagrams may arrive just after the sender exits).
func (s *syslogSink) has(subs ...string) bool {
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		for _, l := range strings.Split(s.text(), "\n") {
			all := true
			for _, sub := range subs {
				all = all && strings.Contains(l, sub)
			}
			if all {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// captureSyslog replaces /dev (in this mount namespace only) by a tmpfs
// of symlinks to the real entries plus a datagram socket /dev/log that
// the test reads: pam_syslog's messages become checkable without a
// syslog daemon, and the host's /dev is not written to.
func (e *env) captureSyslog() *syslogSink {
	e.tb.Helper()
	old := e.path("dev")
	e.must(os.Mkdir(old, 0o755), "mkdir dev")
	e.must(unix.Mount("/dev", old, "", unix.MS_BIND|unix.MS_REC, ""), "bind /dev")
	e.tb.Cleanup(func() { _ = unix.Unmount(old, unix.MNT_DETACH) })
	e.must(unix.Mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755"), "tmpfs on /dev")
	e.tb.Cleanup(func() { _ = unix.Unmount("/dev", unix.MNT_DETACH) })
	ents, err := os.ReadDir(old)
	e.must(err, "read /dev")
	for _, d := range ents {
		if d.Name() != "log" {
			e.must(os.Symlink(filepath.Join(old, d.Name()), filepath.Join("/dev", d.Name())), "symlink /dev/"+d.Name())
		}
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "/dev/log", Net: "unixgram"})
	e.must(err, "listen on /dev/log")
	e.must(os.Chmod("/dev/log", 0o666), "chmod /dev/log")
	s := &syslogSink{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 8192)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.buf.Write(bytes.TrimRight(buf[:n], "\n\x00"))
			s.buf.WriteByte('\n')
			s.mu.Unlock()
		}
	}()
	e.tb.Cleanup(func() { conn.Close(); <-done })
	return s
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

// writePAM writes the test services. modtest: pam_sessiond alone.
// modhold: pam_sessiond with debug, then pam_exec keeps pamtester inside
// open_session (running sleep) until the test kills the sleep; at
// close_session the same script records the session's state as loginctl
// sees it right after pam_sessiond's close. modopts: as modhold with
// class=, type= and desktop= options. modstrict: pam_sessiond strict.
func (e *env) writePAM() {
	loginctl, err := exec.LookPath("loginctl")
	e.must(err, "loginctl")
	hold := e.path("hold.sh")
	held := e.path("held")
	script := `#!/bin/sh
tag=$(echo "$PAM_USER-$PAM_TTY" | tr / _)
if [ "$PAM_TYPE" = close_session ]; then
	DBUS_SYSTEM_BUS_ADDRESS=` + busAddr + ` SYSTEMD_PAGER= ` + loginctl + ` show-session -p State --value "$XDG_SESSION_ID" > "` + held + `/.closed-$tag" 2>&1
	mv "` + held + `/.closed-$tag" "` + held + `/closed-$tag"
	exit 0
fi
[ "$PAM_TYPE" = open_session ] || exit 0
{ env | grep -E '^(XDG_|DBUS_)'; echo "PID=$$"; } > "` + held + `/.$tag"
mv "` + held + `/.$tag" "` + held + `/$tag"
exec sleep 1000
`
	e.must(os.WriteFile(hold, []byte(script), 0o755), "hold.sh")
	base := "auth required pam_permit.so\naccount required pam_permit.so\n"
	holdLine := "session optional pam_exec.so " + hold + "\n"
	for name, text := range map[string]string{
		"modtest":   base + "session required " + e.module + "\n",
		"modhold":   base + "session required " + e.module + " debug\n" + holdLine,
		"modopts":   base + "session required " + e.module + " class=greeter type=x11 desktop=ginit-test debug\n" + holdLine,
		"modstrict": base + "session required " + e.module + " strict\n",
		"other":     "auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n",
	} {
		e.must(os.WriteFile(e.path("pam.d/"+name), []byte(text), 0o644), "pam "+name)
	}
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
	out   *bytes.Buffer
	tag   string
	id    string // XDG_SESSION_ID, "" if no session was made
	vars  map[string]string
	sleep int // pam_exec's sleep, in the session
}

// hold runs pamtester service user open_session close_session with
// PAM_TTY tty (unique per held session) and extra pamtester arguments,
// and waits until pam_exec reports the open session's environment.
func (e *env) hold(service, user, tty string, extra ...string) *held {
	e.tb.Helper()
	args := append(append([]string{"-v", "-I", "tty=" + tty}, extra...), service, user, "open_session", "close_session")
	c := exec.Command("pamtester", args...)
	c.Env = e.cmdEnv()
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	e.must(c.Start(), "start pamtester")
	e.procs = append(e.procs, c)
	tag := strings.ReplaceAll(user+"-"+tty, "/", "_")
	file := filepath.Join(e.path("held"), tag)
	e.waitFor("session of "+user+" on "+tty, func() bool {
		_, err := os.Stat(file)
		return err == nil
	})
	data, err := os.ReadFile(file)
	e.must(err, "read held file")
	_ = os.Remove(file)
	h := &held{cmd: c, out: &out, tag: tag, vars: map[string]string{}}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		h.vars[k] = v
	}
	h.id = h.vars["XDG_SESSION_ID"]
	h.sleep, _ = strconv.Atoi(h.vars["PID"])
	if h.sleep == 0 {
		e.tb.Fatalf("held session incomplete: %q", data)
	}
	return h
}

// release ends a held session the way a login does: the session's
// program exits, pamtester calls close_session and exits. It returns
// the session state pam_exec saw right after pam_sessiond's close and
// pamtester's output.
func (e *env) release(h *held) (stateAtClose, out string) {
	e.tb.Helper()
	e.must(syscall.Kill(h.sleep, syscall.SIGTERM), "kill the session's sleep")
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			e.tb.Errorf("pamtester %s: %v\n%s", h.tag, err, h.out)
		}
	case <-time.After(15 * time.Second):
		e.tb.Fatalf("pamtester %s did not finish after its session program ended:\n%s", h.tag, h.out)
	}
	b, err := os.ReadFile(filepath.Join(e.path("held"), "closed-"+h.tag))
	e.must(err, "close_session record")
	return strings.TrimSpace(string(b)), h.out.String()
}
