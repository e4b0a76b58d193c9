// Package usersession_test logs a user in through PAM (pamtester with
// pam_sessiond.so and with pam_systemd.so, and su -l on a pty) on a private world: a private
// system bus, sessiond, and ginit as the PID 1 of private PID, mount and
// cgroup namespaces running the shipped user@ template for the user's
// service manager, whose shipped boot brings up the session bus. Then,
// as that user, the real busctl, dbus-send, gdbus and ginitctl use the
// session bus and the manager. The user (gtest) exists only in the
// suite's mount namespace, where /etc/passwd and /etc/group are bound
// over with copies that name it. It needs root; without the
// prerequisites every test skips with the reason.
package usersession_test

import (
	"bytes"
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
	"ginit/internal/testenv"
)

// The test user, made up inside the namespace.
const (
	userName = "gtest"
	userID   = 4242
)

// TestMain re-executes the test binary in a private mount namespace (its
// /run, /etc/pam.d, /etc/passwd and cgroup mount never reach the host).
func TestMain(m *testing.M) {
	testenv.Main(m, prerequisites, "sessiond", "pam_sessiond.so", "ginit", "ginitctl")
}

func prerequisites() string {
	if r := testenv.Prerequisites([]string{"busctl", "dbus-send", "gdbus", "setpriv", "go", "su", "script"}, []string{"pam_systemd.so", "pam_rootok.so"}); r != "" {
		return r
	}
	if _, err := os.Stat("/usr/share/dbus-1/session.conf"); err != nil {
		return "missing /usr/share/dbus-1/session.conf (package dbus)"
	}
	return ""
}

// world is testenv.Env plus the test user, a ginit system manager and
// sessiond using it for user managers.
type world struct {
	*testenv.Env
	bin     string // the binaries under test
	userBin string // ginit and ginitctl, where the user may run them
	home    string // the user's home
	uni     string // the test's cgroup subtree (sessiond's -cgroup-root; ginit's cgroupns root)
	sock    string // the system ginit's control socket
	ginit   *exec.Cmd
	ginitLg string
	args    []string // sessiond's
}

// options adjust a world before its daemons start.
type options struct {
	stopDelay  string // logind.conf UserStopDelaySec=
	selfManage bool   // no ginit: sessiond runs the managers itself
	noManagers bool   // no ginit, and sessiond starts no managers
}

func newWorld(tb testing.TB, o options) *world {
	tb.Helper()
	w := &world{Env: testenv.New(tb), bin: testenv.BinDir()}
	w.makeUser()
	w.userBinaries()
	w.writePAM()
	uni, leg := w.MakeCgroups("usersession")
	w.uni = uni
	w.StartBus("")
	if o.stopDelay == "" {
		o.stopDelay = "1"
	}
	w.Must(os.WriteFile(w.Path("logind.conf"), []byte("[Login]\nUserStopDelaySec="+o.stopDelay+"\n"), 0o644), "logind.conf")
	w.sock = w.Path("ginitctl")
	mode := "ginit"
	switch {
	case o.noManagers:
		mode = "none"
	case o.selfManage:
		mode = "self"
	default:
		w.startGinit()
	}
	w.args = []string{"-bus", testenv.BusAddr, "-run-dir", "/run", "-cgroup-root", uni, "-cgroup-legacy-root", leg,
		"-vts", "off", "-linger-dir", w.Path("linger"), "-stop-timeout", "3s", "-config", w.Path("logind.conf"),
		"-ginit-socket", w.sock, "-user-managers", mode, "-user-manager-command", filepath.Join(w.userBin, "ginit") + " --user",
		"-wtmp", "", "-input-dir", "", "-sys-power", w.Path("nopower")}
	w.Diagnose = w.diagnose
	w.startSessiond()
	return w
}

func (w *world) startSessiond() {
	w.TB.Helper()
	w.StartDaemon(filepath.Join(w.bin, "sessiond"), w.args...)
}

