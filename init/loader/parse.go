package loader

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/service"
)

// Defaults for settings a description leaves out (dinit's defaults).
const (
	defaultRestartDelay  = 200 * time.Millisecond
	defaultLimitInterval = 10 * time.Second
	defaultLimitCount    = 3
	defaultStartTimeout  = 60 * time.Second
	defaultStopTimeout   = 10 * time.Second
	defaultLogBuffer     = 4096
)

// parser carries the state of one description while its lines are read.
type parser struct {
	l                       *Loader
	d                       *service.Description
	optional                map[string]bool // deps that came from .d directories
	lookup                  lookupFunc
	logTypeSet              bool
	socketGIDSet, logGIDSet bool

	budget *budget // what this description may still read and substitute
	// depAt indexes d.Deps and caps/bits accumulate capabilities and
	// securebits, so that many lines of them cost linear time.
	depAt      map[depKey]int
	caps, bits strings.Builder
	timerLine  *rawLine // the first timer setting (timer.go)
	// Socket services (socket.go): every socket-listen line, and
	// socket-activates.
	listens       []listenLine
	activates     string
	activatesLine *rawLine
	accept        bool
	maxConns      int
	acceptLine    *rawLine // socket-accept or socket-max-connections
}

// setting handles one setting; ws are the value's words after substitution.
type setting struct {
	add bool // accepts `+=`
	fn  func(p *parser, rl *rawLine, ws []string) error
}

