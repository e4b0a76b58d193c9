package initns

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ginitPid is the host pid of ginit: the child of unshare.
func (in *instance) ginitPid() int {
	in.t.Helper()
	p := in.cmd.Process.Pid
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p, p))
	if err != nil {
		in.t.Fatalf("children of unshare: %v", err)
	}
	f := strings.Fields(string(kids))
	if len(f) == 0 {
		in.t.Fatal("unshare has no child")
	}
	pid, _ := strconv.Atoi(f[0])
	return pid
}

// waitExit waits for ginit (and so unshare) to end.
func (in *instance) waitExit(d time.Duration) bool {
	select {
	case err := <-in.done:
		in.done <- err // for the cleanup
		return true
	case <-time.After(d):
		return false
	}
}

func (in *instance) logText() string {
	b, _ := os.ReadFile(in.logf)
	return string(b)
}

// As a system manager (-m), ctrl-alt-del (SIGINT) stops every service in
// order and then reboots (here: exits, as in a container).
func TestCtrlAltDelReboots(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\ndepends-on: svc\n",
		"svc":  "type = process\nrestart = no\ncommand = /bin/sleep 100000\n",
	}, "-m")
	in.waitState("svc", "started")
	if err := syscall.Kill(in.ginitPid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if !in.waitExit(10 * time.Second) {
		t.Fatalf("ginit did not finish after SIGINT; log:\n%s", in.logText())
	}
	log := in.logText()
	for _, want := range []string{"rebooting", "shutdown (reboot): stopping all services", "service 'svc' stopped", "all services stopped (reboot)"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// A service that ignores SIGTERM and has no stop timeout would hold a
// reboot for ever; a third ctrl-alt-del within 5 s forces it at once.
func TestThirdCtrlAltDelForcesReboot(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":     "type = internal\ndepends-on: stubborn\n",
		"stubborn": "type = process\nrestart = no\nstop-timeout = 0\ncommand = /bin/sh -c \"trap '' TERM; while :; do sleep 1; done\"\n",
	}, "-m")
	in.waitState("stubborn", "started")
	wtmpBefore, _ := os.ReadFile("/var/log/wtmp")
	pid := in.ginitPid()
	for i := 0; i < 2; i++ {
		_ = syscall.Kill(pid, syscall.SIGINT)
		time.Sleep(100 * time.Millisecond)
	}
	if in.waitExit(time.Second) {
		t.Fatalf("ginit ended after two SIGINTs; log:\n%s", in.logText())
	}
	if st := in.state("stubborn"); st != "stopping" {
		t.Errorf("stubborn is %s, want stopping", st)
	}
	_ = syscall.Kill(pid, syscall.SIGINT)
	if !in.waitExit(10 * time.Second) {
		t.Fatalf("third SIGINT did not force the reboot; log:\n%s", in.logText())
	}
	if log := in.logText(); !strings.Contains(log, "reboot now, without stopping services") {
		t.Errorf("log lacks the forced reboot:\n%s", log)
	}
	// A --container ginit shares the host's files: no shutdown record.
	if after, _ := os.ReadFile("/var/log/wtmp"); !bytes.Equal(after, wtmpBefore) {
		t.Errorf("a container ginit wrote to the host's /var/log/wtmp")
	}
}

// SIGHUP must not take anything down.
func TestSIGHUPIgnored(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\ndepends-on: svc\n",
		"svc":  "type = process\nrestart = no\ncommand = /bin/sleep 100000\n",
	}, "-m")
	in.waitState("svc", "started")
	_ = syscall.Kill(in.ginitPid(), syscall.SIGHUP)
	time.Sleep(200 * time.Millisecond)
	if in.waitExit(0) {
		t.Fatal("ginit ended after SIGHUP")
	}
	in.waitState("svc", "started")
}

