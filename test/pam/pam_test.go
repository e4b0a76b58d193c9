package pam_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ginit/internal/testenv"
)

// parseFields parses "key:\tvalue" lines (/proc fdinfo).
func parseFields(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// fifoFDs lists the descriptors of pid that refer to path.
func fifoFDs(t *testing.T, pid int, path string) []string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var fds []string
	for _, d := range ents {
		if l, err := os.Readlink(filepath.Join(dir, d.Name())); err == nil && l == path {
			fds = append(fds, d.Name())
		}
	}
	return fds
}

func (e *env) waitGone(id string) {
	e.TB.Helper()
	e.WaitFor("session "+id+" to go", func() bool {
		_, err := os.Stat("/run/systemd/sessions/" + id)
		return os.IsNotExist(err)
	})
}

func (e *env) sessionCount() int {
	e.TB.Helper()
	out := strings.TrimSpace(e.OK("loginctl", "list-sessions", "--no-legend"))
	if out == "" {
		return 0
	}
	return strings.Count(out, "\n") + 1
}

// TestPAMSessiond opens sessions through pamtester + pam_sessiond.so with
// different items, environment and options, checks them with loginctl
// and the PAM environment the next module sees, then closes them.
func TestPAMSessiond(t *testing.T) {
	e := newEnv(t, true)

	root := e.hold("modhold", "root", "pts/3")
	display := e.hold("modhold", "nobody", ":4", "-E", "XDG_SEAT=seat0")
	remote := e.hold("modhold", "root", "/dev/pts/5", "-I", "rhost=client.example", "-I", "ruser=alice")
	opts := e.hold("modopts", "nobody", "pts/6", "-E", "XDG_SESSION_DESKTOP=override")
	all := map[string]*testenv.Held{"root": root, "display": display, "remote": remote, "opts": opts}
	ids := map[string]bool{}
	for name, h := range all {
		if h.ID == "" {
			t.Fatalf("%s: no XDG_SESSION_ID in the PAM environment: %v\npamtester: %s\nsyslog:\n%s", name, h.Vars, h.Out, e.sys.text())
		}
		ids[h.ID] = true
	}
	if len(ids) != len(all) {
		t.Fatalf("session ids not distinct: %v", ids)
	}

	t.Run("pam_env", func(t *testing.T) {
		want := map[*testenv.Held]map[string]string{
			root: {"XDG_RUNTIME_DIR": "/run/user/0", "XDG_SESSION_TYPE": "tty", "XDG_SESSION_CLASS": "user",
				"XDG_SEAT": "", "XDG_VTNR": "", "XDG_SESSION_DESKTOP": ""},
			display: {"XDG_RUNTIME_DIR": "/run/user/65534", "XDG_SESSION_TYPE": "x11", "XDG_SESSION_CLASS": "user", "XDG_SEAT": "seat0"},
			remote:  {"XDG_RUNTIME_DIR": "/run/user/0", "XDG_SESSION_TYPE": "tty"},
			opts: {"XDG_RUNTIME_DIR": "/run/user/65534", "XDG_SESSION_TYPE": "x11", "XDG_SESSION_CLASS": "greeter",
				"XDG_SESSION_DESKTOP": "override"},
		}
		for h, vars := range want {
			for k, v := range vars {
				if h.Vars[k] != v {
					t.Errorf("%s: %s=%q, want %q (all: %v)", h.Tag, k, h.Vars[k], v, h.Vars)
				}
			}
		}
	})

	t.Run("loginctl", func(t *testing.T) {
		out := e.OK("loginctl", "list-sessions", "--no-legend")
		for _, want := range []string{
			`(?m)^\s*` + root.ID + `\s+0\s+root\s+pts/3\s*$`,
			`(?m)^\s*` + display.ID + `\s+65534\s+nobody\s+seat0\s*$`,
			`(?m)^\s*` + remote.ID + `\s+0\s+root\s+pts/5\s*$`,
			`(?m)^\s*` + opts.ID + `\s+65534\s+nobody\s+pts/6\s*$`,
		} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("list-sessions: no line like %s in\n%s", want, out)
			}
		}
		shows := map[*testenv.Held]map[string]string{
			root: {"Name": "root", "User": "0", "TTY": "pts/3", "Display": "", "Type": "tty", "Class": "user",
				"Service": "modhold", "Remote": "no", "Seat": "", "Leader": strconv.Itoa(root.Cmd.Process.Pid),
				// No unit, as in elogind: a Scope would send loginctl to
				// org.freedesktop.systemd1 (the cgroup placement is checked below).
				"Scope": ""},
			display: {"Name": "nobody", "User": "65534", "TTY": "", "Display": ":4", "Type": "x11", "Class": "user",
				"Seat": "seat0", "Remote": "no", "Leader": strconv.Itoa(display.Cmd.Process.Pid)},
			remote: {"TTY": "pts/5", "Remote": "yes", "RemoteHost": "client.example", "RemoteUser": "alice"},
			opts:   {"TTY": "pts/6", "Type": "x11", "Class": "greeter", "Desktop": "override", "Service": "modopts"},
		}
		for h, want := range shows {
			got := testenv.ParseKV(e.OK("loginctl", "show-session", h.ID))
			if got["Id"] != h.ID || got["State"] != "active" {
				t.Errorf("show-session %s: Id=%q State=%q", h.ID, got["Id"], got["State"])
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("show-session %s (%s): %s=%q, want %q", h.ID, h.Tag, k, got[k], v)
				}
			}
		}
		status, _ := e.Run(nil, "loginctl", "session-status", root.ID)
		for _, want := range []string{root.ID + " - root (0)", "TTY: pts/3", "Service: modhold; type tty; class user",
			"State: active", "Leader: " + strconv.Itoa(root.Cmd.Process.Pid)} {
			if !strings.Contains(status, want) {
				t.Errorf("session-status lacks %q:\n%s", want, status)
			}
		}
		users := e.OK("loginctl", "list-users", "--no-legend")
		if !regexp.MustCompile(`(?m)^\s*0\s+root`).MatchString(users) || !regexp.MustCompile(`(?m)^\s*65534\s+nobody`).MatchString(users) {
			t.Errorf("list-users:\n%s", users)
		}
	})

	t.Run("fifo", func(t *testing.T) {
		// The login process holds the session's FIFO once, close-on-exec;
		// the session's programs do not inherit it.
		for _, h := range []*testenv.Held{root, display} {
			ref := "/run/systemd/sessions/" + h.ID + ".ref"
			fds := fifoFDs(t, h.Cmd.Process.Pid, ref)
			if len(fds) != 1 {
				t.Errorf("pamtester %d holds %s on fds %v, want one", h.Cmd.Process.Pid, ref, fds)
			}
			for _, fd := range fds {
				info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", h.Cmd.Process.Pid, fd))
				if err != nil {
					t.Fatal(err)
				}
				flags, err := strconv.ParseUint(parseFields(string(info))["flags"], 8, 64)
				if n, _ := strconv.Atoi(fd); err != nil || flags&0o2000000 == 0 || n <= 2 {
					t.Errorf("FIFO fd %s: flags %o (%v), want O_CLOEXEC and above 2", fd, flags, err)
				}
			}
			if fds := fifoFDs(t, h.Sleep, ref); len(fds) != 0 {
				t.Errorf("the session's program %d inherited the FIFO on fds %v", h.Sleep, fds)
			}
		}
	})

	t.Run("debug_log", func(t *testing.T) {
		pid := strconv.Itoa(root.Cmd.Process.Pid)
		if !e.sys.has("pam_sessiond", "CreateSession uid=0 pid="+pid+` service="modhold" type="tty" class="user"`, `tty="pts/3"`) {
			t.Errorf("no debug line with root's CreateSession arguments in syslog:\n%s", e.sys.text())
		}
		if !e.sys.has("pam_sessiond", `remote=true remote_user="alice" remote_host="client.example"`) {
			t.Errorf("no debug line with the remote session's arguments:\n%s", e.sys.text())
		}
	})

	t.Run("close", func(t *testing.T) {
		// close_session releases (sessiond marks the session closing
		// while pamtester, its leader, still runs) and drops the FIFO;
		// the session is gone once pamtester has exited.
		for _, h := range []*testenv.Held{root, display, remote, opts} {
			state, out := e.release(h)
			if state != "closing" {
				t.Errorf("%s: state right after close_session %q, want closing", h.Tag, state)
			}
			if !strings.Contains(out, "successfully been closed") {
				t.Errorf("%s: pamtester: %s", h.Tag, out)
			}
			e.waitGone(h.ID)
			if !e.sys.has("pam_sessiond", "session "+h.ID+" released") {
				t.Errorf("no release of %s logged:\n%s", h.ID, e.sys.text())
			}
			if list := e.OK("loginctl", "list-sessions", "--no-legend"); regexp.MustCompile(`(?m)^\s*` + h.ID + `\s`).MatchString(list) {
				t.Errorf("session %s still listed after close:\n%s", h.ID, list)
			}
		}
		if n := e.sessionCount(); n != 0 {
			t.Errorf("%d sessions left", n)
		}
		e.WaitFor("users to go", func() bool {
			return strings.TrimSpace(e.OK("loginctl", "list-users", "--no-legend")) == ""
		})
	})
	if t.Failed() {
		t.Logf("sessiond log:\n%s\nsyslog:\n%s", e.Log(), e.sys.text())
	}
}

