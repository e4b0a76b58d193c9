// Package ctl is ginitctl: the dinitctl-style CLI over the control
// protocol, --offline enable/disable (which edits service directories
// through the loader) and the shutdown, reboot, poweroff and halt
// front-ends.
package ctl

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"ginit/init/control"
	"ginit/internal/power"
	"ginit/internal/version"
)

// Exit statuses of ginitctl.
const (
	ExitOK    = 0 // success; for is-started/is-failed: the predicate holds
	ExitFail  = 1 // the request failed, or the predicate does not hold
	ExitUsage = 2 // bad command line
)

const cliUsage = `Usage: ginitctl [options] COMMAND [command options] [arguments]

Commands:
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
  unload SERVICE
  add-dep TYPE FROM TO        TYPE: need|regular|milestone|waits-for
  rm-dep TYPE FROM TO
  enable [--from SERVICE] SERVICE
  disable [--from SERVICE] SERVICE
  setenv NAME[=VALUE]...      a plain NAME copies this process's value
  unsetenv NAME...
  trigger SERVICE
  untrigger SERVICE
  signal SIGNAL SERVICE       SIGNAL: HUP, SIGHUP or a number
  signal -l
  catlog [--clear] SERVICE
  shutdown [halt|poweroff|reboot|kexec]   (default halt)

Options (before or after the command):
  -p, --socket-path PATH   control socket (else $GINIT_SOCKET_PATH, else the default)
  -u, --user               talk to the user instance ($XDG_RUNTIME_DIR/ginitctl)
  -s, --system             talk to the system instance
  -o, --offline            enable/disable only: edit the service directories
                           directly, without a running ginit
  -d, --services-dir DIR   with --offline: a service directory (repeatable)
  --quiet                  print only errors
  --help                   this text
  --version                print the release, the commit and the protocol version

Exit status: 0 success (is-started/is-failed: true), 1 failure (is-started/
is-failed: false), 2 usage error.
`

// cmdSpec describes a subcommand: its op, allowed flags and argument count.
type cmdSpec struct {
	op    control.Op
	flags string // allowed command flags, space separated
	args  int    // exact positional count; -1: one or more
}

var cliCommands = map[string]cmdSpec{
	"start":      {control.OpStart, "--no-wait --pin", 1},
	"stop":       {control.OpStop, "--no-wait --pin --ignore-unstarted --force", 1},
	"restart":    {control.OpRestart, "--no-wait --ignore-unstarted --force", 1},
	"wake":       {control.OpWake, "--no-wait", 1},
	"release":    {control.OpRelease, "--ignore-unstarted", 1},
	"unpin":      {control.OpUnpin, "", 1},
	"status":     {control.OpStatus, "", 1},
	"is-started": {control.OpStatus, "", 1},
	"is-failed":  {control.OpStatus, "", 1},
	"list":       {control.OpList, "", 0},
	"reload":     {control.OpReload, "", 1},
	"unload":     {control.OpUnload, "", 1},
	"add-dep":    {control.OpAddDep, "", 3},
	"rm-dep":     {control.OpRmDep, "", 3},
	"enable":     {control.OpEnable, "--from", 1},
	"disable":    {control.OpDisable, "--from", 1},
	"setenv":     {control.OpSetEnv, "", -1},
	"unsetenv":   {control.OpUnsetEnv, "", -1},
	"trigger":    {control.OpTrigger, "", 1},
	"untrigger":  {control.OpUntrigger, "", 1},
	"signal":     {control.OpSignal, "-l", 2},
	"catlog":     {control.OpCatLog, "--clear", 1},
	"shutdown":   {control.OpShutdown, "", 0},
}

type cliArgs struct {
	socket        string
	user, quiet   bool
	offline       bool     // -o: enable/disable by editing files, no daemon
	dirs          []string // -d: service directories for --offline
	help, version bool
	cmd           string
	flags         map[string]string
	pos           []string
}