// options kill-all-on-stop: stopping the service first TERMs every other
// process in ginit's namespace (here a process of another service and one
// that belongs to no service), and ginit carries on.
func TestKillAllOnStop(t *testing.T) {
	m := fmt.Sprintf("%d.%d", 40000+os.Getpid()%10000, time.Now().UnixNano()%100000)
	in := newInstance(t, map[string]string{
		"boot":      "type = internal\n",
		"bystander": "type = process\nrestart = no\ncommand = /bin/sleep " + m + "1\n",
		"leaver":    "type = scripted\ncommand = /bin/sh -c \"setsid /bin/sleep " + m + "2 </dev/null >/dev/null 2>&1 &\"\n",
		"final":     "type = internal\noptions: kill-all-on-stop\n",
	})
	in.mustCtl("start", "bystander")
	in.mustCtl("start", "leaver")
	in.mustCtl("start", "final")
	pids := append(waitMarker(t, m+"1", 1), waitMarker(t, m+"2", 1)...)
	in.mustCtl("stop", "final")
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range pids {
		for pidAlive(p) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if pidAlive(p) {
			t.Errorf("process %d survived kill-all-on-stop", p)
		}
	}
	in.waitState("bystander", "stopped")
	if log := in.logText(); !strings.Contains(log, "kill-all-on-stop") {
		t.Errorf("log does not mention kill-all-on-stop:\n%s", log)
	}
	in.mustCtl("list")
}

// options starts-log: once that service has started, ginit's log (what it
// kept in memory, then every new line) goes to the syslog socket.
func TestStartsLogSendsToSyslog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("GINIT_SYSLOG_SOCKET", sock)
	in := newInstanceLog(t, map[string]string{
		"boot":    "type = internal\n",
		"syslogd": "type = internal\noptions: starts-log\n",
		"later":   "type = internal\n",
	}, false)
	in.mustCtl("start", "syslogd")
	in.mustCtl("start", "later")
	var got []string
	buf := make([]byte, 1024)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(strings.Join(got, "\n"), "service 'later' started") && time.Now().Before(deadline) {
		_ = l.SetReadDeadline(deadline)
		n, err := l.Read(buf)
		if err != nil {
			break
		}
		got = append(got, string(buf[:n]))
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"service 'boot' started", "service 'syslogd' started", "service 'later' started"} {
		if !strings.Contains(all, want) {
			t.Errorf("syslog lacks %q; got:\n%s", want, all)
		}
	}
	if len(got) > 0 && !strings.HasPrefix(got[0], "<30>ginit[") {
		t.Errorf("not a daemon.info message from ginit: %q", got[0])
	}
}

// options pass-cs-fd: a service run as nobody, which may not open the
// root-only control socket, controls ginit through the connection it was
// given (ginitctl finds it in DINIT_CS_FD).
func TestPassCSFD(t *testing.T) {
	ctl := filepath.Join(binDir(t), "ginitctl")
	in := newInstance(t, map[string]string{
		"boot":   "type = internal\n",
		"target": "type = internal\n",
		"ctl": "type = scripted\nrun-as = nobody\nworking-dir = /\noptions: pass-cs-fd\nlog-type = buffer\n" +
			"command = /bin/sh -c \"" + ctl + " start target; echo fd=$$DINIT_CS_FD\"\n",
		"nofd": "type = scripted\nrun-as = nobody\nworking-dir = /\nlog-type = buffer\n" +
			"command = /bin/sh -c \"" + ctl + " -p @DIR@/ginitctl list; true\"\n",
	})
	in.mustCtl("start", "ctl")
	out := in.mustCtl("catlog", "ctl").out
	if !strings.Contains(out, "Service 'target' started.") || !strings.Contains(out, "fd=3") {
		t.Errorf("ginitctl inside the service: %q", out)
	}
	in.waitState("target", "started")
	in.mustCtl("start", "nofd")
	// The refusal is the socket's permission check, named as such.
	if out := in.mustCtl("catlog", "nofd").out; !strings.Contains(out, "ginitctl: permission denied") {
		t.Errorf("without pass-cs-fd, nobody was not refused by the socket: %q", out)
	}
}
