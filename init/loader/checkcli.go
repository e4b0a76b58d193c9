package loader

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"ginit/internal/i18n"
	"ginit/internal/opts"
	"ginit/internal/version"
)

// checkArgs is ginit-check's command line.
type checkArgs struct {
	dirs, names  []string
	unitDirs     []string
	initDirs     []string
	fstab        string
	noUnits      bool
	envFile      string
	system, user bool
	all, help    bool
	version      bool
}

// checkFlags declares ginit-check's options (those of ginit that choose
// what is read, and dinit-check's).
func checkFlags(p *i18n.Printer) (*checkArgs, *pflag.FlagSet) {
	a := &checkArgs{}
	fs := opts.New("ginit-check")
	opts.Switch(fs, &a.system, "system", "s", p.T("system defaults (directories, /etc/ginit/environment)"))
	opts.Switch(fs, &a.user, "user", "u", p.T("user defaults (the default when not run by root)"))
	opts.NewFunc(fs, "services-dir", "d", p.T("DIR"), p.T("a service directory (repeatable)"),
		func(v string) error {
			if v == "" {
				return opts.Invalid(p.T("an empty directory name"))
			}
			a.dirs = append(a.dirs, v)
			return nil
		})
	opts.NewFunc(fs, "env-file", "e", p.T("FILE"), p.T("the global environment file"),
		func(v string) error {
			if v == "" {
				return opts.Invalid(p.T("an empty file name"))
			}
			a.envFile = v
			return nil
		})
	opts.Switch(fs, &a.all, "all", "a", p.T("check every service file in the directories (and every systemd .service unit, when units are read)"))
	opts.NewFunc(fs, "unit-dir", "U", p.T("DIR"), p.T("a systemd unit directory (repeatable; default in system mode: the -d directories, then /etc/systemd/system, /run/systemd/system, /lib/systemd/system, /usr/lib/systemd/system)"),
		func(v string) error {
			if v == "" {
				return opts.Invalid(p.T("an empty directory name"))
			}
			a.unitDirs = append(a.unitDirs, v)
			return nil
		})
	opts.NewFunc(fs, "init-dir", "I", p.T("DIR"), p.T("an init script directory, LSB or rc.d (repeatable; default in system mode: /etc/init.d, /etc/rc.d, /usr/local/etc/rc.d)"),
		func(v string) error {
			if v == "" {
				return opts.Invalid(p.T("an empty directory name"))
			}
			a.initDirs = append(a.initDirs, v)
			return nil
		})
	fs.StringVar(&a.fstab, "fstab", "", p.T("also check the mounts of this fstab `FILE` (services fstab and PATH.mount)"))
	opts.Switch(fs, &a.noUnits, "no-systemd-units", "", p.T("read neither systemd units nor init scripts"))
	var ignored bool
	opts.Switch(fs, &ignored, "offline", "o", p.T("read the files (the only mode; accepted for symmetry)"))
	online := func(string) error {
		return opts.Invalid(p.T("ginit-check only reads the service files (no --online mode)"))
	}
	fs.BoolFuncP("online", "n", "", online)
	fs.Lookup("online").Hidden = true
	opts.NewFunc(fs, "socket-path", "p", "PATH", "", online)
	fs.Lookup("socket-path").Hidden = true
	opts.Switch(fs, &a.help, "help", "h", p.T("print this text"))
	opts.Switch(fs, &a.version, "version", "", p.T("print the release and the commit"))
	return a, fs
}

func parseCheckArgs(args []string, p *i18n.Printer) (checkArgs, error) {
	a, fs := checkFlags(p)
	if err := opts.Parse(fs, args, p); err != nil {
		return *a, err
	}
	a.names = fs.Args()
	switch {
	case a.system && a.user:
		return *a, p.Errorf("--system and --user exclude each other")
	case a.all && len(a.names) > 0:
		return *a, p.Errorf("--all and service names exclude each other")
	}
	return *a, nil
}

func checkHelp(p *i18n.Printer) string {
	var b strings.Builder
	_, fs := checkFlags(p)
	opts.Help(&b, p, p.T("ginit-check [OPTION]... [SERVICE]..."),
		p.T("Load each SERVICE (default: boot) and everything it names (dependencies,\nbefore/after, chain-to, consumer-of), or with -a every service in the\ndirectories, and report every error (FILE:LINE: setting 'NAME': problem),\nmissing service and dependency cycle, and warnings: settings the service's\ntype ignores, commands that cannot be executed, missing directories."),
		fs, p.T("Exit status: 0 no problems, 1 errors or warnings, 2 usage error."))
	return b.String()
}

