package daemon

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"ginit/init/loader"
	"ginit/init/service"
	"ginit/internal/i18n"
	"ginit/internal/opts"
	"ginit/internal/version"
)

// Config is ginit's command line.
type Config struct {
	ServicesDirs []string
	SocketPath   string
	System       bool
	SystemMgr    bool
	User         bool
	Container    bool
	Quiet        bool
	LogFile      string
	EnvFile      string
	ConfFile     string // ginit.conf: settings under the options (see conf.go)
	Services     []string
	ReadyFD      int                // -F: write the socket path here once it accepts commands; -1 = none
	CgroupPath   string             // -b: services' cgroup, from the cgroup2 root ("" = below ginit's own)
	PID1         bool               // we are process 1 (set by the caller)
	NoUnits      bool               // --no-systemd-units: no fallback to systemd units
	Fstab        string             // --fstab: the mounts served as services (default for the system instance /etc/fstab)
	StartLimit   service.StartLimit // --max-starting, --starting-grace, --start-pressure-*
	ClassLimits  map[string]int     // --max-starting-class NAME=N
	TimersDir    string             // --timers-dir: persistent timers' last runs ("" = the default, timerstore.go)
	Forced       bool               // -t, -m or -o: as PID 1, bare words are services too
	Help         bool
	Version      bool
}

// HelpText is ginit's --help text in p's language.
func HelpText(p *i18n.Printer) string {
	var b strings.Builder
	_, fs := newFlagSet(p)
	opts.Help(&b, p, p.T("ginit [OPTION]... [SERVICE]..."),
		p.T("Start SERVICEs (default: boot) and supervise them: as process 1 the machine's init,\notherwise a system or user service manager."),
		fs, p.T("As process 1, bare words from the kernel command line other than \"single\" are\nignored unless -t, -m or -o is given (as dinit does)."))
	return b.String()
}

// newFlagSet declares ginit's options, as dinit names them, over a Config.
func newFlagSet(p *i18n.Printer) (*Config, *pflag.FlagSet) {
	c := &Config{ReadyFD: -1}
	fs := opts.New("ginit")
	opts.NewFunc(fs, "services-dir", "d", p.T("DIR"), p.T("service directory (repeatable; replaces the defaults)"),
		func(v string) error { c.ServicesDirs = append(c.ServicesDirs, v); return nil })
	fs.StringVarP(&c.SocketPath, "socket-path", "p", "", p.T("control socket `PATH`"))
	opts.Switch(fs, &c.System, "system", "s", p.T("system instance defaults (default for root)"))
	opts.Switch(fs, &c.SystemMgr, "system-mgr", "m", p.T("manage the machine (default as process 1)"))
	opts.Switch(fs, &c.User, "user", "u", p.T("user instance defaults"))
	opts.Switch(fs, &c.Container, "container", "o", p.T("run as process 1 of a container: no machine management"))
	opts.NewFunc(fs, "service", "t", p.T("NAME"), p.T("a service to start (repeatable; as process 1 makes bare words count too)"),
		func(v string) error { c.Services = append(c.Services, v); return nil })
	opts.Switch(fs, &c.Quiet, "quiet", "q", p.T("only errors on the console"))
	fs.StringVarP(&c.LogFile, "log-file", "l", "", p.T("write ginit's log to `FILE`"))
	fs.StringVarP(&c.EnvFile, "env-file", "e", "", p.T("global environment `FILE`"))
	fs.StringVar(&c.ConfFile, "config", "", p.T("settings `FILE` (default for the system instance: /etc/ginit/ginit.conf)"))
	opts.NewFunc(fs, "ready-fd", "F", "FD", p.T("write the control socket path to FD once it accepts commands"),
		func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return opts.Invalid(p.Tf("%q is not a file descriptor number", v))
			}
			c.ReadyFD = n
			return nil
		})
	opts.NewFunc(fs, "cgroup-path", "b", p.T("PATH"), p.T("run services in this cgroup (below the cgroup2 root)"),
		func(v string) (err error) { c.CgroupPath, err = cleanCgroupPath(p, v); return err })
	opts.NewFunc(fs, "max-starting", "", "N", p.T("at most N services starting at once (0: no limit)"),
		func(v string) error { return intOpt(p, v, &c.StartLimit.Max) })
	opts.NewFunc(fs, "max-starting-class", "", "NAME=N", p.T("at most N services of start-class NAME starting at once (repeatable)"),
		func(v string) error { return classOpt(p, v, &c.ClassLimits) })
	opts.NewFunc(fs, "starting-grace", "", "D", p.T("a start older than D (e.g. 10s) stops counting against it"),
		func(v string) error { return durationOpt(p, v, &c.StartLimit.Grace) })
	opts.NewFunc(fs, "start-pressure-cpu", "", "X", p.T("spawn no start while CPU PSI some avg10 is above X"),
		func(v string) error { return percentOpt(p, v, &c.StartLimit.CPU) })
	opts.NewFunc(fs, "start-pressure-io", "", "X", p.T("the same for IO pressure"),
		func(v string) error { return percentOpt(p, v, &c.StartLimit.IO) })
	opts.Switch(fs, &c.NoUnits, "no-systemd-units", "", p.T("a name no description has is not looked up as NAME.service (system instance: in the -d directories, then systemd's unit paths)"))
	fs.StringVar(&c.Fstab, "fstab", "", p.T("serve the mounts of this fstab `FILE` as services fstab and PATH.mount (default for the system instance: /etc/fstab)"))
	fs.StringVar(&c.TimersDir, "timers-dir", "", p.T("persistent timers' last runs in `DIR` (default /var/lib/ginit/timers; user: $XDG_STATE_HOME/ginit/timers)"))
	opts.Switch(fs, &c.Help, "help", "h", p.T("print this text"))
	opts.Switch(fs, &c.Version, "version", "", p.T("print the release and the commit"))
	return c, fs
}

