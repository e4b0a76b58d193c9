package loader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"ginit/init/service"
)

const checkUsage = `usage: ginit-check [-d DIR]... [-e ENV-FILE] [service...]
  Loads each service (default: boot) and everything it depends on, and
  reports every error (file:line: setting: problem), missing service and
  dependency cycle, plus warnings for commands that cannot be executed.
  Exit status: 0 no errors, 1 errors found, 2 usage.
`

// CheckMain is ginit-check: it returns the exit status.
func CheckMain(args []string, stdout, stderr io.Writer, environ []string) int {
	var dirs, names []string
	envFile := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-d" || a == "--services-dir" || a == "-e" || a == "--env-file":
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "ginit-check: %s needs an argument\n%s", a, checkUsage)
				return 2
			}
			i++
			if a == "-d" || a == "--services-dir" {
				dirs = append(dirs, args[i])
			} else {
				envFile = args[i]
			}
		case a == "-h" || a == "--help":
			fmt.Fprint(stdout, checkUsage)
			return 0
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "ginit-check: unknown option %s\n%s", a, checkUsage)
			return 2
		default:
			names = append(names, a)
		}
	}
	if len(dirs) == 0 {
		dirs = DefaultDirs(false, func(string) string { return "" })
	}
	if len(names) == 0 {
		names = []string{"boot"}
	}
	env := environ
	if envFile != "" {
		e, err := ReadEnvFile(envFile, environ)
		if err != nil {
			fmt.Fprintf(stdout, "error: env-file %s: %v\n", envFile, err)
			return 1
		}
		env = e
	}
	var warns []string
	l := &Loader{Dirs: dirs, Env: EnvList(env), Log: loggerFunc(func(format string, a ...any) {
		warns = append(warns, fmt.Sprintf(format, a...))
	})}
	descs, errs := l.Check(names)
	for _, d := range descs {
		warns = append(warns, commandWarnings(d, env)...)
	}
	for _, w := range warns {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	var all []error
	for _, err := range errs {
		var list ErrorList
		if errors.As(err, &list) {
			all = append(all, list...)
		} else {
			all = append(all, err)
		}
	}
	errs = all
	for _, err := range errs {
		fmt.Fprintf(stdout, "error: %v\n", err)
	}
	fmt.Fprintf(stdout, "%d service(s) loaded, %d error(s), %d warning(s)\n", len(descs), len(errs), len(warns))
	if len(errs) > 0 {
		return 1
	}
	return 0
}

type loggerFunc func(format string, a ...any)

func (f loggerFunc) Printf(format string, a ...any) { f(format, a...) }

// commandWarnings reports commands that would fail at exec time.
func commandWarnings(d *service.Description, env []string) []string {
	var out []string
	for _, argv := range [][]string{d.Command, d.StopCommand} {
		if len(argv) == 0 || d.Chroot != "" {
			continue
		}
		if err := executable(argv[0], env); err != nil {
			out = append(out, fmt.Sprintf("%s: service '%s': command %s: %v", d.File, d.Name, argv[0], err))
		}
	}
	if d.WorkingDir != "" && d.Chroot == "" {
		if st, err := os.Stat(d.WorkingDir); err != nil || !st.IsDir() {
			out = append(out, fmt.Sprintf("%s: service '%s': working-dir %s is not a directory", d.File, d.Name, d.WorkingDir))
		}
	}
	return out
}

func executable(cmd string, env []string) error {
	check := func(p string) error {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is not executable", p)
		}
		return nil
	}
	if strings.Contains(cmd, "/") {
		return check(cmd)
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if check(filepath.Join(dir, cmd)) == nil {
			return nil
		}
	}
	return fmt.Errorf("not found in PATH")
}
