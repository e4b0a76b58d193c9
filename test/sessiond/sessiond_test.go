package sessiond_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"ginit/internal/testenv"
)

const (
	mgrPath   = godbus.ObjectPath("/org/freedesktop/login1")
	ifManager = "org.freedesktop.login1.Manager"
	ifSession = "org.freedesktop.login1.Session"
	ifSeat    = "org.freedesktop.login1.Seat"
	ifUser    = "org.freedesktop.login1.User"
)

// readerSrc is the sd-login client: everything it prints comes from
// libsystemd reading /proc/PID/cgroup and /run/systemd/*.
const readerSrc = `#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-login.h>
int main(int argc, char **argv) {
	pid_t pid = atoi(argv[1]);
	uid_t uid = atoi(argv[2]);
	char *s = NULL, *st = NULL, **l = NULL;
	uid_t owner = 0;
	int r = sd_pid_get_session(pid, &s);
	printf("pid_session=%s\n", r >= 0 ? s : "");
	if (r >= 0 && sd_session_get_state(s, &st) >= 0)
		printf("state=%s\n", st);
	if (sd_pid_get_owner_uid(pid, &owner) >= 0)
		printf("owner=%u\n", (unsigned) owner);
	r = sd_uid_get_sessions(uid, 0, &l);
	printf("uid_sessions=");
	for (int i = 0; i < r; i++)
		printf("%s%s", i ? " " : "", l[i]);
	printf("\n");
	return 0;
}
`

func (e *env) buildReader() string {
	e.TB.Helper()
	src, bin := e.Path("reader.c"), e.Path("reader")
	e.Must(os.WriteFile(src, []byte(readerSrc), 0o644), "reader.c")
	e.OK("cc", "-o", bin, src, "-lsystemd")
	return bin
}

func sessionPath(id string) godbus.ObjectPath {
	// sd-bus label escaping: a leading digit becomes _3X.
	if id != "" && id[0] >= '0' && id[0] <= '9' {
		return godbus.ObjectPath(fmt.Sprintf("/org/freedesktop/login1/session/_%x%s", id[0], id[1:]))
	}
	return godbus.ObjectPath("/org/freedesktop/login1/session/" + id)
}

func (e *env) waitGone(id string) {
	e.TB.Helper()
	e.WaitFor("session "+id+" to go", func() bool {
		_, err := os.Stat("/run/systemd/sessions/" + id)
		return os.IsNotExist(err)
	})
}

