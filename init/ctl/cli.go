// Package ctl is ginitctl: the dinitctl-style CLI over the control
// protocol, --offline enable/disable (which edits service directories
// through the loader) and the shutdown, reboot, poweroff and halt
// front-ends.
package ctl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"ginit/init/control"
	"ginit/init/service"
	"ginit/internal/i18n"
	"ginit/internal/opts"
	"ginit/internal/power"
	"ginit/internal/version"
)

// Exit statuses of ginitctl.
const (
	ExitOK    = 0 // success; for is-started/is-failed: the predicate holds
	ExitFail  = 1 // the request failed, or the predicate does not hold
	ExitUsage = 2 // bad command line
)

// cliCommandsHelp lists the commands for --help.
const cliCommandsHelp = `Commands:
  start [--no-wait] [--pin] SERVICE
  stop [--no-wait] [--pin] [--ignore-unstarted] [--force] SERVICE
  restart [--no-wait] [--ignore-unstarted] [--force] SERVICE
  wake [--no-wait] SERVICE
  release [--ignore-unstarted] SERVICE
  unpin SERVICE
  status SERVICE
  is-started SERVICE
  is-failed SERVICE
  list
  reload SERVICE
  reload-service SERVICE      run its reload-command (ExecReload), wait for it
  unload SERVICE
  add-dep TYPE FROM TO        TYPE: need|regular|milestone|waits-for
  rm-dep TYPE FROM TO
  enable [--from SERVICE] SERVICE   link and start it (if FROM is up)
  disable [--from SERVICE] SERVICE
  setenv NAME[=VALUE]...      a plain NAME copies this process's value
  unsetenv NAME...
  trigger SERVICE
  untrigger SERVICE
  signal SIGNAL SERVICE       SIGNAL: HUP, SIGHUP or a number
  signal -l
  catlog [--clear] SERVICE
  shutdown [halt|poweroff|reboot|kexec]   (default halt)
  attach [--escape KEY] SERVICE   its terminal (terminal = pty); detach: Ctrl-] then d`

// cliTail closes --help.
const cliTail = `Options go before or after the command. --offline and --services-dir
are for enable and disable only: they edit the service directories
directly, without a running ginit.

Exit status: 0 success (is-started/is-failed: true), 1 failure (is-started/
is-failed: false, or the service is unknown), 2 usage error.`

// cliHelp is ginitctl's --help text in p's language.
func cliHelp(p *i18n.Printer) string {
	var b strings.Builder
	_, fs := cliFlags(p)
	opts.Help(&b, p, p.T("ginitctl [OPTION]... COMMAND [ARGUMENT]..."),
		p.T("Control a running ginit over its control socket.")+"\n\n"+p.T(cliCommandsHelp), fs, p.T(cliTail))
	return b.String()
}

// cmdSpec describes a subcommand: its op, allowed flags and argument count.
type cmdSpec struct {
	op    control.Op
	flags string // allowed command flags, space separated
	args  int    // exact positional count; -1: one or more
}

