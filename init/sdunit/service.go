package sdunit

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"ginit/init/service"
)

// execCmd is one Exec*= line after splitting and substitution.
type execCmd struct {
	argv       []string
	ignoreFail bool // '-': a failure is not a failure
	privileged bool // '+', '!', '!!': run as root even with User=
	o          *option
}

// runtimeVars are set by systemd when a command runs; ginit cannot give
// them a value at load time.
var runtimeVars = map[string]bool{"MAINPID": true, "SERVICE_RESULT": true, "EXIT_CODE": true,
	"EXIT_STATUS": true, "INVOCATION_ID": true, "MONITOR_SERVICE_RESULT": true}

// execs parses the lines of one Exec key.
func (t *translator) execs(list []*option) []execCmd {
	if len(list) > maxExecLinesPerUnit {
		t.fail(list[0], "more than %d lines", maxExecLinesPerUnit)
		return nil
	}
	var out []execCmd
	for _, o := range list {
		c := execCmd{o: o}
		v := o.value
		noSubst := false
	prefix:
		for v != "" {
			switch v[0] {
			case '-':
				c.ignoreFail = true
			case '+', '!':
				c.privileged = true
			case ':':
				noSubst = true
			case '@':
				t.fail(o, "the '@' prefix (a separate argv[0]) is not supported")
				return nil
			default:
				break prefix
			}
			v = v[1:]
		}
		ws, err := splitWords(v)
		if err != nil {
			t.fail(o, "%v", err)
			continue
		}
		for i, w := range ws {
			if w == ";" {
				t.fail(o, "several commands on one line (';') are not supported")
				return nil
			}
			if ws[i], err = t.spec.expand(w); err != nil {
				t.fail(o, "%v", err)
				return nil
			}
		}
		if !noSubst {
			if ws, _, err = substEnv(ws, t.env.get, runtimeVars); err != nil {
				t.fail(o, "%v", err)
				continue
			}
		}
		if len(ws) == 0 {
			t.fail(o, "empty command")
			continue
		}
		c.argv = ws
		out = append(out, c)
	}
	return out
}

// usesVar says whether a command names $v or ${v}.
func usesVar(c execCmd, v string) bool {
	for _, w := range c.argv {
		if strings.Contains(w, "$"+v) || strings.Contains(w, "${"+v+"}") {
			return true
		}
	}
	return false
}

// usesRuntime says whether a command names a variable only known when it runs.
func usesRuntime(c execCmd) string {
	for v := range runtimeVars {
		if usesVar(c, v) {
			return v
		}
	}
	return ""
}

