package daemon

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"ginit/init/loader"
	"ginit/init/service"
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
	StartLimit   service.StartLimit // --max-starting, --starting-grace, --start-pressure-*
	TimersDir    string             // --timers-dir: persistent timers' last runs ("" = the default, timerstore.go)
	Help         bool
	Version      bool
}

// Usage is printed for --help.
const Usage = `usage: ginit [options] [service...]
  -d, --services-dir DIR   service directory (repeatable; replaces the defaults)
  -p, --socket-path PATH   control socket path
  -s, --system             system instance defaults (default for root)
  -m, --system-mgr         manage the machine (default as PID 1)
  -u, --user               user instance defaults
  -t, --container          run as PID 1 of a container: no machine management
  -q, --quiet              only errors on the console
  -l, --log-file FILE      write ginit's log to FILE
  -e, --env-file FILE      global environment file
      --config FILE        settings file (default for the system instance: /etc/ginit/ginit.conf)
  -F, --ready-fd FD        write the control socket path to FD once it accepts commands
  -b, --cgroup-path PATH   run services in this cgroup (below the cgroup2 root)
      --max-starting N     at most N services starting at once (0: no limit)
      --starting-grace D   a start older than D (e.g. 10s) stops counting against it
      --start-pressure-cpu X   spawn no start while CPU PSI some avg10 is above X
      --start-pressure-io X    the same for IO pressure
      --no-systemd-units   a name no description has is not looked up as NAME.service
                           (system instance: in the -d directories, then systemd's unit paths)
      --timers-dir DIR     persistent timers' last runs (default /var/lib/ginit/timers;
                           user: $XDG_STATE_HOME/ginit/timers)
  -h, --help               print this text
      --version            print the release and the commit
  service...               services to start (default: boot)
`

// ParseArgs parses dinit-compatible flags. Long options accept --opt=value.
func ParseArgs(args []string) (Config, error) {
	c := Config{ReadyFD: -1}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			if j := strings.IndexByte(a, '='); j > 0 {
				name, val, hasVal = a[:j], a[j+1:], true
			}
		}
		value := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs an argument", name)
			}
			i++
			return args[i], nil
		}
		var err error
		switch name {
		case "-d", "--services-dir":
			var v string
			if v, err = value(); err == nil {
				c.ServicesDirs = append(c.ServicesDirs, v)
			}
		case "-p", "--socket-path":
			c.SocketPath, err = value()
		case "-l", "--log-file":
			c.LogFile, err = value()
		case "-e", "--env-file":
			c.EnvFile, err = value()
		case "--config":
			c.ConfFile, err = value()
		case "--timers-dir":
			c.TimersDir, err = value()
		case "-F", "--ready-fd":
			var v string
			if v, err = value(); err == nil {
				n, perr := strconv.Atoi(v)
				if perr != nil || n < 0 {
					err = fmt.Errorf("option %s: %q is not a file descriptor number", name, v)
				}
				c.ReadyFD = n
			}
		case "-b", "--cgroup-path":
			var v string
			if v, err = value(); err == nil {
				c.CgroupPath, err = cleanCgroupPath(name, v)
			}
		case "--max-starting":
			err = intOpt(name, value, &c.StartLimit.Max)
		case "--starting-grace":
			err = durationOpt(name, value, &c.StartLimit.Grace)
		case "--start-pressure-cpu":
			err = percentOpt(name, value, &c.StartLimit.CPU)
		case "--start-pressure-io":
			err = percentOpt(name, value, &c.StartLimit.IO)
		case "-s", "--system":
			c.System = true
		case "-m", "--system-mgr":
			c.SystemMgr = true
		case "-u", "--user":
			c.User = true
		case "-t", "--container", "-o":
			c.Container = true
		case "-q", "--quiet":
			c.Quiet = true
		case "--no-systemd-units":
			c.NoUnits = true
		case "-h", "--help":
			c.Help = true
		case "--version":
			c.Version = true
		case "--service":
			var v string
			if v, err = value(); err == nil {
				c.Services = append(c.Services, v)
			}
		default:
			if strings.HasPrefix(a, "-") && a != "-" {
				return c, fmt.Errorf("unknown option %s", a)
			}
			c.Services = append(c.Services, a)
		}
		if err != nil {
			return c, err
		}
	}
	if c.System && c.User {
		return c, fmt.Errorf("--system and --user exclude each other")
	}
	return c, nil
}

// intOpt reads a count (0 or more) for opt.
func intOpt(opt string, value func() (string, error), dst *int) error {
	v, err := value()
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("option %s: %q is not a count", opt, v)
	}
	*dst = n
	return nil
}

// durationOpt reads a duration for opt: Go's syntax (1m30s) or plain seconds.
func durationOpt(opt string, value func() (string, error), dst *time.Duration) error {
	v, err := value()
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil {
			return fmt.Errorf("option %s: %q is not a duration", opt, v)
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 {
		return fmt.Errorf("option %s: %q is negative", opt, v)
	}
	*dst = d
	return nil
}

// percentOpt reads a PSI threshold (a percentage, 0 to 100) for opt.
func percentOpt(opt string, value func() (string, error), dst *float64) error {
	v, err := value()
	if err != nil {
		return err
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || !(x >= 0 && x <= 100) {
		return fmt.Errorf("option %s: %q is not a percentage (0 to 100)", opt, v)
	}
	*dst = x
	return nil
}

// printInfo prints what --help or --version asked for and reports whether
// ginit is done. Process 1 never is: its exit would panic the kernel, and
// the kernel passes its unknown command-line words to init.
func printInfo(c Config, pid1 bool, stdout io.Writer) bool {
	switch {
	case pid1:
		return false
	case c.Help:
		fmt.Fprint(stdout, Usage)
	case c.Version:
		fmt.Fprintln(stdout, version.Line("ginit"))
	default:
		return false
	}
	return true
}

// cleanCgroupPath checks a -b path: relative to the root of the unified
// hierarchy with or without a leading "/", and never above it.
func cleanCgroupPath(opt, v string) (string, error) {
	if v == "" {
		return "", fmt.Errorf("option %s: an empty cgroup path (the root is \"/\")", opt)
	}
	rel := strings.Trim(v, "/")
	for _, el := range strings.Split(rel, "/") {
		if el == ".." || el == "." {
			return "", fmt.Errorf("option %s: %q: a cgroup path may not contain %q", opt, v, el)
		}
	}
	if strings.Contains(rel, "//") || strings.ContainsRune(rel, 0) || strings.ContainsRune(rel, '\n') {
		return "", fmt.Errorf("option %s: %q is not a cgroup path", opt, v)
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
		// The kernel passes its command line words to init; only service
		// names given with --service count, except `single`.
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
