package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/cgroup2"
	"ginit/sessiond/sys"
)

// BusAddr is the private system bus's address: the standard path, on
// the Env's own /run.
const BusAddr = "unix:path=/run/dbus/system_bus_socket"

// Env is one private world inside the suite's mount namespace. New makes
// /run and the temporary directory; the suite then adds, in this order,
// its PAM services (WritePAM), its cgroup subtree (MakeCgroups), the bus
// (StartBus) and sessiond (StartDaemon). Every step registers its own
// undoing with the test's cleanup.
type Env struct {
	TB  testing.TB
	Dir string // the test's temporary directory: pam.d/, held/, linger/, logs
	// Cgroups are the roots of the test's own cgroup subtree: the
	// unified one, then the legacy name=systemd one if there is one.
	Cgroups []string
	// Daemon is the sessiond last started by StartDaemon.
	Daemon *exec.Cmd
	// Diagnose, if set, adds to the failure message when WaitFor times
	// out (the suite's own logs).
	Diagnose func() string

	dbus          *exec.Cmd
	daemonWatched bool // StartDaemon's cleanup is registered
}

// New skips the test with the reason Main found, or mounts a tmpfs on
// /run (with /run/systemd/system, so that clients take the machine for a
// systemd one, and /run/dbus) and creates the temporary directory with
// pam.d/, held/ and linger/.
func New(tb testing.TB) *Env {
	tb.Helper()
	if r := SkipReason(); r != "" {
		tb.Skip(r)
	}
	e := &Env{TB: tb, Dir: tb.TempDir()}
	e.Must(unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"), "mount /run")
	tb.Cleanup(func() { _ = unix.Unmount("/run", unix.MNT_DETACH) })
	for _, d := range []string{"/run/systemd/system", "/run/dbus", e.Path("pam.d"), e.Path("held"), e.Path("linger")} {
		e.Must(os.MkdirAll(d, 0o755), "mkdir "+d)
	}
	return e
}

// Path is p inside the test's temporary directory.
func (e *Env) Path(p string) string { return filepath.Join(e.Dir, p) }

// Must fails the test if err is not nil; what says what failed.
func (e *Env) Must(err error, what string) {
	e.TB.Helper()
	if err != nil {
		e.TB.Fatalf("%s: %v", what, err)
	}
}

// WaitFor polls ok until it holds, failing the test with sessiond's log
// after 10 seconds.
func (e *Env) WaitFor(what string, ok func() bool) {
	e.TB.Helper()
	e.wait(func() string { return what }, ok)
}

// wait is WaitFor with a description made at the failure, so that it
// can show output gathered while waiting.
func (e *Env) wait(what func() string, ok func() bool) {
	e.TB.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			more := ""
			if e.Diagnose != nil {
				more = "\n" + e.Diagnose()
			}
			e.TB.Fatalf("timed out waiting for %s; sessiond log:\n%s%s", what(), e.Log(), more)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Log is what sessiond has written to its log so far.
func (e *Env) Log() string {
	b, _ := os.ReadFile(e.Path("sessiond.log"))
	return string(b)
}

// WritePAM writes the PAM services (name -> configuration) and binds
// them over /etc/pam.d. Unless given, "other" denies everything, so that
// a misspelt service fails instead of reaching anything of the host's.
func (e *Env) WritePAM(services map[string]string) {
	e.TB.Helper()
	if _, ok := services["other"]; !ok {
		e.Must(os.WriteFile(e.Path("pam.d/other"), []byte("auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n"), 0o644), "pam other")
	}
	for name, text := range services {
		e.Must(os.WriteFile(e.Path("pam.d/"+name), []byte(text), 0o644), "pam "+name)
	}
	e.Must(unix.Mount(e.Path("pam.d"), "/etc/pam.d", "", unix.MS_BIND, ""), "bind /etc/pam.d")
	e.TB.Cleanup(func() { _ = unix.Unmount("/etc/pam.d", unix.MNT_DETACH) })
}

// HoldScript writes a script for `session optional pam_exec.so` and
// returns its path. At open_session it records the PAM environment's
// XDG_* and DBUS_* variables and its own pid in held/USER-TTY (the
// slashes of both as underscores) and becomes `sleep 1000`: pamtester
// stays inside open_session, the sleep being the session's program, until
// the test kills it (see Hold). At close_session it runs onClose, shell
// that may use $tag (USER-TTY) and $held (the held/ directory).
func (e *Env) HoldScript(onClose string) string {
	e.TB.Helper()
	hold := e.Path("hold.sh")
	script := `#!/bin/sh
tag=$(echo "$PAM_USER-$PAM_TTY" | tr / _)
held='` + e.Path("held") + `'
if [ "$PAM_TYPE" = close_session ]; then
` + onClose + `
	exit 0
fi
[ "$PAM_TYPE" = open_session ] || exit 0
{ env | grep -E '^(XDG_|DBUS_)'; echo "PID=$$"; } > "$held/.$tag"
mv "$held/.$tag" "$held/$tag"
exec sleep 1000
`
	e.Must(os.WriteFile(hold, []byte(script), 0o755), "hold.sh")
	return hold
}

// MakeCgroups creates the test's own cgroup subtree, NAME-PID-N.slice,
// below the roots sessiond would use, and returns the unified and the
// legacy one ("none" where there is no legacy hierarchy or it cannot be
// written), as sessiond's -cgroup-root and -cgroup-legacy-root take them.
// Cleanup kills whatever is left in them and removes them.
func (e *Env) MakeCgroups(name string) (unified, legacy string) {
	e.TB.Helper()
	roots := sys.DetectCgroupRoots()
	for _, root := range []string{roots.Unified, roots.Legacy} {
		e.removeStale(root, name)
	}
	slice := fmt.Sprintf("%s-%d-%d.slice", name, os.Getpid(), time.Now().UnixNano()%1e6)
	unified = filepath.Join(roots.Unified, slice)
	e.Must(os.MkdirAll(unified, 0o755), "cgroup")
	e.Cgroups = append(e.Cgroups, unified)
	legacy = "none"
	if roots.Legacy != "" {
		legacy = filepath.Join(roots.Legacy, slice)
		if os.MkdirAll(legacy, 0o755) == nil {
			e.Cgroups = append(e.Cgroups, legacy)
		} else {
			legacy = "none"
		}
	}
	e.TB.Cleanup(e.removeCgroups)
	return unified, legacy
}

// removeStale removes what an earlier run that was killed before its
// cleanup left in root: NAME-PID-N.slice subtrees whose PID is gone. One
// whose PID lives (its run, or a reused pid) is left alone.
func (e *Env) removeStale(root, name string) {
	if root == "" {
		return
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, ent := range ents {
		pid, ok := slicePID(ent.Name(), name)
		if !ok || !ent.IsDir() || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		if err := cgroup2.RemoveTree(filepath.Join(root, ent.Name()), time.Second); err != nil {
			e.TB.Logf("stale cgroup of an earlier run: %v", err)
		}
	}
}

// slicePID is the PID in a cgroup name NAME-PID-N.slice made by
// MakeCgroups for name.
func slicePID(entry, name string) (int, bool) {
	rest, ok := strings.CutPrefix(entry, name+"-")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".slice")
	if !ok {
		return 0, false
	}
	p, n, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return 0, false
	}
	if _, err := strconv.Atoi(n); err != nil {
		return 0, false
	}
	return pid, true
}

func (e *Env) removeCgroups() {
	for _, root := range e.Cgroups {
		if err := cgroup2.RemoveTree(root, time.Second); err != nil {
			e.TB.Logf("cleanup: %v", err)
		}
	}
}

// busConfig is a system bus like Debian's system.conf (deny by default,
// services open themselves up) with sessiond's shipped policy included;
// the second %s is more configuration.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>` + BusAddr + `</listen>
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
  <include>%s</include>%s
</busconfig>
`

// StartBus starts a private dbus-daemon listening on BusAddr, with the
// repository's login1 policy and extraConfig (busconfig elements), and
// waits for its socket. The test binary runs in its package directory,
// somewhere below the module's root, where the policy is found.
func (e *Env) StartBus(extraConfig string) {
	e.TB.Helper()
	top, err := moduleRoot()
	e.Must(err, "module root")
	policy := filepath.Join(top, "units/dbus-policy/org.freedesktop.login1.conf")
	e.Must(os.WriteFile(e.Path("bus.conf"), []byte(fmt.Sprintf(busConfig, policy, extraConfig)), 0o644), "bus.conf")
	e.dbus = exec.Command("dbus-daemon", "--nofork", "--nopidfile", "--config-file="+e.Path("bus.conf"))
	dlog, err := os.Create(e.Path("dbus.log"))
	e.Must(err, "dbus log")
	defer dlog.Close()
	e.dbus.Stdout, e.dbus.Stderr = dlog, dlog
	e.Must(e.dbus.Start(), "start dbus-daemon")
	e.TB.Cleanup(func() { Stop(e.dbus) })
	e.WaitFor("bus socket", func() bool { return Listening("/run/dbus/system_bus_socket", 0) })
}

// StartDaemon starts sessiond (bin) with args and -ready-fd, logging to
// sessiond.log (appended to, so a restarted daemon's log follows the
// killed one's), and waits for its readiness notification. It may be
// called again after the last one was killed; cleanup stops the last one
// by pid and fails the test if the log shows a panic or data race.
func (e *Env) StartDaemon(bin string, args ...string) {
	e.TB.Helper()
	if !e.daemonWatched {
		e.daemonWatched = true
		e.TB.Cleanup(func() {
			Stop(e.Daemon)
			// A panic or (in a -race build) a data race fails the test
			// even if every client got its answer.
			if l := e.Log(); strings.Contains(l, "panic:") || strings.Contains(l, "DATA RACE") {
				e.TB.Errorf("sessiond log shows a panic or data race:\n%s", l)
			}
		})
	}
	logf, err := os.OpenFile(e.Path("sessiond.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	e.Must(err, "log file")
	defer logf.Close()
	rd, wr, err := os.Pipe()
	e.Must(err, "ready pipe")
	defer rd.Close()
	e.Daemon = exec.Command(bin, append(args, "-ready-fd", "3")...)
	e.Daemon.Stdout, e.Daemon.Stderr = logf, logf
	e.Daemon.ExtraFiles = []*os.File{wr}
	err = e.Daemon.Start()
	wr.Close()
	e.Must(err, "start sessiond")
	_ = rd.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := rd.Read(make([]byte, 1)); n != 1 {
		e.TB.Fatalf("no readiness notification from sessiond (%v); log:\n%s", err, e.Log())
	}
}

// Stop ends a process the test started, by pid: SIGTERM, SIGKILL after
// 3 seconds, and reaps it. A nil, unstarted or reaped c is left alone.
func Stop(c *exec.Cmd) {
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

// Start starts c and stops it (by pid) when the test ends.
func (e *Env) Start(c *exec.Cmd) {
	e.TB.Helper()
	e.Must(c.Start(), "start "+c.Path)
	e.TB.Cleanup(func() { Stop(c) })
}

// CmdEnv is a client's environment: the private bus, no pager, no
// colours, C locale, plus extra.
func (e *Env) CmdEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "DBUS_SYSTEM_BUS_ADDRESS=" + BusAddr, "LANG=C", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER="}, extra...)
}

// Run runs a client command (killed after 30 seconds) and returns its
// combined output.
func (e *Env) Run(extraEnv []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Env = e.CmdEnv(extraEnv...)
	var out SyncBuffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return out.String(), err
}

// OK runs a client command that must succeed and returns its output.
func (e *Env) OK(name string, args ...string) string {
	e.TB.Helper()
	out, err := e.Run(nil, name, args...)
	if err != nil {
		e.TB.Fatalf("%s %s: %v\n%s\nsessiond log:\n%s", name, strings.Join(args, " "), err, out, e.Log())
	}
	return out
}

// Held is a session kept open by a pamtester blocked in open_session.
type Held struct {
	Cmd   *exec.Cmd
	Out   *SyncBuffer // pamtester's output
	Tag   string      // USER-TTY, as the hold script names its files
	ID    string      // XDG_SESSION_ID, "" if no session was made
	Vars  map[string]string
	Sleep int // the session's program (the hold script's sleep)
}

// Hold runs `pamtester -I tty=TTY flags... service user open_session
// close_session` with extraEnv, where service runs HoldScript's script,
// and waits until the script has recorded the open session. tty must be
// unique among the test's held sessions.
func (e *Env) Hold(service, user, tty string, flags, extraEnv []string) *Held {
	e.TB.Helper()
	args := append(append([]string{"-I", "tty=" + tty}, flags...), service, user, "open_session", "close_session")
	c := exec.Command("pamtester", args...)
	c.Env = e.CmdEnv(extraEnv...)
	h := &Held{Cmd: c, Out: &SyncBuffer{}, Tag: strings.ReplaceAll(user+"-"+tty, "/", "_"), Vars: map[string]string{}}
	c.Stdout, c.Stderr = h.Out, h.Out
	e.Start(c)
	file := filepath.Join(e.Path("held"), h.Tag)
	e.wait(func() string { return "session of " + user + " on " + tty + " (pamtester: " + h.Out.String() + ")" }, func() bool {
		_, err := os.Stat(file)
		return err == nil
	})
	data, err := os.ReadFile(file)
	e.Must(err, "read held file")
	_ = os.Remove(file)
	h.Vars = ParseKV(strings.TrimSpace(string(data)))
	h.ID = h.Vars["XDG_SESSION_ID"]
	h.Sleep, _ = strconv.Atoi(h.Vars["PID"])
	if h.Sleep == 0 {
		e.TB.Fatalf("held session incomplete: %q", data)
	}
	return h
}

// moduleRoot is the nearest directory at or above the working directory
// that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("no go.mod at or above the working directory")
		}
		dir = up
	}
}
