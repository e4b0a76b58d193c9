package ctl

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"ginit/init/control"
	"ginit/internal/i18n"
	"ginit/internal/opts"
	"ginit/internal/power"
	"ginit/internal/version"
)

// defaultKind is what a shutdown front-end does without options, by the
// name ginitctl was installed (or linked) under; power.None for other
// names.
func defaultKind(argv0 string) power.Kind {
	switch filepath.Base(argv0) {
	case "shutdown", "poweroff":
		return power.Poweroff
	case "reboot":
		return power.Reboot
	case "halt":
		return power.Halt
	}
	return power.None
}

// IsShutdownName reports whether argv0's base name is a shutdown front-end.
func IsShutdownName(argv0 string) bool { return defaultKind(argv0) != power.None }

// noLoginLead is how long before a scheduled shutdown /run/nologin keeps
// new logins out (as sysvinit's and systemd's shutdown do).
const noLoginLead = 5 * time.Minute

// wallBefore are the times before a scheduled shutdown at which the
// logged-in users are warned again (besides at scheduling and at the end).
var wallBefore = []time.Duration{time.Hour, 30 * time.Minute, 15 * time.Minute, 10 * time.Minute,
	5 * time.Minute, 2 * time.Minute, time.Minute}

// Scheduled is a shutdown waiting in the foreground of a shutdown command,
// recorded so that `shutdown -c` can cancel it.
type Scheduled struct {
	PID     int
	When    time.Time
	Kind    power.Kind
	Message string
}

// ShutdownSys is what the front-ends need besides the control socket;
// tests replace it. A nil function is a facility this system lacks.
//
// One shutdown record per shutdown: the front-ends write it (Record) only
// on the paths where they, not ginit, end the machine (--force) or where
// recording is all that is asked (--wtmp-only). A request to ginit writes
// none, since ginit records the shutdown it carries out.
type ShutdownSys struct {
	Sync   func()
	Reboot func(kind power.Kind) error // reboot(2)
	Record func() error                // append the wtmp shutdown record
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	// Wall writes msg to every logged-in user's terminal.
	Wall func(msg string) error
	// NoLogin creates /run/nologin with msg; ClearNoLogin removes it.
	NoLogin      func(msg string) error
	ClearNoLogin func() error
	// Schedule records s until release is called; Cancel interrupts the
	// recorded shutdown's process and returns what it was.
	Schedule func(s Scheduled) (release func(), err error)
	Cancel   func() (Scheduled, error)
}

// shutdownArgs is a front-end's command line.
type shutdownArgs struct {
	prog                            string
	kind                            power.Kind
	force, wtmpOnly, noWtmp, noSync bool
	warnOnly, cancel, noWall        bool
	help, version                   bool
	sock                            string
	pos                             []string
}