// lookupSetting is the settings table: a switch rather than a map, which
// was built again for every file parsed (at 1000 services the largest
// single cost of loading them).
func lookupSetting(key string) (setting, bool) {
	switch key {
	case "type":
		return setting{fn: oneWord(setType)}, true
	case "command":
		return setting{add: true, fn: func(p *parser, rl *rawLine, ws []string) error { return setArgv(&p.d.Command, rl, ws) }}, true
	case "stop-command":
		return setting{add: true, fn: func(p *parser, rl *rawLine, ws []string) error { return setArgv(&p.d.ExtMut().StopCommand, rl, ws) }}, true
	case "reload-command":
		return setting{add: true, fn: addReload}, true
	case "working-dir":
		return setting{fn: oneWord(func(p *parser, v string) error { p.d.ExtMut().WorkingDir = p.rel(v); return nil })}, true
	case "run-as":
		return setting{fn: oneWord(setRunAs)}, true
	case "env-file": // read in the first pass
		return setting{fn: oneWord(func(p *parser, v string) error { return nil })}, true
	case "restart":
		return setting{fn: oneWord(setRestart)}, true
	case "smooth-recovery":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseBool(v, &p.d.SmoothRecovery) })}, true
	case "restart-delay":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseSeconds(v, &p.d.RestartDelay) })}, true
	case "restart-limit-interval":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseSeconds(v, &p.d.RestartLimitInterval) })}, true
	case "restart-limit-count":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseInt(v, 0, math.MaxInt32, &p.d.RestartLimitCount) })}, true
	case "start-timeout":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseSeconds(v, &p.d.StartTimeout) })}, true
	case "stop-timeout":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseSeconds(v, &p.d.StopTimeout) })}, true
	case "pid-file":
		return setting{fn: oneWord(func(p *parser, v string) error { p.d.ExtMut().PIDFile = p.rel(v); return nil })}, true
	case "depends-on":
		return setting{fn: depFn(service.DepRegular)}, true
	case "depends-ms":
		return setting{fn: depFn(service.DepMilestone)}, true
	case "prepared-by":
		return setting{fn: setPreparedBy}, true
	case "waits-for":
		return setting{fn: depFn(service.DepWaitsFor)}, true
	case "before":
		return setting{fn: depFn(service.DepBefore)}, true
	case "after":
		return setting{fn: depFn(service.DepAfter)}, true
	case "depends-on.d":
		return setting{fn: dotDFn(service.DepRegular)}, true
	case "depends-ms.d":
		return setting{fn: dotDFn(service.DepMilestone)}, true
	case "waits-for.d":
		return setting{fn: dotDFn(service.DepWaitsFor)}, true
	case "chain-to":
		return setting{fn: oneWord(setChainTo)}, true
	case "socket-listen":
		return setting{fn: setSocketListen}, true
	case "socket-activates":
		return setting{fn: setSocketActivates}, true
	case "socket-accept":
		return setting{fn: setSocketAccept}, true
	case "socket-max-connections":
		return setting{fn: setSocketMaxConns}, true
	case "socket-stdio":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseBool(v, &p.d.SocketStdio) })}, true
	case "socket-permissions":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseOctal(v, 0o7777, &p.d.SocketPermissions) })}, true
	case "socket-uid":
		return setting{fn: oneWord(func(p *parser, v string) error { return p.owner(v, &p.d.SocketUID, &p.d.SocketGID, p.socketGIDSet) })}, true
	case "socket-gid":
		return setting{fn: oneWord(func(p *parser, v string) error { p.socketGIDSet = true; return p.group(v, &p.d.SocketGID) })}, true
	case "term-signal":
		return setting{fn: oneWord(setTermSignal)}, true
	case "termsignal":
		return setting{fn: oneWord(setTermSignal)}, true
	case "ready-notification":
		return setting{fn: oneWord(setReady)}, true
	case "log-type":
		return setting{fn: oneWord(setLogType)}, true
	case "logfile":
		return setting{fn: oneWord(func(p *parser, v string) error { p.d.ExtMut().LogFile = p.rel(v); return nil })}, true
	case "logfile-permissions":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseOctal(v, 0o777, &p.d.LogFilePermissions) })}, true
	case "logfile-uid":
		return setting{fn: oneWord(func(p *parser, v string) error { return p.owner(v, &p.d.LogFileUID, &p.d.LogFileGID, p.logGIDSet) })}, true
	case "logfile-gid":
		return setting{fn: oneWord(func(p *parser, v string) error { p.logGIDSet = true; return p.group(v, &p.d.LogFileGID) })}, true
	case "log-buffer-size":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseInt(v, 1, 1<<30, &p.d.LogBufferSize) })}, true
	case "log-max-size":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseSize(v, &p.d.ExtMut().LogMaxSize) })}, true
	case "options":
		return setting{fn: setOptions}, true
	case "consumer-of":
		return setting{fn: oneWord(setConsumerOf)}, true
	case "load-options": // first pass
		return setting{fn: func(p *parser, rl *rawLine, ws []string) error { return nil }}, true
	case "inittab-id":
		return setting{fn: oneWord(func(p *parser, v string) error { return maxLen(v, 4, &p.d.ExtMut().InittabID) })}, true
	case "inittab-line":
		return setting{fn: oneWord(func(p *parser, v string) error { return maxLen(v, 32, &p.d.ExtMut().InittabLine) })}, true
	case "rlimit-nofile":
		return setting{fn: rlimitFn("nofile")}, true
	case "rlimit-core":
		return setting{fn: rlimitFn("core")}, true
	case "rlimit-data":
		return setting{fn: rlimitFn("data")}, true
	case "rlimit-addrspace":
		return setting{fn: rlimitFn("addrspace")}, true
	case "nice":
		return setting{fn: oneWord(setNice)}, true
	case "ioprio":
		return setting{fn: oneWord(setIOPrio)}, true
	case "oom-score-adj":
		return setting{fn: oneWord(setOOM)}, true
	case "umask":
		return setting{fn: oneWord(setUmask)}, true
	case "run-in-cgroup":
		return setting{fn: oneWord(func(p *parser, v string) error { p.d.ExtMut().RunInCgroup = v; return nil })}, true
	case "chroot":
		return setting{fn: oneWord(func(p *parser, v string) error { p.d.ExtMut().Chroot = p.rel(v); return nil })}, true
	case "unshare":
		return setting{fn: setUnshare}, true
	case "memory-max":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseSize(v, &p.d.ExtMut().MemoryMax) })}, true
	case "pids-max":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseInt64(v, 1, math.MaxInt64, &p.d.ExtMut().PidsMax) })}, true
	case "capabilities":
		return setting{add: true, fn: setCapabilities}, true
	case "securebits":
		return setting{add: true, fn: setSecurebits}, true
	case "cpu-weight":
		return setting{fn: oneWord(func(p *parser, v string) error { return parseInt64(v, 1, 10000, &p.d.ExtMut().CPUWeight) })}, true
	case "terminal":
		return setting{fn: oneWord(setTerminal)}, true
	case "run-on-vt":
		return setting{fn: oneWord(setVT)}, true
	case "start-class":
		return setting{fn: oneWord(setStartClass)}, true
	}
	return timerSetting(key)
}

