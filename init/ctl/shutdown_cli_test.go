package ctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/control"
	"ginit/init/control/server/servertest"
	"ginit/internal/power"
	"ginit/internal/utmp"
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
		{"shutdown", []string{"-k", "+1"}, 0, "", 0, "", "would poweroff at 10:01"},
		{"shutdown", []string{"-rq", "+2"}, 0, "reboot", 2 * time.Minute, "", ""},
		{"shutdown", []string{"--reboot", "--no-wall", "now"}, 0, "reboot", 0, "", ""},
		{"shutdown", []string{"-h", "now"}, 0, "poweroff", 0, "", ""},
		{"shutdown", []string{"-t", "5", "-r"}, 0, "reboot", 0, "", ""},
		{"shutdown", []string{"-t", "x"}, 2, "", 0, "", ""},
		{"reboot", []string{"--poweroff"}, 0, "poweroff", 0, "", ""},
		{"poweroff", []string{"--reboot", "-fdn"}, 0, "", 0, "reboot", ""},
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
				Now:    func() time.Time { return now.Add(slept) },
				Sleep:  func(_ context.Context, d time.Duration) error { slept += d; return nil },
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

// A usage error is one line naming the program, then a pointer to
// --help, with no formatting debris between them.
func TestShutdownUsageError(t *testing.T) {
	tests := []struct {
		argv0 string
		args  []string
		line  string
	}{
		{"halt", []string{"--bogus"}, "halt: unknown option --bogus\n"},
		{"halt", []string{"-Z"}, "halt: unknown option -Z\n"},
		{"reboot", []string{"extra"}, "reboot: unexpected argument \"extra\"\n"},
		{"shutdown", []string{"-r", "soon"}, "shutdown: invalid time \"soon\" (now, +MINUTES or HH:MM)\n"},
		{"shutdown", []string{"25:00"}, "shutdown: invalid time \"25:00\" (now, +MINUTES or HH:MM)\n"},
		{"shutdown", []string{"-f"}, "shutdown: unknown option -f\n"},
		{"poweroff", []string{"--socket-path"}, "poweroff: option --socket-path needs an argument\n"},
		{"poweroff", []string{"-s"}, "poweroff: option -s needs an argument\n"},
	}
	for _, tc := range tests {
		t.Run(tc.argv0+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := RunShutdownCLI(context.Background(), tc.argv0, tc.args, &out, &errb, func(string) string { return "" }, ShutdownSys{})
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d", code, ExitUsage)
			}
			if want := tc.line + "Try '" + tc.argv0 + " --help' for more information.\n"; errb.String() != want {
				t.Errorf("stderr %q, want %q", errb.String(), want)
			}
		})
	}
}

// shutdown --help lists sysvinit's and systemd's options; reboot's its own.
func TestShutdownHelp(t *testing.T) {
	for prog, want := range map[string][]string{
		"shutdown": {"Usage: shutdown [OPTION]... [TIME] [MESSAGE]...", "-r, --reboot", "-H, --halt", "-P, --poweroff", "-k, --warn-only", "-c, --cancel", "--no-wall", "-t, --term-delay SECONDS", "Exit status"},
		"reboot":   {"Usage: reboot [OPTION]...", "-f, --force", "-w, --wtmp-only", "-d, --no-wtmp", "-n, --no-sync", "--halt", "--poweroff", "-s, --socket-path PATH"},
		"halt":     {"-p, --poweroff", "--reboot"},
	} {
		var out bytes.Buffer
		if code := RunShutdownCLI(context.Background(), prog, []string{"--help"}, &out, &bytes.Buffer{}, func(string) string { return "" }, ShutdownSys{}); code != 0 {
			t.Fatalf("%s --help: exit %d", prog, code)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s --help lacks %q:\n%s", prog, w, out.String())
			}
		}
		if strings.Contains(out.String(), "[=true|false]") || strings.Contains(out.String(), "--quiet") {
			t.Errorf("%s --help shows pflag's or hidden forms:\n%s", prog, out.String())
		}
	}
}