// cliCommand looks a subcommand up: a switch, where a map was built at
// every start of ginitctl for the one command it runs.
func cliCommand(name string) (cmdSpec, bool) {
	switch name {
	case "start":
		return cmdSpec{control.OpStart, "--no-wait --pin", 1}, true
	case "stop":
		return cmdSpec{control.OpStop, "--no-wait --pin --ignore-unstarted --force", 1}, true
	case "restart":
		return cmdSpec{control.OpRestart, "--no-wait --ignore-unstarted --force", 1}, true
	case "wake":
		return cmdSpec{control.OpWake, "--no-wait", 1}, true
	case "release":
		return cmdSpec{control.OpRelease, "--ignore-unstarted", 1}, true
	case "unpin":
		return cmdSpec{control.OpUnpin, "", 1}, true
	case "status":
		return cmdSpec{control.OpStatus, "", 1}, true
	case "is-started":
		return cmdSpec{control.OpStatus, "", 1}, true
	case "is-failed":
		return cmdSpec{control.OpStatus, "", 1}, true
	case "list":
		return cmdSpec{control.OpList, "", 0}, true
	case "reload":
		return cmdSpec{control.OpReload, "", 1}, true
	case "reload-service":
		return cmdSpec{control.OpReloadService, "", 1}, true
	case "unload":
		return cmdSpec{control.OpUnload, "", 1}, true
	case "add-dep":
		return cmdSpec{control.OpAddDep, "", 3}, true
	case "rm-dep":
		return cmdSpec{control.OpRmDep, "", 3}, true
	case "enable":
		return cmdSpec{control.OpEnable, "--from", 1}, true
	case "disable":
		return cmdSpec{control.OpDisable, "--from", 1}, true
	case "setenv":
		return cmdSpec{control.OpSetEnv, "", -1}, true
	case "unsetenv":
		return cmdSpec{control.OpUnsetEnv, "", -1}, true
	case "trigger":
		return cmdSpec{control.OpTrigger, "", 1}, true
	case "untrigger":
		return cmdSpec{control.OpUntrigger, "", 1}, true
	case "signal":
		return cmdSpec{control.OpSignal, "--list", 2}, true
	case "catlog":
		return cmdSpec{control.OpCatLog, "--clear", 1}, true
	case "shutdown":
		return cmdSpec{control.OpShutdown, "", 0}, true
	case "attach":
		return cmdSpec{control.OpAttach, "--escape", 1}, true
	}
	return cmdSpec{}, false
}

type cliArgs struct {
	socket        string
	user, quiet   bool
	offline       bool     // -o: enable/disable by editing files, no daemon
	dirs          []string // -d: service directories for --offline
	passedFD      bool     // --use-passed-cfd: the connection in $GINIT_CS_FD/$DINIT_CS_FD
	tr            *i18n.Printer
	help, version bool
	cmd           string
	flags         map[string]string
	pos           []string
}

// cmdOptions are the command options (cmdSpec.flags); the rest are global.
var cmdOptions = []string{"no-wait", "pin", "ignore-unstarted", "force", "clear", "list", "from", "escape"}

// cliFlags declares ginitctl's options, global and per command, in one set:
// options may stand before or after the command, as dinitctl's do.
func cliFlags(p *i18n.Printer) (*cliArgs, *pflag.FlagSet) {
	a := &cliArgs{flags: map[string]string{}, tr: p}
	fs := opts.New("ginitctl")
	fs.StringVarP(&a.socket, "socket-path", "p", "", p.T("control socket `PATH` (else $GINIT_SOCKET_PATH, else the default)"))
	fs.BoolFuncP("user", "u", p.T("talk to the user instance ($XDG_RUNTIME_DIR/ginitctl)"), func(string) error { a.user = true; return nil })
	fs.BoolFuncP("system", "s", p.T("talk to the system instance"), func(string) error { a.user = false; return nil })
	opts.Switch(fs, &a.passedFD, "use-passed-cfd", "", p.T("use the connection ginit passed in $GINIT_CS_FD (or $DINIT_CS_FD)"))
	opts.Switch(fs, &a.offline, "offline", "o", p.T("enable/disable: edit the service directories, no ginit needed"))
	opts.NewFunc(fs, "services-dir", "d", p.T("DIR"), p.T("with --offline: a service directory (repeatable)"),
		func(v string) error { a.dirs = append(a.dirs, v); return nil })
	opts.Switch(fs, &a.quiet, "quiet", "q", p.T("print only errors"))
	cmdFlag := func(name, short, usage string) {
		fs.BoolFuncP(name, short, usage, func(string) error { a.flags["--"+name] = ""; return nil })
	}
	cmdFlag("no-wait", "", p.T("start/stop/restart/wake: do not wait for the result"))
	cmdFlag("pin", "", p.T("start/stop: pin the service in that state"))
	cmdFlag("ignore-unstarted", "", p.T("stop/restart/release: a service that is not started is no error"))
	cmdFlag("force", "", p.T("stop/restart: stop the services that depend on it too"))
	cmdFlag("clear", "", p.T("catlog: empty the buffer after printing it"))
	cmdFlag("list", "l", p.T("signal: list the signal names"))
	opts.NewFunc(fs, "from", "", p.T("SERVICE"), p.T("enable/disable: the service whose waits-for.d gets the link (default: enable-via, else boot)"),
		func(v string) error { a.flags["--from"] = v; return nil })
	opts.NewFunc(fs, "escape", "", p.T("KEY"), p.T("attach: the key that, followed by d, detaches (^X or a character; default ^])"),
		func(v string) error { a.flags["--escape"] = v; return nil })
	opts.Switch(fs, &a.help, "help", "h", p.T("print this text"))
	opts.Switch(fs, &a.version, "version", "", p.T("print the release, the commit and the protocol version"))
	return a, fs
}