// parseFile reads the description of name from path.
func (l *Loader) parseFile(name, path string, strs map[string]string) (*service.Description, map[string]bool, error) {
	_, arg, _ := strings.Cut(name, "@")
	d := &service.Description{
		Name:                 name,
		File:                 path,
		Type:                 service.TypeInternal, // dinit's default
		Restart:              service.RestartYes,
		RestartDelay:         defaultRestartDelay,
		RestartLimitInterval: defaultLimitInterval,
		RestartLimitCount:    defaultLimitCount,
		StartTimeout:         defaultStartTimeout,
		StopTimeout:          defaultStopTimeout,
		TermSignal:           int32(unix.SIGTERM),
		SocketPermissions:    0o666,
		SocketUID:            -1,
		SocketGID:            -1,
		LogFilePermissions:   0o600,
		LogFileUID:           -1,
		LogFileGID:           -1,
		LogBufferSize:        defaultLogBuffer,
	}
	p := &parser{l: l, d: d, optional: map[string]bool{}, budget: newBudget(), depAt: map[depKey]int{}}
	p.budget.strs = strs
	// Early lookup: for @include paths and env-file, only $1 and the daemon env.
	pre := func(k string) (string, bool) {
		if k == "1" {
			return arg, true
		}
		if k >= "0" && k <= "9" && len(k) == 1 {
			return "", false
		}
		return l.daemonEnv(k)
	}
	lines, err := l.readFragment(path, pre, 0, nil, p.budget)
	if err != nil {
		return nil, nil, withService(err, name)
	}

	// First pass: load-options and env-file build the service environment
	// that later settings may substitute from.
	var env envList
	for i := range lines {
		rl := &lines[i]
		switch rl.key {
		case "load-options":
			ws, err := words(rl.val, pre, p.budget)
			if err != nil {
				return nil, nil, p.errf(rl, "%w", err)
			}
			for _, w := range ws {
				switch w {
				case "export-passwd-vars":
					d.LoadOptions.ExportPasswdVars = true
				case "export-service-name":
					d.LoadOptions.ExportServiceName = true
				case "sub-vars": // legacy, always on
				default:
					return nil, nil, p.errf(rl, "%w", invalid(w, "export-passwd-vars, export-service-name or sub-vars"))
				}
			}
		case "env-file":
			ws, err := words(rl.val, pre, p.budget)
			if err != nil {
				return nil, nil, p.errf(rl, "%w", err)
			}
			if len(ws) != 1 {
				return nil, nil, p.errf(rl, "expected one path, got %q", rl.val)
			}
			f := ws[0]
			if !filepath.IsAbs(f) {
				f = filepath.Join(filepath.Dir(path), f)
			}
			d.ExtMut().EnvFile = f
			if err := l.readEnvFile(f, &env, p.budget); err != nil {
				return nil, nil, p.errf(rl, "%w", err)
			}
		}
	}
	if d.LoadOptions.ExportServiceName {
		env.set("DINIT_SERVICE", name)
	}
	// export-passwd-vars: the run-as user's (or, without run-as, ginit's own
	// user's) USER, LOGNAME, HOME, SHELL, UID and GID; the env-file wins
	// where it sets them too. run-as may only use $1 and the daemon
	// environment here.
	if d.LoadOptions.ExportPasswdVars {
		who, at := strconv.Itoa(os.Getuid()), (*rawLine)(nil)
		for i := range lines {
			if lines[i].key != "run-as" {
				continue
			}
			ws, err := words(lines[i].val, pre, p.budget)
			if err != nil || len(ws) != 1 {
				break // reported in the second pass
			}
			who, _, _ = strings.Cut(ws[0], ":")
			at = &lines[i]
		}
		pw, err := lookupPasswd(l.passwdFile(), who)
		if err != nil {
			if at != nil {
				return nil, nil, p.errf(at, "%w", err)
			}
			return nil, nil, &Error{File: path, Service: name, Setting: "load-options", Err: fmt.Errorf("export-passwd-vars: %w", err)}
		}
		for _, kv := range [][2]string{{"USER", pw.name}, {"LOGNAME", pw.name}, {"HOME", pw.home},
			{"SHELL", pw.shel}, {"UID", strconv.Itoa(pw.uid)}, {"GID", strconv.Itoa(pw.gid)}} {
			if _, set := env.get(kv[0]); !set {
				env.set(kv[0], kv[1])
			}
		}
	}
	for _, k := range env.keys {
		d.ExtMut().Env = append(d.ExtMut().Env, k+"="+env.vals[k])
	}
	p.lookup = func(k string) (string, bool) {
		if len(k) == 1 && k[0] >= '0' && k[0] <= '9' {
			if k == "1" {
				return arg, true
			}
			return "", false
		}
		if v, ok := env.get(k); ok {
			return v, true
		}
		return l.daemonEnv(k)
	}

	// Every bad line and bad combination is reported, not just the first
	// (ginit-check shows them all); the description is then refused as a
	// whole, but returned as far as it was read so that ginit-check can
	// follow its dependencies.
	var errs ErrorList
	for i := range lines {
		if err := p.apply(&lines[i]); err != nil {
			errs = append(errs, err)
			// Past a limit every later line would fail the same way.
			if errors.Is(err, ErrTooLarge) {
				break
			}
			// A file of garbage must not become a million errors.
			if len(errs) == maxErrors {
				errs = append(errs, &Error{File: lines[i].file, Line: lines[i].line, Service: name,
					Err: &limitError{fmt.Sprintf("more than %d errors; the rest of the description is not checked", maxErrors), ErrTooLarge}})
				break
			}
		}
	}
	p.lint(lines, errs) // check.go: warnings, before validate drops ignored commands
	errs = append(errs, p.validate()...)
	switch len(errs) {
	case 0:
		return d, p.optional, nil
	case 1:
		return d, p.optional, errs[0]
	default:
		return d, p.optional, errs
	}
}

