package ctl

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"ginit/init/control"
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

const shutdownUsage = `Usage:
  shutdown [-r|-h|-P|-H|-k] [--socket-path PATH] [TIME] [MESSAGE...]
  reboot   [-f|--force] [-w|--wtmp-only] [-n] [--socket-path PATH]
  poweroff [-f|--force] [-w|--wtmp-only] [-n] [--socket-path PATH]
  halt     [-p|--poweroff] [-f|--force] [-w|--wtmp-only] [-n] [--socket-path PATH]

shutdown: -r reboot, -h or -P power off (the default), -H halt, -k only
print the message. TIME is "now" (default), "+MINUTES" or "HH:MM"; the
command waits in the foreground until then.
reboot/poweroff/halt ask ginit to stop every service and then act.
  -f, --force       do not ask ginit: sync and act at once (root only)
  -w, --wtmp-only   only write the shutdown record to wtmp
  -n, --no-sync     with --force: do not sync first
All four: --help this text, --version the release and the commit.
`

// ShutdownSys is what the front-ends need besides the control socket;
// tests replace it.
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
}

// RunShutdownCLI is shutdown(8)/reboot(8)/poweroff(8)/halt(8) for ginit.
func RunShutdownCLI(ctx context.Context, argv0 string, args []string, stdout, stderr io.Writer, getenv func(string) string, sys ShutdownSys) int {
	prog := filepath.Base(argv0)
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: "+format+"\n", append([]any{prog}, a...)...)
		return ExitFail
	}
	usage := func(format string, a ...any) int {
		fail(format, a...)
		fmt.Fprint(stderr, shutdownUsage)
		return ExitUsage
	}
	kind := defaultKind(prog)
	if kind == power.None {
		return usage("unknown program name (use shutdown, reboot, poweroff or halt)")
	}
	var force, wtmpOnly, noSync, warnOnly bool
	sock := ""
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--help":
			fmt.Fprint(stdout, shutdownUsage)
			return ExitOK
		case a == "--version":
			fmt.Fprintln(stdout, version.Line(prog))
			return ExitOK
		case a == "--socket-path" || a == "-s" && prog != "shutdown":
			if i+1 >= len(args) {
				return usage("%s needs a path", a)
			}
			i++
			sock = args[i]
		case strings.HasPrefix(a, "--socket-path="):
			sock = strings.TrimPrefix(a, "--socket-path=")
		case prog == "shutdown" && a == "-r":
			kind = power.Reboot
		case prog == "shutdown" && (a == "-h" || a == "-P" || a == "--poweroff"):
			kind = power.Poweroff
		case prog == "shutdown" && (a == "-H" || a == "--halt"):
			kind = power.Halt
		case prog == "shutdown" && a == "-k":
			warnOnly = true
		case prog == "shutdown" && a == "-c":
			return fail("-c: cancelling is not supported; interrupt the waiting shutdown command instead")
		case prog != "shutdown" && (a == "-f" || a == "--force"):
			force = true
		case prog != "shutdown" && (a == "-w" || a == "--wtmp-only"):
			wtmpOnly = true
		case prog != "shutdown" && (a == "-n" || a == "--no-sync"):
			noSync = true
		case prog == "halt" && (a == "-p" || a == "--poweroff"):
			kind = power.Poweroff
		case a == "--no-wall" || a == "-q":
		case strings.HasPrefix(a, "-") && a != "-":
			return usage("unknown option %s", a)
		default:
			pos = append(pos, a)
		}
	}
	if prog != "shutdown" && len(pos) > 0 {
		return usage("unexpected argument %q", pos[0])
	}
	now := time.Now
	if sys.Now != nil {
		now = sys.Now
	}
	if prog == "shutdown" {
		when := "now"
		if len(pos) > 0 {
			when = pos[0]
			pos = pos[1:]
		}
		wait, err := parseWhen(when, now())
		if err != nil {
			return usage("%v", err)
		}
		msg := strings.Join(pos, " ")
		if warnOnly {
			fmt.Fprintf(stdout, "%s: would %s in %v%s\n", prog, kind, wait.Round(time.Second), suffix(msg))
			return ExitOK
		}
		if wait > 0 {
			fmt.Fprintf(stdout, "%s: %s in %v%s\n", prog, kind, wait.Round(time.Second), suffix(msg))
			sleep := sys.Sleep
			if sleep == nil {
				sleep = func(ctx context.Context, d time.Duration) error {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(d):
						return nil
					}
				}
			}
			if err := sleep(ctx, wait); err != nil {
				return fail("cancelled: %v", err)
			}
		}
	}
	if wtmpOnly {
		if sys.Record == nil {
			return fail("--wtmp-only is not available")
		}
		if err := sys.Record(); err != nil {
			return fail("wtmp: %v", err)
		}
		return ExitOK
	}
	if force {
		if sys.Reboot == nil {
			return fail("--force is not available")
		}
		if sys.Record != nil {
			if err := sys.Record(); err != nil {
				// The machine goes down all the same.
				fmt.Fprintf(stderr, "%s: wtmp: %v\n", prog, err)
			}
		}
		if !noSync && sys.Sync != nil {
			sys.Sync()
		}
		if err := sys.Reboot(kind); err != nil {
			return fail("%s: %v", kind, err)
		}
		return ExitOK
	}
	path := control.SocketPath(sock, false, getenv)
	c, err := control.Dial(path)
	if err != nil {
		return fail("cannot reach ginit at %s: %v (use --force to act without it)", path, err)
	}
	defer c.Close()
	resp, err := c.Do(ctx, control.Request{Op: control.OpShutdown, Shutdown: kind.String()})
	if err != nil {
		return fail("%v", err)
	}
	if resp.Code != control.OK {
		return fail("%s", resp.Message)
	}
	return ExitOK
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// parseWhen reads shutdown's TIME: now, +MINUTES or HH:MM (today, else
// tomorrow).
func parseWhen(s string, now time.Time) (time.Duration, error) {
	switch {
	case s == "now" || s == "+0":
		return 0, nil
	case strings.HasPrefix(s, "+"):
		n, err := strconv.Atoi(s[1:])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid time %q (now, +MINUTES or HH:MM)", s)
		}
		return time.Duration(n) * time.Minute, nil
	}
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("invalid time %q (now, +MINUTES or HH:MM)", s)
	}
	at := time.Date(now.Year(), now.Month(), now.Day(), hh, mm, 0, 0, now.Location())
	if at.Before(now) {
		at = at.Add(24 * time.Hour)
	}
	return at.Sub(now), nil
}