// killSignal recognises `kill [-s] -SIG $MAINPID` (the one stop command
// that only sends the main process a signal), giving the signal.
func killSignal(c execCmd) (int, bool) {
	a := c.argv
	if len(a) < 2 || filepath.Base(a[0]) != "kill" || a[len(a)-1] != "$MAINPID" && a[len(a)-1] != "${MAINPID}" {
		return 0, false
	}
	a = a[1 : len(a)-1]
	if len(a) == 2 && a[0] == "-s" {
		a = []string{"-" + a[1]}
	}
	switch len(a) {
	case 0:
		return int(unix.SIGTERM), true
	case 1:
		if s, ok := strings.CutPrefix(a[0], "-"); ok {
			if n, err := signalNumber(s); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

func signalNumber(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return n, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if n := unix.SignalNum(name); n != 0 {
		return int(n), nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// dirSpec is one directory of RuntimeDirectory= and its kin.
type dirSpec struct {
	path string
	mode uint32
}

var dirKeys = []struct{ key, base, env string }{
	{"RuntimeDirectory", "/run", "RUNTIME_DIRECTORY"},
	{"StateDirectory", "/var/lib", "STATE_DIRECTORY"},
	{"CacheDirectory", "/var/cache", "CACHE_DIRECTORY"},
	{"LogsDirectory", "/var/log", "LOGS_DIRECTORY"},
	{"ConfigurationDirectory", "/etc", "CONFIGURATION_DIRECTORY"},
}

func (t *translator) dirs(u *unitSet) []dirSpec {
	var out []dirSpec
	for _, k := range dirKeys {
		mode := uint32(defaultRuntimeMode)
		if o := u.last("Service", k.key+"Mode"); o != nil {
			m, err := strconv.ParseUint(o.value, 8, 32)
			if err != nil || m > 0o7777 {
				t.fail(o, "bad mode %q", o.value)
			} else {
				mode = uint32(m)
			}
		}
		var paths []string
		for _, o := range u.all("Service", k.key) {
			v, ok := t.value(o)
			if !ok {
				continue
			}
			for _, w := range strings.Fields(v) {
				w, _, _ = strings.Cut(w, ":") // a symlink name after ':' is not made
				clean := filepath.Clean("/" + w)
				if w == "" || strings.HasPrefix(w, "/") || clean != "/"+w || strings.Contains(w, "..") {
					t.fail(o, "%q is not a relative path below %s", w, k.base)
					continue
				}
				p := filepath.Join(k.base, w)
				out = append(out, dirSpec{p, mode})
				paths = append(paths, p)
			}
		}
		if len(paths) > 0 {
			t.env.set(k.env, strings.Join(paths, ":"))
		}
	}
	return out
}

// passwdEntry looks a user up in the passwd file: uid, gid, home, shell.
func (t *translator) passwdEntry(user string) (uid, gid, home, shell string, ok bool) {
	path := t.s.cfg.PasswdFile
	if path == "" {
		path = "/etc/passwd"
	}
	f, err := os.Open(path)
	if err != nil {
		return "", "", "", "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ":")
		if len(fs) >= 7 && (fs[0] == user || fs[2] == user) {
			return fs[2], fs[3], fs[5], fs[6], true
		}
	}
	return "", "", "", "", false
}

// busReadyFD is the readiness pipe's fd in a Type=dbus start script.
const busReadyFD = 9

func (t *translator) busNameHelper() string {
	if t.s.cfg.BusNameHelper != "" {
		return t.s.cfg.BusNameHelper
	}
	// Installed beside ginit (a build tree's bin/, or sbin/ of a package).
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "ginit-busname")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return "/usr/sbin/ginit-busname"
}

// validBusName: a well-known D-Bus name (two or more dot-separated
// elements of [A-Za-z0-9_-], not starting with a digit, at most 255 bytes).
func validBusName(s string) bool {
	if len(s) > 255 || !strings.Contains(s, ".") {
		return false
	}
	for _, e := range strings.Split(s, ".") {
		if e == "" || e[0] >= '0' && e[0] <= '9' {
			return false
		}
		for _, c := range e {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

func (t *translator) setpriv() string {
	if t.s.cfg.Setpriv != "" {
		return t.s.cfg.Setpriv
	}
	for _, p := range []string{"/usr/bin/setpriv", "/bin/setpriv"} {
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return "/usr/bin/setpriv"
}

// service maps a .service unit.
func (t *translator) service(opts []option) *service.Description {
	u := collect(opts)
	d := t.d
	t.known(u, map[string]bool{"Unit": true, "Service": true, "Install": true})

	// Identity first: %u %h and $USER come from it.
	if o := u.last("Service", "User"); o != nil {
		if v, ok := t.value(o); ok {
			t.user, t.lastUser = v, o
			t.spec['u'], t.spec['U'] = v, v
			if uid, gid, home, shell, ok := t.passwdEntry(v); ok {
				t.spec['U'], t.spec['h'], t.spec['s'], t.spec['G'] = uid, home, shell, gid
				t.env.set("HOME", home)
				t.env.set("SHELL", shell)
			}
			t.env.set("USER", v)
			t.env.set("LOGNAME", v)
		}
	}
	if o := u.last("Service", "Group"); o != nil {
		if v, ok := t.value(o); ok {
			t.group = v
			t.spec['g'] = v
		}
	}
	for _, o := range u.all("Service", "Environment") {
		if v, ok := t.value(o); ok {
			if err := parseEnvironment(v, &t.env); err != nil {
				t.fail(o, "%v", err)
			}
		}
	}
	for _, o := range u.all("Service", "EnvironmentFile") {
		v, ok := t.value(o)
		if !ok {
			continue
		}
		optional := strings.HasPrefix(v, "-")
		v = strings.TrimPrefix(v, "-")
		if !filepath.IsAbs(v) {
			t.fail(o, "%q is not an absolute path", v)
			continue
		}
		data, err := readEnvFile(v)
		if err != nil {
			if !optional || !errors.Is(err, fs.ErrNotExist) {
				t.fail(o, "%v", err)
			}
			continue
		}
		if err := parseEnvFile(string(data), &t.env); err != nil {
			t.fail(o, "%s: %v", v, err)
		}
	}
	dirs := t.dirs(u)

	t.deps(u)
	sockets := append([]string(nil), t.socketsOf(u)...)
	var aliases []string
	for _, o := range u.all("Install", "Alias") {
		aliases = append(aliases, strings.Fields(o.value)...)
	}
	for _, s := range sockets {
		t.attachSocket(s, aliases)
	}
	t.durationOf(u.last("Unit", "StartLimitIntervalSec"), &d.RestartLimitInterval)
	t.durationOf(u.last("Unit", "StartLimitInterval"), &d.RestartLimitInterval)
	t.durationOf(u.last("Service", "StartLimitIntervalSec"), &d.RestartLimitInterval)
	for _, k := range []struct{ sec, key string }{{"Unit", "StartLimitBurst"}, {"Service", "StartLimitBurst"}} {
		if o := u.last(k.sec, k.key); o != nil {
			n, err := strconv.Atoi(o.value)
			if err != nil || n < 0 {
				t.fail(o, "bad count %q", o.value)
			} else {
				d.RestartLimitCount = n
			}
		}
	}

	typ := "simple"
	typOpt := u.last("Service", "Type")
	if typOpt != nil {
		typ = typOpt.value
	}
	ttyIn := t.terminal(u)
	start := t.execs(u.all("Service", "ExecStart"))
	pre := t.execs(u.all("Service", "ExecStartPre"))
	post := t.execs(u.all("Service", "ExecStartPost"))
	stop := t.execs(u.all("Service", "ExecStop"))
	stopPost := t.execs(u.all("Service", "ExecStopPost"))
	reload := t.execs(u.all("Service", "ExecReload"))
	if o := u.last("Service", "ExecCondition"); o != nil {
		t.fail(o, "ExecCondition is not supported")
	}
	for _, l := range [][]execCmd{start, pre, post} {
		for _, c := range l {
			if v := usesRuntime(c); v != "" {
				t.fail(c.o, "$%s is only known when the command runs; ginit cannot pass it", v)
			}
		}
	}
	switch typ {
	case "simple", "exec", "idle":
		d.Type = service.TypeProcess
	case "notify", "notify-reload":
		d.Type = service.TypeProcess
		d.ExtMut().ReadyNotification = "notify"
	case "dbus":
		d.Type = service.TypeProcess
		bn, v, ok := u.last("Service", "BusName"), "", false
		if bn != nil {
			v, ok = t.value(bn)
		}
		if !ok || !validBusName(v) {
			t.fail(typOpt, "Type=dbus needs BusName= with a well-known bus name, not %q", bn.valueOr(""))
		} else {
			// Ready when the name has an owner: ginit-busname, started by
			// the script beside the daemon, writes to the readiness pipe.
			t.busName = v
			d.ExtMut().ReadyNotification = "pipefd:" + strconv.Itoa(busReadyFD)
		}
	case "forking":
		d.Type = service.TypeBGProcess
	case "oneshot":
		d.Type = service.TypeScripted
	default:
		t.fail(typOpt, "unknown Type %q", typ)
	}
	if len(start) == 0 && d.Type != service.TypeScripted {
		t.fail(nil, "%v", errNoCommand)
	}
	if len(start) > 1 && d.Type != service.TypeScripted {
		t.fail(start[1].o, "several ExecStart lines are only for Type=oneshot")
	}
	if len(post) > 0 && d.Type == service.TypeProcess {
		t.fail(post[0].o, "ExecStartPost for Type=%s is not supported (ginit runs only the main process)", typ)
	}
	if o := u.last("Service", "PIDFile"); o != nil {
		if v, ok := t.value(o); ok {
			if d.Type == service.TypeBGProcess {
				d.ExtMut().PIDFile = v
			} else {
				t.warn(o, "ignored for Type=%s", typ)
			}
		}
	}
	if d.Type == service.TypeBGProcess && d.Ext().PIDFile == "" {
		t.fail(typOpt, "Type=forking without PIDFile= is not supported: ginit finds the daemon by its pid file")
	}

	// Restart and timeouts.
	if o := u.last("Service", "Restart"); o != nil {
		switch o.value {
		case "no":
			d.Restart = service.RestartNo
		case "always":
			d.Restart = service.RestartYes
		case "on-failure", "on-abnormal", "on-abort", "on-watchdog":
			d.Restart = service.RestartOnFailure
		default:
			t.fail(o, "Restart=%s is not supported", o.value)
		}
	}
	t.durationOf(u.last("Service", "RestartSec"), &d.RestartDelay)
	t.durationOf(u.last("Service", "TimeoutSec"), &d.StartTimeout)
	t.durationOf(u.last("Service", "TimeoutSec"), &d.StopTimeout)
	t.durationOf(u.last("Service", "TimeoutStartSec"), &d.StartTimeout)
	t.durationOf(u.last("Service", "TimeoutStopSec"), &d.StopTimeout)
	if d.Type == service.TypeScripted && u.last("Service", "TimeoutStartSec") == nil && u.last("Service", "TimeoutSec") == nil {
		d.StartTimeout = 0 // systemd: a oneshot has no start timeout by default
	}

	t.process(u)
	t.output(u)
	t.limits(u)

	// The command lines: the plain form when systemd's steps map onto one
	// exec, else a /bin/sh script of the steps.
	sandbox := t.sandbox(u)
	if len(sandbox) > 0 {
		d.ExtMut().Unshare = append(d.ExtMut().Unshare, "mount")
	}
	script := t.busName != "" || len(pre) > 0 || len(dirs) > 0 || ttyIn != "" || len(post) > 0 || len(sandbox) > 0 ||
		(d.Type == service.TypeScripted && (len(start) != 1 || start[0].ignoreFail))
	for _, c := range start {
		if c.privileged && t.user != "" {
			script = true
		}
	}
	if len(t.errs) > 0 {
		return d
	}
	if !script {
		if len(start) == 1 {
			d.Command = start[0].argv
		}
		if t.user != "" {
			d.RunAs = t.user
			if t.group != "" {
				d.RunAs += ":" + t.group
			}
		}
	} else {
		d.Command = []string{"/bin/sh", "-c", strings.Join(sandbox, "") + t.startScript(dirs, pre, start, post, ttyIn, d.Type), t.unit}
	}
	t.stopCommand(stop, stopPost, script)
	d.ExtMut().Conditions = t.conditions(u)
	if d.Type != service.TypeInternal {
		t.reloadCommand(reload, script)
		if typ == "notify-reload" && len(reload) == 0 {
			t.reloadSignal(u)
		} else if o := u.last("Service", "ReloadSignal"); o != nil {
			t.warn(o, "ignored: only Type=notify-reload without ExecReload= reloads by a signal")
		}
	}
	if env := t.env.list(); len(env) > 0 {
		d.ExtMut().Env = env
	}
	return d
}

// terminal maps StandardInput=: a terminal other than the console is
// redirected by the start script (returned), the console is
// runs-on-console. It also gives TERM, before the Exec lines use it.
func (t *translator) terminal(u *unitSet) string {
	ttyIn := ""
	d := t.d
	if o := u.last("Service", "StandardInput"); o != nil {
		switch o.value {
		case "null":
		case "socket":
			// The connection of an Accept=yes socket (or the first
			// socket passed) is stdin and stdout.
			d.SocketStdio = true
		case "tty", "tty-force", "tty-fail":
			ttyIn = "/dev/console"
			if p := u.last("Service", "TTYPath"); p != nil {
				if v, ok := t.value(p); ok {
					ttyIn = v
				}
			}
			// systemd gives a terminal service a TERM: linux on the
			// kernel's own terminals, vt220 elsewhere.
			if _, ok := t.env.get("TERM"); !ok {
				term := "vt220"
				if ttyIn == "/dev/console" || strings.HasPrefix(ttyIn, "/dev/tty") && len(ttyIn) > 8 && ttyIn[8] >= '0' && ttyIn[8] <= '9' {
					term = "linux"
				}
				t.env.set("TERM", term)
			}
			if ttyIn == "/dev/console" {
				d.Options.RunsOnConsole = true
				ttyIn = ""
			}
		default:
			t.fail(o, "StandardInput=%s is not supported", o.value)
		}
	}
	return ttyIn
}

func (o *option) valueOr(def string) string {
	if o == nil {
		return def
	}
	return o.value
}

// sandbox maps PrivateTmp=, ProtectSystem= (yes, full) and ProtectHome=
// (yes, read-only, tmpfs) onto mounts the start script makes in the
// service's own mount namespace (unshare = mount), after making every
// mount there a slave, so nothing propagates back to the machine. Each
// mount is one the script made itself: a tmpfs, or a bind of a directory
// onto itself, remounted read-only (a per-mount flag, never the file
// system's). ProtectSystem=strict is reported and not applied.
func (t *translator) sandbox(u *unitSet) []string {
	var lines []string
	bindRO := func(p string) string {
		return fmt.Sprintf("if [ -d %[1]s ]; then mount --bind %[1]s %[1]s && mount -o remount,bind,ro %[1]s || exit $?; fi\n", p)
	}
	tmpfs := func(p, opts string) string {
		return fmt.Sprintf("if [ -d %[1]s ]; then mount -t tmpfs -o %[2]s tmpfs %[1]s || exit $?; fi\n", p, opts)
	}
	if o := u.last("Service", "PrivateTmp"); o != nil && t.boolOf(o) {
		lines = append(lines, tmpfs("/tmp", "mode=1777,nosuid,nodev"), tmpfs("/var/tmp", "mode=1777,nosuid,nodev"))
	}
	if o := u.last("Service", "ProtectSystem"); o != nil {
		switch strings.ToLower(o.value) {
		case "no", "false", "0", "off":
		case "yes", "true", "1", "on":
			lines = append(lines, bindRO("/usr"), bindRO("/boot"), bindRO("/efi"))
		case "full":
			lines = append(lines, bindRO("/usr"), bindRO("/boot"), bindRO("/efi"), bindRO("/etc"))
		case "strict":
			t.warn(o, "ProtectSystem=strict not applied (ginit makes /usr, /boot, /efi and /etc read-only for yes and full only): the service runs less confined")
		default:
			t.fail(o, "unknown value %q", o.value)
		}
	}
	if o := u.last("Service", "ProtectHome"); o != nil {
		switch strings.ToLower(o.value) {
		case "no", "false", "0", "off":
		case "yes", "true", "1", "on":
			lines = append(lines, tmpfs("/home", "ro,mode=0755"), tmpfs("/root", "ro,mode=0700"), tmpfs("/run/user", "ro,mode=0755"))
		case "read-only":
			lines = append(lines, bindRO("/home"), bindRO("/root"), bindRO("/run/user"))
		case "tmpfs":
			lines = append(lines, tmpfs("/home", "mode=0755"), tmpfs("/root", "mode=0700"), tmpfs("/run/user", "mode=0755"))
		default:
			t.fail(o, "unknown value %q", o.value)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return append([]string{"mount --make-rslave / || exit $?\n"}, lines...)
}

// asUser prefixes a command that must run as User= inside a script (the
// script runs as root to make directories and run '+' commands).
func (t *translator) asUser(c execCmd) []string {
	if t.user == "" || c.privileged {
		return c.argv
	}
	uid, gid := t.user, t.group
	if id, g, _, _, ok := t.passwdEntry(t.user); ok {
		uid = id
		if gid == "" {
			gid = g
		}
	}
	if gid == "" {
		gid = uid
	}
	return append([]string{t.setpriv(), "--reuid=" + uid, "--regid=" + gid, "--init-groups", "--"}, c.argv...)
}

// startScript writes the steps of a start as one /bin/sh script: make the
// directories, run ExecStartPre (a failure ends the start unless '-'),
// then exec the main process (so its pid is the service's) or, for a
// oneshot or forking unit, run the commands in turn.
func (t *translator) startScript(dirs []dirSpec, pre, start, post []execCmd, tty string, typ service.Type) string {
	var b strings.Builder
	owner := ""
	if t.user != "" {
		owner = t.user
		if t.group != "" {
			owner += ":" + t.group
		}
	}
	for _, dr := range dirs {
		fmt.Fprintf(&b, "mkdir -p %s || exit $?\nchmod %04o %s || exit $?\n", shQuote(dr.path), dr.mode, shQuote(dr.path))
		if owner != "" {
			fmt.Fprintf(&b, "chown %s %s || exit $?\n", shQuote(owner), shQuote(dr.path))
		}
	}
	step := func(c execCmd) {
		b.WriteString(shJoin(t.asUser(c)))
		if !c.ignoreFail {
			b.WriteString(" || exit $?")
		}
		b.WriteByte('\n')
	}
	for _, c := range pre {
		step(c)
	}
	redirect := ""
	if tty != "" {
		redirect = " <" + shQuote(tty) + " >" + shQuote(tty) + " 2>&1"
	}
	if typ == service.TypeProcess {
		if t.busName != "" {
			// The helper keeps the readiness pipe; the daemon gets none.
			fmt.Fprintf(&b, "%s --fd %d %s &\n", shQuote(t.busNameHelper()), busReadyFD, shQuote(t.busName))
			redirect += fmt.Sprintf(" %d>&-", busReadyFD)
		}
		b.WriteString("exec " + shJoin(t.asUser(start[0])) + redirect + "\n")
		return b.String()
	}
	for _, c := range start {
		step(c)
	}
	for _, c := range post {
		step(c)
	}
	b.WriteString("exit 0\n")
	return b.String()
}

// stopCommand maps ExecStop and ExecStopPost. `kill -SIG $MAINPID` is the
// stop signal; other uses of $MAINPID cannot be passed.
func (t *translator) stopCommand(stop, stopPost []execCmd, script bool) {
	d := t.d
	if len(stop) == 1 && len(stopPost) == 0 {
		if sig, ok := killSignal(stop[0]); ok {
			d.TermSignal = int32(sig)
			return
		}
	}
	all := append(append([]execCmd(nil), stop...), stopPost...)
	for _, c := range all {
		if v := usesRuntime(c); v != "" {
			t.fail(c.o, "$%s is only known when the command runs; ginit cannot pass it", v)
			return
		}
	}
	if len(stopPost) > 0 && d.Type != service.TypeScripted {
		t.warn(stopPost[0].o, "runs as part of the stop command, before the process has ended")
	}
	switch {
	case len(all) == 0:
	case len(all) == 1 && (!script || t.user == "" || all[0].privileged) && !(script && t.user != "" && !all[0].privileged):
		d.ExtMut().StopCommand = all[0].argv
		if script && t.user != "" && !all[0].privileged {
			d.ExtMut().StopCommand = t.asUser(all[0])
		}
	default:
		var b strings.Builder
		for _, c := range all {
			argv := c.argv
			if script {
				argv = t.asUser(c)
			}
			b.WriteString(shJoin(argv) + "\n")
		}
		d.ExtMut().StopCommand = []string{"/bin/sh", "-c", b.String(), t.unit}
	}
}

// reloadCommand maps ExecReload lines onto reload-command, one command
// each, in order; ginit puts the main pid in for $MAINPID when the reload
// runs. '-' keeps a failure from ending the reload, as in systemd.
func (t *translator) reloadCommand(reload []execCmd, script bool) {
	for _, c := range reload {
		for v := range runtimeVars {
			if v != "MAINPID" && usesVar(c, v) {
				t.fail(c.o, "$%s is only known when the command runs; ginit cannot pass it", v)
				return
			}
		}
	}
	for _, c := range reload {
		argv := c.argv
		switch {
		case script:
			argv = t.asUser(c)
		case c.privileged && t.user != "":
			t.warn(c.o, "runs as User=%s: the '+' or '!' prefix needs a start script to run as root", t.user)
		}
		if c.ignoreFail {
			argv = append([]string{"/bin/sh", "-c", `"$@" || exit 0`, t.unit}, argv...)
		}
		t.d.ExtMut().ReloadCommand = append(t.d.ExtMut().ReloadCommand, argv)
	}
}

// reloadSignal gives Type=notify-reload without ExecReload= its reload:
// ReloadSignal= (default SIGHUP) to the main process. Unlike systemd,
// ginit does not wait for the daemon's RELOADING=1 and READY=1.
func (t *translator) reloadSignal(u *unitSet) {
	name := "HUP"
	if o := u.last("Service", "ReloadSignal"); o != nil {
		n, err := signalNumber(o.value)
		if err != nil {
			t.fail(o, "%v", err)
			return
		}
		name = strings.TrimPrefix(unix.SignalName(unix.Signal(n)), "SIG")
		if name == "" {
			t.fail(o, "signal %d has no name kill(1) knows", n)
			return
		}
	}
	t.d.ExtMut().ReloadCommand = [][]string{{"/bin/kill", "-s", name, "$MAINPID"}}
}

// process maps the process settings: working directory, kill mode and
// signal, privileges, scheduling.
func (t *translator) process(u *unitSet) {
	d := t.d
	if o := u.last("Service", "WorkingDirectory"); o != nil {
		if v, ok := t.value(o); ok {
			v = strings.TrimPrefix(v, "-")
			if v == "~" {
				v = t.spec['h']
			}
			if !filepath.IsAbs(v) {
				t.fail(o, "%q is not an absolute path", v)
			}
			d.ExtMut().WorkingDir = v
		}
	}
	if o := u.last("Service", "RootDirectory"); o != nil {
		if v, ok := t.value(o); ok {
			d.ExtMut().Chroot = v
		}
	}
	if o := u.last("Service", "KillMode"); o != nil {
		switch o.value {
		case "control-group", "mixed":
		case "process":
			d.Options.SignalProcessOnly = true
		default:
			t.fail(o, "KillMode=%s is not supported", o.value)
		}
	}
	if o := u.last("Service", "KillSignal"); o != nil {
		n, err := signalNumber(o.value)
		if err != nil {
			t.fail(o, "%v", err)
		}
		d.TermSignal = int32(n)
	}
	d.Options.NoNewPrivs = t.boolOf(u.last("Service", "NoNewPrivileges"))
	if t.boolOf(u.last("Service", "PrivateNetwork")) {
		d.ExtMut().Unshare = append(d.ExtMut().Unshare, "net")
	}
	t.capabilities(u)
	if o := u.last("Service", "UMask"); o != nil {
		m, err := strconv.ParseUint(o.value, 8, 32)
		if err != nil || m > 0o777 {
			t.fail(o, "bad umask %q", o.value)
		} else {
			v := uint32(m)
			d.ExtMut().Umask = &v
		}
	}
	for _, k := range []struct {
		key      string
		dst      **int
		min, max int
	}{{"Nice", &d.ExtMut().Nice, -20, 19}, {"OOMScoreAdjust", &d.ExtMut().OOMScoreAdj, -1000, 1000}} {
		if o := u.last("Service", k.key); o != nil {
			n, err := strconv.Atoi(o.value)
			if err != nil || n < k.min || n > k.max {
				t.fail(o, "bad value %q (expected %d to %d)", o.value, k.min, k.max)
				continue
			}
			*k.dst = &n
		}
	}
	if o := u.last("Service", "IOSchedulingClass"); o != nil {
		prio := "4"
		if p := u.last("Service", "IOSchedulingPriority"); p != nil {
			prio = p.value
		}
		switch o.value {
		case "realtime", "1":
			d.ExtMut().IOPrio = "realtime:" + prio
		case "best-effort", "2":
			d.ExtMut().IOPrio = "best-effort:" + prio
		case "idle", "3":
			d.ExtMut().IOPrio = "idle"
		case "none", "0":
		default:
			t.fail(o, "unknown class %q", o.value)
		}
	}
}

// capabilities maps CapabilityBoundingSet= (a kept set, or with '~' a
// dropped one; lines add up) and AmbientCapabilities= onto ginit's IAB text.
func (t *translator) capabilities(u *unitSet) {
	var parts []string
	bound := u.all("Service", "CapabilityBoundingSet")
	if len(bound) > 0 {
		keep := map[string]bool{}
		for n := range capList() {
			keep[n] = true
		}
		first := true
		for _, o := range bound {
			v := o.value
			inv := strings.HasPrefix(v, "~")
			v = strings.TrimPrefix(v, "~")
			names := strings.Fields(strings.ToLower(v))
			for _, n := range names {
				if !capList()[n] {
					t.fail(o, "unknown capability %q", n)
					return
				}
			}
			if inv {
				for _, n := range names {
					keep[n] = false
				}
				continue
			}
			if first {
				for n := range keep {
					keep[n] = false
				}
			}
			for _, n := range names {
				keep[n] = true
			}
			first = false
		}
		for n := range capList() {
			if !keep[n] {
				parts = append(parts, "!"+n)
			}
		}
	}
	for _, o := range u.all("Service", "AmbientCapabilities") {
		if strings.HasPrefix(o.value, "~") {
			t.fail(o, "an inverted ambient set is not supported")
			continue
		}
		for _, n := range strings.Fields(strings.ToLower(o.value)) {
			if !capList()[n] {
				t.fail(o, "unknown capability %q", n)
				continue
			}
			parts = append(parts, "^"+n)
		}
	}
	if len(parts) > 0 {
		sortStrings(parts)
		t.d.ExtMut().Capabilities = strings.Join(parts, ",")
		if _, err := service.ParseCapabilities(t.d.Ext().Capabilities); err != nil {
			t.fail(nil, "capabilities: %v", err)
		}
	}
}

// output maps StandardOutput=/StandardError=: null for both drops the
// output, a file becomes ginit's log file; journal, syslog, kmsg and
// inherit keep ginit's default (the last output in memory).
func (t *translator) output(u *unitSet) {
	d := t.d
	var nulls int
	for _, k := range []string{"StandardOutput", "StandardError"} {
		o := u.last("Service", k)
		if o == nil {
			if k == "StandardError" && nulls == 1 {
				nulls++ // stderr follows stdout by default
			}
			continue
		}
		v, ok := t.value(o)
		if !ok {
			continue
		}
		switch {
		case v == "null":
			nulls++
		case v == "inherit", v == "journal", v == "syslog", v == "kmsg", strings.HasSuffix(v, "+console"), v == "tty":
		case strings.HasPrefix(v, "file:"), strings.HasPrefix(v, "append:"), strings.HasPrefix(v, "truncate:"):
			_, p, _ := strings.Cut(v, ":")
			if d.Ext().LogFile != "" && d.Ext().LogFile != p {
				t.fail(o, "a second output file (%s) is not supported", p)
				continue
			}
			d.LogType, d.ExtMut().LogFile = service.LogFile, p
			if strings.HasPrefix(v, "truncate:") {
				t.warn(o, "the file is appended to, not truncated")
			}
		default:
			t.fail(o, "%s=%s is not supported", k, v)
		}
	}
	if nulls == 2 {
		d.LogType = service.LogNone
	}
}

// limits maps LimitNOFILE, LimitCORE, LimitDATA, LimitAS and the cgroup
// limits MemoryMax, TasksMax, CPUWeight.
func (t *translator) limits(u *unitSet) {
	d := t.d
	names := map[string]string{"LimitNOFILE": "nofile", "LimitCORE": "core", "LimitDATA": "data", "LimitAS": "addrspace"}
	for _, o := range u.order {
		if o.section != "Service" || !strings.HasPrefix(o.key, "Limit") || o != u.last("Service", o.key) {
			continue
		}
		n, ok := names[o.key]
		if !ok {
			t.warn(o, "ignored (ginit sets only LimitNOFILE, LimitCORE, LimitDATA and LimitAS)")
			continue
		}
		soft, hard, _ := strings.Cut(o.value, ":")
		if hard == "" {
			hard = soft
		}
		s, err1 := limitValue(soft)
		h, err2 := limitValue(hard)
		if err1 != nil || err2 != nil || s > h {
			t.fail(o, "bad limit %q", o.value)
			continue
		}
		if d.Ext().Rlimits == nil {
			d.ExtMut().Rlimits = map[string]service.Rlimit{}
		}
		d.ExtMut().Rlimits[n] = service.Rlimit{Soft: s, Hard: h}
	}
	if o := u.last("Service", "MemoryMax"); o != nil && o.value != "infinity" {
		v, err := limitValue(o.value)
		if err != nil || strings.HasSuffix(o.value, "%") {
			t.fail(o, "bad or unsupported size %q", o.value)
		} else {
			d.ExtMut().MemoryMax = int64(v)
		}
	}
	if o := u.last("Service", "TasksMax"); o != nil && o.value != "infinity" {
		v, err := strconv.ParseInt(o.value, 10, 64)
		if err != nil || v <= 0 {
			t.warn(o, "ignored: only a number of tasks is supported, not %q", o.value)
		} else {
			d.ExtMut().PidsMax = v
		}
	}
	if o := u.last("Service", "CPUWeight"); o != nil {
		v, err := strconv.ParseInt(o.value, 10, 64)
		if err != nil || v < 1 || v > 10000 {
			t.warn(o, "ignored: only a weight of 1 to 10000 is supported, not %q", o.value)
		} else {
			d.ExtMut().CPUWeight = v
		}
	}
}

// limitValue parses a resource limit or size: a number with an optional
// K, M, G, T suffix (powers of 1024), or infinity.
func limitValue(s string) (uint64, error) {
	if s == "infinity" {
		return service.RlimInfinity, nil
	}
	mult := uint64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > service.RlimInfinity/mult {
		return 0, fmt.Errorf("too large")
	}
	return n * mult, nil
}