// apply handles one line of the second pass.
func (p *parser) apply(rl *rawLine) error {
	d := p.d
	if rl.key == "@meta" {
		f := strings.Fields(rl.val)
		if len(f) >= 1 && f[0] == "enable-via" {
			if len(f) != 2 {
				return p.errf(rl, "@meta enable-via: expected one service name")
			}
			if err := ValidName(f[1]); err != nil {
				return p.errf(rl, "@meta enable-via: %w", err)
			}
			d.ExtMut().EnableVia = f[1]
		}
		return nil // other @meta lines are for other tools
	}
	s, ok := lookupSetting(rl.key)
	if !ok {
		return p.errf(rl, "unknown setting")
	}
	// dinit takes ':' for every setting, as '='.
	if rl.op == "+=" && !s.add {
		return p.errf(rl, "'+=' is only for command, stop-command, reload-command, capabilities and securebits")
	}
	lookup := p.lookup
	if rl.key == "reload-command" {
		lookup = keepMainPID(lookup)
	}
	ws, err := words(rl.val, lookup, p.budget)
	if err != nil {
		return p.errf(rl, "%w", err)
	}
	if err := s.fn(p, rl, ws); err != nil {
		var le *Error
		if errors.As(err, &le) {
			return err
		}
		return p.errf(rl, "%w", err)
	}
	return nil
}

// withService adds the service name to an *Error that lacks one.
func withService(err error, name string) error {
	var le *Error
	if errors.As(err, &le) && le.Service == "" {
		le.Service = name
	}
	return err
}

func (p *parser) errf(rl *rawLine, format string, args ...any) error {
	return &Error{File: rl.file, Line: rl.line, Service: p.d.Name, Setting: strings.TrimPrefix(rl.key, "@"), Err: fmt.Errorf(format, args...)}
}

// rel makes a path relative to the service file's directory absolute.
func (p *parser) rel(v string) string {
	if v == "" || filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(filepath.Dir(p.d.File), v)
}

