// Package pam_test drives the built pam_sessiond.so through the real
// pamtester against the built sessiond on a private dbus-daemon, inside a
// private mount namespace (own /run, /etc/pam.d and /dev/log, own cgroup
// subtree), and checks the result with the real loginctl and the module's
// syslog messages. It needs root; without the prerequisites every test
// skips with the reason.
package pam_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/testenv"
)

// TestMain re-executes the test binary in a private mount namespace, so
// that the tmpfs on /run, the PAM configuration on /etc/pam.d and the
// syslog socket on /dev/log never reach the host.
func TestMain(m *testing.M) {
	if os.Getenv(goAppEnv) != "" {
		os.Exit(goPAMApp())
	}
	testenv.Main(m, func() string { return testenv.Prerequisites(nil, nil) }, "sessiond", "pam_sessiond.so")
}

// env is one private world (testenv.Env) with /dev/log captured and
// (optionally) a sessiond.
type env struct {
	*testenv.Env
	module string // absolute path of pam_sessiond.so
	sys    *syslogSink
}

// newEnv sets up a world; withSessiond false leaves the bus without a
// login1 owner (a machine where sessiond is not running).
func newEnv(tb testing.TB, withSessiond bool) *env {
	tb.Helper()
	e := &env{Env: testenv.New(tb), module: filepath.Join(testenv.BinDir(), "pam_sessiond.so")}
	e.writePAM()
	e.sys = e.captureSyslog()
	e.Diagnose = func() string { return "syslog:\n" + e.sys.text() }
	uni, leg := e.MakeCgroups("pam-it")
	e.StartBus("")
	if withSessiond {
		e.StartDaemon(filepath.Join(testenv.BinDir(), "sessiond"), "-bus", testenv.BusAddr, "-run-dir", "/run",
			"-cgroup-root", uni, "-cgroup-legacy-root", leg, "-vts", "off", "-linger-dir", e.Path("linger"), "-stop-timeout", "3s")
	}
	return e
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
	e.TB.Helper()
	old := e.Path("dev")
	e.Must(os.Mkdir(old, 0o755), "mkdir dev")
	e.Must(unix.Mount("/dev", old, "", unix.MS_BIND|unix.MS_REC, ""), "bind /dev")
	e.TB.Cleanup(func() { _ = unix.Unmount(old, unix.MNT_DETACH) })
	e.Must(unix.Mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755"), "tmpfs on /dev")
	e.TB.Cleanup(func() { _ = unix.Unmount("/dev", unix.MNT_DETACH) })
	ents, err := os.ReadDir(old)
	e.Must(err, "read /dev")
	for _, d := range ents {
		if d.Name() != "log" {
			e.Must(os.Symlink(filepath.Join(old, d.Name()), filepath.Join("/dev", d.Name())), "symlink /dev/"+d.Name())
		}
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "/dev/log", Net: "unixgram"})
	e.Must(err, "listen on /dev/log")
	e.Must(os.Chmod("/dev/log", 0o666), "chmod /dev/log")
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
	e.TB.Cleanup(func() { conn.Close(); <-done })
	return s
}

// writePAM writes the test services. modtest: pam_sessiond alone.
// modhold: pam_sessiond with debug, then pam_exec keeps pamtester inside
// open_session (running sleep) until the test kills the sleep; at
// close_session the same script records the session's state as loginctl
// sees it right after pam_sessiond's close. modopts: as modhold with
// class=, type= and desktop= options. modstrict: pam_sessiond strict.
func (e *env) writePAM() {
	loginctl, err := exec.LookPath("loginctl")
	e.Must(err, "loginctl")
	hold := e.HoldScript(`	DBUS_SYSTEM_BUS_ADDRESS=` + testenv.BusAddr + ` SYSTEMD_PAGER= ` + loginctl + ` show-session -p State --value "$XDG_SESSION_ID" > "$held/.closed-$tag" 2>&1
	mv "$held/.closed-$tag" "$held/closed-$tag"`)
	base := "auth required pam_permit.so\naccount required pam_permit.so\n"
	holdLine := "session optional pam_exec.so " + hold + "\n"
	e.WritePAM(map[string]string{
		"modtest":   base + "session required " + e.module + "\n",
		"modhold":   base + "session required " + e.module + " debug\n" + holdLine,
		"modopts":   base + "session required " + e.module + " class=greeter type=x11 desktop=ginit-test debug\n" + holdLine,
		"modstrict": base + "session required " + e.module + " strict\n",
	})
}

// hold opens a session through service with pamtester -v and extra
// pamtester arguments (see testenv.Env.Hold).
func (e *env) hold(service, user, tty string, extra ...string) *testenv.Held {
	e.TB.Helper()
	return e.Hold(service, user, tty, append([]string{"-v"}, extra...), nil)
}

// release ends a held session the way a login does: the session's
// program exits, pamtester calls close_session and exits. It returns
// the session state pam_exec saw right after pam_sessiond's close and
// pamtester's output.
func (e *env) release(h *testenv.Held) (stateAtClose, out string) {
	e.TB.Helper()
	e.Must(syscall.Kill(h.Sleep, syscall.SIGTERM), "kill the session's sleep")
	done := make(chan error, 1)
	go func() { done <- h.Cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			e.TB.Errorf("pamtester %s: %v\n%s", h.Tag, err, h.Out)
		}
	case <-time.After(15 * time.Second):
		e.TB.Fatalf("pamtester %s did not finish after its session program ended:\n%s", h.Tag, h.Out)
	}
	b, err := os.ReadFile(filepath.Join(e.Path("held"), "closed-"+h.Tag))
	e.Must(err, "close_session record")
	return strings.TrimSpace(string(b)), h.Out.String()
}
