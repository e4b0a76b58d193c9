package control

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
)

func runCLI(t *testing.T, path string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "GINIT_SOCKET_PATH" {
			return path
		}
		return env[k]
	}
	code := RunCLI(context.Background(), args, &out, &errb, getenv)
	return code, out.String(), errb.String()
}

func TestCLIRequestMapping(t *testing.T) {
	b := &fakeBackend{}
	path := startServer(t, b)
	cases := []struct {
		args []string
		want Request
		out  string
	}{
		{[]string{"start", "foo"}, Request{Op: OpStart, Service: "foo"}, "Service 'foo' started.\n"},
		{[]string{"start", "--no-wait", "--pin", "foo"}, Request{Op: OpStart, Service: "foo", NoWait: true, Pin: true}, "Issued start command successfully for service 'foo'.\n"},
		{[]string{"--pin", "start", "foo"}, Request{Op: OpStart, Service: "foo", Pin: true}, "Service 'foo' started.\n"},
		{[]string{"stop", "--force", "--ignore-unstarted", "foo"}, Request{Op: OpStop, Service: "foo", Force: true, IgnoreUnstarted: true}, "Service 'foo' stopped.\n"},
		{[]string{"restart", "foo", "--force"}, Request{Op: OpRestart, Service: "foo", Force: true}, "Service restarted.\n"},
		{[]string{"wake", "foo"}, Request{Op: OpWake, Service: "foo"}, "Service 'foo' started.\n"},
		{[]string{"release", "--ignore-unstarted", "foo"}, Request{Op: OpRelease, Service: "foo", IgnoreUnstarted: true}, "Service 'foo' released.\n"},
		{[]string{"unpin", "foo"}, Request{Op: OpUnpin, Service: "foo"}, "Service 'foo' unpinned.\n"},
		{[]string{"reload", "foo"}, Request{Op: OpReload, Service: "foo"}, "Service 'foo' reloaded.\n"},
		{[]string{"unload", "foo"}, Request{Op: OpUnload, Service: "foo"}, "Service 'foo' unloaded.\n"},
		{[]string{"add-dep", "waits-for", "a", "b"}, Request{Op: OpAddDep, Service: "a", DepType: "waits-for", DepTarget: "b"}, "Service 'a': dependency 'b' added\n"},
		{[]string{"rm-dep", "need", "a", "b"}, Request{Op: OpRmDep, Service: "a", DepType: "need", DepTarget: "b"}, "Service 'a': dependency 'b' removed\n"},
		{[]string{"enable", "--from", "a", "b"}, Request{Op: OpEnable, Service: "b", From: "a"}, "Service 'b' enabled.\n"},
		{[]string{"disable", "b"}, Request{Op: OpDisable, Service: "b"}, "Service 'b' disabled.\n"},
		{[]string{"setenv", "A=1", "HOME"}, Request{Op: OpSetEnv, Env: []string{"A=1", "HOME=/home/u"}}, ""},
		{[]string{"unsetenv", "A", "B"}, Request{Op: OpUnsetEnv, Env: []string{"A", "B"}}, ""},
		{[]string{"trigger", "t"}, Request{Op: OpTrigger, Service: "t"}, "Service 't' triggered.\n"},
		{[]string{"untrigger", "t"}, Request{Op: OpUntrigger, Service: "t"}, "Service 't' untriggered.\n"},
		{[]string{"signal", "HUP", "s"}, Request{Op: OpSignal, Service: "s", Signal: 1}, ""},
		{[]string{"signal", "SIGTERM", "s"}, Request{Op: OpSignal, Service: "s", Signal: 15}, ""},
		{[]string{"signal", "9", "s"}, Request{Op: OpSignal, Service: "s", Signal: 9}, ""},
		{[]string{"shutdown"}, Request{Op: OpShutdown, Shutdown: "halt"}, "Shutting down (halt).\n"},
		{[]string{"shutdown", "reboot"}, Request{Op: OpShutdown, Shutdown: "reboot"}, "Shutting down (reboot).\n"},
		{[]string{"--quiet", "start", "foo"}, Request{Op: OpStart, Service: "foo"}, ""},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, path, map[string]string{"HOME": "/home/u"}, c.args...)
		if code != 0 || out != c.out {
			t.Errorf("%v: code %d out %q err %q, want out %q", c.args, code, out, errs, c.out)
		}
		if got := b.last(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: request %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestCLIOutputs(t *testing.T) {
	b := &fakeBackend{}
	path := startServer(t, b)
	b.fn = func(r Request) Response {
		switch r.Op {
		case OpList:
			return Response{Services: []ServiceInfo{
				{Name: "boot", State: "started", Active: true},
				{Name: "d", State: "started", PID: 123},
				{Name: "a", State: "starting"},
				{Name: "b", State: "stopping"},
				{Name: "c", State: "stopped", Failed: true, ExitStatus: "exited 1"},
				{Name: "e", State: "stopped"},
				{Name: "f", State: "started", Skipped: true},
			}}
		case OpStatus:
			if r.Service == "gone" {
				return Response{Code: NoService, Message: "service 'gone' not found"}
			}
			return Response{Services: []ServiceInfo{{Name: r.Service, Type: "process", State: "starting", Target: "started",
				Active: true, PinStart: true, PID: 7, ExitStatus: "exited 3", StatusText: "warming", File: "/etc/ginit.d/x"}}}
		case OpCatLog:
			return Response{Log: []byte("line1\nline2\n"), Truncated: true}
		case OpStop:
			return Response{Code: Refused, Message: "dependents would stop", Dependents: []string{"x", "y"}}
		case OpStart:
			return Response{Code: Failed, Message: "exec failed: no such file"}
		case OpRelease:
			return Response{Code: NotStarted, Message: "not started"}
		}
		return Response{}
	}
	code, out, _ := runCLI(t, path, nil, "list")
	want := "[[+]     ] boot\n[{+}     ] d (pid: 123)\n[{ }<<   ] a\n[   >>{ }] b\n[     {X}] c (exit status: 1)\n[     {-}] e\n[{s}     ] f\n"
	if code != 0 || out != want {
		t.Errorf("list:\n%s\nwant:\n%s", out, want)
	}
	code, out, _ = runCLI(t, path, nil, "status", "x")
	for _, s := range []string{"State: STARTING (target: started)", "Activation: explicitly started, pinned started",
		"Process ID: 7", "Last exit status: exited 3", "Status: warming", "Description file: /etc/ginit.d/x"} {
		if code != 0 || !strings.Contains(out, s) {
			t.Errorf("status lacks %q:\n%s", s, out)
		}
	}
	code, out, errs := runCLI(t, path, nil, "catlog", "--clear", "x")
	if code != 0 || out != "line1\nline2\n" || !strings.Contains(errs, "truncated") {
		t.Errorf("catlog: %d %q %q", code, out, errs)
	}
	code, _, errs = runCLI(t, path, nil, "stop", "foo")
	if code != 1 || !strings.Contains(errs, "cannot stop service 'foo': dependents would stop") || !strings.Contains(errs, "x y") {
		t.Errorf("stop refused: %d %q", code, errs)
	}
	code, _, errs = runCLI(t, path, nil, "start", "foo")
	if code != 1 || errs != "ginitctl: cannot start service 'foo': exec failed: no such file\n" {
		t.Errorf("start failed: %d %q", code, errs)
	}
	if code, _, _ = runCLI(t, path, nil, "release", "--ignore-unstarted", "foo"); code != 0 {
		t.Errorf("release --ignore-unstarted: %d", code)
	}
	if code, _, _ = runCLI(t, path, nil, "release", "foo"); code != 1 {
		t.Errorf("release not started: %d", code)
	}
	if code, out, _ = runCLI(t, path, nil, "is-started", "x"); code != 1 || out != "STARTING\n" {
		t.Errorf("is-started: %d %q", code, out)
	}
	if code, out, _ = runCLI(t, path, nil, "--quiet", "is-failed", "x"); code != 1 || out != "" {
		t.Errorf("is-failed: %d %q", code, out)
	}
	if code, _, _ = runCLI(t, path, nil, "is-started", "gone"); code != 1 {
		t.Errorf("is-started gone: %d", code)
	}
	b.fn = func(r Request) Response { return Response{Services: []ServiceInfo{{Name: "x", State: "started"}}} }
	if code, _, _ = runCLI(t, path, nil, "is-started", "x"); code != 0 {
		t.Errorf("is-started started: %d", code)
	}
}

func TestCLIUsage(t *testing.T) {
	path := startServer(t, &fakeBackend{})
	for _, args := range [][]string{
		{}, {"frob"}, {"start"}, {"start", "a", "b"}, {"start", "--force", "a"}, {"status", "--bogus", "a"},
		{"add-dep", "weird", "a", "b"}, {"signal", "NOPE", "s"}, {"signal", "HUP"}, {"shutdown", "sideways"},
		{"setenv", "UNSET_VAR"}, {"unsetenv", "A=1"}, {"-p"}, {"list", "x"},
	} {
		code, _, errs := runCLI(t, path, nil, args...)
		if code != ExitUsage || !strings.HasPrefix(errs, "ginitctl: ") {
			t.Errorf("%v: code %d err %q", args, code, errs)
		}
	}
	if code, out, _ := runCLI(t, path, nil, "--help"); code != 0 || !strings.Contains(out, "Exit status") {
		t.Errorf("--help: %d", code)
	}
	if code, out, _ := runCLI(t, path, nil, "signal", "-l"); code != 0 || !strings.Contains(out, " 1 HUP") {
		t.Errorf("signal -l: %d %q", code, out)
	}
	var out, errb bytes.Buffer
	code := RunCLI(context.Background(), []string{"-p", path + ".none", "list"}, &out, &errb, func(string) string { return "" })
	if code != 1 || !strings.HasPrefix(errb.String(), "ginitctl: cannot connect to ginit at "+path+".none: ") {
		t.Errorf("no daemon: %d %q", code, errb.String())
	}
}