func parseCLI(args []string, p *i18n.Printer) (*cliArgs, error) {
	a, fs := cliFlags(p)
	if err := opts.Parse(fs, args, p); err != nil {
		return nil, err
	}
	a.pos = fs.Args()
	if a.help || a.version {
		return a, nil
	}
	if len(a.pos) == 0 {
		return nil, p.Errorf("no command given")
	}
	a.cmd, a.pos = a.pos[0], a.pos[1:]
	spec, ok := cliCommand(a.cmd)
	if !ok {
		return nil, p.Errorf("unknown command %q", a.cmd)
	}
	allowed := strings.Fields(spec.flags)
	for _, f := range cmdOptions {
		if fs.Changed(f) && !slices.Contains(allowed, "--"+f) {
			return nil, p.Errorf("%s: option --%s not allowed", a.cmd, f)
		}
	}
	want := spec.args
	switch {
	case a.cmd == "signal" && a.has("--list"):
		want = 0
	case a.cmd == "shutdown":
		if len(a.pos) > 1 {
			return nil, p.Errorf("shutdown: too many arguments")
		}
		return a, nil
	}
	if want < 0 {
		if len(a.pos) == 0 {
			return nil, p.Errorf("%s: at least one argument needed", a.cmd)
		}
	} else if len(a.pos) != want {
		return nil, p.Errorf("%s: %d argument(s) expected, got %d", a.cmd, want, len(a.pos))
	}
	return a, nil
}

func (a *cliArgs) has(f string) bool { _, ok := a.flags[f]; return ok }

// buildRequest maps parsed arguments to a request; env supplies setenv's
// plain names.
func buildRequest(a *cliArgs, env func(string) string) (control.Request, error) {
	spec, _ := cliCommand(a.cmd)
	r := control.Request{Op: spec.op, Pin: a.has("--pin"), Force: a.has("--force"), NoWait: a.has("--no-wait"),
		IgnoreUnstarted: a.has("--ignore-unstarted"), Clear: a.has("--clear"), From: a.flags["--from"]}
	switch a.cmd {
	case "add-dep", "rm-dep":
		switch a.pos[0] {
		case "need", "regular", "milestone", "waits-for":
		default:
			return r, fmt.Errorf("%s: unknown dependency type %q (need, regular, milestone, waits-for)", a.cmd, a.pos[0])
		}
		r.DepType, r.Service, r.DepTarget = a.pos[0], a.pos[1], a.pos[2]
	case "setenv":
		for _, s := range a.pos {
			if !strings.Contains(s, "=") {
				v := env(s)
				if v == "" {
					return r, fmt.Errorf("setenv: %s is not set in this environment", s)
				}
				s += "=" + v
			}
			if strings.HasPrefix(s, "=") {
				return r, fmt.Errorf("setenv: empty variable name in %q", s)
			}
			r.Env = append(r.Env, s)
		}
	case "unsetenv":
		for _, s := range a.pos {
			if s == "" || strings.Contains(s, "=") {
				return r, fmt.Errorf("unsetenv: bad variable name %q", s)
			}
		}
		r.Env = a.pos
	case "signal":
		n, err := parseSignal(a.pos[0])
		if err != nil {
			return r, err
		}
		r.Signal, r.Service = n, a.pos[1]
	case "shutdown":
		k := power.Halt
		if len(a.pos) == 1 {
			var err error
			// remain (stop everything, keep running) is not a shutdown
			// dinitctl offers.
			if k, err = power.Parse(a.pos[0]); err != nil || k == power.Remain {
				return r, fmt.Errorf("shutdown: unknown type %q (halt, poweroff, reboot, kexec)", a.pos[0])
			}
		}
		r.Shutdown = k.String()
	case "list":
	default:
		r.Service = a.pos[0]
	}
	return r, nil
}