// TestLogin1 is one scenario in a private world: sessions opened with
// pamtester+pam_systemd, seen by loginctl, busctl and sd-login, surviving
// a SIGKILL of sessiond, ended by loginctl.
func TestLogin1(t *testing.T) {
	e := newEnv(t)
	reader := e.buildReader()

	sigs := make(chan *godbus.Signal, 256)
	e.conn.Signal(sigs)
	e.Must(e.conn.AddMatchSignal(godbus.WithMatchSender("org.freedesktop.login1")), "match login1 signals")

	root := e.hold("root", "pts/7")
	nobody := e.hold("nobody", "pts/9", "XDG_SEAT=seat0")

	t.Run("pam_env", func(t *testing.T) {
		if got := root.Vars["XDG_RUNTIME_DIR"]; got != "/run/user/0" {
			t.Errorf("root XDG_RUNTIME_DIR=%q", got)
		}
		if root.Vars["XDG_SESSION_TYPE"] != "tty" || root.Vars["XDG_SESSION_CLASS"] != "user" {
			t.Errorf("root session vars %v", root.Vars)
		}
		if nobody.Vars["XDG_SEAT"] != "seat0" || nobody.Vars["XDG_RUNTIME_DIR"] != "/run/user/65534" {
			t.Errorf("nobody session vars %v", nobody.Vars)
		}
		var st unix.Stat_t
		var fs unix.Statfs_t
		if err := unix.Stat("/run/user/65534", &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 65534 || st.Mode&0o777 != 0o700 {
			t.Errorf("/run/user/65534: uid %d mode %o, want 65534 0700", st.Uid, st.Mode&0o777)
		}
		if err := unix.Statfs("/run/user/65534", &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
			t.Errorf("/run/user/65534 is not a tmpfs (%v)", err)
		}
	})

	t.Run("loginctl", func(t *testing.T) {
		out := e.OK("loginctl", "list-sessions", "--no-legend")
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^\s*` + root.ID + `\s+0\s+root\s+pts/7\s*$`),
			regexp.MustCompile(`(?m)^\s*` + nobody.ID + `\s+65534\s+nobody\s+seat0\s+pts/9\s*$`),
		} {
			if !want.MatchString(out) {
				t.Errorf("list-sessions: no line like %s in\n%s", want, out)
			}
		}
		show := testenv.ParseKV(e.OK("loginctl", "show-session", nobody.ID))
		for k, v := range map[string]string{"Id": nobody.ID, "Name": "nobody", "User": "65534", "Seat": "seat0",
			"TTY": "pts/9", "Type": "tty", "Class": "user", "State": "active", "Active": "yes", "Service": "sdhold",
			"Remote": "no", "Scope": ""} {
			if show[k] != v {
				t.Errorf("show-session %s: %s=%q, want %q", nobody.ID, k, show[k], v)
			}
		}
		status, _ := e.Run(nil, "loginctl", "session-status", root.ID)
		for _, want := range []string{root.ID + " - root (0)", "TTY: pts/7", "Service: sdhold; type tty; class user", "State: active"} {
			if !strings.Contains(status, want) {
				t.Errorf("session-status lacks %q:\n%s", want, status)
			}
		}
		// No Scope, so loginctl does not ask a systemd1 that is not there.
		for _, bad := range []string{"systemd1", "Failed", "Unit:"} {
			if strings.Contains(status, bad) {
				t.Errorf("session-status prints %q:\n%s", bad, status)
			}
		}
		users := e.OK("loginctl", "list-users", "--no-legend")
		if !regexp.MustCompile(`(?m)^\s*0\s+root`).MatchString(users) || !regexp.MustCompile(`(?m)^\s*65534\s+nobody`).MatchString(users) {
			t.Errorf("list-users:\n%s", users)
		}
		mgr := testenv.ParseKV(e.OK("loginctl", "show-session", "--all")) // no id: the manager's properties
		for k, v := range map[string]string{"NAutoVTs": "6", "KillUserProcesses": "no", "BlockInhibited": "", "IdleHint": "no", "InhibitDelayMaxUSec": "5s"} {
			if got, ok := mgr[k]; !ok || got != v {
				t.Errorf("manager %s=%q (present %v), want %q", k, got, ok, v)
			}
		}
		if seat := testenv.ParseKV(e.OK("loginctl", "show-seat", "seat0")); seat["ActiveSession"] != nobody.ID || seat["CanGraphical"] != "no" || !strings.Contains(seat["Sessions"], nobody.ID) {
			t.Errorf("show-seat seat0: %v", seat)
		}
		if inh := e.OK("systemd-inhibit", "--list", "--no-pager"); !strings.Contains(inh, "No inhibitors") {
			t.Errorf("systemd-inhibit --list:\n%s", inh)
		}
		if seats := e.OK("loginctl", "list-seats", "--no-legend"); strings.TrimSpace(seats) != "seat0" {
			t.Errorf("list-seats: %q", seats)
		}
		if user := testenv.ParseKV(e.OK("loginctl", "show-user", "65534")); user["State"] != "active" || user["RuntimePath"] != "/run/user/65534" || user["Display"] != nobody.ID {
			t.Errorf("show-user 65534: %v", user)
		}
	})

	t.Run("busctl_introspect", func(t *testing.T) {
		paths := map[godbus.ObjectPath][]string{
			mgrPath: {ifManager, `\.CreateSession\s+method\s+uusssssussbssa\(sv\)\s+soshusub`, `\.ListInhibitors\s+method\s+-\s+a\(ssssuu\)`,
				`\.SessionNew\s+signal\s+so`, `\.BlockInhibited\s+property\s+s\s+""`, `\.NAutoVTs\s+property\s+u\s+6`},
			"/org/freedesktop/login1/seat/seat0":  {ifSeat, `\.ActiveSession\s+property\s+\(so\)`, `\.SwitchTo\s+method\s+u`},
			sessionPath(root.ID):                  {ifSession, `\.State\s+property\s+s\s+"active"`, `\.TakeDevice\s+method\s+uu\s+hb`, `\.PauseDevice\s+signal\s+uus`},
			"/org/freedesktop/login1/user/_0":     {ifUser, `\.RuntimePath\s+property\s+s\s+"/run/user/0"`, `\.Kill\s+method\s+i`},
			"/org/freedesktop/login1/user/_65534": {ifUser, `\.Name\s+property\s+s\s+"nobody"`},
			sessionPath(nobody.ID):                {ifSession, `\.Seat\s+property\s+\(so\)`},
		}
		for p, wants := range paths {
			out := e.OK("busctl", "introspect", "--no-pager", "org.freedesktop.login1", string(p))
			for _, w := range wants {
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("introspect %s: no match for %s in\n%s", p, w, out)
				}
			}
		}
		tree := e.OK("busctl", "tree", "--list", "org.freedesktop.login1")
		for _, p := range []string{"/org/freedesktop/login1/seat/seat0", string(sessionPath(root.ID)), "/org/freedesktop/login1/user/_65534"} {
			if !strings.Contains(tree, p+"\n") {
				t.Errorf("busctl tree lacks %s:\n%s", p, tree)
			}
		}
	})

	checkSDLogin := func(t *testing.T) {
		for _, h := range []*testenv.Held{root, nobody} {
			uid := "0"
			if h == nobody {
				uid = "65534"
			}
			got := testenv.ParseKV(e.OK(reader, strconv.Itoa(h.Sleep), uid))
			busState := e.prop(sessionPath(h.ID), ifSession, "State").(string)
			if got["pid_session"] != h.ID || got["state"] != busState || got["owner"] != uid {
				t.Errorf("sd-login for pid %d: %v; bus says session %s state %s", h.Sleep, got, h.ID, busState)
			}
			var list []struct {
				ID   string
				UID  uint32
				User string
				Seat string
				Path godbus.ObjectPath
			}
			e.Must(e.conn.Object("org.freedesktop.login1", mgrPath).Call(ifManager+".ListSessions", 0).Store(&list), "ListSessions")
			var busIDs []string
			for _, s := range list {
				if strconv.Itoa(int(s.UID)) == uid {
					busIDs = append(busIDs, s.ID)
				}
			}
			if got["uid_sessions"] != strings.Join(busIDs, " ") {
				t.Errorf("sd_uid_get_sessions(%s)=%q, ListSessions has %v", uid, got["uid_sessions"], busIDs)
			}
		}
	}
	t.Run("sd_login", checkSDLogin)

	t.Run("errors", func(t *testing.T) {
		bad := []struct {
			args []string
			want string
		}{
			{[]string{"GetSession", "s", "nosuch"}, "No session 'nosuch' known"},
			{[]string{"GetSession", "u", "5"}, "Invalid arguments 'u'"},
			{[]string{"GetUser", "u", "4242"}, "User ID 4242 is not logged in"},
			{[]string{"GetSeat", "s", "seat9"}, "No seat 'seat9' known"},
			{[]string{"GetSessionByPID", "u", "1"}, "does not belong to any known session"},
			{[]string{"KillSession", "ssi", root.ID, "bogus", "15"}, "Invalid kill parameter"},
			{[]string{"KillSession", "ssi", root.ID, "all", "99"}, "Invalid signal"},
			{[]string{"CreateSession", "u", "0"}, "Invalid arguments"},
			{[]string{"CreateSession", "uusssssussbssa(sv)", "0", "0", "x", "bogus", "", "", "", "0", "", "", "false", "", "", "0"}, "Invalid session type"},
			{[]string{"CreateSession", "uusssssussbssa(sv)", "0", "0", "x", "", "", "", "seat7", "0", "", "", "false", "", "", "0"}, "No seat 'seat7' known"},
		}
		for _, b := range bad {
			out, err := e.Run(nil, "busctl", append([]string{"call", "org.freedesktop.login1", string(mgrPath), ifManager}, b.args...)...)
			if err == nil || !strings.Contains(out, b.want) {
				t.Errorf("busctl call %v: err=%v out=%q, want error containing %q", b.args, err, out, b.want)
			}
		}
		// A property read on a session that does not exist, and an
		// unknown method.
		if out, err := e.Run(nil, "busctl", "get-property", "org.freedesktop.login1", "/org/freedesktop/login1/session/nosuch", ifSession, "Id"); err == nil {
			t.Errorf("get-property on a missing session succeeded: %s", out)
		}
		if out, err := e.Run(nil, "busctl", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "NoSuchMethod"); err == nil {
			t.Errorf("unknown method succeeded: %s", out)
		}
		// Authorization: nobody may not terminate root's session, and the
		// bus policy keeps CreateSession root-only.
		asNobody := func(args ...string) (string, error) {
			return e.Run(nil, "setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "busctl"}, args...)...)
		}
		if out, err := asNobody("call", "org.freedesktop.login1", string(mgrPath), ifManager, "TerminateSession", "s", root.ID); err == nil || !strings.Contains(out, "Access denied") {
			t.Errorf("nobody terminating root's session: err=%v %s", err, out)
		}
		if out, err := asNobody("call", "org.freedesktop.login1", string(mgrPath), ifManager, "CreateSession", "uusssssussbssa(sv)",
			"65534", "0", "x", "", "", "", "", "0", "", "", "false", "", "", "0"); err == nil || !strings.Contains(out, "Access denied") {
			t.Errorf("nobody calling CreateSession: err=%v %s", err, out)
		}
		if out, err := asNobody("call", "org.freedesktop.login1", string(mgrPath), ifManager, "ListSessions"); err != nil {
			t.Errorf("nobody listing sessions: %v %s", err, out)
		}
		if !alive(root.Sleep) {
			t.Fatal("root's session died")
		}
		// Still serving.
		e.OK("loginctl", "list-sessions")
	})

	t.Run("properties_changed", func(t *testing.T) {
		drain(sigs)
		e.OK("busctl", "call", "org.freedesktop.login1", string(sessionPath(root.ID)), ifSession, "SetLockedHint", "b", "true")
		want := func(s *godbus.Signal) bool {
			if s.Name != "org.freedesktop.DBus.Properties.PropertiesChanged" || s.Path != sessionPath(root.ID) || len(s.Body) < 2 {
				return false
			}
			ch, _ := s.Body[1].(map[string]godbus.Variant)
			v, ok := ch["LockedHint"]
			return ok && v.Value() == true
		}
		if !waitSignal(sigs, want) {
			t.Error("no PropertiesChanged(LockedHint=true) on the session")
		}
		e.OK("loginctl", "lock-session", root.ID)
		if !waitSignal(sigs, func(s *godbus.Signal) bool { return s.Name == ifSession+".Lock" && s.Path == sessionPath(root.ID) }) {
			t.Error("no Lock signal after loginctl lock-session")
		}
	})

	t.Run("nested_login_is_busy", func(t *testing.T) {
		drain(sigs)
		// A login from inside a session (su, sudo): pam_systemd gets
		// SessionBusy and carries on without a new session.
		procs := filepath.Join(e.Cgroups[0], "user.slice", "user-0.slice", "session-"+root.ID+".scope", "cgroup.procs")
		out, err := e.Run(nil, "sh", "-c", `echo $$ > "$1" && exec pamtester sdtest root open_session close_session`, "sh", procs)
		if err != nil || !strings.Contains(out, "successfully opened") {
			t.Fatalf("nested pamtester: %v %s", err, out)
		}
		if waitSignalFor(sigs, 300*time.Millisecond, func(s *godbus.Signal) bool { return s.Name == ifManager+".SessionNew" }) {
			t.Error("a nested login created a session")
		}
		if out := strings.TrimSpace(e.OK("loginctl", "list-sessions", "--no-legend")); strings.Count(out, "\n") != 1 {
			t.Errorf("list-sessions, want the 2 sessions only:\n%s", out)
		}
	})

	t.Run("caller_identity", func(t *testing.T) {
		// Clients inside a session: "self"/"auto" and pid 0 resolve from
		// the caller's pid through its cgroup.
		procs := filepath.Join(e.Cgroups[0], "user.slice", "user-0.slice", "session-"+root.ID+".scope", "cgroup.procs")
		inSession := func(args ...string) string {
			t.Helper()
			out, err := e.Run(nil, "sh", append([]string{"-c", `p=$1; shift; echo $$ > "$p" && exec "$@"`, "sh", procs}, args...)...)
			if err != nil {
				t.Errorf("%v in the session: %v\n%s", args, err, out)
			}
			return out
		}
		if out := inSession("loginctl", "session-status", "--no-pager"); !strings.Contains(out, root.ID+" - root (0)") {
			t.Errorf("session-status without id:\n%s", out)
		}
		if out := inSession("busctl", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "GetSessionByPID", "u", "0"); !strings.Contains(out, string(sessionPath(root.ID))) {
			t.Errorf("GetSessionByPID(0): %s", out)
		}
		if out := inSession("busctl", "get-property", "org.freedesktop.login1", "/org/freedesktop/login1/session/self", ifSession, "Id"); strings.TrimSpace(out) != `s "`+root.ID+`"` {
			t.Errorf("session/self Id: %s", out)
		}
		if out := inSession("busctl", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "GetSession", "s", "auto"); !strings.Contains(out, string(sessionPath(root.ID))) {
			t.Errorf("GetSession(auto): %s", out)
		}
		// Outside any session (this test process) "self" is an error.
		if out, err := e.Run(nil, "busctl", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "GetSession", "s", "self"); err == nil {
			t.Errorf("GetSession(self) outside a session: %s", out)
		}
		if out := e.OK("loginctl", "user-status", "0", "--no-pager"); !strings.Contains(out, "root (0)") || !strings.Contains(out, "State: active") {
			t.Errorf("user-status 0:\n%s", out)
		}
		e.OK("loginctl", "kill-session", root.ID, "--kill-who=leader", "--signal=SIGCONT")
		if !alive(root.Sleep) {
			t.Error("SIGCONT killed the session")
		}
	})

	t.Run("devices", func(t *testing.T) {
		wantErr := func(call *godbus.Call, name string) {
			t.Helper()
			var de godbus.Error
			if !errors.As(call.Err, &de) || de.Name != name {
				t.Errorf("%s: got %v, want %s", call.Method, call.Err, name)
			}
		}
		ctl, err := godbus.Connect(testenv.BusAddr)
		e.Must(err, "controller connection")
		defer ctl.Close()
		// root's session has no seat: no device at all.
		obj := ctl.Object("org.freedesktop.login1", sessionPath(root.ID))
		e.Must(obj.Call(ifSession+".TakeControl", 0, false).Err, "TakeControl")
		wantErr(obj.Call(ifSession+".TakeDevice", 0, uint32(1), uint32(3)), "org.freedesktop.DBus.Error.AccessDenied")
		wantErr(obj.Call(ifSession+".TakeDevice", 0, uint32(1<<12), uint32(3)), "org.freedesktop.DBus.Error.InvalidArgs")
		// nobody's is on seat0: still only DRM, evdev and hidraw nodes.
		seated := ctl.Object("org.freedesktop.login1", sessionPath(nobody.ID))
		e.Must(seated.Call(ifSession+".TakeControl", 0, false).Err, "TakeControl on seat0")
		for _, dev := range [][2]uint32{{1, 3}, {1, 1}, {4, 1}, {5, 0}, {10, 232}, {99, 99}} { // null, mem, tty1, tty, kvm, none
			wantErr(seated.Call(ifSession+".TakeDevice", 0, dev[0], dev[1]), "System.Error.ENODEV")
		}
		wantErr(seated.Call(ifSession+".TakeDevice", 0, uint32(226), uint32(1<<20)), "org.freedesktop.DBus.Error.InvalidArgs")
		wantErr(seated.Call(ifSession+".ReleaseDevice", 0, uint32(1), uint32(3)), "org.freedesktop.login1.DeviceNotTaken")
		// Someone else: not the controller, and no second controller.
		other := e.conn.Object("org.freedesktop.login1", sessionPath(root.ID))
		wantErr(other.Call(ifSession+".TakeDevice", 0, uint32(1), uint32(5)), "org.freedesktop.login1.NotInControl")
		wantErr(other.Call(ifSession+".ReleaseControl", 0), "org.freedesktop.login1.NotInControl")
		wantErr(other.Call(ifSession+".TakeControl", 0, false), "System.Error.EBUSY")
		// The owner may take control of its own session only.
		asNobody := func(args ...string) (string, error) {
			return e.Run(nil, "setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "busctl"}, args...)...)
		}
		if out, err := asNobody("call", "org.freedesktop.login1", string(sessionPath(root.ID)), ifSession, "TakeControl", "b", "false"); err == nil || !strings.Contains(out, "Access denied") {
			t.Errorf("nobody taking control of root's session: %v %s", err, out)
		}
		if out, err := asNobody("call", "org.freedesktop.login1", string(sessionPath(nobody.ID)), ifSession, "TakeDevice", "uu", "4", "1"); err == nil || !strings.Contains(out, "not in control") {
			t.Errorf("nobody taking tty1 of its session without control: %v %s", err, out)
		}
		// Switching the seat's VT is org.freedesktop.login1.chvt: not for
		// a user outside the seat's active session.
		for _, m := range [][]string{{"SwitchTo", "u", "1"}, {"SwitchToNext"}, {"SwitchToPrevious"}} {
			args := append([]string{"call", "org.freedesktop.login1", "/org/freedesktop/login1/seat/seat0", "org.freedesktop.login1.Seat"}, m...)
			if out, err := asNobody(args...); err == nil || !strings.Contains(out, "Interactive authentication required") {
				t.Errorf("nobody calling %s on seat0: %v %s", m[0], err, out)
			}
		}
		// The controller leaving the bus frees the sessions for another.
		ctl.Close()
		e.WaitFor("control to be released", func() bool {
			return other.Call(ifSession+".TakeControl", 0, false).Err == nil
		})
		e.Must(other.Call(ifSession+".ReleaseControl", 0).Err, "ReleaseControl")
	})

	t.Run("logind_answers", func(t *testing.T) {
		// GetAll in declaration order: the same answer every time.
		first := e.OK("loginctl", "show-seat", "seat0", "-p", "CanGraphical", "-p", "Id", "--value")
		if first != "seat0\nno\n" {
			t.Errorf("show-seat -p CanGraphical -p Id --value = %q, want Id then CanGraphical", first)
		}
		for i := 0; i < 20; i++ {
			if got := e.OK("loginctl", "show-seat", "seat0", "-p", "CanGraphical", "-p", "Id", "--value"); got != first {
				t.Fatalf("show-seat call %d: %q, first %q", i, got, first)
			}
		}
		mgr := e.OK("loginctl", "show-session", "--all")
		for i := 0; i < 5; i++ {
			if again := e.OK("loginctl", "show-session", "--all"); again != mgr {
				t.Fatalf("manager properties in a different order:\n%s\nthen\n%s", mgr, again)
			}
		}
		if out, err := e.Run(nil, "loginctl", "activate", root.ID); err == nil || !strings.Contains(out, "Session has no seat") {
			t.Errorf("loginctl activate of a seatless session: %v %s", err, out)
		}
		e.OK("loginctl", "activate", nobody.ID)
		var si unix.Sysinfo_t
		e.Must(unix.Sysinfo(&si), "sysinfo")
		size := uint64(si.Totalram) * uint64(si.Unit) / 10
		for prop, want := range map[string]string{
			"HandleLidSwitchExternalPower": `s ""`, "HandleLidSwitch": `s "suspend"`, "BlockWeakInhibited": `s ""`,
			"RuntimeDirectorySize": fmt.Sprintf("t %d", size), "RuntimeDirectoryInodesMax": fmt.Sprintf("t %d", (size+4095)/4096),
		} {
			if got := strings.TrimSpace(e.OK("busctl", "get-property", "org.freedesktop.login1", string(mgrPath), ifManager, prop)); got != want {
				t.Errorf("%s = %s, want %s", prop, got, want)
			}
		}
		// The runtime dirs are mounted with those values.
		var fs unix.Statfs_t
		e.Must(unix.Statfs("/run/user/0", &fs), "statfs /run/user/0")
		if got := fs.Blocks * uint64(fs.Bsize); got < size-uint64(fs.Bsize) || got > size+uint64(fs.Bsize) {
			t.Errorf("/run/user/0 is %d bytes, RuntimeDirectorySize %d", got, size)
		}
		if fs.Files != (size+4095)/4096 {
			t.Errorf("/run/user/0 has %d inodes, RuntimeDirectoryInodesMax %d", fs.Files, (size+4095)/4096)
		}
		ex := e.OK("busctl", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "ListSessionsEx")
		if !strings.HasPrefix(ex, "a(sussussbto) 2 ") || !strings.Contains(ex, `"`+root.ID+`" 0 "root" "" `) || !strings.Contains(ex, `"`+nobody.ID+`" 65534 "nobody" "seat0" `) {
			t.Errorf("ListSessionsEx: %s", ex)
		}
		if out := e.OK("busctl", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "CanSleep"); !regexp.MustCompile(`^s "(yes|no|challenge|na)"`).MatchString(out) {
			t.Errorf("CanSleep: %s", out)
		}
		if out := e.OK("busctl", "get-property", "org.freedesktop.login1", string(mgrPath), ifManager, "SleepOperation"); !strings.Contains(out, `"suspend"`) {
			t.Errorf("SleepOperation: %s", out)
		}
	})

	t.Run("restart", func(t *testing.T) {
		before := e.OK("loginctl", "list-sessions", "--no-legend")
		beforeUser := testenv.ParseKV(e.OK("loginctl", "show-user", "65534"))
		e.killDaemon()
		if !alive(root.Sleep) || !alive(nobody.Sleep) {
			t.Fatal("sessions died with sessiond")
		}
		e.startDaemon()
		if after := e.OK("loginctl", "list-sessions", "--no-legend"); after != before {
			t.Errorf("sessions after restart:\n%s\nbefore:\n%s", after, before)
		}
		afterUser := testenv.ParseKV(e.OK("loginctl", "show-user", "65534"))
		for _, k := range []string{"State", "Timestamp", "Display", "RuntimePath", "Name"} {
			if afterUser[k] != beforeUser[k] {
				t.Errorf("user %s: %q after restart, %q before", k, afterUser[k], beforeUser[k])
			}
		}
		if got := e.prop(sessionPath(root.ID), ifSession, "LockedHint"); got != true {
			t.Errorf("LockedHint lost over restart: %v", got)
		}
		if got := e.prop("/org/freedesktop/login1/seat/seat0", ifSeat, "ActiveSession"); fmt.Sprint(got) != fmt.Sprint([]any{nobody.ID, sessionPath(nobody.ID)}) {
			t.Errorf("seat0 ActiveSession after restart: %v", got)
		}
		checkSDLogin(t)
	})

	t.Run("terminate", func(t *testing.T) {
		drain(sigs)
		e.OK("loginctl", "terminate-session", nobody.ID)
		e.waitGone(nobody.ID)
		if alive(nobody.Sleep) {
			t.Errorf("process %d of the terminated session is still there", nobody.Sleep)
		}
		e.WaitFor("runtime dir of nobody to go", func() bool { _, err := os.Stat("/run/user/65534"); return os.IsNotExist(err) })
		if _, err := os.Stat("/run/systemd/users/65534"); !os.IsNotExist(err) {
			t.Errorf("user file of nobody still there: %v", err)
		}
		if !waitSignal(sigs, func(s *godbus.Signal) bool { return s.Name == ifManager+".SessionRemoved" && s.Body[0] == nobody.ID }) {
			t.Error("no SessionRemoved signal")
		}
		if !waitSignal(sigs, func(s *godbus.Signal) bool { return s.Name == ifManager+".UserRemoved" && s.Body[0] == uint32(65534) }) {
			t.Error("no UserRemoved signal")
		}
		seat := e.OK("cat", "/run/systemd/seats/seat0")
		if strings.Contains(seat, "SESSIONS=") || strings.Contains(seat, "ACTIVE=") {
			t.Errorf("seat0 file still lists sessions:\n%s", seat)
		}
		// Root's session is untouched.
		if !alive(root.Sleep) {
			t.Error("root's session died too")
		}
	})

	t.Run("short_session", func(t *testing.T) {
		drain(sigs)
		// open + close in one pamtester run: CreateSession, ReleaseSession,
		// then the FIFO closes when pamtester exits.
		out := e.OK("pamtester", "sdtest", "root", "open_session", "close_session")
		if !strings.Contains(out, "successfully opened a session") {
			t.Fatalf("pamtester: %s", out)
		}
		var newID string
		if !waitSignal(sigs, func(s *godbus.Signal) bool {
			if s.Name == ifManager+".SessionNew" {
				newID, _ = s.Body[0].(string)
				return true
			}
			return false
		}) {
			t.Fatal("no SessionNew signal")
		}
		e.waitGone(newID)
		if _, err := os.Stat(filepath.Join("/run/systemd/sessions", newID+".ref")); !os.IsNotExist(err) {
			t.Errorf("FIFO of %s left behind", newID)
		}
		if _, err := os.Stat("/run/user/0"); err != nil {
			t.Errorf("root's runtime dir went while root still has a session: %v", err)
		}
	})

	t.Run("terminate_user", func(t *testing.T) {
		e.OK("loginctl", "terminate-user", "root")
		e.waitGone(root.ID)
		e.WaitFor("root's runtime dir to go", func() bool { _, err := os.Stat("/run/user/0"); return os.IsNotExist(err) })
		if alive(root.Sleep) {
			t.Errorf("process %d still there", root.Sleep)
		}
		if out := e.OK("loginctl", "list-sessions", "--no-legend"); strings.TrimSpace(out) != "" {
			t.Errorf("sessions left: %s", out)
		}
	})

	t.Run("linger", func(t *testing.T) {
		e.OK("loginctl", "enable-linger", "nobody")
		if _, err := os.Stat(e.Path("linger/nobody")); err != nil {
			t.Fatal(err)
		}
		if st := testenv.ParseKV(e.OK("loginctl", "show-user", "nobody")); st["State"] != "lingering" || st["Linger"] != "yes" {
			t.Errorf("lingering user: %v", st)
		}
		if _, err := os.Stat("/run/user/65534"); err != nil {
			t.Errorf("lingering user has no runtime dir: %v", err)
		}
		e.OK("loginctl", "disable-linger", "nobody")
		e.WaitFor("lingering user to go", func() bool { _, err := os.Stat("/run/user/65534"); return os.IsNotExist(err) })
	})
}

func drain(ch chan *godbus.Signal) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func waitSignal(ch chan *godbus.Signal, match func(*godbus.Signal) bool) bool {
	return waitSignalFor(ch, 5*time.Second, match)
}

func waitSignalFor(ch chan *godbus.Signal, d time.Duration, match func(*godbus.Signal) bool) bool {
	timeout := time.After(d)
	for {
		select {
		case s := <-ch:
			if match(s) {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// TestConcurrentLogins: many PAM logins at once, each ending when its
// pamtester exits; afterwards nothing is left behind.
func TestConcurrentLogins(t *testing.T) {
	e := newEnv(t)
	const n = 12
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		user := "root"
		if i%2 == 1 {
			user = "nobody"
		}
		go func() {
			out, err := e.Run(nil, "pamtester", "sdtest", user, "open_session", "close_session")
			if err == nil && !strings.Contains(out, "successfully opened") {
				err = fmt.Errorf("pamtester: %s", out)
			}
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	e.WaitFor("every session to end", func() bool {
		ents, _ := os.ReadDir("/run/systemd/sessions")
		users, _ := os.ReadDir("/run/systemd/users")
		return len(ents) == 0 && len(users) == 0
	})
	for _, p := range []string{"/run/user/0", "/run/user/65534"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
	scopes, _ := filepath.Glob(filepath.Join(e.Cgroups[0], "user.slice", "*", "session-*.scope"))
	if len(scopes) != 0 {
		t.Errorf("session scopes left: %v", scopes)
	}
	if out := e.OK("loginctl", "list-sessions", "--no-legend"); strings.TrimSpace(out) != "" {
		t.Errorf("sessions listed: %s", out)
	}
	if !strings.Contains(e.Log(), " session=c12 ") {
		t.Errorf("expected ids c1..c12; log:\n%s", e.Log())
	}
}