func parseCLI(args []string) (*cliArgs, error) {
	a := &cliArgs{flags: map[string]string{}}
	var cmdFlags []string
	for i := 0; i < len(args); i++ {
		s := args[i]
		if s == "--" {
			a.pos = append(a.pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(s, "-") || s == "-" {
			a.pos = append(a.pos, s)
			continue
		}
		name, val, hasVal := strings.Cut(s, "=")
		switch name {
		case "-p", "--socket-path", "--from", "-d", "--services-dir":
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option %s needs an argument", name)
				}
				i++
				val = args[i]
			}
			if name == "--from" {
				a.flags[name] = val
				cmdFlags = append(cmdFlags, name)
			} else if name == "-d" || name == "--services-dir" {
				a.dirs = append(a.dirs, val)
			} else {
				a.socket = val
			}
			continue
		}
		if hasVal {
			return nil, fmt.Errorf("option %s takes no argument", name)
		}
		switch s {
		case "-u", "--user":
			a.user = true
		case "-s", "--system":
			a.user = false
		case "--quiet", "-q":
			a.quiet = true
		case "-o", "--offline":
			a.offline = true
		case "--help", "-h":
			a.help = true
		case "--version":
			a.version = true
		case "--no-wait", "--pin", "--ignore-unstarted", "--force", "--clear", "-l":
			a.flags[s] = ""
			cmdFlags = append(cmdFlags, s)
		default:
			// A negative number is the signal argument, not an option.
			if _, err := strconv.Atoi(s); err == nil {
				a.pos = append(a.pos, s)
				continue
			}
			return nil, fmt.Errorf("unknown option %s", s)
		}
	}
	if a.help || a.version {
		return a, nil
	}
	if len(a.pos) == 0 {
		return nil, fmt.Errorf("no command given")
	}
	a.cmd, a.pos = a.pos[0], a.pos[1:]
	spec, ok := cliCommands[a.cmd]
	if !ok {
		return nil, fmt.Errorf("unknown command %q", a.cmd)
	}
	allowed := strings.Fields(spec.flags)
	for _, f := range cmdFlags {
		if !slices.Contains(allowed, f) {
			return nil, fmt.Errorf("%s: option %s not allowed", a.cmd, f)
		}
	}
	want := spec.args
	switch {
	case a.cmd == "signal" && a.has("-l"):
		want = 0
	case a.cmd == "shutdown":
		if len(a.pos) > 1 {
			return nil, fmt.Errorf("shutdown: too many arguments")
		}
		return a, nil
	}
	if want < 0 {
		if len(a.pos) == 0 {
			return nil, fmt.Errorf("%s: at least one argument needed", a.cmd)
		}
	} else if len(a.pos) != want {
		return nil, fmt.Errorf("%s: %d argument(s) expected, got %d", a.cmd, want, len(a.pos))
	}
	return a, nil
}

func (a *cliArgs) has(f string) bool { _, ok := a.flags[f]; return ok }

// buildRequest maps parsed arguments to a request; env supplies setenv's
// plain names.
func buildRequest(a *cliArgs, env func(string) string) (control.Request, error) {
	spec := cliCommands[a.cmd]
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
// the daemon and returns the exit status.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	a, err := parseCLI(args)
	if err != nil {
		fmt.Fprintf(stderr, "ginitctl: %v\nTry 'ginitctl --help'.\n", err)
		return ExitUsage
	}
	if a.help {
		fmt.Fprint(stdout, cliUsage)
		return ExitOK
	}
	if a.version {
		fmt.Fprintf(stdout, "%s\ncontrol protocol version %d\n", version.Line("ginitctl"), control.ProtocolVersion)
		return ExitOK
	}
	if a.cmd == "signal" && a.has("-l") {
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
		fmt.Fprintf(stderr, "ginitctl: cannot connect to ginit at %s: %v\n", where, err)
		return ExitFail
	}
	defer c.Close()
	resp, err := c.Do(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "ginitctl: %s: %v\n", a.cmd, err)
		return ExitFail
	}
	return report(a, &req, &resp, stdout, stderr)
}