// shutdownFlags declares prog's options: sysvinit's and systemd's.
func shutdownFlags(prog string, tr *i18n.Printer) (*shutdownArgs, *pflag.FlagSet) {
	a := &shutdownArgs{prog: prog, kind: defaultKind(prog)}
	fs := opts.New(prog)
	kind := func(name, short string, k power.Kind, usage string) {
		fs.BoolFuncP(name, short, usage, func(string) error { a.kind = k; return nil })
	}
	if prog == "shutdown" {
		kind("reboot", "r", power.Reboot, tr.T("reboot"))
		kind("poweroff", "P", power.Poweroff, tr.T("power off (the default)"))
		fs.BoolFuncP("halt-or-poweroff", "h", tr.T("power off (as systemd's; sysvinit's halt-or-power-off)"), func(string) error { a.kind = power.Poweroff; return nil })
		kind("halt", "H", power.Halt, tr.T("halt"))
		opts.Switch(fs, &a.warnOnly, "warn-only", "k", tr.T("only warn the logged-in users; do not shut down"))
		opts.Switch(fs, &a.cancel, "cancel", "c", tr.T("cancel the shutdown a waiting shutdown command scheduled"))
		opts.NewFunc(fs, "term-delay", "t", tr.T("SECONDS"), tr.T("accepted for sysvinit; each service's stop-timeout applies"),
			func(v string) error {
				if n, err := strconv.Atoi(v); err != nil || n < 0 {
					return opts.Invalid(tr.Tf("%q is not a number of seconds", v))
				}
				return nil
			})
	} else {
		if prog != "reboot" {
			kind("reboot", "", power.Reboot, tr.T("reboot"))
		}
		if prog != "halt" {
			kind("halt", "", power.Halt, tr.T("halt"))
		}
		short := ""
		if prog == "halt" {
			short = "p"
		}
		if prog != "poweroff" {
			kind("poweroff", short, power.Poweroff, tr.T("power off"))
		}
		opts.Switch(fs, &a.force, "force", "f", tr.T("do not ask ginit: sync and act at once (root only)"))
		opts.Switch(fs, &a.wtmpOnly, "wtmp-only", "w", tr.T("only write the shutdown record to wtmp"))
		opts.Switch(fs, &a.noWtmp, "no-wtmp", "d", tr.T("with --force: write no wtmp record"))
		opts.Switch(fs, &a.noSync, "no-sync", "n", tr.T("with --force: do not sync first"))
	}
	opts.Switch(fs, &a.noWall, "no-wall", "", tr.T("send no message to the logged-in users"))
	// Older front-ends took -q for --no-wall.
	opts.Switch(fs, &a.noWall, "quiet", "q", tr.T("the same as --no-wall"))
	fs.Lookup("quiet").Hidden = true
	short := "s"
	if prog == "shutdown" {
		short = ""
	}
	fs.StringVarP(&a.sock, "socket-path", short, "", tr.T("ginit's control socket `PATH`"))
	opts.Switch(fs, &a.help, "help", "", tr.T("print this text"))
	opts.Switch(fs, &a.version, "version", "", tr.T("print the release and the commit"))
	return a, fs
}

// shutdownHelp is prog's --help text.
func shutdownHelp(prog string, tr *i18n.Printer) string {
	var b strings.Builder
	_, fs := shutdownFlags(prog, tr)
	if prog == "shutdown" {
		opts.Help(&b, tr, tr.T("shutdown [OPTION]... [TIME] [MESSAGE]..."),
			tr.T("Power off, reboot or halt the machine through ginit at TIME: \"now\" (the default),\n\"+MINUTES\" or \"HH:MM\". The command waits in the foreground until then; the\nlogged-in users are warned with MESSAGE, and from five minutes before\n/run/nologin keeps new logins out. shutdown -c (or an interrupt) cancels."),
			fs, tr.T("Exit status: 0 success, 1 failure or cancelled, 2 usage error."))
	} else {
		opts.Help(&b, tr, tr.Tf("%s [OPTION]...", prog),
			tr.Tf("Ask ginit to stop every service and then %s the machine.", defaultKind(prog)),
			fs, tr.T("Exit status: 0 success, 1 failure, 2 usage error."))
	}
	return b.String()
}