// CheckMain is ginit-check without systemd units: it returns the exit
// status. uid decides the default mode, as for ginit.
func CheckMain(args []string, stdout, stderr io.Writer, environ []string, uid int) int {
	return CheckMainUnits(args, stdout, stderr, environ, uid, nil)
}

// CheckMainUnits is ginit-check; units makes the source of systemd units
// and init scripts over the service, unit and script directories (nil:
// none, and -U and -I are errors). environ is the environment the
// services' substitutions and the locale variables come from.
func CheckMainUnits(args []string, stdout, stderr io.Writer, environ []string, uid int, units func(serviceDirs, unitDirs, scriptDirs []string, fstab string) UnitSource) int {
	getenv := func(k string) string { v, _ := EnvList(environ)(k); return v }
	p := i18n.ForEnv(getenv)
	usage := func(err error) int {
		fmt.Fprintf(stderr, "ginit-check: %v\n", err)
		p.Fprintf(stderr, "Try '%s --help' for more information.\n", "ginit-check")
		return 2
	}
	a, err := parseCheckArgs(args, p)
	if err != nil {
		return usage(err)
	}
	if a.help {
		fmt.Fprint(stdout, checkHelp(p))
		return 0
	}
	if a.version {
		fmt.Fprintln(stdout, version.Line("ginit-check"))
		return 0
	}
	if len(a.unitDirs)+len(a.initDirs) > 0 && (units == nil || a.noUnits) {
		return usage(p.Errorf("--unit-dir, --init-dir: systemd units and init scripts are not read here"))
	}
	user := a.user || (!a.system && uid != 0)
	var unitDirs, initDirs []string
	readUnits := !a.noUnits && units != nil && (!user || len(a.unitDirs)+len(a.initDirs) > 0 || a.fstab != "")
	if readUnits {
		// As ginit: the -d directories, then systemd's unit paths; the
		// init script directories. Naming one kind only reads that kind.
		unitDirs, initDirs = a.unitDirs, a.initDirs
		if len(unitDirs) == 0 && len(initDirs) == 0 {
			unitDirs = append(append(unitDirs, a.dirs...), "/etc/systemd/system", "/run/systemd/system",
				"/lib/systemd/system", "/usr/lib/systemd/system")
			initDirs = []string{"/etc/init.d", "/etc/rc.d", "/usr/local/etc/rc.d"}
			if !user && a.fstab == "" {
				// As ginit: the system's fstab (the boot waits for
				// its service).
				a.fstab = "/etc/fstab"
			}
		}
	}
	if len(a.dirs) == 0 {
		a.dirs = DefaultDirs(user, getenv)
	}
	if a.envFile == "" && !user {
		// As ginit: the system environment file when there is one.
		if _, err := os.Stat("/etc/ginit/environment"); err == nil {
			a.envFile = "/etc/ginit/environment"
		}
	}
	env := environ
	if a.envFile != "" {
		if env, err = ReadEnvFile(a.envFile, environ); err != nil {
			fmt.Fprintf(stdout, "%s %s\n", p.T("error:"), p.Tf("env-file %s: %v", a.envFile, err))
			return 1
		}
	}
	l := &Loader{Dirs: a.dirs, Env: EnvList(env)}
	if readUnits {
		l.Units = units(a.dirs, unitDirs, initDirs, a.fstab)
	}
	names := a.names
	if a.all {
		names = l.allNames()
		if n, ok := l.Units.(interface{ Names() []string }); ok {
			names = mergeNames(names, n.Names())
		}
	} else if len(names) == 0 {
		names = []string{"boot"}
	}
	reps, cross := l.checkSet(names)
	nerr, nwarn, loaded := len(cross), 0, 0
	for _, r := range reps {
		if r.read {
			loaded++
		}
		for _, e := range r.errs {
			fmt.Fprintf(stdout, "%s %v\n", p.T("error:"), e)
		}
		for _, w := range r.warns {
			fmt.Fprintf(stdout, "%s %s\n", p.T("warning:"), w)
		}
		nerr += len(r.errs)
		nwarn += len(r.warns)
	}
	for _, e := range cross {
		fmt.Fprintf(stdout, "%s %v\n", p.T("error:"), e)
	}
	fmt.Fprintln(stdout, p.Tf("%d service(s) loaded, %d error(s), %d warning(s)", loaded, nerr, nwarn))
	if nerr+nwarn > 0 {
		return 1
	}
	return 0
}