func parseSignal(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal: number %d out of range", n)
		}
		return n, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if n := unix.SignalNum(name); n != 0 {
		return int(n), nil
	}
	return 0, fmt.Errorf("signal: unknown signal %q", s)
}

// RunCLI is ginitctl: it parses args (without the program name), talks to
// the daemon and returns the exit status. Messages are in the language of
// env's locale variables.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	tr := i18n.ForEnv(env)
	a, err := parseCLI(args, tr)
	if err != nil {
		fmt.Fprintf(stderr, "ginitctl: %v\n", err)
		tr.Fprintf(stderr, "Try '%s --help' for more information.\n", "ginitctl")
		return ExitUsage
	}
	if a.help {
		fmt.Fprint(stdout, cliHelp(tr))
		return ExitOK
	}
	if a.version {
		fmt.Fprintf(stdout, "%s\n%s\n", version.Line("ginitctl"), tr.Tf("control protocol version %d", control.ProtocolVersion))
		return ExitOK
	}
	if a.cmd == "signal" && a.has("--list") {
		for n := 1; n < 32; n++ {
			if name := unix.SignalName(unix.Signal(n)); name != "" {
				fmt.Fprintf(stdout, "%2d %s\n", n, strings.TrimPrefix(name, "SIG"))
			}
		}
		return ExitOK
	}
	if a.offline || len(a.dirs) > 0 {
		return runOffline(a, stdout, stderr, env)
	}
	req, err := buildRequest(a, env)
	if err != nil {
		fmt.Fprintf(stderr, "ginitctl: %v\n", err)
		return ExitUsage
	}
	c, where, err := connect(a, env)
	if err != nil {
		fmt.Fprintf(stderr, "ginitctl: %s\n", connectError(tr, where, err, a.user))
		return ExitFail
	}
	defer c.Close()
	if a.cmd == "attach" {
		return runAttach(ctx, c, a, stdout, stderr, tr) // attach.go
	}
	var bw *bufio.Writer
	var each func(*control.ServiceInfo)
	if a.cmd == "list" || a.cmd == "status" {
		// A line per write was a system call per service for list; both
		// write stderr, if at all, before any line (an answer that is an
		// error carries no services).
		// status's few lines fit bufio's default; list's 64 kB are a
		// large allocation, a span of its own, that status need not make.
		size := 4 << 10
		if a.cmd == "list" {
			size = 64 << 10
		}
		bw = bufio.NewWriterSize(stdout, size)
	}
	if a.cmd == "list" && !a.quiet {
		// Each service printed as it is decoded, not gathered first.
		var line []byte
		each = func(si *control.ServiceInfo) {
			line = append(AppendListLine(line[:0], si), '\n')
			bw.Write(line)
		}
	}
	resp, err := c.DoEach(ctx, req, each)
	if err != nil {
		fmt.Fprintf(stderr, "ginitctl: %s\n", tr.Tf("%s: %s", a.cmd, Plain(err)))
		return ExitFail
	}
	if bw != nil {
		code := report(a, &req, &resp, bw, stderr)
		if err := bw.Flush(); err != nil && code == ExitOK {
			fmt.Fprintf(stderr, "ginitctl: %v\n", err)
			return ExitFail
		}
		return code
	}
	return report(a, &req, &resp, stdout, stderr)
}

// connectError says why ginit could not be reached and what to do, as one
// sentence rather than the dial error's chain.
func connectError(tr *i18n.Printer, where string, err error, user bool) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno) && (errno == syscall.ENOENT || errno == syscall.ECONNREFUSED):
		if user {
			return tr.Tf("no ginit is listening at %s (is the user instance running?)", where)
		}
		return tr.Tf("no ginit is listening at %s (is ginit running? use -p PATH or --user for another instance)", where)
	case errors.As(err, &errno) && (errno == syscall.EACCES || errno == syscall.EPERM):
		return tr.Tf("permission denied on %s (the system instance's socket is root's: run as root, or use --user)", where)
	}
	return tr.Tf("cannot connect to ginit at %s: %s", where, Plain(err))
}