// validate checks the combination of settings once every line is read and
// returns every problem.
func (p *parser) validate() ErrorList {
	d := p.d
	var errs ErrorList
	fail := func(format string, args ...any) {
		errs = append(errs, &Error{File: d.File, Service: d.Name, Err: fmt.Errorf(format, args...)})
	}
	switch d.Type {
	case service.TypeProcess, service.TypeBGProcess, service.TypeScripted:
		if len(d.Command) == 0 {
			fail("'command' setting not specified (type %s needs one)", d.Type)
		}
	case service.TypeInternal, service.TypeTriggered:
		// As dinit: a warning (p.lint), not an error (internal is also the
		// type of a description that names none).
		d.Command = nil
		if d.More != nil {
			d.More.StopCommand, d.More.ReloadCommand = nil, nil
		}
	}
	if d.Type == service.TypeBGProcess && d.Ext().PIDFile == "" {
		fail("type bgprocess needs a pid-file")
	}
	if d.Ext().PIDFile != "" && d.Type != service.TypeBGProcess {
		fail("pid-file is only for type bgprocess")
	}
	// The pid file, not the launcher, says when a bgprocess is up.
	if d.Type == service.TypeBGProcess && d.Ext().ReadyNotification != "" {
		fail("ready-notification is not supported for type bgprocess")
	}
	if d.Ext().ConsumerOf != "" && d.Type != service.TypeProcess && d.Type != service.TypeBGProcess {
		fail("consumer-of is only for type process or bgprocess")
	}
	if d.Options.KillAllOnStop && d.Type != service.TypeScripted && d.Type != service.TypeInternal {
		fail("options kill-all-on-stop is only for type scripted or internal")
	}
	if d.Options.RunOnce && d.Type != service.TypeScripted {
		fail("options run-once is only for type scripted")
	}
	if !p.logTypeSet {
		d.LogType = service.LogTail // output is never lost by default
		if d.Ext().LogFile != "" {
			d.LogType = service.LogFile
		}
	}
	if d.LogType == service.LogFile && d.Ext().LogFile == "" {
		fail("log-type file needs a logfile")
	}
	n := 0
	for _, b := range []bool{d.Options.RunsOnConsole, d.Options.StartsOnConsole, d.Options.SharesConsole} {
		if b {
			n++
		}
	}
	if d.Options.SharesConsole && n > 1 {
		fail("options shares-console cannot be combined with runs-on-console or starts-on-console")
	}
	for _, e := range d.Deps {
		if e.Name == d.Name {
			fail("service depends on itself (%s)", e.Kind)
		}
	}
	if d.Ext().ChainTo == d.Name {
		fail("chain-to names the service itself")
	}
	p.validateTerminal(fail)
	errs = append(errs, p.validateSocket()...)
	return append(errs, p.validateTimer()...)
}

func oneWord(f func(p *parser, v string) error) func(*parser, *rawLine, []string) error {
	return func(p *parser, rl *rawLine, ws []string) error {
		if len(ws) != 1 {
			return fmt.Errorf("expected one value, got %d in %q", len(ws), rl.val)
		}
		return f(p, ws[0])
	}
}

func setType(p *parser, v string) error {
	t, ok := service.ParseType(v)
	if !ok {
		return invalid(v, "process, bgprocess, scripted, internal, triggered, timer or socket")
	}
	p.d.Type = t
	return nil
}

func setArgv(dst *[]string, rl *rawLine, ws []string) error {
	if rl.op == "+=" {
		*dst = append(*dst, ws...)
		return nil
	}
	if len(ws) == 0 {
		return errors.New("empty command")
	}
	*dst = ws
	return nil
}

// addReload: each reload-command line is one more command, run after the
// ones before it; `+=` adds words to the last.
func addReload(p *parser, rl *rawLine, ws []string) error {
	rc := &p.d.ExtMut().ReloadCommand
	if rl.op == "+=" {
		if len(*rc) == 0 {
			return errors.New("'+=' with no reload-command before it")
		}
		(*rc)[len(*rc)-1] = append((*rc)[len(*rc)-1], ws...)
		return nil
	}
	if len(ws) == 0 {
		return errors.New("empty command")
	}
	if len(*rc) >= maxReloadCommands {
		return fmt.Errorf("more than %d reload-command lines", maxReloadCommands)
	}
	*rc = append(*rc, ws)
	return nil
}

// maxReloadCommands bounds what one description can queue for a reload.
const maxReloadCommands = 64

// keepMainPID leaves $MAINPID for the manager, which knows the pid only
// when the reload runs.
func keepMainPID(l lookupFunc) lookupFunc {
	return func(k string) (string, bool) {
		if k == "MAINPID" {
			return "$MAINPID", true
		}
		return l(k)
	}
}

func setRunAs(p *parser, v string) error {
	user, group, hasGroup := strings.Cut(v, ":")
	if user == "" || (hasGroup && group == "") {
		return invalid(v, "USER or USER:GROUP")
	}
	if !isNumber(user) {
		if _, err := lookupPasswd(p.l.passwdFile(), user); err != nil {
			return err
		}
	}
	if hasGroup && !isNumber(group) {
		if _, err := lookupGroup(p.l.groupFile(), group); err != nil {
			return err
		}
	}
	p.d.RunAs = v
	return nil
}

func setRestart(p *parser, v string) error {
	switch v {
	case "yes", "true":
		p.d.Restart = service.RestartYes
	case "no", "false":
		p.d.Restart = service.RestartNo
	case "on-failure":
		p.d.Restart = service.RestartOnFailure
	default:
		return invalid(v, "yes, on-failure or no")
	}
	return nil
}

func parseBool(v string, dst *bool) error {
	switch v {
	case "yes", "true":
		*dst = true
	case "no", "false":
		*dst = false
	default:
		return invalid(v, "yes or no")
	}
	return nil
}