// A scheduled shutdown warns the users at the marks, keeps logins out from
// five minutes before, records itself for -c, and cleans up when it is
// cancelled; shutdown -c interrupts it and tells the users.
func TestShutdownSchedule(t *testing.T) {
	fb, getenv := fakeGinit(t)
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	type ev struct {
		at   time.Duration
		what string
	}
	run := func(args []string, cancelAfter time.Duration) ([]ev, int, string) {
		var evs []ev
		var slept time.Duration
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sys := ShutdownSys{
			Now: func() time.Time { return start.Add(slept) },
			Sleep: func(ctx context.Context, d time.Duration) error {
				if cancelAfter > 0 && slept+d > cancelAfter {
					slept = cancelAfter
					cancel()
					return ctx.Err()
				}
				slept += d
				return nil
			},
			Wall:         func(msg string) error { evs = append(evs, ev{slept, "wall " + msg}); return nil },
			NoLogin:      func(msg string) error { evs = append(evs, ev{slept, "nologin"}); return nil },
			ClearNoLogin: func() error { evs = append(evs, ev{slept, "clear"}); return nil },
			Schedule: func(s Scheduled) (func(), error) {
				evs = append(evs, ev{slept, "schedule " + s.Kind.String() + " " + s.When.Format("15:04")})
				return func() { evs = append(evs, ev{slept, "release"}) }, nil
			},
		}
		var out, errb bytes.Buffer
		code := RunShutdownCLI(ctx, "shutdown", args, &out, &errb, getenv, sys)
		return evs, code, errb.String()
	}
	before := len(fb.Requests())
	evs, code, _ := run([]string{"-r", "+12", "maintenance"}, 0)
	if code != 0 || len(fb.Requests()) != before+1 {
		t.Fatalf("exit %d, %d requests", code, len(fb.Requests())-before)
	}
	var walls []time.Duration
	nologin := time.Duration(-1)
	for _, e := range evs {
		switch {
		case strings.HasPrefix(e.what, "wall "):
			walls = append(walls, e.at)
			if !strings.Contains(e.what, "maintenance") || !strings.Contains(e.what, "reboot") {
				t.Errorf("wall text %q", e.what)
			}
		case e.what == "nologin":
			nologin = e.at
		}
	}
	wantWalls := []time.Duration{0, 2 * time.Minute, 7 * time.Minute, 10 * time.Minute, 11 * time.Minute, 12 * time.Minute}
	if fmt.Sprint(walls) != fmt.Sprint(wantWalls) {
		t.Errorf("walls at %v, want %v", walls, wantWalls)
	}
	if nologin != 7*time.Minute {
		t.Errorf("nologin at %v, want 7m0s (events %v)", nologin, evs)
	}
	if evs[0].what != "schedule reboot 10:12" || !strings.Contains(fmt.Sprint(evs), "release") {
		t.Errorf("events %v", evs)
	}

	// Cancelled after 8 minutes: nologin removed, users told, no request.
	before = len(fb.Requests())
	evs, code, errs := run([]string{"+12"}, 8*time.Minute)
	if code != ExitFail || len(fb.Requests()) != before || !strings.Contains(errs, "cancelled") {
		t.Fatalf("cancel: exit %d, %d requests, stderr %q", code, len(fb.Requests())-before, errs)
	}
	var tail []string
	for _, e := range evs[len(evs)-3:] {
		tail = append(tail, e.what)
	}
	if fmt.Sprint(tail) != fmt.Sprint([]string{"clear", "wall The scheduled shutdown has been cancelled.", "release"}) {
		t.Errorf("cancel events end %q", tail)
	}
}

// shutdown -c asks Cancel, removes nologin and tells the users.
func TestShutdownCancel(t *testing.T) {
	var walls []string
	cleared := false
	sys := ShutdownSys{
		Cancel: func() (Scheduled, error) {
			return Scheduled{PID: 42, When: time.Date(2026, 11, 27, 10, 12, 0, 0, time.UTC), Kind: power.Reboot}, nil
		},
		ClearNoLogin: func() error { cleared = true; return nil },
		Wall:         func(m string) error { walls = append(walls, m); return nil },
	}
	var out, errb bytes.Buffer
	code := RunShutdownCLI(context.Background(), "shutdown", []string{"-c", "back", "soon"}, &out, &errb, func(string) string { return "" }, sys)
	if code != 0 || !cleared || len(walls) != 1 || !strings.HasSuffix(walls[0], "back soon") || !strings.Contains(out.String(), "cancelled the reboot") {
		t.Fatalf("exit %d cleared %v walls %q out %q err %q", code, cleared, walls, out.String(), errb.String())
	}
	sys.Cancel = func() (Scheduled, error) { return Scheduled{}, errors.New("no shutdown is scheduled") }
	errb.Reset()
	if code := RunShutdownCLI(context.Background(), "shutdown", []string{"-c"}, &out, &errb, func(string) string { return "" }, sys); code != ExitFail ||
		errb.String() != "shutdown: -c: no shutdown is scheduled\n" {
		t.Fatalf("nothing scheduled: exit %d %q", code, errb.String())
	}
}