// Plain is an error's message for people: the innermost cause of a chain
// of system call errors (a *net.OpError's "dial unix PATH: connect: ..."
// says nothing the caller did not say already), and without the tail a
// wrapped service.ErrBadArgument adds; else the message as it is.
func Plain(err error) string {
	var errno syscall.Errno
	var op *net.OpError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &op) && errors.As(err, &errno):
		return errno.Error()
	}
	return strings.TrimSuffix(err.Error(), ": "+service.ErrBadArgument.Error())
}

// doneText is the line a successful command prints, per command (the
// verbs are whole sentences so that a translation can order its words).
func doneText(tr *i18n.Printer, cmd, service string) string {
	switch cmd {
	case "start", "wake":
		return tr.Tf("Service '%s' started.", service)
	case "stop":
		return tr.Tf("Service '%s' stopped.", service)
	case "release":
		return tr.Tf("Service '%s' released.", service)
	case "unpin":
		return tr.Tf("Service '%s' unpinned.", service)
	case "reload":
		return tr.Tf("Service '%s' reloaded.", service)
	case "reload-service":
		return tr.Tf("Service '%s' ran its reload command.", service)
	case "unload":
		return tr.Tf("Service '%s' unloaded.", service)
	case "trigger":
		return tr.Tf("Service '%s' triggered.", service)
	case "untrigger":
		return tr.Tf("Service '%s' untriggered.", service)
	case "enable":
		return tr.Tf("Service '%s' enabled.", service)
	case "disable":
		return tr.Tf("Service '%s' disabled.", service)
	}
	return ""
}

func report(a *cliArgs, req *control.Request, resp *control.Response, stdout, stderr io.Writer) int {
	tr := a.tr
	out := func(line string) {
		if !a.quiet && line != "" {
			fmt.Fprintln(stdout, line)
		}
	}
	if a.cmd == "is-started" || a.cmd == "is-failed" {
		if resp.Code == control.NotStarted {
			out("STOPPED")
			return ExitFail
		}
		if resp.Code != control.OK || len(resp.Services) == 0 {
			// An unknown service is no answer to the question: say so
			// (on stderr, so scripts reading the state see nothing).
			return fail(a, req, resp, stderr)
		}
		si := &resp.Services[0]
		out(strings.ToUpper(si.State))
		if (a.cmd == "is-started" && si.State == "started") || (a.cmd == "is-failed" && si.Failed) {
			return ExitOK
		}
		return ExitFail
	}
	if resp.Code == control.NotStarted && req.IgnoreUnstarted {
		return ExitOK
	}
	if resp.Code != control.OK {
		return fail(a, req, resp, stderr)
	}
	switch a.cmd {
	case "list":
		// Printed as they were decoded (RunCLI).
	case "status":
		if len(resp.Services) == 0 {
			fmt.Fprintf(stderr, "ginitctl: %s\n", tr.Tf("no status for service '%s'", req.Service))
			return ExitFail
		}
		if !a.quiet {
			writeStatus(stdout, &resp.Services[0], tr, time.Now())
		}
	case "catlog":
		stdout.Write(resp.Log)
		if resp.Truncated {
			fmt.Fprintf(stderr, "ginitctl: %s\n", tr.Tf("the log of service '%s' was truncated", req.Service))
		}
	case "restart":
		if req.NoWait {
			out(tr.Tf("Issued restart command successfully for service '%s'.", req.Service))
		} else {
			out(tr.T("Service restarted."))
		}
	case "start", "stop", "wake":
		switch {
		case req.NoWait && a.cmd == "stop":
			out(tr.Tf("Issued stop command successfully for service '%s'.", req.Service))
		case req.NoWait:
			out(tr.Tf("Issued start command successfully for service '%s'.", req.Service))
		default:
			out(doneText(tr, a.cmd, req.Service))
		}
	case "shutdown":
		out(tr.Tf("Shutting down (%s).", req.Shutdown))
	case "add-dep":
		out(tr.Tf("Service '%s': dependency '%s' added", req.Service, req.DepTarget))
	case "rm-dep":
		out(tr.Tf("Service '%s': dependency '%s' removed", req.Service, req.DepTarget))
	default:
		out(doneText(tr, a.cmd, req.Service))
	}
	return ExitOK
}

