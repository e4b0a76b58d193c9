package supervise

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"ginit/init/service"
	"ginit/internal/testenv"
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

func notifyDesc(name string) *service.Description {
	d := desc(name)
	d.ExtMut().ReadyNotification = "notify"
	d.LogType = service.LogBuffer
	return d
}

// TestNotifyDbusDaemon: a private dbus-daemon, unchanged, reports its
// readiness with sd_notify READY=1: the first fact about it is Ready, and
// by then its socket is listening.
func TestNotifyDbusDaemon(t *testing.T) {
	bin := needTool(t, "dbus-daemon")
	for mode, root := range treeModes(t) {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			s := newSupConfig(t, Config{CgroupRoot: root(t), RuntimeDir: filepath.Join(dir, "run")})
			bus := filepath.Join(dir, "bus")
			conf := filepath.Join(dir, "bus.conf")
			if err := os.WriteFile(conf, []byte(testenv.SessionBusConfig(bus)), 0o644); err != nil {
				t.Fatal(err)
			}
			d := notifyDesc("dbus")
			r := newRecorder()
			p := spawn(t, s, d, r, bin, "--config-file="+conf, "--nofork", "--nopidfile")
			t.Cleanup(func() { _ = p.KillTree(int(unix.SIGKILL)) })
			e := <-r.ch
			if e.kind != "ready" || e.p != p {
				out, _, _ := s.CatLog("dbus", false)
				t.Fatalf("first event %+v, want ready; output %q", e, out)
			}
			c, err := net.Dial("unix", bus)
			if err != nil {
				t.Fatalf("bus socket after READY=1: %v", err)
			}
			c.Close()
			if err := p.Signal(int(unix.SIGTERM)); err != nil {
				t.Fatal(err)
			}
			r.next(t, "exited")
			r.next(t, "empty")
			s.Release(d)
			if _, err := os.Stat(filepath.Join(dir, "run", "notify", "dbus")); !os.IsNotExist(err) {
				t.Fatalf("notify socket left after Release: %v", err)
			}
		})
	}
}

// TestNotifyStatusMainPID: systemd-notify (sending on behalf of its parent,
// the service's shell) delivers STATUS=, then MAINPID= moves the main pid
// to a process that is not our child, and READY=1 follows. The death of
// the new main process is what Exited reports.
func TestNotifyStatusMainPID(t *testing.T) {
	needTool(t, "systemd-notify")
	for mode, root := range treeModes(t) {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			s := newSupConfig(t, Config{CgroupRoot: root(t), RuntimeDir: dir})
			d := notifyDesc("status")
			r := newRecorder()
			p := spawn(t, s, d, r, "sh", "-c", `systemd-notify --status="warming up"
				sleep 300 &
				systemd-notify MAINPID=$!
				systemd-notify --ready --status=serving
				echo $!
				wait`)
			t.Cleanup(func() { _ = p.KillTree(int(unix.SIGKILL)) })
			shell := p.Pid()
			want := []event{{kind: "status", text: "warming up"}, {kind: "status", text: "serving"}, {kind: "ready"}}
			for _, w := range want {
				e := <-r.ch
				if e.kind != w.kind || e.text != w.text || e.p != p {
					t.Fatalf("event %+v, want %+v", e, w)
				}
			}
			out := catLogWhen(t, s, "status", func(b []byte) bool { return strings.HasSuffix(string(b), "\n") })
			main, err := strconv.Atoi(strings.TrimSpace(out))
			if err != nil {
				t.Fatalf("output %q", out)
			}
			killPid(t, main)
			if p.Pid() != main {
				t.Fatalf("main pid %d after MAINPID=, want %d (shell %d)", p.Pid(), main, shell)
			}
			if err := unix.Kill(main, unix.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if e := r.next(t, "exited"); e.p != p || e.st != (service.ExitStatus{}) {
				t.Fatalf("exit %+v of %v", e.st, e.p)
			}
			r.next(t, "empty") // the shell's wait returned and it exited too
			waitGone(t, shell)
			s.Release(d)
		})
	}
}