// killSessiond kills sessiond with SIGKILL: no clean-up at all.
func (w *world) killSessiond() {
	_ = w.Daemon.Process.Signal(syscall.SIGKILL)
	_ = w.Daemon.Wait()
}

func (w *world) diagnose() string {
	lg, _ := os.ReadFile(w.ginitLg)
	return "ginit log:\n" + string(lg)
}

// makeUser binds copies of /etc/passwd and /etc/group that add gtest over
// the originals (in this mount namespace only), with a home of its own
// holding the shipped user units, a service of its own (hello) and the
// D-Bus activation file of pingsvc.
func (w *world) makeUser() {
	w.TB.Helper()
	home, err := os.MkdirTemp("", "usersession-home-")
	w.Must(err, "home")
	w.TB.Cleanup(func() { os.RemoveAll(home) })
	w.home = home
	for _, f := range []struct{ file, line string }{
		{"/etc/passwd", fmt.Sprintf("%s:x:%d:%d:user session test:%s:/bin/sh\n", userName, userID, userID, home)},
		{"/etc/group", fmt.Sprintf("%s:x:%d:\n", userName, userID)},
	} {
		data, err := os.ReadFile(f.file)
		w.Must(err, "read "+f.file)
		cp := w.Path(filepath.Base(f.file))
		w.Must(os.WriteFile(cp, append(data, f.line...), 0o644), "write "+cp)
		w.Must(unix.Mount(cp, f.file, "", unix.MS_BIND, ""), "bind "+f.file)
		file := f.file
		w.TB.Cleanup(func() { _ = unix.Unmount(file, unix.MNT_DETACH) })
	}
	pingsvc := filepath.Join(home, "pingsvc")
	build := exec.Command("go", "build", "-o", pingsvc, "./testdata/pingsvc")
	if out, err := build.CombinedOutput(); err != nil {
		w.TB.Fatalf("build pingsvc: %v\n%s", err, out)
	}
	files := map[string]string{
		".config/ginit.d/boot":                                 read(w.TB, "../../units/user/boot"),
		".config/ginit.d/dbus":                                 read(w.TB, "../../units/user/dbus"),
		".config/ginit.d/hello":                                "type = process\ncommand = /bin/sleep 1000\n",
		".config/ginit.d/boot.d/.keep":                         "",
		".local/share/dbus-1/services/org.ginit.Test1.service": "[D-BUS Service]\nName=org.ginit.Test1\nExec=" + pingsvc + "\n",
	}
	for rel, text := range files {
		p := filepath.Join(home, rel)
		w.Must(os.MkdirAll(filepath.Dir(p), 0o755), "mkdir "+filepath.Dir(p))
		w.Must(os.WriteFile(p, []byte(text), 0o644), "write "+p)
	}
	w.Must(filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, userID, userID)
	}), "chown home")
	w.Must(os.Chmod(home, 0o755), "chmod home")
}

// userBinaries copies ginit and ginitctl where the user may run them
// (the built ones may be in a directory only root can enter) and points
// bin there; sessiond and the PAM module stay where they are.
func (w *world) userBinaries() {
	w.TB.Helper()
	dir := filepath.Join(w.home, "bin")
	w.Must(os.MkdirAll(dir, 0o755), "user bin dir")
	for _, n := range []string{"ginit", "ginitctl"} {
		data, err := os.ReadFile(filepath.Join(w.bin, n))
		w.Must(err, "read "+n)
		w.Must(os.WriteFile(filepath.Join(dir, n), data, 0o755), "copy "+n)
	}
	w.userBin = dir
}