// TestOpenClose: one pamtester run with both operations, as a login
// that ends at once; nothing is left behind.
func TestOpenClose(t *testing.T) {
	e := newEnv(t, true)
	out := e.OK("pamtester", "-v", "modtest", "nobody", "open_session", "close_session")
	if !strings.Contains(out, "successfully opened") || !strings.Contains(out, "successfully been closed") {
		t.Fatalf("pamtester: %s", out)
	}
	e.WaitFor("the session to go", func() bool { ents, _ := os.ReadDir("/run/systemd/sessions"); return len(ents) == 0 })
	if n := e.sessionCount(); n != 0 {
		t.Errorf("%d sessions after pamtester exited", n)
	}
	if !strings.Contains(e.Log(), "session removed") {
		t.Errorf("sessiond did not log a removed session:\n%s", e.Log())
	}
	if l := e.sys.text(); strings.Contains(l, "pam_sessiond") {
		t.Errorf("pam_sessiond logged without debug on a clean run:\n%s", l)
	}
}

// TestNestedLogin: a login from inside a session (su, sudo) gets
// SessionBusy; pam_sessiond lets it proceed without a second session.
func TestNestedLogin(t *testing.T) {
	e := newEnv(t, true)
	outer := e.hold("modhold", "root", "pts/2")
	procs := filepath.Join(e.Cgroups[0], "user.slice", "user-0.slice", "session-"+outer.ID+".scope", "cgroup.procs")
	if _, err := os.Stat(procs); err != nil {
		t.Fatalf("session scope: %v", err)
	}
	pamConf := filepath.Join(e.Path("pam.d"), "modnested")
	e.Must(os.WriteFile(pamConf, []byte("session required "+e.module+" debug\n"), 0o644), "pam modnested")
	out, err := e.Run(nil, "sh", "-c", `echo $$ > "$1" && exec pamtester modnested root open_session close_session`, "sh", procs)
	if err != nil || !strings.Contains(out, "successfully opened") {
		t.Fatalf("nested pamtester: %v %s", err, out)
	}
	if n := e.sessionCount(); n != 1 {
		t.Errorf("%d sessions, want only the outer one", n)
	}
	if !e.sys.has("pam_sessiond", "not creating a session", "SessionBusy") {
		t.Errorf("no SessionBusy note in syslog:\n%s", e.sys.text())
	}
	if state, _ := e.release(outer); state != "closing" {
		t.Errorf("outer session state at close %q", state)
	}
}