// parseSeconds reads decimal seconds ("0.5", "10").
func parseSeconds(v string, dst *time.Duration) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e9 {
		return invalid(v, "seconds, e.g. 10 or 0.5")
	}
	*dst = time.Duration(f * float64(time.Second))
	return nil
}

func parseInt(v string, lo, hi int, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return invalid(v, fmt.Sprintf("an integer from %d to %d", lo, hi))
	}
	*dst = n
	return nil
}

func parseInt64(v string, lo, hi int64, dst *int64) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return invalid(v, fmt.Sprintf("an integer from %d to %d", lo, hi))
	}
	*dst = n
	return nil
}

func parseOctal(v string, max uint32, dst *uint32) error {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || uint32(n) > max {
		return invalid(v, fmt.Sprintf("octal permissions up to %o", max))
	}
	*dst = uint32(n)
	return nil
}

// parseSize reads a byte count with an optional K, M, G or T suffix (powers
// of 1024).
func parseSize(v string, dst *int64) error {
	s := v
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return invalid(v, "a size in bytes, optionally with K, M, G or T")
	}
	*dst = n * mult
	return nil
}

func maxLen(v string, n int, dst *string) error {
	if len(v) > n {
		return fmt.Errorf("%q is longer than %d bytes", v, n)
	}
	*dst = v
	return nil
}

func depFn(k service.DepKind) func(*parser, *rawLine, []string) error {
	return func(p *parser, rl *rawLine, ws []string) error {
		if len(ws) == 0 {
			return errors.New("expected a service name")
		}
		for _, w := range ws {
			if err := ValidName(w); err != nil {
				return err
			}
			p.addDep(w, k)
		}
		return nil
	}
}

type depKey struct {
	name string
	kind service.DepKind
}

// addDep adds a dependency unless it is there already (reporting whether it
// was new).
func (p *parser) addDep(name string, k service.DepKind) bool {
	key := depKey{name, k}
	if _, ok := p.depAt[key]; ok {
		return false
	}
	p.depAt[key] = len(p.d.Deps)
	p.d.Deps = append(p.d.Deps, service.Dep{Name: name, Kind: k})
	return true
}

func dotDFn(k service.DepKind) func(*parser, *rawLine, []string) error {
	return func(p *parser, rl *rawLine, ws []string) error {
		if len(ws) != 1 {
			return fmt.Errorf("expected one directory, got %q", rl.val)
		}
		dir := ws[0]
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(rl.file), dir)
		}
		if k == service.DepWaitsFor {
			p.d.ExtMut().WaitsForDirs = append(p.d.ExtMut().WaitsForDirs, dir)
		}
		for _, n := range p.l.readDotD(p.d.Name, dir, p.budget) {
			if err := ValidName(n); err != nil {
				p.l.logf("service '%s': %s: %v; ignored", p.d.Name, dir, err)
				continue
			}
			if p.addDep(n, k) {
				p.optional[n] = true
			}
		}
		return nil
	}
}

func setChainTo(p *parser, v string) error {
	if err := ValidName(v); err != nil {
		return err
	}
	p.d.ExtMut().ChainTo = v
	return nil
}

// owner reads a user for socket-uid/logfile-uid. A user name also sets the
// group to the user's primary group unless a gid setting is given.
func (p *parser) owner(v string, uid, gid *int32, gidSet bool) error {
	if isNumber(v) {
		return parseID(v, uid)
	}
	pw, err := lookupPasswd(p.l.passwdFile(), v)
	if err != nil {
		return err
	}
	*uid = int32(pw.uid)
	if !gidSet {
		*gid = int32(pw.gid)
	}
	return nil
}

// parseID reads a numeric uid or gid: 0 to MaxInt32, as ids the
// description keeps in 32 bits.
func parseID(v string, id *int32) error {
	var n int
	if err := parseInt(v, 0, math.MaxInt32, &n); err != nil {
		return err
	}
	*id = int32(n)
	return nil
}

func (p *parser) group(v string, gid *int32) error {
	if isNumber(v) {
		return parseID(v, gid)
	}
	g, err := lookupGroup(p.l.groupFile(), v)
	if err != nil {
		return err
	}
	*gid = int32(g)
	return nil
}

