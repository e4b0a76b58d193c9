package sessiond_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// longText is n bytes that the state files escape to several times their
// length (non-ASCII, quotes), printable so it passes through argv.
func longText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		switch i % 3 {
		case 0:
			b.WriteString("Speichere Änderungen ")
		case 1:
			b.WriteString(`"quoted" `)
		default:
			b.WriteString(`back\slash `)
		}
	}
	return b.String()[:n]
}

const (
	argLimit        = 64 << 10 // sessiond's limit on one string argument of CreateSession
	inhibitArgLimit = 1 << 10  // and of Inhibit (ListInhibitors must fit one message)
)

// TestLongValuesSurviveKill: a lock taken by systemd-inhibit with the
// longest who and why it may have, and a pam_systemd session with a ~64 kB
// PAM_RHOST,
// are still there, unchanged, after sessiond is killed with SIGKILL and
// started again (their state-file lines used to exceed what the reader
// accepted, so both vanished while their holders lived); CanSuspend
// answers as before and the next login does not get the session's id.
func TestLongValuesSurviveKill(t *testing.T) {
	e := newEnv(t)
	who, why := longText(inhibitArgLimit-10), longText(inhibitArgLimit)
	holder := e.background("systemd-inhibit", "--what=sleep", "--mode=block", "--who="+who, "--why="+why, "sleep", "60")
	defer holder.Process.Kill()
	before := e.waitInhibitors(1)
	if before[0].Who != who || before[0].Why != why {
		t.Fatalf("lock taken with who of %d bytes, why of %d", len(before[0].Who), len(before[0].Why))
	}
	rhost := longText(argLimit - 10)
	h := e.Hold("sdhold", "root", "pts/5", []string{"-I", "rhost=" + rhost}, nil)
	if h.ID == "" {
		t.Fatalf("no session: %v", h.Vars)
	}
	canSuspend := func() string {
		out, err := e.dbusSend("CanSuspend")
		e.Must(err, "CanSuspend")
		return strings.TrimSpace(out[strings.LastIndexByte(out, '\n')+1:])
	}
	canBefore := canSuspend()

	e.killDaemon()
	e.startDaemon()

	after := e.inhibitors()
	if len(after) != 1 || after[0] != before[0] {
		t.Errorf("after restart ListInhibitors has %d locks (want the one with who of %d bytes)", len(after), len(who))
	}
	if got := canSuspend(); got != canBefore {
		t.Errorf("CanSuspend %s after the restart, %s before", got, canBefore)
	}
	if out, err := e.dbusSend("Suspend", "boolean:false"); err == nil || !strings.Contains(out, "BlockedByInhibitorLock") {
		t.Errorf("Suspend under the restored lock: err=%v\n%.300s", err, out)
	}
	out, err := e.Run(nil, "loginctl", "show-session", h.ID, "-p", "RemoteHost", "--value")
	if err != nil || strings.TrimSuffix(out, "\n") != rhost {
		t.Errorf("loginctl show-session %s -p RemoteHost after restart: err=%v, %d bytes (want %d)\n%.200s\nsessiond log:\n%s",
			h.ID, err, len(out), len(rhost), out, e.Log())
	}
	if got := e.prop(sessionPath(h.ID), ifSession, "RemoteHost"); got != rhost {
		t.Errorf("RemoteHost after restart is %d bytes, want %d", len(got.(string)), len(rhost))
	}
	next := e.hold("root", "pts/6")
	if next.ID == h.ID {
		t.Errorf("the next login reused session id %s", h.ID)
	}
}

// TestOverlongArgumentsRefused: dbus-send's Inhibit and busctl's
// CreateSession with one string argument beyond the limit get
// InvalidArgs naming the argument, and nothing is created.
func TestOverlongArgumentsRefused(t *testing.T) {
	e := newEnv(t)
	over := strings.Repeat("w", argLimit+1)
	out, err := e.dbusSend("Inhibit", "string:sleep", "string:"+strings.Repeat("w", inhibitArgLimit+1), "string:why", "string:block")
	if err == nil || !strings.Contains(out, "org.freedesktop.DBus.Error.InvalidArgs") || !strings.Contains(out, "who too long") {
		t.Errorf("Inhibit with an over-long who: err=%v\n%.300s", err, out)
	}
	// The leader a wrongly accepted call would put in a session scope.
	leader := e.background("sleep", "60")
	defer leader.Process.Kill()
	out, err = e.Run(nil, "busctl", "call", "org.freedesktop.login1", string(mgrPath), ifManager, "CreateSession", "uusssssussbssa(sv)",
		"0", strconv.Itoa(leader.Process.Pid), "sshd", "", "", "", "", "0", "", "", "true", "", over, "0")
	if err == nil || !strings.Contains(out, "remote_host too long") {
		t.Errorf("CreateSession with an over-long remote_host: err=%v\n%.300s", err, out)
	}
	if l := e.inhibitors(); len(l) != 0 {
		t.Errorf("refused Inhibit left %d locks", len(l))
	}
	if ents, _ := filepath.Glob("/run/systemd/sessions/*"); len(ents) != 0 {
		t.Errorf("refused CreateSession left %v", ents)
	}
}

// TestUnreadableSessionFile: a session file damaged while sessiond was
// down is reported as an error naming it, stays where it is, and neither
// its id nor its FIFO goes to the next login.
func TestUnreadableSessionFile(t *testing.T) {
	e := newEnv(t)
	h := e.hold("root", "pts/3")
	e.killDaemon()
	file := "/run/systemd/sessions/" + h.ID
	e.Must(os.WriteFile(file, []byte("damaged\n"), 0o644), "damage the session file")
	e.startDaemon()
	if log := e.Log(); !strings.Contains(log, "level=ERROR") || !strings.Contains(log, file) {
		t.Errorf("no error naming %s in the log:\n%s", file, log)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("damaged file removed: %v", err)
	}
	next := e.hold("root", "pts/4")
	if next.ID == h.ID {
		t.Errorf("the next login reused session id %s of the unreadable file", h.ID)
	}
}