// TestUnreachable: without sessiond, or without a bus at all, a login
// still succeeds and the module logs a warning; with strict it fails.
func TestUnreachable(t *testing.T) {
	e := newEnv(t, false)
	cases := []struct {
		name    string
		env     []string
		service string
		fail    bool
		logged  []string
	}{
		{"no sessiond", nil, "modtest", false, []string{"pam_sessiond", "CreateSession", "login1 not reachable", "continuing without a session"}},
		{"no bus", []string{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/nonexistent"}, "modtest", false,
			[]string{"pam_sessiond", "unix:path=/run/nonexistent", "login1 not reachable", "continuing without a session"}},
		{"strict", nil, "modstrict", true, []string{"pam_sessiond", "CreateSession", "login1 not reachable"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := e.Run(c.env, "pamtester", "-v", c.service, "root", "open_session", "close_session")
			opened := err == nil && strings.Contains(out, "successfully opened")
			if opened == c.fail {
				t.Errorf("pamtester %s: %v\n%s", c.service, err, out)
			}
			if !e.sys.has(c.logged...) {
				t.Errorf("syslog lacks a line with %q:\n%s", c.logged, e.sys.text())
			}
		})
	}
	t.Run("held login without sessiond", func(t *testing.T) {
		h := e.hold("modhold", "root", "pts/8")
		for _, k := range []string{"XDG_SESSION_ID", "XDG_RUNTIME_DIR", "XDG_SEAT"} {
			if v, ok := h.Vars[k]; ok {
				t.Errorf("%s=%q exported without a session", k, v)
			}
		}
		if _, out := e.release(h); !strings.Contains(out, "successfully been closed") {
			t.Errorf("pamtester: %s", out)
		}
	})
	if _, err := os.Stat("/run/systemd/sessions"); err == nil {
		ents, _ := os.ReadDir("/run/systemd/sessions")
		if len(ents) != 0 {
			t.Errorf("session files without sessiond: %v", fmt.Sprint(ents))
		}
	}
}

// TestSu: a real PAM application, util-linux su, with pam_sessiond in its
// session stack. su opens the session, forks, and runs the shell with the
// PAM environment; the shell runs inside the session's scope. When the
// shell exits, su closes the session and the session goes.
func TestSu(t *testing.T) {
	if _, err := exec.LookPath("su"); err != nil {
		t.Skip("missing command su")
	}
	if testenv.PAMModule("pam_rootok.so") == "" {
		t.Skip("missing PAM module pam_rootok.so")
	}
	e := newEnv(t, true)
	conf := "auth sufficient pam_rootok.so\nauth required pam_deny.so\naccount required pam_permit.so\n" +
		"session required " + e.module + " debug\n"
	e.Must(os.WriteFile(filepath.Join(e.Path("pam.d"), "su"), []byte(conf), 0o644), "pam su")
	script := `echo "id=$XDG_SESSION_ID"; echo "rt=$XDG_RUNTIME_DIR"; echo "class=$XDG_SESSION_CLASS"
echo "cgroup=$(grep '^0::' /proc/self/cgroup)"
loginctl show-session "$XDG_SESSION_ID" -p Name -p Service -p Leader -p State -p Class`
	c := exec.Command("su", "-s", "/bin/sh", "-c", script, "nobody")
	c.Env = e.CmdEnv()
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("su: %v\n%s\nsyslog:\n%s", err, out, e.sys.text())
	}
	got := testenv.ParseKV(string(out))
	id := got["id"]
	if id == "" {
		t.Fatalf("no XDG_SESSION_ID in su's shell:\n%s\nsyslog:\n%s", out, e.sys.text())
	}
	want := map[string]string{"rt": "/run/user/65534", "class": "background", "Name": "nobody", "Service": "su",
		"Leader": strconv.Itoa(c.Process.Pid), "State": "active", "Class": "background"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q; su printed:\n%s", k, got[k], v, out)
		}
	}
	if !strings.HasSuffix(got["cgroup"], "/user.slice/user-65534.slice/session-"+id+".scope") {
		t.Errorf("su's shell is not in the session's scope: %q", got["cgroup"])
	}
	e.waitGone(id)
	if !e.sys.has("pam_sessiond(su:session)", "session "+id+" released") {
		t.Errorf("su's close_session did not release %s:\n%s", id, e.sys.text())
	}
	if n := e.sessionCount(); n != 0 {
		t.Errorf("%d sessions after su exited", n)
	}
}