// ParseArgs parses ginit's command line with English messages.
func ParseArgs(args []string) (Config, error) { return parseArgs(args, nil) }

// parseArgs parses dinit-compatible, GNU-style options (see opts).
func parseArgs(args []string, p *i18n.Printer) (Config, error) {
	c, fs := newFlagSet(p)
	if err := opts.Parse(fs, args, p); err != nil {
		return *c, err
	}
	c.Services = append(c.Services, fs.Args()...)
	// dinit: -t, -m or -o make process 1 take the bare words as services.
	c.Forced = fs.Changed("service") || c.SystemMgr || c.Container
	if c.System && c.User {
		return *c, p.Errorf("--system and --user exclude each other")
	}
	return *c, nil
}

// intOpt reads a count (0 or more).
func intOpt(p *i18n.Printer, v string, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return opts.Invalid(p.Tf("%q is not a count", v))
	}
	*dst = n
	return nil
}

// classOpt reads NAME=N into a class limit.
func classOpt(p *i18n.Printer, v string, dst *map[string]int) error {
	name, n, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return opts.Invalid(p.Tf("%q is not NAME=N", v))
	}
	var max int
	if err := intOpt(p, n, &max); err != nil {
		return err
	}
	if *dst == nil {
		*dst = map[string]int{}
	}
	(*dst)[name] = max
	return nil
}

// durationOpt reads a duration: Go's syntax (1m30s) or plain seconds.
func durationOpt(p *i18n.Printer, v string, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return opts.Invalid(p.Tf("%q is not a duration", v))
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 {
		return opts.Invalid(p.Tf("%q is negative", v))
	}
	*dst = d
	return nil
}

// percentOpt reads a PSI threshold (a percentage, 0 to 100).
func percentOpt(p *i18n.Printer, v string, dst *float64) error {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || !(x >= 0 && x <= 100) {
		return opts.Invalid(p.Tf("%q is not a percentage (0 to 100)", v))
	}
	*dst = x
	return nil
}

// printInfo prints what --help or --version asked for and reports whether
// ginit is done. Process 1 never is: its exit would panic the kernel, and
// the kernel passes its unknown command-line words to init.
func printInfo(c Config, pid1 bool, stdout io.Writer, p *i18n.Printer) bool {
	switch {
	case pid1:
		return false
	case c.Help:
		fmt.Fprint(stdout, HelpText(p))
	case c.Version:
		fmt.Fprintln(stdout, version.Line("ginit"))
	default:
		return false
	}
	return true
}

// cleanCgroupPath checks a -b path: relative to the root of the unified
// hierarchy with or without a leading "/", and never above it.
func cleanCgroupPath(p *i18n.Printer, v string) (string, error) {
	if v == "" {
		return "", opts.Invalid(p.T("an empty cgroup path (the root is \"/\")"))
	}
	rel := strings.Trim(v, "/")
	for _, el := range strings.Split(rel, "/") {
		if el == ".." || el == "." {
			return "", opts.Invalid(p.Tf("%q: a cgroup path may not contain %q", v, el))
		}
	}
	if strings.Contains(rel, "//") || strings.ContainsRune(rel, 0) || strings.ContainsRune(rel, '\n') {
		return "", opts.Invalid(p.Tf("%q is not a cgroup path", v))
	}
	return "/" + rel, nil
}

// Finish fills defaults that depend on the mode and environment.
func (c *Config) Finish(getenv func(string) string, uid int) {
	if !c.System && !c.User {
		c.System = uid == 0
		c.User = uid != 0
	}
	if c.PID1 && !c.Container {
		c.SystemMgr = true
	}
	if c.PID1 && !c.Forced && !c.Container {
		// The kernel passes its command line words to init; they count
		// as service names only after -t, -m or -o, except `single`.
		var keep []string
		for _, s := range c.Services {
			if s == "single" {
				keep = append(keep, s)
			}
		}
		c.Services = keep
	}
	if len(c.Services) == 0 {
		c.Services = []string{"boot"}
	}
	if len(c.ServicesDirs) == 0 {
		c.ServicesDirs = loader.DefaultDirs(c.User, getenv)
	}
	if c.ConfFile == "" && c.System && !c.User {
		if _, err := os.Stat(defaultConf); err == nil {
			c.ConfFile = defaultConf
		}
	}
	if c.EnvFile == "" && c.System && !c.User {
		if _, err := os.Stat("/etc/ginit/environment"); err == nil {
			c.EnvFile = "/etc/ginit/environment"
		}
	}
}
