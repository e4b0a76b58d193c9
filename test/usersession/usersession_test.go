package usersession_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ginit/internal/testenv"
)

// checkLoggedIn checks what a login through PAM must give at once: the
// session's variables with the bus address (pam_systemd exports it only if
// the socket exists when CreateSession returns, so its presence shows
// that sessiond waited for the manager), a working session bus for the
// real clients, bus activation, and the user's own manager.
func (w *world) checkLoggedIn(h *testenv.Held) {
	w.TB.Helper()
	if h.Vars["XDG_RUNTIME_DIR"] != runtimeDir() || h.Vars["DBUS_SESSION_BUS_ADDRESS"] != "unix:path="+runtimeDir()+"/bus" {
		w.TB.Errorf("session environment: %v", h.Vars)
	}
	w.busWorks()
	out := w.userOK("gdbus", "call", "--session", "--dest", "org.ginit.Test1", "--object-path", "/org/ginit/Test1", "--method", "org.ginit.Test1.Ping")
	if !strings.Contains(out, "pong") {
		w.TB.Errorf("gdbus call of the activated service: %s", out)
	}
	ctl := filepath.Join(w.userBin, "ginitctl")
	if out := w.userOK(ctl, "--user", "list"); !strings.Contains(out, "dbus") || !strings.Contains(out, "boot") {
		w.TB.Errorf("ginitctl --user list:\n%s", out)
	}
	// The manager runs as the user with its groups, in its cgroup.
	pid := w.managerPID()
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, want := range []string{fmt.Sprintf("Uid:\t%d\t%d", userID, userID), fmt.Sprintf("Gid:\t%d\t%d", userID, userID), fmt.Sprintf("Groups:\t%d", userID)} {
		if !strings.Contains(string(status), want) {
			w.TB.Errorf("user manager %d: no %q in its status:\n%s", pid, want, status)
		}
	}
	// logind's names for it, as libsystemd's clients read them.
	user := w.OK("busctl", "get-property", "org.freedesktop.login1", fmt.Sprintf("/org/freedesktop/login1/user/_%d", userID),
		"org.freedesktop.login1.User", "Service")
	if !strings.Contains(user, fmt.Sprintf(`"user@%d.service"`, userID)) {
		w.TB.Errorf("User.Service: %s", user)
	}
	f := testenv.ParseKV(read(w.TB, fmt.Sprintf("/run/systemd/users/%d", userID)))
	if f["SERVICE"] != fmt.Sprintf("user@%d.service", userID) || f["SLICE"] != fmt.Sprintf("user-%d.slice", userID) {
		t := w.TB
		t.Errorf("user state file: SERVICE=%q SLICE=%q", f["SERVICE"], f["SLICE"])
	}
}

// TestLoginSessionBus: a login through pam_sessiond.so starts the user's
// manager (ginit's user@UID) with the session bus; the user's own
// service from ~/.config/ginit.d starts with ginitctl --user; a second,
// parallel login shares the manager; logging out of the last one stops
// it after UserStopDelaySec, with every process and the cgroup.
func TestLoginSessionBus(t *testing.T) {
	w := newWorld(t, options{})
	a := w.login("usd", "pts/1")
	w.checkLoggedIn(a)
	if out := w.userOK(filepath.Join(w.userBin, "ginitctl"), "--user", "start", "hello"); !strings.Contains(out, "started") {
		t.Errorf("ginitctl --user start hello: %s", out)
	}
	// enable links it into the shipped boot's boot.d, in the user's home.
	w.userOK(filepath.Join(w.userBin, "ginitctl"), "--user", "enable", "hello")
	if _, err := os.Lstat(filepath.Join(w.home, ".config/ginit.d/boot.d/hello")); err != nil {
		t.Errorf("ginitctl --user enable hello: %v", err)
	}
	if out, _ := w.ginitctl("status", fmt.Sprintf("user@%d", userID)); !strings.Contains(out, "started") {
		t.Errorf("system ginit: user@%d not started:\n%s", userID, out)
	}
	first := w.managerPID()

	b := w.login("usd", "pts/2")
	w.checkLoggedIn(b)
	if got := w.managerPID(); got != first {
		t.Errorf("second login has manager %d, the first %d: not shared", got, first)
	}
	w.logout(a)
	time.Sleep(1500 * time.Millisecond) // past UserStopDelaySec=1
	if !alive(first) {
		t.Fatal("the manager stopped while a session is left")
	}
	w.busWorks()

	pids := w.managerPids()
	if len(pids) < 3 { // ginit, dbus-daemon, hello (and pingsvc)
		t.Errorf("manager cgroup holds %v", pids)
	}
	w.logout(b)
	w.waitGone(pids)
	if out, _ := w.ginitctl("status", fmt.Sprintf("user@%d", userID)); !strings.Contains(out, "stopped") {
		t.Errorf("system ginit: user@%d not stopped:\n%s", userID, out)
	}
}

// TestLoginPamSystemd: the same through Debian's pam_systemd.so, which
// takes sessiond for logind.
func TestLoginPamSystemd(t *testing.T) {
	w := newWorld(t, options{})
	h := w.login("usys", "pts/1")
	w.checkLoggedIn(h)
	pids := w.managerPids()
	w.logout(h)
	w.waitGone(pids)
}