// RunShutdownCLI is shutdown(8)/reboot(8)/poweroff(8)/halt(8) for ginit.
func RunShutdownCLI(ctx context.Context, argv0 string, args []string, stdout, stderr io.Writer, getenv func(string) string, sys ShutdownSys) int {
	tr := i18n.ForEnv(getenv)
	prog := filepath.Base(argv0)
	fail := func(msg string) int {
		fmt.Fprintf(stderr, "%s: %s\n", prog, msg)
		return ExitFail
	}
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "%s: %s\n", prog, msg)
		tr.Fprintf(stderr, "Try '%s --help' for more information.\n", prog)
		return ExitUsage
	}
	if defaultKind(prog) == power.None {
		return usage(tr.T("unknown program name (use shutdown, reboot, poweroff or halt)"))
	}
	a, fs := shutdownFlags(prog, tr)
	if err := opts.Parse(fs, args, tr); err != nil {
		return usage(err.Error())
	}
	a.pos = fs.Args()
	switch {
	case a.help:
		fmt.Fprint(stdout, shutdownHelp(prog, tr))
		return ExitOK
	case a.version:
		fmt.Fprintln(stdout, version.Line(prog))
		return ExitOK
	case prog != "shutdown" && len(a.pos) > 0:
		return usage(tr.Tf("unexpected argument %q", a.pos[0]))
	}
	now := time.Now
	if sys.Now != nil {
		now = sys.Now
	}
	wall := func(msg string) {
		if a.noWall || sys.Wall == nil {
			return
		}
		if err := sys.Wall(msg); err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", prog, tr.Tf("wall: %s", Plain(err)))
		}
	}
	if prog == "shutdown" {
		if a.cancel {
			return cancelShutdown(a, sys, stdout, tr, fail, wall)
		}
		when := "now"
		if len(a.pos) > 0 {
			when, a.pos = a.pos[0], a.pos[1:]
		}
		start := now()
		at, err := parseWhen(when, start)
		if err != nil {
			return usage(tr.Tf("invalid time %q (now, +MINUTES or HH:MM)", when))
		}
		msg := strings.Join(a.pos, " ")
		if a.warnOnly {
			wall(wallText(tr, a.kind, at, start, msg))
			fmt.Fprintln(stdout, tr.Tf("%s: would %s at %s (only the warning was sent)", prog, a.kind, at.Format("15:04")))
			return ExitOK
		}
		if at.After(start) {
			if code, ok := waitUntil(ctx, a, sys, at, now, msg, stdout, stderr, tr, wall); !ok {
				return code
			}
		}
		wall(wallText(tr, a.kind, at, at, msg))
	} else if !a.wtmpOnly {
		wall(wallText(tr, a.kind, now(), now(), ""))
	}
	if a.wtmpOnly {
		if sys.Record == nil {
			return fail(tr.T("--wtmp-only is not available"))
		}
		if err := sys.Record(); err != nil {
			return fail(tr.Tf("wtmp: %s", Plain(err)))
		}
		return ExitOK
	}
	if a.force {
		if sys.Reboot == nil {
			return fail(tr.T("--force is not available"))
		}
		if sys.Record != nil && !a.noWtmp {
			if err := sys.Record(); err != nil {
				// The machine goes down all the same.
				fmt.Fprintf(stderr, "%s: %s\n", prog, tr.Tf("wtmp: %s", Plain(err)))
			}
		}
		if !a.noSync && sys.Sync != nil {
			sys.Sync()
		}
		if err := sys.Reboot(a.kind); err != nil {
			return fail(tr.Tf("%s: %s", a.kind, Plain(err)))
		}
		return ExitOK
	}
	path := control.SocketPath(a.sock, false, getenv)
	c, err := control.Dial(path)
	if err != nil {
		clearNoLogin(sys)
		return fail(tr.Tf("cannot reach ginit at %s: %s (use --force to act without it)", path, Plain(err)))
	}
	defer c.Close()
	resp, err := c.Do(ctx, control.Request{Op: control.OpShutdown, Shutdown: a.kind.String()})
	if err != nil {
		clearNoLogin(sys)
		return fail(Plain(err))
	}
	if resp.Code != control.OK {
		clearNoLogin(sys)
		return fail(resp.Message)
	}
	return ExitOK
}

func clearNoLogin(sys ShutdownSys) {
	if sys.ClearNoLogin != nil {
		_ = sys.ClearNoLogin()
	}
}