func read(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// writePAM writes usd (pam_sessiond.so) and usys (pam_systemd.so), both
// holding pamtester in open_session (testenv.HoldScript) until killed,
// and su-l for su -l.
func (w *world) writePAM() {
	hold := "session optional pam_exec.so " + w.HoldScript("") + "\n"
	base := "auth required pam_permit.so\naccount required pam_permit.so\n"
	w.WritePAM(map[string]string{
		"usd":  base + "session required " + filepath.Join(w.bin, "pam_sessiond.so") + "\n" + hold,
		"usys": base + "session required pam_systemd.so\n" + hold,
		// su -l as root: what a login shell gets from a real PAM application.
		"su-l": "auth sufficient pam_rootok.so\naccount required pam_permit.so\nsession required " +
			filepath.Join(w.bin, "pam_sessiond.so") + "\n",
	})
}

// startGinit runs ginit as PID 1 of new PID, mount and cgroup namespaces
// whose cgroup root is the test's subtree, with cgroup2 mounted afresh
// there so that user@'s run-in-cgroup /user.slice/… is the test's
// uni/user.slice/…, where sessiond puts the sessions (these mounts are
// the new namespace's own). /run is made shared
// first, so the runtime directories sessiond mounts reach ginit's
// namespace. Its service directory holds the shipped user@, its command
// pointed at the binary under test.
func (w *world) startGinit() {
	w.TB.Helper()
	sd := w.Path("system.d")
	w.Must(os.MkdirAll(sd, 0o755), "system.d")
	unit := strings.Replace(read(w.TB, "../../units/user@"), "/usr/sbin/ginit", filepath.Join(w.userBin, "ginit"), 1)
	w.Must(os.WriteFile(filepath.Join(sd, "user@"), []byte(unit), 0o644), "user@")
	w.Must(os.WriteFile(filepath.Join(sd, "boot"), []byte("type = internal\n"), 0o644), "boot")
	w.Must(unix.Mount("", "/run", "", unix.MS_SHARED, ""), "make /run shared")
	mount, err := cgroup2.UnifiedMount()
	w.Must(err, "cgroup2 mount")
	w.ginitLg = w.Path("ginit.log")
	// The kernel refuses the cgroup2 superblock on top of itself at the
	// same place: a tmpfs goes between.
	script := "mount -t tmpfs none " + mount + " && mount -t cgroup2 none " + mount + " && exec " + filepath.Join(w.bin, "ginit") +
		" --container -d " + sd + " -p " + w.sock + " -l " + w.ginitLg + " boot"
	cg, err := os.Open(w.uni)
	w.Must(err, "open cgroup")
	defer cg.Close()
	w.ginit = exec.Command("unshare", "--pid", "--fork", "--kill-child", "--mount", "--propagation", "unchanged",
		"--mount-proc", "--cgroup", "--", "/bin/sh", "-c", script)
	w.ginit.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	var out testenv.SyncBuffer
	w.ginit.Stdout, w.ginit.Stderr = &out, &out
	w.ginit.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	w.Must(w.ginit.Start(), "start ginit")
	w.TB.Cleanup(func() {
		w.ginitctl("shutdown", "halt")
		done := make(chan struct{})
		go func() { _ = w.ginit.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = w.ginit.Process.Kill()
			<-done
		}
		if w.TB.Failed() {
			w.TB.Logf("ginit output:\n%s\n%s", out.String(), w.diagnose())
		}
	})
	if !testenv.Listening(w.sock, 10*time.Second) {
		w.TB.Fatalf("ginit did not open its control socket:\n%s", out.String())
	}
}

// ginitctl runs the system ginit's ginitctl.
func (w *world) ginitctl(args ...string) (string, error) {
	return w.Run(nil, filepath.Join(w.bin, "ginitctl"), append([]string{"-p", w.sock}, args...)...)
}

// runtimeDir is the user's XDG_RUNTIME_DIR.
func runtimeDir() string { return "/run/user/" + strconv.Itoa(userID) }

// asUser runs a command as gtest with its login environment (what its
// login shell gets from PAM) and returns the combined output.
func (w *world) asUser(name string, args ...string) (string, error) {
	ctx := append([]string{"--reuid", strconv.Itoa(userID), "--regid", strconv.Itoa(userID), "--init-groups", "--",
		"env", "-i", "HOME=" + w.home, "USER=" + userName, "LOGNAME=" + userName, "PATH=/usr/local/bin:/usr/bin:/bin",
		"XDG_RUNTIME_DIR=" + runtimeDir(), "DBUS_SESSION_BUS_ADDRESS=unix:path=" + runtimeDir() + "/bus",
		"SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "LANG=C", name}, args...)
	return w.Run(nil, "setpriv", ctx...)
}

// userOK is asUser for a command that must succeed.
func (w *world) userOK(name string, args ...string) string {
	w.TB.Helper()
	out, err := w.asUser(name, args...)
	if err != nil {
		w.TB.Fatalf("as %s: %s %s: %v\n%s\nsessiond log:\n%s\n%s", userName, name, strings.Join(args, " "), err, out, w.Log(), w.diagnose())
	}
	return out
}

// login holds a session of gtest through PAM service svc on tty.
func (w *world) login(svc, tty string) *testenv.Held {
	w.TB.Helper()
	h := w.Hold(svc, userName, tty, nil, nil)
	if h.ID == "" {
		w.TB.Fatalf("login on %s through %s made no session: %v", tty, svc, h.Vars)
	}
	return h
}

// logout ends a held session: its program (sleep) exits, pamtester then
// runs close_session and exits.
func (w *world) logout(h *testenv.Held) {
	w.TB.Helper()
	_ = syscall.Kill(h.Sleep, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = h.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		w.TB.Fatalf("pamtester did not finish after its session program ended: %s", h.Out.String())
	}
}

// managerCgroup is user@UID.service's cgroup.
func (w *world) managerCgroup() string {
	return filepath.Join(w.uni, "user.slice", fmt.Sprintf("user-%d.slice", userID), fmt.Sprintf("user@%d.service", userID))
}

// managerPids lists every process in the manager's cgroup tree.
func (w *world) managerPids() []int {
	var pids []int
	_ = filepath.Walk(w.managerCgroup(), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			ps, _ := cgroup2.Pids(p)
			pids = append(pids, ps...)
		}
		return nil
	})
	return pids
}

// managerPID is the pid of the user's ginit, in its cgroup.
func (w *world) managerPID() int {
	w.TB.Helper()
	pid := 0
	for _, p := range w.managerPids() {
		if comm(p) == "ginit" {
			pid = p
		}
	}
	if pid == 0 {
		var seen []string
		for _, p := range w.managerPids() {
			seen = append(seen, fmt.Sprintf("%d %s", p, comm(p)))
		}
		// What the user runs, and where (a manager outside its cgroup).
		ps, _ := w.Run(nil, "sh", "-c", "for p in $(pgrep -u "+strconv.Itoa(userID)+"); do echo $p $(cat /proc/$p/comm) $(cat /proc/$p/cgroup | grep ^0::); done")
		w.TB.Fatalf("no ginit in %s (%q)\n%s\nsessiond log:\n%s", w.managerCgroup(), seen, ps, w.Log())
	}
	return pid
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return string(bytes.TrimSpace(b))
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

// busWorks checks the session bus with the real clients, as the user.
func (w *world) busWorks() {
	w.TB.Helper()
	if out := w.userOK("busctl", "--user", "list", "--no-pager"); !strings.Contains(out, "org.freedesktop.DBus") {
		w.TB.Errorf("busctl --user list:\n%s", out)
	}
	if out := w.userOK("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/", "org.freedesktop.DBus.ListNames"); !strings.Contains(out, `string "org.freedesktop.DBus"`) {
		w.TB.Errorf("dbus-send ListNames:\n%s", out)
	}
}

// waitGone waits until the user's manager, its processes, its cgroup and
// the runtime directory are gone.
func (w *world) waitGone(pids []int) {
	w.TB.Helper()
	w.WaitFor("the user manager and its processes to go", func() bool {
		for _, p := range pids {
			if alive(p) {
				return false
			}
		}
		_, err := os.Stat(w.managerCgroup())
		return os.IsNotExist(err)
	})
	w.WaitFor("the runtime directory to go", func() bool {
		_, err := os.Stat(runtimeDir())
		return os.IsNotExist(err)
	})
}