// TestNotifyForeignSender: a datagram from a process outside the service
// is ignored (and logged); the service's own READY=1 is then taken.
func TestNotifyForeignSender(t *testing.T) {
	needTool(t, "systemd-notify")
	dir := t.TempDir()
	log := &testLogger{}
	s := newSupConfig(t, Config{Logger: log, RuntimeDir: dir})
	d := notifyDesc("foreign")
	gate := filepath.Join(dir, "go")
	r := newRecorder()
	p := spawn(t, s, d, r, "sh", "-c", `while [ ! -e "$0" ]; do sleep 0.01; done; systemd-notify --ready; exec sleep 300`, gate)
	t.Cleanup(func() { _ = p.KillTree(int(unix.SIGKILL)) })
	sock := filepath.Join(dir, "notify", "foreign")
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("READY=1\nSTATUS=forged")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	log.waitFor(t, "sd_notify message from pid "+strconv.Itoa(os.Getpid())+", not a process of the service, ignored")
	select {
	case e := <-r.ch:
		t.Fatalf("event %+v from a foreign sender", e)
	default:
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if e := <-r.ch; e.kind != "ready" || e.p != p {
		t.Fatalf("event %+v, want ready", e)
	}
}

// TestNotifyNoRuntimeDir: without a runtime directory notify cannot work,
// and the start fails rather than waiting for a readiness that cannot come.
func TestNotifyNoRuntimeDir(t *testing.T) {
	s := newSup(t, "")
	_, err := s.Spawn(service.SpawnRequest{Desc: notifyDesc("x"), Argv: []string{"true"}}, newRecorder())
	if err == nil || err.Error() != `ready-notification "notify": no runtime directory for notify sockets` {
		t.Fatalf("Spawn error = %v", err)
	}
}

// TestSocketActivation: socket-listen is passed as fd 3 with LISTEN_FDS=1
// and LISTEN_PID equal to the pid the process sees as its own (1 in a new
// pid namespace); the socket has the requested mode and owner, accepts
// connections, and is the same socket across restarts until Release.
func TestSocketActivation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown the socket and unshare")
	}
	for _, tc := range []struct {
		name    string
		unshare []string
		runAs   string
	}{
		{"plain", nil, ""},
		{"pid-namespace", []string{"pid"}, ""},
		{"as-nobody", nil, "nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSup(t, "")
			dir := t.TempDir()
			d := desc("sock")
			d.LogType = service.LogBuffer
			d.LogBufferSize = 1 << 16
			d.ExtMut().SocketListen = filepath.Join(dir, "svc.sock")
			d.SocketPermissions = 0o640
			d.SocketUID, d.SocketGID = 65534, 65534
			d.ExtMut().Unshare = tc.unshare
			d.RunAs = tc.runAs
			var ino string
			for run := 0; run < 2; run++ {
				r := newRecorder()
				p := spawn(t, s, d, r, "sh", "-c", `echo "$LISTEN_PID $$ $LISTEN_FDS"; readlink /proc/self/fd/3; echo end`)
				if e := r.next(t, "exited"); !e.st.Success() {
					t.Fatalf("exit %+v", e.st)
				}
				out := catLogWhen(t, s, "sock", func(b []byte) bool { return strings.HasSuffix(string(b), "end\n") })
				_, _, _ = s.CatLog("sock", true)
				lines := strings.Split(out, "\n")
				f := strings.Fields(lines[0])
				if len(f) != 3 || f[0] != f[1] || f[2] != "1" {
					t.Fatalf("LISTEN_PID $$ LISTEN_FDS = %q, want equal pids and 1", lines[0])
				}
				if tc.unshare != nil && f[0] != "1" {
					t.Fatalf("LISTEN_PID = %s in a new pid namespace, want 1", f[0])
				} else if tc.unshare == nil && f[0] != strconv.Itoa(p.Pid()) {
					t.Fatalf("LISTEN_PID = %s, want %d", f[0], p.Pid())
				}
				if run == 0 {
					ino = lines[1]
				}
				if !strings.HasPrefix(lines[1], "socket:[") || lines[1] != ino {
					t.Fatalf("fd 3 = %q in run %d, want the socket %s", lines[1], run, ino)
				}
			}
			var st unix.Stat_t
			if err := unix.Lstat(d.Ext().SocketListen, &st); err != nil {
				t.Fatal(err)
			}
			if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Mode&0o777 != 0o640 || st.Uid != 65534 || st.Gid != 65534 {
				t.Fatalf("socket mode %o owner %d:%d, want socket 0640 65534:65534", st.Mode, st.Uid, st.Gid)
			}
			c, err := net.Dial("unix", d.Ext().SocketListen)
			if err != nil {
				t.Fatalf("connect while no process runs: %v", err)
			}
			c.Close()
			s.Release(d)
			if _, err := os.Lstat(d.Ext().SocketListen); !os.IsNotExist(err) {
				t.Fatalf("socket left after Release: %v", err)
			}
		})
	}
}

// TestSocketListenRefusesFile: socket-listen never replaces a non-socket.
func TestSocketListenRefusesFile(t *testing.T) {
	s := newSup(t, "")
	d := desc("sockfile")
	d.ExtMut().SocketListen = filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(d.Ext().SocketListen, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.Spawn(service.SpawnRequest{Desc: d, Argv: []string{"true"}}, newRecorder())
	want := "socket-listen " + d.Ext().SocketListen + ": exists and is not a socket"
	if err == nil || err.Error() != want {
		t.Fatalf("Spawn error = %v, want %q", err, want)
	}
	if b, _ := os.ReadFile(d.Ext().SocketListen); string(b) != "keep" {
		t.Fatalf("file changed to %q", b)
	}
}

// TestNotifyMainPIDRefused: MAINPID= naming pid 1 or a process outside the
// service is refused (and logged); the main pid stays the same.
func TestNotifyMainPIDRefused(t *testing.T) {
	needTool(t, "systemd-notify")
	outsider := strconv.Itoa(os.Getppid())
	for _, tc := range []struct{ name, pid, log string }{
		{"init", "1", `sd_notify MAINPID=1: invalid pid "1"`},
		{"outsider", outsider, "sd_notify MAINPID=" + outsider + ": process " + outsider + " is not a process of the service"},
		{"garbage", "abc", `sd_notify MAINPID=abc: invalid pid "abc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &testLogger{}
			s := newSupConfig(t, Config{Logger: log, RuntimeDir: t.TempDir()})
			d := notifyDesc("mainpid")
			r := newRecorder()
			p := spawn(t, s, d, r, "sh", "-c", `systemd-notify MAINPID=$0; systemd-notify --ready; exec sleep 300`, tc.pid)
			t.Cleanup(func() { _ = p.KillTree(int(unix.SIGKILL)) })
			main := p.Pid()
			if e := <-r.ch; e.kind != "ready" {
				t.Fatalf("event %+v, want ready", e)
			}
			log.waitFor(t, tc.log)
			if p.Pid() != main {
				t.Fatalf("main pid moved to %d", p.Pid())
			}
		})
	}
}