func fail(a *cliArgs, req *control.Request, resp *control.Response, stderr io.Writer) int {
	tr := a.tr
	what := a.cmd
	if a.cmd == "is-started" || a.cmd == "is-failed" || a.cmd == "status" {
		what = "query"
	}
	msg := resp.Message
	if msg == "" {
		msg = codeText(tr, resp.Code)
	}
	// ginit's message names the service it is about when it can ("cannot
	// reload service 'boot': ..."); say which command failed only when it
	// does not, so that nothing is said twice.
	switch {
	case req.Service == "":
		fmt.Fprintf(stderr, "ginitctl: %s\n", tr.Tf("%s failed: %s", a.cmd, msg))
	case strings.Contains(msg, "'"+req.Service+"'"):
		fmt.Fprintf(stderr, "ginitctl: %s\n", msg)
	default:
		fmt.Fprintf(stderr, "ginitctl: %s\n", tr.Tf("cannot %s service '%s': %s", what, req.Service, msg))
	}
	// ginit's own message names the dependents already; say it once.
	if len(resp.Dependents) > 0 && !strings.Contains(msg, resp.Dependents[0]) {
		fmt.Fprintf(stderr, "ginitctl: %s\n", tr.Tf("these dependent services would stop: %s", strings.Join(resp.Dependents, " ")))
		if !req.Force {
			fmt.Fprintf(stderr, "ginitctl: %s\n", tr.T("use --force to stop them too"))
		}
	}
	return ExitFail
}

func codeText(tr *i18n.Printer, c control.Code) string {
	switch c {
	case control.Failed:
		return tr.T("failed")
	case control.NoService:
		return tr.T("no such service")
	case control.BadRequest:
		return tr.T("bad request")
	case control.Refused:
		return tr.T("refused")
	case control.LoadError:
		return tr.T("service description error")
	case control.NotStarted:
		return tr.T("service not started")
	case control.Unsupported:
		return tr.T("not supported")
	}
	return tr.Tf("error code %d", c)
}

// ListLine formats one service in dinitctl's list format, e.g.
// "[{+}     ] name (pid: 123)".
func ListLine(si *control.ServiceInfo) string { return string(AppendListLine(nil, si)) }

// AppendListLine appends ListLine's text for si to b (no newline).
func AppendListLine(b []byte, si *control.ServiceInfo) []byte {
	// dinitctl's layout: "[" + started column + transition + stopped column
	// + "] name". The started column is bracketed [ ] when the service is
	// explicitly active, else { } when its target is started; it shows +
	// (or s, skipped) when started. The stopped column is bracketed { }
	// when the target is stopped and shows - (or X, failed) when stopped.
	target := si.Target
	if target == "" {
		switch si.State {
		case "started", "starting":
			target = "started"
		default:
			target = "stopped"
		}
	}
	b = append(b, '[')
	l, r := byte(' '), byte(' ')
	if target == "started" {
		l, r = '{', '}'
	}
	if si.Active {
		l, r = '[', ']'
	}
	b = append(b, l)
	switch {
	case si.State == "started" && si.Skipped:
		b = append(b, 's')
	case si.State == "started":
		b = append(b, '+')
	default:
		b = append(b, ' ')
	}
	b = append(b, r)
	switch si.State {
	case "starting":
		b = append(b, "<<"...)
	case "stopping":
		b = append(b, ">>"...)
	default:
		b = append(b, "  "...)
	}
	l, r = ' ', ' '
	if target == "stopped" {
		l, r = '{', '}'
	}
	b = append(b, l)
	switch {
	case si.State != "stopped" && si.State != "":
		b = append(b, ' ')
	case si.Failed:
		b = append(b, 'X')
	default:
		b = append(b, '-')
	}
	b = append(b, r)
	b = append(b, "] "...)
	b = append(b, si.Name...)
	if si.PID > 0 && si.State != "stopped" {
		b = append(b, " (pid: "...)
		b = strconv.AppendInt(b, int64(si.PID), 10)
		b = append(b, ')')
	}
	if si.ExitStatus != "" && (si.State == "stopped" || si.State == "") {
		b = append(b, " ("...)
		b = append(b, dinitExit(si.ExitStatus)...)
		b = append(b, ')')
	}
	return append(b, timerSuffix(si)...)
}