// The real schedule record: one at a time, -c signals the process that
// wrote it (here this test, which catches SIGINT), and a stale record of a
// gone process is replaced.
func TestScheduleRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "shutdown.scheduled")
	at := time.Unix(1800000000, 0)
	release, err := schedule(path, Scheduled{When: at, Kind: power.Halt, Message: "a\nb"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schedule(path, Scheduled{When: at}); err == nil || !strings.Contains(err.Error(), "already scheduled") {
		t.Fatalf("second schedule: %v", err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT)
	defer signal.Stop(sig)
	s, err := cancelScheduled(path)
	if err != nil || s.PID != os.Getpid() || s.Kind != power.Halt || !s.When.Equal(at) || s.Message != "a b" {
		t.Fatalf("cancel: %+v, %v", s, err)
	}
	select {
	case <-sig:
	case <-time.After(5 * time.Second):
		t.Fatal("no SIGINT")
	}
	release()
	if _, err := cancelScheduled(path); err == nil || err.Error() != "no shutdown is scheduled" {
		t.Fatalf("after release: %v", err)
	}
	// A record whose process is gone (pid 2 is never this executable).
	os.WriteFile(path, []byte("PID=2\nWHEN=1\nMODE=reboot\n"), 0o644)
	if rel, err := schedule(path, Scheduled{When: at}); err != nil {
		t.Fatalf("stale record not replaced: %v", err)
	} else {
		rel()
	}
}

// wall writes to the user terminals utmp lists and to nothing else.
func TestWallTargets(t *testing.T) {
	dir := t.TempDir()
	u := filepath.Join(dir, "utmp")
	now := time.Unix(1800000000, 0)
	for _, r := range []utmp.Record{
		utmp.LoginRecord(now, 1, "p1", "pts/1", "alice", ""),
		utmp.LoginRecord(now, 2, "x", "../../etc/passwd", "mallory", ""),
		utmp.DeadRecord(now, 3, "p2", "pts/2"),
	} {
		if err := utmp.WriteUtmp(u, r); err != nil {
			t.Fatal(err)
		}
	}
	// No terminals under dir: the one user line fails, which is the error.
	if err := wall(u, dir, "hi", now); err == nil || !strings.Contains(err.Error(), "pts/1") {
		t.Fatalf("wall = %v", err)
	}
	if err := wall(filepath.Join(dir, "none"), dir, "hi", now); err != nil {
		t.Fatalf("no utmp: %v", err)
	}
}

// wall reaches a real terminal: a pty whose line utmp lists gets the
// header and the message.
func TestWallPty(t *testing.T) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer m.Close()
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	u := filepath.Join(t.TempDir(), "utmp")
	now := time.Unix(1800000000, 0)
	if err := utmp.WriteUtmp(u, utmp.LoginRecord(now, 1, "p", fmt.Sprintf("pts/%d", n), "alice", "")); err != nil {
		t.Fatal(err)
	}
	// Keep the slave open so the pty stays up while wall writes.
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("slave: %v", err)
	}
	defer s.Close()
	if err := wall(u, "/dev", "The system will reboot now!\n\nbye", now); err != nil {
		t.Fatal(err)
	}
	m.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte("bye")) {
		k, err := m.Read(buf)
		if err != nil {
			t.Fatalf("read %q: %v", got, err)
		}
		got = append(got, buf[:k]...)
	}
	if !bytes.Contains(got, []byte("Broadcast message from ")) || !bytes.Contains(got, []byte("The system will reboot now!")) {
		t.Fatalf("terminal got %q", got)
	}
}
