package ctl

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ginit/init/control"
	"ginit/init/control/server/servertest"
	"ginit/internal/power"
)

// fakeGinit serves a recording backend and returns it with an environment
// that points the front-ends at it.
func fakeGinit(t *testing.T) (*servertest.Backend, func(string) string) {
	fb := &servertest.Backend{}
	_, sock := servertest.Start(t, fb, nil)
	return fb, func(k string) string {
		if k == "GINIT_SOCKET_PATH" {
			return sock
		}
		return ""
	}
}

func TestShutdownFrontEnds(t *testing.T) {
	fb, getenv := fakeGinit(t)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		argv0    string
		args     []string
		code     int
		wantKind string // "" = no request expected
		slept    time.Duration
		rebooted string
		out      string
	}{
		{"/sbin/poweroff", nil, 0, "poweroff", 0, "", ""},
		{"reboot", nil, 0, "reboot", 0, "", ""},
		{"halt", nil, 0, "halt", 0, "", ""},
		{"halt", []string{"-p"}, 0, "poweroff", 0, "", ""},
		{"shutdown", nil, 0, "poweroff", 0, "", ""},
		{"shutdown", []string{"-r", "now"}, 0, "reboot", 0, "", ""},
		{"shutdown", []string{"-H", "+5", "going", "down"}, 0, "halt", 5 * time.Minute, "", "going down"},
		{"shutdown", []string{"-r", "10:30"}, 0, "reboot", 30 * time.Minute, "", ""},
		{"shutdown", []string{"-k", "+1"}, 0, "", 0, "", "would poweroff"},
		{"shutdown", []string{"-r", "soon"}, 2, "", 0, "", ""},
		{"reboot", []string{"--force"}, 0, "", 0, "reboot", ""},
		{"poweroff", []string{"-f", "-n"}, 0, "", 0, "poweroff", ""},
		{"reboot", []string{"extra"}, 2, "", 0, "", ""},
		{"halt", []string{"--bogus"}, 2, "", 0, "", ""},
		{"shutdown", []string{"-r", "--version"}, 0, "", 0, "", "shutdown (ginit) "},
		{"/usr/sbin/halt", []string{"--version"}, 0, "", 0, "", "halt (ginit) "},
		{"reboot", []string{"--help"}, 0, "", 0, "", "--version"},
	}
	for _, tc := range tests {
		name := tc.argv0 + " " + strings.Join(tc.args, " ")
		t.Run(name, func(t *testing.T) {
			before := len(fb.Requests())
			var slept time.Duration
			var rebooted string
			synced := false
			sys := ShutdownSys{
				Now:    func() time.Time { return now },
				Sleep:  func(_ context.Context, d time.Duration) error { slept = d; return nil },
				Sync:   func() { synced = true },
				Reboot: func(k power.Kind) error { rebooted = k.String(); return nil },
			}
			var out, errb bytes.Buffer
			code := RunShutdownCLI(context.Background(), tc.argv0, tc.args, &out, &errb, getenv, sys)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errb.String())
			}
			got := fb.Requests()[before:]
			if tc.wantKind == "" && len(got) != 0 {
				t.Errorf("unexpected requests %+v", got)
			}
			if tc.wantKind != "" && (len(got) != 1 || got[0].Op != control.OpShutdown || got[0].Shutdown != tc.wantKind) {
				t.Errorf("requests %+v, want one shutdown %s", got, tc.wantKind)
			}
			if slept != tc.slept {
				t.Errorf("waited %v, want %v", slept, tc.slept)
			}
			if rebooted != tc.rebooted {
				t.Errorf("reboot(2) %q, want %q", rebooted, tc.rebooted)
			}
			if tc.rebooted != "" && synced == (len(tc.args) > 1) {
				t.Errorf("sync = %v with args %v", synced, tc.args)
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.out)
			}
		})
	}
}

func TestShutdownWithoutGinit(t *testing.T) {
	var errb bytes.Buffer
	getenv := func(string) string { return "" }
	code := RunShutdownCLI(context.Background(), "reboot", []string{"--socket-path", t.TempDir() + "/none"}, &bytes.Buffer{}, &errb, getenv, ShutdownSys{})
	if code != ExitFail || !strings.Contains(errb.String(), "cannot reach ginit") || !strings.Contains(errb.String(), "--force") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// One shutdown record per shutdown: the front-end records only when it
// ends the machine itself (--force) or is asked for the record alone
// (--wtmp-only); a request to ginit leaves the record to ginit.
func TestShutdownRecordsOnlyWhereItEndsTheMachine(t *testing.T) {
	fb, getenv := fakeGinit(t)
	for _, tc := range []struct {
		argv0     string
		args      []string
		recordErr error
		records   int
		requests  int
		rebooted  power.Kind
		stderr    string
	}{
		{"reboot", nil, nil, 0, 1, power.None, ""},
		{"shutdown", []string{"-r", "now"}, nil, 0, 1, power.None, ""},
		{"reboot", []string{"--force"}, nil, 1, 0, power.Reboot, ""},
		{"halt", []string{"-f", "-n"}, nil, 1, 0, power.Halt, ""},
		{"poweroff", []string{"-f"}, errors.New("read-only file system"), 1, 0, power.Poweroff, "poweroff: wtmp: read-only file system\n"},
		{"poweroff", []string{"--wtmp-only"}, nil, 1, 0, power.None, ""},
	} {
		t.Run(tc.argv0+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			before := len(fb.Requests())
			records, rebooted := 0, power.None
			sys := ShutdownSys{
				Sync:   func() {},
				Reboot: func(k power.Kind) error { rebooted = k; return nil },
				Record: func() error { records++; return tc.recordErr },
			}
			var errb bytes.Buffer
			if code := RunShutdownCLI(context.Background(), tc.argv0, tc.args, &bytes.Buffer{}, &errb, getenv, sys); code != ExitOK {
				t.Fatalf("exit %d; stderr %q", code, errb.String())
			}
			if n := len(fb.Requests()) - before; records != tc.records || n != tc.requests || rebooted != tc.rebooted {
				t.Errorf("%d records, %d requests to ginit, reboot(2) %v; want %d, %d, %v", records, n, rebooted, tc.records, tc.requests, tc.rebooted)
			}
			if errb.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", errb.String(), tc.stderr)
			}
		})
	}
}

// A usage error is one line naming the program, then the usage text, with
// no formatting debris between them.
func TestShutdownUsageError(t *testing.T) {
	tests := []struct {
		argv0 string
		args  []string
		line  string
	}{
		{"halt", []string{"--bogus"}, "halt: unknown option --bogus\n"},
		{"reboot", []string{"extra"}, "reboot: unexpected argument \"extra\"\n"},
		{"shutdown", []string{"-r", "soon"}, "shutdown: invalid time \"soon\" (now, +MINUTES or HH:MM)\n"},
		{"poweroff", []string{"--socket-path"}, "poweroff: --socket-path needs a path\n"},
	}
	for _, tc := range tests {
		t.Run(tc.argv0+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := RunShutdownCLI(context.Background(), tc.argv0, tc.args, &out, &errb, func(string) string { return "" }, ShutdownSys{})
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d", code, ExitUsage)
			}
			if want := tc.line + shutdownUsage; errb.String() != want {
				t.Errorf("stderr %q, want %q", errb.String(), want)
			}
		})
	}
}