// dinitExit words an exit as dinitctl list does: "exit status: N" or
// "signal: N"; other texts (exec failures) pass unchanged.
func dinitExit(s string) string {
	if n, ok := strings.CutPrefix(s, "exited "); ok {
		return "exit status: " + n
	}
	if rest, ok := strings.CutPrefix(s, "signal "); ok {
		n, _, _ := strings.Cut(rest, " ")
		return "signal: " + n
	}
	return s
}

// writeStatus prints a service's status; now words how long ago its state
// was entered.
func writeStatus(w io.Writer, si *control.ServiceInfo, tr *i18n.Printer, now time.Time) {
	line := func(label, value string) { fmt.Fprintf(w, "    %s %s\n", label, value) }
	fmt.Fprintf(w, "%s %s\n", tr.T("Service:"), si.Name)
	if si.Type != "" {
		line(tr.T("Type:"), si.Type)
	}
	state := strings.ToUpper(si.State)
	if si.Target != "" && si.Target != si.State {
		state += " " + tr.Tf("(target: %s)", si.Target)
	}
	if si.Failed {
		state += " " + tr.T("(failed)")
	}
	if si.Skipped {
		state += " " + tr.T("(skipped)")
	}
	if si.Since > 0 {
		at := time.UnixMilli(int64(si.Since))
		state += " " + tr.Tf("since %s (%s ago)", at.Format("2006-01-02 15:04:05 MST"), ago(now.Sub(at)))
	}
	line(tr.T("State:"), state)
	var act []string
	if si.Active {
		act = append(act, tr.T("explicitly started"))
	}
	if si.PinStart {
		act = append(act, tr.T("pinned started"))
	}
	if si.PinStop {
		act = append(act, tr.T("pinned stopped"))
	}
	if si.Triggered {
		act = append(act, tr.T("triggered"))
	}
	if len(act) > 0 {
		line(tr.T("Activation:"), strings.Join(act, ", "))
	}
	if si.PID > 0 {
		line(tr.T("Process ID:"), strconv.Itoa(si.PID))
	}
	if si.ExitStatus != "" {
		line(tr.T("Last exit status:"), si.ExitStatus)
	}
	if si.StopReason != "" && (si.State == "stopped" || si.Failed) {
		line(tr.T("Stop reason:"), tr.T(si.StopReason))
	}
	if si.StatusText != "" {
		line(tr.T("Status:"), si.StatusText)
	}
	writeTimerStatus(w, si)
	if si.File != "" {
		line(tr.T("Description file:"), si.File)
	}
	if len(si.LastOutput) > 0 {
		fmt.Fprintf(w, "    %s\n", tr.T("Last output:"))
		for _, l := range si.LastOutput {
			fmt.Fprintf(w, "      %s\n", l)
		}
	}
}

// ago words a duration as status shows it: whole seconds, minutes, hours
// or days, the largest unit that fits.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dmin %ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dmin", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// connect opens the control connection: -p or the socket path, or, inside a
// service with options pass-cs-fd and no -p, the connection ginit passed.
func connect(a *cliArgs, env func(string) string) (*control.Client, string, error) {
	if a.socket == "" || a.passedFD {
		for _, v := range []string{"GINIT_CS_FD", "DINIT_CS_FD"} {
			if s := env(v); s != "" {
				fd, err := strconv.Atoi(s)
				if err != nil || fd < 3 {
					return nil, v + "=" + s, fmt.Errorf("not a file descriptor number")
				}
				c, err := control.FromFD(fd)
				return c, v + "=" + s, err
			}
		}
	}
	if a.passedFD {
		return nil, "GINIT_CS_FD", a.tr.Errorf("--use-passed-cfd: neither GINIT_CS_FD nor DINIT_CS_FD is set (is this a pass-cs-fd service?)")
	}
	path := control.SocketPath(a.socket, a.user, env)
	if a.cmd == "attach" {
		c, err := control.Dial(path) // it streams: the poller's job
		return c, path, err
	}
	c, err := control.DialSync(path)
	return c, path, err
}