// signalName is the signal of a name without SIG (a switch, not a map
// literal built at every start of each program linking the loader).
func signalName(name string) (unix.Signal, bool) {
	switch name {
	case "HUP":
		return unix.SIGHUP, true
	case "INT":
		return unix.SIGINT, true
	case "QUIT":
		return unix.SIGQUIT, true
	case "KILL":
		return unix.SIGKILL, true
	case "USR1":
		return unix.SIGUSR1, true
	case "USR2":
		return unix.SIGUSR2, true
	case "TERM":
		return unix.SIGTERM, true
	case "CONT":
		return unix.SIGCONT, true
	case "STOP":
		return unix.SIGSTOP, true
	case "INFO", "PWR":
		return unix.SIGPWR, true
	case "ABRT":
		return unix.SIGABRT, true
	case "ALRM":
		return unix.SIGALRM, true
	case "WINCH":
		return unix.SIGWINCH, true
	}
	return 0, false
}

// ParseSignal reads a signal name (with or without SIG) or number.
func ParseSignal(v string) (int, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 || n > 64 {
			return 0, invalid(v, "a signal number from 1 to 64")
		}
		return n, nil
	}
	if s, ok := signalName(strings.TrimPrefix(strings.ToUpper(v), "SIG")); ok {
		return int(s), nil
	}
	return 0, invalid(v, "a signal name such as TERM, HUP, INT, QUIT, USR1, USR2, KILL, or a number")
}

func setTermSignal(p *parser, v string) error {
	if v == "none" || v == "NONE" {
		p.d.TermSignal = 0
		return nil
	}
	n, err := ParseSignal(v)
	if err != nil {
		return err
	}
	p.d.TermSignal = int32(n)
	return nil
}

func setReady(p *parser, v string) error {
	switch {
	case v == "notify":
		// ginit: the sd_notify protocol (NOTIFY_SOCKET, READY=1).
	case strings.HasPrefix(v, "pipefd:"):
		n, err := strconv.Atoi(v[len("pipefd:"):])
		if err != nil || n < 3 || n > 1023 {
			return invalid(v, "pipefd:N with N from 3 to 1023")
		}
	case strings.HasPrefix(v, "pipevar:"):
		if !validVarName(v[len("pipevar:"):]) {
			return invalid(v, "pipevar:NAME")
		}
	default:
		return invalid(v, "pipefd:N, pipevar:NAME or notify")
	}
	p.d.ExtMut().ReadyNotification = v
	return nil
}

func setLogType(p *parser, v string) error {
	switch v {
	case "none":
		p.d.LogType = service.LogNone
	case "file":
		p.d.LogType = service.LogFile
	case "buffer":
		p.d.LogType = service.LogBuffer
	case "pipe":
		p.d.LogType = service.LogPipe
	default:
		return invalid(v, "none, file, buffer or pipe")
	}
	p.logTypeSet = true
	return nil
}

func setOptions(p *parser, rl *rawLine, ws []string) error {
	o := &p.d.Options
	for _, w := range ws {
		switch w {
		case "runs-on-console":
			o.RunsOnConsole = true
		case "starts-on-console":
			o.StartsOnConsole = true
		case "shares-console":
			o.SharesConsole = true
		case "unmask-intr":
			o.UnmaskIntr = true
		case "starts-rwfs":
			o.StartsRWFS = true
		case "start-interruptible":
			o.StartInterruptible = true
		case "skippable":
			o.Skippable = true
		case "signal-process-only":
			o.SignalProcessOnly = true
		case "always-chain":
			o.AlwaysChain = true
		case "no-new-privs":
			o.NoNewPrivs = true
		case "run-once":
			o.RunOnce = true
		case "kill-all-on-stop":
			o.KillAllOnStop = true
		case "starts-log":
			o.StartsLog = true
		case "pass-cs-fd":
			o.PassCSFD = true
		case "user-groups":
			o.UserGroups = true
		default:
			return invalid(w, "an option such as runs-on-console, starts-rwfs, skippable, run-once")
		}
	}
	return nil
}

func rlimitFn(name string) func(*parser, *rawLine, []string) error {
	return oneWord(func(p *parser, v string) error {
		lim, err := parseRlimit(v)
		if err != nil {
			return err
		}
		if p.d.Ext().Rlimits == nil {
			p.d.ExtMut().Rlimits = map[string]service.Rlimit{}
		}
		p.d.ExtMut().Rlimits[name] = lim
		return nil
	})
}