var cliVerbs = map[string]string{"start": "started", "stop": "stopped", "wake": "started",
	"release": "released", "unpin": "unpinned", "reload": "reloaded", "unload": "unloaded",
	"trigger": "triggered", "untrigger": "untriggered", "enable": "enabled", "disable": "disabled"}

func report(a *cliArgs, req *control.Request, resp *control.Response, stdout, stderr io.Writer) int {
	out := func(format string, args ...any) {
		if !a.quiet {
			fmt.Fprintf(stdout, format, args...)
		}
	}
	if a.cmd == "is-started" || a.cmd == "is-failed" {
		if resp.Code != control.OK || len(resp.Services) == 0 {
			if resp.Code == control.NoService || resp.Code == control.NotStarted {
				out("%s\n", "STOPPED")
				return ExitFail
			}
			return fail(a, req, resp, stderr)
		}
		si := &resp.Services[0]
		out("%s\n", strings.ToUpper(si.State))
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
		if !a.quiet {
			for i := range resp.Services {
				fmt.Fprintln(stdout, ListLine(&resp.Services[i]))
			}
		}
	case "status":
		if len(resp.Services) == 0 {
			fmt.Fprintf(stderr, "ginitctl: no status for service '%s'\n", req.Service)
			return ExitFail
		}
		if !a.quiet {
			writeStatus(stdout, &resp.Services[0])
		}
	case "catlog":
		stdout.Write(resp.Log)
		if resp.Truncated {
			fmt.Fprintf(stderr, "ginitctl: the log of service '%s' was truncated\n", req.Service)
		}
	case "restart":
		if req.NoWait {
			out("Issued restart command successfully for service '%s'.\n", req.Service)
		} else {
			out("Service restarted.\n")
		}
	case "start", "stop", "wake":
		if req.NoWait {
			verb := "start"
			if a.cmd == "stop" {
				verb = "stop"
			}
			out("Issued %s command successfully for service '%s'.\n", verb, req.Service)
		} else {
			out("Service '%s' %s.\n", req.Service, cliVerbs[a.cmd])
		}
	case "shutdown":
		out("Shutting down (%s).\n", req.Shutdown)
	case "add-dep", "rm-dep":
		verb := "added"
		if a.cmd == "rm-dep" {
			verb = "removed"
		}
		out("Service '%s': dependency '%s' %s\n", req.Service, req.DepTarget, verb)
	default:
		if v, ok := cliVerbs[a.cmd]; ok {
			out("Service '%s' %s.\n", req.Service, v)
		}
	}
	return ExitOK
}

func fail(a *cliArgs, req *control.Request, resp *control.Response, stderr io.Writer) int {
	what := a.cmd
	if a.cmd == "is-started" || a.cmd == "is-failed" || a.cmd == "status" {
		what = "query"
	}
	msg := resp.Message
	if msg == "" {
		msg = codeText(resp.Code)
	}
	// ginit's message names the service it is about when it can ("cannot
	// reload service 'boot': ..."); say which command failed only when it
	// does not, so that nothing is said twice.
	switch {
	case req.Service == "":
		fmt.Fprintf(stderr, "ginitctl: %s failed: %s\n", a.cmd, msg)
	case strings.Contains(msg, "'"+req.Service+"'"):
		fmt.Fprintf(stderr, "ginitctl: %s\n", msg)
	default:
		fmt.Fprintf(stderr, "ginitctl: cannot %s service '%s': %s\n", what, req.Service, msg)
	}
	// ginit's own message names the dependents already; say it once.
	if len(resp.Dependents) > 0 && !strings.Contains(msg, resp.Dependents[0]) {
		fmt.Fprintf(stderr, "ginitctl: these dependent services would stop: %s\n", strings.Join(resp.Dependents, " "))
		if !req.Force {
			fmt.Fprintln(stderr, "ginitctl: use --force to stop them too")
		}
	}
	return ExitFail
}

func codeText(c control.Code) string {
	switch c {
	case control.Failed:
		return "failed"
	case control.NoService:
		return "no such service"
	case control.BadRequest:
		return "bad request"
	case control.Refused:
		return "refused"
	case control.LoadError:
		return "service description error"
	case control.NotStarted:
		return "service not started"
	case control.Unsupported:
		return "not supported"
	}
	return fmt.Sprintf("error code %d", c)
}

