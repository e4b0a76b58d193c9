package ctl

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"ginit/init/control"
	"ginit/init/control/server/servertest"
	"ginit/internal/version"
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
	b := &servertest.Backend{}
	_, path := servertest.Start(t, b, nil)
	cases := []struct {
		args []string
		want control.Request
		out  string
	}{
		{[]string{"start", "foo"}, control.Request{Op: control.OpStart, Service: "foo"}, "Service 'foo' started.\n"},
		{[]string{"start", "--no-wait", "--pin", "foo"}, control.Request{Op: control.OpStart, Service: "foo", NoWait: true, Pin: true}, "Issued start command successfully for service 'foo'.\n"},
		{[]string{"--pin", "start", "foo"}, control.Request{Op: control.OpStart, Service: "foo", Pin: true}, "Service 'foo' started.\n"},
		{[]string{"stop", "--force", "--ignore-unstarted", "foo"}, control.Request{Op: control.OpStop, Service: "foo", Force: true, IgnoreUnstarted: true}, "Service 'foo' stopped.\n"},
		{[]string{"restart", "foo", "--force"}, control.Request{Op: control.OpRestart, Service: "foo", Force: true}, "Service restarted.\n"},
		{[]string{"wake", "foo"}, control.Request{Op: control.OpWake, Service: "foo"}, "Service 'foo' started.\n"},
		{[]string{"release", "--ignore-unstarted", "foo"}, control.Request{Op: control.OpRelease, Service: "foo", IgnoreUnstarted: true}, "Service 'foo' released.\n"},
		{[]string{"unpin", "foo"}, control.Request{Op: control.OpUnpin, Service: "foo"}, "Service 'foo' unpinned.\n"},
		{[]string{"reload", "foo"}, control.Request{Op: control.OpReload, Service: "foo"}, "Service 'foo' reloaded.\n"},
		{[]string{"unload", "foo"}, control.Request{Op: control.OpUnload, Service: "foo"}, "Service 'foo' unloaded.\n"},
		{[]string{"reload-service", "foo"}, control.Request{Op: control.OpReloadService, Service: "foo"}, "Service 'foo' ran its reload command.\n"},
		{[]string{"add-dep", "waits-for", "a", "b"}, control.Request{Op: control.OpAddDep, Service: "a", DepType: "waits-for", DepTarget: "b"}, "Service 'a': dependency 'b' added\n"},
		{[]string{"rm-dep", "need", "a", "b"}, control.Request{Op: control.OpRmDep, Service: "a", DepType: "need", DepTarget: "b"}, "Service 'a': dependency 'b' removed\n"},
		{[]string{"enable", "--from", "a", "b"}, control.Request{Op: control.OpEnable, Service: "b", From: "a"}, "Service 'b' enabled.\n"},
		{[]string{"disable", "b"}, control.Request{Op: control.OpDisable, Service: "b"}, "Service 'b' disabled.\n"},
		{[]string{"setenv", "A=1", "HOME"}, control.Request{Op: control.OpSetEnv, Env: []string{"A=1", "HOME=/home/u"}}, ""},
		{[]string{"unsetenv", "A", "B"}, control.Request{Op: control.OpUnsetEnv, Env: []string{"A", "B"}}, ""},
		{[]string{"trigger", "t"}, control.Request{Op: control.OpTrigger, Service: "t"}, "Service 't' triggered.\n"},
		{[]string{"untrigger", "t"}, control.Request{Op: control.OpUntrigger, Service: "t"}, "Service 't' untriggered.\n"},
		{[]string{"signal", "HUP", "s"}, control.Request{Op: control.OpSignal, Service: "s", Signal: 1}, ""},
		{[]string{"signal", "SIGTERM", "s"}, control.Request{Op: control.OpSignal, Service: "s", Signal: 15}, ""},
		{[]string{"signal", "9", "s"}, control.Request{Op: control.OpSignal, Service: "s", Signal: 9}, ""},
		{[]string{"shutdown"}, control.Request{Op: control.OpShutdown, Shutdown: "halt"}, "Shutting down (halt).\n"},
		{[]string{"shutdown", "reboot"}, control.Request{Op: control.OpShutdown, Shutdown: "reboot"}, "Shutting down (reboot).\n"},
		{[]string{"shutdown", "kexec"}, control.Request{Op: control.OpShutdown, Shutdown: "kexec"}, "Shutting down (kexec).\n"},
		{[]string{"--quiet", "start", "foo"}, control.Request{Op: control.OpStart, Service: "foo"}, ""},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, path, map[string]string{"HOME": "/home/u"}, c.args...)
		if code != 0 || out != c.out {
			t.Errorf("%v: code %d out %q err %q, want out %q", c.args, code, out, errs, c.out)
		}
		if got := b.Last(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: request %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestCLIOutputs(t *testing.T) {
	b := &servertest.Backend{}
	_, path := servertest.Start(t, b, nil)
	b.Fn = func(r control.Request) control.Response {
		switch r.Op {
		case control.OpList:
			return control.Response{Services: []control.ServiceInfo{
				{Name: "boot", State: "started", Active: true},
				{Name: "d", State: "started", PID: 123},
				{Name: "a", State: "starting"},
				{Name: "b", State: "stopping"},
				{Name: "c", State: "stopped", Failed: true, ExitStatus: "exited 1"},
				{Name: "e", State: "stopped"},
				{Name: "f", State: "started", Skipped: true},
			}}
		case control.OpStatus:
			if r.Service == "gone" {
				return control.Response{Code: control.NoService, Message: "service 'gone' not found"}
			}
			return control.Response{Services: []control.ServiceInfo{{Name: r.Service, Type: "process", State: "starting", Target: "started",
				Active: true, PinStart: true, PID: 7, ExitStatus: "exited 3", StatusText: "warming", File: "/etc/ginit.d/x"}}}
		case control.OpCatLog:
			return control.Response{Log: []byte("line1\nline2\n"), Truncated: true}
		case control.OpStop:
			return control.Response{Code: control.Refused, Message: "dependents would stop", Dependents: []string{"x", "y"}}
		case control.OpStart:
			return control.Response{Code: control.Failed, Message: "exec failed: no such file"}
		case control.OpRelease:
			return control.Response{Code: control.NotStarted, Message: "not started"}
		}
		return control.Response{}
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
	b.Fn = func(r control.Request) control.Response {
		return control.Response{Services: []control.ServiceInfo{{Name: "x", State: "started"}}}
	}
	if code, _, _ = runCLI(t, path, nil, "is-started", "x"); code != 0 {
		t.Errorf("is-started started: %d", code)
	}
}

func TestCLIUsage(t *testing.T) {
	_, path := servertest.Start(t, &servertest.Backend{}, nil)
	for _, args := range [][]string{
		{}, {"frob"}, {"start"}, {"start", "a", "b"}, {"start", "--force", "a"}, {"status", "--bogus", "a"},
		{"add-dep", "weird", "a", "b"}, {"signal", "NOPE", "s"}, {"signal", "HUP"}, {"shutdown", "sideways"}, {"shutdown", "remain"}, {"shutdown", "none"},
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
	wantVersion := version.Line("ginitctl") + "\ncontrol protocol version 1\n"
	if code, out, _ := runCLI(t, path, nil, "--version"); code != 0 || out != wantVersion {
		t.Errorf("--version: %d %q, want %q", code, out, wantVersion)
	}
	if code, out, _ := runCLI(t, path, nil, "signal", "-l"); code != 0 || !strings.Contains(out, " 1 HUP") {
		t.Errorf("signal -l: %d %q", code, out)
	}
	var out, errb bytes.Buffer
	code := RunCLI(context.Background(), []string{"-p", path + ".none", "list"}, &out, &errb, func(string) string { return "" })
	if code != 1 || errb.String() != "ginitctl: no ginit is listening at "+path+".none (is ginit running? use -p PATH or --user for another instance)\n" {
		t.Errorf("no daemon: %d %q", code, errb.String())
	}
}

// repeatsPrefix reports whether a "ginitctl: a: b: c" line says one of its
// ": "-separated parts twice or names the service more than once.
func repeatsPrefix(line, service string) bool {
	seen := map[string]bool{}
	for _, p := range strings.Split(line, ": ") {
		if seen[p] {
			return true
		}
		seen[p] = true
	}
	return service != "" && strings.Count(line, "'"+service+"'") > 1
}

// An error is said once: ginitctl adds "cannot VERB service 'NAME'" only to
// a message that does not name the service itself.
func TestCLIErrorSaysEachPrefixOnce(t *testing.T) {
	tests := []struct {
		args []string
		resp control.Response
		want string
	}{
		{[]string{"reload", "boot"}, control.Response{Code: control.BadRequest, Message: "cannot reload service 'boot': new dependency 'x' is not started: invalid argument"},
			"ginitctl: cannot reload service 'boot': new dependency 'x' is not started: invalid argument\n"},
		{[]string{"reload-service", "a"}, control.Response{Code: control.Failed, Message: "reload of service 'a' failed: reload command (/bin/false) exited 1; the service keeps running"},
			"ginitctl: reload of service 'a' failed: reload command (/bin/false) exited 1; the service keeps running\n"},
		{[]string{"reload-service", "a"}, control.Response{Code: control.Failed, Message: "cannot reload service 'a': service has no reload-command"},
			"ginitctl: cannot reload service 'a': service has no reload-command\n"},
		{[]string{"start", "a"}, control.Response{Code: control.Refused, Message: "cannot start service 'a': service is pinned stopped"},
			"ginitctl: cannot start service 'a': service is pinned stopped\n"},
		{[]string{"start", "a"}, control.Response{Code: control.Failed, Message: "service 'a' failed to start (failed): exited 1"},
			"ginitctl: service 'a' failed to start (failed): exited 1\n"},
		{[]string{"start", "a"}, control.Response{Code: control.NoService, Message: "service 'a' not found (searched: /etc/ginit.d)"},
			"ginitctl: service 'a' not found (searched: /etc/ginit.d)\n"},
		{[]string{"start", "a"}, control.Response{Code: control.LoadError, Message: "/etc/ginit.d/a:3: setting 'type': invalid value \"x\""},
			"ginitctl: cannot start service 'a': /etc/ginit.d/a:3: setting 'type': invalid value \"x\"\n"},
		{[]string{"start", "a"}, control.Response{Code: control.Refused, Message: "shutting down"},
			"ginitctl: cannot start service 'a': shutting down\n"},
		{[]string{"stop", "a"}, control.Response{Code: control.NotStarted, Message: "service 'a': service is not started"},
			"ginitctl: service 'a': service is not started\n"},
		{[]string{"stop", "a"}, control.Response{Code: control.Refused, Message: "service 'a' has active dependents: b (use --force to stop them too)", Dependents: []string{"b"}},
			"ginitctl: service 'a' has active dependents: b (use --force to stop them too)\n"},
		{[]string{"restart", "a"}, control.Response{Code: control.NotStarted, Message: "cannot restart service 'a': service is not started"},
			"ginitctl: cannot restart service 'a': service is not started\n"},
		{[]string{"wake", "a"}, control.Response{Code: control.BadRequest, Message: "cannot wake service 'a': it has no active dependents: invalid argument"},
			"ginitctl: cannot wake service 'a': it has no active dependents: invalid argument\n"},
		{[]string{"release", "a"}, control.Response{Code: control.NotStarted, Message: "service 'a': service is not started"},
			"ginitctl: service 'a': service is not started\n"},
		{[]string{"unpin", "a"}, control.Response{Code: control.NoService, Message: "service 'a': service not loaded"},
			"ginitctl: service 'a': service not loaded\n"},
		{[]string{"add-dep", "need", "a", "b"}, control.Response{Code: control.BadRequest, Message: "cannot add dependency 'a' -> 'b': it would create a cycle: invalid argument"},
			"ginitctl: cannot add dependency 'a' -> 'b': it would create a cycle: invalid argument\n"},
		{[]string{"rm-dep", "need", "a", "b"}, control.Response{Code: control.BadRequest, Message: "service 'a' has no need dependency on 'b': invalid argument"},
			"ginitctl: service 'a' has no need dependency on 'b': invalid argument\n"},
		{[]string{"enable", "a"}, control.Response{Code: control.Failed, Message: "enable 'a' from 'boot': permission denied"},
			"ginitctl: enable 'a' from 'boot': permission denied\n"},
		{[]string{"disable", "a"}, control.Response{Code: control.NoService, Message: "service 'a' not found (searched: /etc/ginit.d)"},
			"ginitctl: service 'a' not found (searched: /etc/ginit.d)\n"},
		{[]string{"signal", "HUP", "a"}, control.Response{Code: control.NotStarted, Message: "service 'a' has no process to signal: service is not started"},
			"ginitctl: service 'a' has no process to signal: service is not started\n"},
		{[]string{"setenv", "A=1"}, control.Response{Code: control.Failed, Message: "service manager has exited"},
			"ginitctl: setenv failed: service manager has exited\n"},
		{[]string{"trigger", "a"}, control.Response{Code: control.BadRequest},
			"ginitctl: cannot trigger service 'a': bad request\n"},
	}
	b := &servertest.Backend{}
	_, path := servertest.Start(t, b, nil)
	for _, tc := range tests {
		resp := tc.resp
		b.SetFn(func(control.Request) control.Response { return resp })
		code, _, errs := runCLI(t, path, nil, tc.args...)
		if code != ExitFail || errs != tc.want {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errs, tc.want)
		}
		svc := tc.args[len(tc.args)-1]
		if tc.args[0] == "add-dep" || tc.args[0] == "rm-dep" {
			svc = tc.args[2]
		}
		if repeatsPrefix(strings.TrimSuffix(errs, "\n"), svc) {
			t.Errorf("%v: %q says something twice", tc.args, errs)
		}
	}
}

// The layout ginitctl(8) shows under LIST FORMAT is the one list prints.
func TestDocumentedListLayout(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ginitctl.8.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "## LIST FORMAT")
	_, block, _ := strings.Cut(section, "```\n")
	block, _, found := strings.Cut(block, "```")
	if !found {
		t.Fatal("ginitctl.8.md: no code block under LIST FORMAT")
	}
	var got strings.Builder
	for _, si := range []control.ServiceInfo{
		{Name: "boot", State: "started", Active: true},
		{Name: "greeter", State: "started", PID: 42},
		{Name: "setup", State: "started"},
		{Name: "broken", State: "stopped", Failed: true, ExitStatus: "exited 1"},
		{Name: "idle", State: "stopped"},
		{Name: "optional", State: "started", Skipped: true},
		{Name: "slow", State: "starting"},
		{Name: "leaving", State: "stopping"},
	} {
		got.WriteString(ListLine(&si) + "\n")
	}
	if got.String() != block {
		t.Errorf("ginitctl.8.md's LIST FORMAT:\n%s\nlist prints:\n%s", block, got.String())
	}
}

// LANG (or LC_MESSAGES, LC_ALL) selects the German catalog: results,
// errors, status labels and --help are German; states and numbers are
// not translated, so scripts reading them work in every locale.
func TestCLIGerman(t *testing.T) {
	b := &servertest.Backend{}
	_, path := servertest.Start(t, b, nil)
	de := map[string]string{"LANG": "de_DE.UTF-8"}
	if code, out, _ := runCLI(t, path, de, "start", "foo"); code != 0 || out != "Dienst 'foo' gestartet.\n" {
		t.Errorf("start: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, path, de, "start", "--bogus", "foo"); code != ExitUsage ||
		errs != "ginitctl: unbekannte Option --bogus\n'ginitctl --help' gibt weitere Informationen.\n" {
		t.Errorf("usage: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, path, map[string]string{"LANG": "de_DE.UTF-8", "LC_ALL": "C"}, "frob"); code != ExitUsage ||
		!strings.HasPrefix(errs, "ginitctl: unknown command \"frob\"\n") {
		t.Errorf("LC_ALL=C: %d %q", code, errs)
	}
	b.Fn = func(r control.Request) control.Response {
		return control.Response{Services: []control.ServiceInfo{{Name: "x", Type: "process", State: "stopped", Failed: true,
			StopReason: "killed after the stop timeout", ExitStatus: "signal 9 (Killed)", PID: 0}}}
	}
	code, out, _ := runCLI(t, path, de, "status", "x")
	for _, w := range []string{"Dienst: x\n", "    Typ: process\n", "    Zustand: STOPPED (fehlgeschlagen)\n", "    Stoppgrund: nach dem Stopp-Timeout getötet\n"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("status lacks %q:\n%s", w, out)
		}
	}
	if code, out, _ := runCLI(t, path, de, "--help"); code != 0 || !strings.Contains(out, "Aufruf: ginitctl [OPTION]... BEFEHL") ||
		!strings.Contains(out, "-p, --socket-path PFAD") || !strings.Contains(out, "Rückgabewert") {
		t.Errorf("--help:\n%s", out)
	}
}

// status says since when a service is in its state and how long ago.
func TestStatusSince(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	si := control.ServiceInfo{Name: "x", State: "started", Since: int(now.Add(-90 * time.Second).UnixMilli())}
	var b strings.Builder
	writeStatus(&b, &si, nil, now)
	at := time.UnixMilli(int64(si.Since)).Format("2006-01-02 15:04:05 MST")
	if want := "    State: STARTED since " + at + " (1min 30s ago)\n"; !strings.Contains(b.String(), want) {
		t.Errorf("status:\n%s\nwant %q", b.String(), want)
	}
	for d, want := range map[time.Duration]string{5 * time.Second: "5s", 3*time.Hour + 4*time.Minute: "3h 4min", 50 * time.Hour: "2d 2h", -time.Second: "0s"} {
		if got := ago(d); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
}

// is-started of a service ginit cannot find says so on stderr and prints
// no state; of a known stopped one it prints STOPPED.
func TestIsStartedUnknown(t *testing.T) {
	b := &servertest.Backend{Fn: func(r control.Request) control.Response {
		if r.Service == "ghost" {
			return control.Response{Code: control.NoService, Message: "service 'ghost' not found (searched: /etc/ginit.d)"}
		}
		return control.Response{Code: control.NotStarted}
	}}
	_, path := servertest.Start(t, b, nil)
	if code, out, errs := runCLI(t, path, nil, "is-started", "ghost"); code != ExitFail || out != "" ||
		errs != "ginitctl: service 'ghost' not found (searched: /etc/ginit.d)\n" {
		t.Errorf("ghost: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, path, nil, "is-failed", "idle"); code != ExitFail || out != "STOPPED\n" || errs != "" {
		t.Errorf("idle: %d %q %q", code, out, errs)
	}
}