// TestSuFromUser: su is set-uid root; run by an ordinary user (nobody
// here) its real uid is the user's and its effective uid root. The module
// must authenticate to the bus as the effective uid and ignore the
// caller's DBUS_SYSTEM_BUS_ADDRESS.
func TestSuFromUser(t *testing.T) {
	for _, c := range []string{"su", "setpriv"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skip("missing command " + c)
		}
	}
	e := newEnv(t, true)
	conf := "auth sufficient pam_permit.so\naccount required pam_permit.so\nsession required " + e.module + " debug\n"
	e.Must(os.WriteFile(filepath.Join(e.Path("pam.d"), "su"), []byte(conf), 0o644), "pam su")
	out, err := e.Run([]string{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/user-chosen-bus"}, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"su", "-s", "/bin/sh", "-c", `echo "id=$XDG_SESSION_ID"; echo "rt=$XDG_RUNTIME_DIR"`, "root")
	if err != nil {
		t.Fatalf("su: %v\n%s\nsyslog:\n%s", err, out, e.sys.text())
	}
	got := testenv.ParseKV(out)
	if got["id"] == "" || got["rt"] != "/run/user/0" {
		t.Fatalf("su from nobody to root: %q\nsyslog:\n%s\nsessiond log:\n%s", out, e.sys.text(), e.Log())
	}
	e.waitGone(got["id"])
	if !e.sys.has("pam_sessiond(su:session)", "session "+got["id"]+" released") {
		t.Errorf("su's close_session did not release %s:\n%s", got["id"], e.sys.text())
	}
}