// parseRlimit reads "soft:hard", "soft:", ":hard" or a single value for both;
// "-" or "unlimited" is no limit. An omitted half is left as infinity, which
// the spawner reads as "keep the current value".
func parseRlimit(v string) (service.Rlimit, error) {
	one := func(s string) (uint64, error) {
		if s == "-" || s == "unlimited" || s == "infinity" {
			return service.RlimInfinity, nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, invalid(v, "SOFT:HARD, a number, or - for unlimited")
		}
		return n, nil
	}
	soft, hard, both := strings.Cut(v, ":")
	if !both {
		n, err := one(soft)
		return service.Rlimit{Soft: n, Hard: n}, err
	}
	lim := service.Rlimit{Soft: service.RlimInfinity, Hard: service.RlimInfinity}
	var err error
	if soft != "" {
		if lim.Soft, err = one(soft); err != nil {
			return lim, err
		}
	}
	if hard != "" {
		if lim.Hard, err = one(hard); err != nil {
			return lim, err
		}
	}
	if lim.Soft != service.RlimInfinity && lim.Hard != service.RlimInfinity && lim.Soft > lim.Hard {
		return lim, fmt.Errorf("soft limit %d above hard limit %d", lim.Soft, lim.Hard)
	}
	return lim, nil
}

func setNice(p *parser, v string) error {
	var n int
	if err := parseInt(v, -20, 19, &n); err != nil {
		return err
	}
	p.d.ExtMut().Nice = &n
	return nil
}

func setOOM(p *parser, v string) error {
	var n int
	if err := parseInt(v, -1000, 1000, &n); err != nil {
		return err
	}
	p.d.ExtMut().OOMScoreAdj = &n
	return nil
}

func setUmask(p *parser, v string) error {
	var m uint32
	if err := parseOctal(v, 0o777, &m); err != nil {
		return err
	}
	p.d.ExtMut().Umask = &m
	return nil
}

func setIOPrio(p *parser, v string) error {
	class, level, hasLevel := strings.Cut(v, ":")
	switch class {
	case "none", "idle":
		if hasLevel {
			return invalid(v, "none, idle, realtime:0-7 or best-effort:0-7")
		}
	case "realtime", "best-effort":
		var n int
		if !hasLevel || parseInt(level, 0, 7, &n) != nil {
			return invalid(v, class+":0-7")
		}
	default:
		return invalid(v, "none, idle, realtime:0-7 or best-effort:0-7")
	}
	p.d.ExtMut().IOPrio = v
	return nil
}

func setUnshare(p *parser, rl *rawLine, ws []string) error {
	for _, w := range ws {
		switch w {
		case "pid", "mount", "net", "uts", "ipc":
		default:
			return invalid(w, "pid, mount, net, uts or ipc")
		}
		dup := false
		for _, x := range p.d.Ext().Unshare {
			dup = dup || x == w
		}
		if !dup {
			p.d.ExtMut().Unshare = append(p.d.ExtMut().Unshare, w)
		}
	}
	return nil
}

// Each item of capabilities and securebits stands alone, so only the new
// ones are checked and the text grows by appending (not by copying the
// whole of it again for each line).
func setCapabilities(p *parser, rl *rawLine, ws []string) error {
	v := strings.Join(ws, ",")
	if _, err := service.ParseCapabilities(v); err != nil {
		return err
	}
	p.d.ExtMut().Capabilities = appendList(&p.caps, rl.op == "+=", ",", v)
	return nil
}

func setSecurebits(p *parser, rl *rawLine, ws []string) error {
	v := strings.Join(ws, " ")
	if _, err := service.ParseSecurebits(v); err != nil {
		return err
	}
	p.d.ExtMut().Securebits = appendList(&p.bits, rl.op == "+=", " ", v)
	return nil
}

// appendList sets (or, with add, extends) the list in b and returns it.
func appendList(b *strings.Builder, add bool, sep, v string) string {
	if !add {
		b.Reset()
	}
	if b.Len() > 0 && v != "" {
		b.WriteString(sep)
	}
	b.WriteString(v)
	return b.String()
}

func setConsumerOf(p *parser, v string) error {
	if err := ValidName(v); err != nil {
		return err
	}
	if v == p.d.Name {
		return errors.New("a service cannot consume its own output")
	}
	p.d.ExtMut().ConsumerOf = v
	return nil
}

// setPreparedBy is depends-on whose target is restarted with this service.
func setPreparedBy(p *parser, rl *rawLine, ws []string) error {
	if err := depFn(service.DepRegular)(p, rl, ws); err != nil {
		return err
	}
	for _, w := range ws {
		p.d.Deps[p.depAt[depKey{w, service.DepRegular}]].Prepared = true
	}
	return nil
}