// ListLine formats one service in dinitctl's list format, e.g.
// "[{+}     ] name (pid: 123)".
func ListLine(si *control.ServiceInfo) string {
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
	var b strings.Builder
	b.WriteByte('[')
	l, r := byte(' '), byte(' ')
	if target == "started" {
		l, r = '{', '}'
	}
	if si.Active {
		l, r = '[', ']'
	}
	b.WriteByte(l)
	switch {
	case si.State == "started" && si.Skipped:
		b.WriteByte('s')
	case si.State == "started":
		b.WriteByte('+')
	default:
		b.WriteByte(' ')
	}
	b.WriteByte(r)
	switch si.State {
	case "starting":
		b.WriteString("<<")
	case "stopping":
		b.WriteString(">>")
	default:
		b.WriteString("  ")
	}
	l, r = ' ', ' '
	if target == "stopped" {
		l, r = '{', '}'
	}
	b.WriteByte(l)
	switch {
	case si.State != "stopped" && si.State != "":
		b.WriteByte(' ')
	case si.Failed:
		b.WriteByte('X')
	default:
		b.WriteByte('-')
	}
	b.WriteByte(r)
	b.WriteString("] " + si.Name)
	if si.PID > 0 && si.State != "stopped" {
		fmt.Fprintf(&b, " (pid: %d)", si.PID)
	}
	if si.ExitStatus != "" && (si.State == "stopped" || si.State == "") {
		fmt.Fprintf(&b, " (%s)", dinitExit(si.ExitStatus))
	}
	b.WriteString(timerSuffix(si))
	return b.String()
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

func writeStatus(w io.Writer, si *control.ServiceInfo) {
	fmt.Fprintf(w, "Service: %s\n", si.Name)
	if si.Type != "" {
		fmt.Fprintf(w, "    Type: %s\n", si.Type)
	}
	state := strings.ToUpper(si.State)
	if si.Target != "" && si.Target != si.State {
		state += " (target: " + si.Target + ")"
	}
	if si.Failed {
		state += " (failed)"
	}
	if si.Skipped {
		state += " (skipped)"
	}
	fmt.Fprintf(w, "    State: %s\n", state)
	var act []string
	if si.Active {
		act = append(act, "explicitly started")
	}
	if si.PinStart {
		act = append(act, "pinned started")
	}
	if si.PinStop {
		act = append(act, "pinned stopped")
	}
	if si.Triggered {
		act = append(act, "triggered")
	}
	if len(act) > 0 {
		fmt.Fprintf(w, "    Activation: %s\n", strings.Join(act, ", "))
	}
	if si.PID > 0 {
		fmt.Fprintf(w, "    Process ID: %d\n", si.PID)
	}
	if si.ExitStatus != "" {
		fmt.Fprintf(w, "    Last exit status: %s\n", si.ExitStatus)
	}
	if si.StopReason != "" && si.State == "stopped" {
		fmt.Fprintf(w, "    Stop reason: %s\n", si.StopReason)
	}
	if si.StatusText != "" {
		fmt.Fprintf(w, "    Status: %s\n", si.StatusText)
	}
	writeTimerStatus(w, si)
	if si.File != "" {
		fmt.Fprintf(w, "    Description file: %s\n", si.File)
	}
	if len(si.LastOutput) > 0 {
		fmt.Fprintf(w, "    Last output:\n")
		for _, l := range si.LastOutput {
			fmt.Fprintf(w, "      %s\n", l)
		}
	}
}

// connect opens the control connection: -p or the socket path, or, inside a
// service with options pass-cs-fd and no -p, the connection ginit passed.
func connect(a *cliArgs, env func(string) string) (*control.Client, string, error) {
	if a.socket == "" {
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
	path := control.SocketPath(a.socket, a.user, env)
	c, err := control.Dial(path)
	return c, path, err
}