// TestLingerKeepsManager: enable-linger starts the manager without a
// session, keeps it across a logout, and disabling it stops it.
func TestLingerKeepsManager(t *testing.T) {
	w := newWorld(t, options{})
	w.OK("busctl", "call", "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
		"SetUserLinger", "ubb", fmt.Sprint(userID), "true", "false")
	w.WaitFor("the lingering user's manager", func() bool {
		_, err := w.asUser("busctl", "--user", "list", "--no-pager")
		return err == nil
	})
	if _, err := os.Stat(w.Path("linger/" + userName)); err != nil {
		t.Errorf("linger file: %v", err)
	}
	pid := w.managerPID()
	h := w.login("usd", "pts/1")
	w.checkLoggedIn(h)
	w.logout(h)
	time.Sleep(1500 * time.Millisecond)
	if !alive(pid) || w.managerPID() != pid {
		t.Fatal("a lingering user's manager stopped with the last session")
	}
	w.busWorks()
	pids := w.managerPids()
	w.OK("busctl", "call", "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
		"SetUserLinger", "ubb", fmt.Sprint(userID), "false", "false")
	w.waitGone(pids)
}

// TestTerminateUser: TerminateUser ends the sessions and stops the
// manager at once.
func TestTerminateUser(t *testing.T) {
	w := newWorld(t, options{stopDelay: "60"})
	h := w.login("usd", "pts/1")
	w.checkLoggedIn(h)
	pids := w.managerPids()
	w.OK("busctl", "call", "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
		"TerminateUser", "u", fmt.Sprint(userID))
	w.waitGone(pids)
}

// TestSessiondKilled: sessiond killed with SIGKILL while the user is
// logged in, and again while the user is closing, loses nothing: the
// manager and bus go on, and the restarted sessiond still stops the
// manager after the last logout.
func TestSessiondKilled(t *testing.T) {
	w := newWorld(t, options{stopDelay: "2"})
	h := w.login("usd", "pts/1")
	w.checkLoggedIn(h)
	pid := w.managerPID()
	w.killSessiond()
	w.busWorks()
	w.startSessiond()
	if w.managerPID() != pid {
		t.Fatal("the restarted sessiond replaced the user's manager")
	}
	h2 := w.login("usd", "pts/2")
	w.checkLoggedIn(h2)
	pids := w.managerPids()
	w.logout(h)
	w.logout(h2)
	// Closing now: UserStopDelaySec=2 is running. Kill again in it.
	w.WaitFor("the user to be closing", func() bool {
		f := testenv.ParseKV(read(w.TB, fmt.Sprintf("/run/systemd/users/%d", userID)))
		return f["STATE"] == "closing"
	})
	w.killSessiond()
	w.startSessiond()
	w.waitGone(pids)
}

// TestSelfSupervised: without ginit as the system manager sessiond runs
// the manager itself, as the user, in the same cgroup, restarts it when
// it crashes, takes it over after its own SIGKILL, and stops it after the
// last logout.
func TestSelfSupervised(t *testing.T) {
	w := newWorld(t, options{selfManage: true})
	h := w.login("usd", "pts/1")
	w.checkLoggedIn(h)
	pid := w.managerPID()
	pids := w.managerPids()
	if !slices.Contains(pids, pid) {
		t.Fatalf("manager %d not in its cgroup (%v)", pid, pids)
	}
	// kill -9 of the manager: sessiond starts it again.
	w.Must(killPid(pid), "kill the manager")
	w.WaitFor("what the killed manager left to go", func() bool {
		for _, p := range pids {
			if alive(p) {
				return false
			}
		}
		return true
	})
	w.WaitFor("a new manager with its bus", func() bool {
		_, err := w.asUser("busctl", "--user", "list", "--no-pager")
		return err == nil
	})
	if w.managerPID() == pid {
		t.Fatal("the killed manager is still there")
	}
	// sessiond killed with SIGKILL: its child manager goes on, the new
	// sessiond finds it in its cgroup (no second manager) and still stops
	// it after the last logout.
	pid = w.managerPID()
	w.killSessiond()
	w.startSessiond()
	h2 := w.login("usd", "pts/2")
	w.checkLoggedIn(h2)
	if got := w.managerPID(); got != pid {
		t.Errorf("manager %d after sessiond's restart, %d before", got, pid)
	}
	pids = w.managerPids()
	w.logout(h)
	w.logout(h2)
	w.waitGone(pids)
}

func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// TestSuLogin: `su -l gtest -c CMD` on a pty (script(1)), through PAM
// with pam_sessiond.so: the login's very first command finds the session
// bus and uses it; when su ends, the manager goes.
func TestSuLogin(t *testing.T) {
	w := newWorld(t, options{})
	cmd := `su -l ` + userName + ` -c 'echo "RT=[$XDG_RUNTIME_DIR] BUS=[$DBUS_SESSION_BUS_ADDRESS]"; busctl --user list --no-pager | grep -c org.freedesktop.DBus; dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames | grep -c org.freedesktop.DBus'`
	out := w.OK("script", "-qec", cmd, "/dev/null")
	want := fmt.Sprintf("RT=[%s] BUS=[unix:path=%s/bus]", runtimeDir(), runtimeDir())
	lines := strings.Fields(strings.ReplaceAll(out, "\r", ""))
	found := 0 // the two counts after the variables: busctl's and dbus-send's
	for i, l := range lines {
		if n, err := strconv.Atoi(l); err == nil && n > 0 && i > 0 {
			found++
		}
	}
	if !strings.Contains(out, want) || found != 2 {
		t.Errorf("su -l output %q: want %q and both bus clients to find org.freedesktop.DBus", out, want)
	}
	w.WaitFor("the manager to go after su ended", func() bool {
		_, err := os.Stat(w.managerCgroup())
		return os.IsNotExist(err)
	})
}