// waitUntil waits in the foreground for a scheduled shutdown at at: it
// records it for shutdown -c, warns at wallBefore's marks and keeps logins
// out from noLoginLead before. ok is false when the wait ended otherwise
// (cancelled, or the record could not be made): code is then the exit.
func waitUntil(ctx context.Context, a *shutdownArgs, sys ShutdownSys, at time.Time, now func() time.Time, msg string,
	stdout, stderr io.Writer, tr *i18n.Printer, wall func(string)) (code int, ok bool) {
	prog := a.prog
	if sys.Schedule != nil {
		release, err := sys.Schedule(Scheduled{When: at, Kind: a.kind, Message: msg})
		if err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", prog, err)
			return ExitFail, false
		}
		defer release()
	}
	sleep := sys.Sleep
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	fmt.Fprintln(stdout, tr.Tf("%s: %s at %s%s", prog, a.kind, at.Format("Mon 2006-01-02 15:04 MST"), suffix(msg)))
	wall(wallText(tr, a.kind, at, now(), msg))
	noLogin := false
	for {
		t := now()
		left := at.Sub(t)
		if left <= 0 {
			return 0, true
		}
		if left <= noLoginLead && !noLogin && sys.NoLogin != nil {
			if err := sys.NoLogin(wallText(tr, a.kind, at, t, msg)); err != nil {
				fmt.Fprintf(stderr, "%s: %s\n", prog, tr.Tf("nologin: %s", Plain(err)))
			}
			noLogin = true
		}
		// The next event: a warning mark, the nologin lead, or the end.
		next := left
		for _, m := range append([]time.Duration{noLoginLead}, wallBefore...) {
			if m < left && left-m < next {
				next = left - m
			}
		}
		if err := sleep(ctx, next); err != nil {
			if noLogin {
				clearNoLogin(sys)
			}
			wall(tr.T("The scheduled shutdown has been cancelled."))
			fmt.Fprintln(stderr, prog+": "+tr.T("shutdown cancelled"))
			return ExitFail, false
		}
		if rest := at.Sub(now()); rest > 0 {
			for _, m := range wallBefore {
				if rest <= m+time.Second && rest > m-time.Second {
					wall(wallText(tr, a.kind, at, now(), msg))
					break
				}
			}
		}
	}
}

// cancelShutdown is shutdown -c.
func cancelShutdown(a *shutdownArgs, sys ShutdownSys, stdout io.Writer, tr *i18n.Printer, fail func(string) int, wall func(string)) int {
	if sys.Cancel == nil {
		return fail(tr.T("-c: cancelling is not available here"))
	}
	s, err := sys.Cancel()
	if err != nil {
		return fail(tr.Tf("-c: %s", Plain(err)))
	}
	clearNoLogin(sys)
	msg := tr.T("The scheduled shutdown has been cancelled.")
	if len(a.pos) > 0 {
		msg += "\n\n" + strings.Join(a.pos, " ")
	}
	wall(msg)
	fmt.Fprintln(stdout, tr.Tf("%s: cancelled the %s scheduled for %s", a.prog, s.Kind, s.When.Format("Mon 2006-01-02 15:04 MST")))
	return ExitOK
}

// wallText is the warning for a shutdown of kind at at, as of now.
func wallText(tr *i18n.Printer, kind power.Kind, at, now time.Time, msg string) string {
	var s string
	switch {
	case !at.After(now) && kind == power.Reboot:
		s = tr.T("The system will reboot now!")
	case !at.After(now) && kind == power.Halt:
		s = tr.T("The system will halt now!")
	case !at.After(now):
		s = tr.T("The system will power off now!")
	case kind == power.Reboot:
		s = tr.Tf("The system will reboot at %s!", at.Format("Mon 2006-01-02 15:04 MST"))
	case kind == power.Halt:
		s = tr.Tf("The system will halt at %s!", at.Format("Mon 2006-01-02 15:04 MST"))
	default:
		s = tr.Tf("The system will power off at %s!", at.Format("Mon 2006-01-02 15:04 MST"))
	}
	if msg != "" {
		s += "\n\n" + msg
	}
	return s
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// parseWhen reads shutdown's TIME: now, +MINUTES or HH:MM (today, else
// tomorrow), as the time it means.
func parseWhen(s string, now time.Time) (time.Time, error) {
	bad := fmt.Errorf("invalid time %q", s)
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "+"):
		n, err := strconv.Atoi(s[1:])
		if err != nil || n < 0 || n > 60*24*366 {
			return now, bad
		}
		return now.Add(time.Duration(n) * time.Minute), nil
	}
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return now, bad
	}
	at := time.Date(now.Year(), now.Month(), now.Day(), hh, mm, 0, 0, now.Location())
	if at.Before(now) {
		at = time.Date(now.Year(), now.Month(), now.Day()+1, hh, mm, 0, 0, now.Location())
	}
	return at, nil
}
