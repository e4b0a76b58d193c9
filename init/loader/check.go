package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"ginit/init/service"
)

// defaultPath is the search path of a command when the environment has no
// PATH (supervise uses the same).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// mergeNames adds the unit names that no service file already has.
func mergeNames(names, more []string) []string {
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for _, n := range more {
		if !seen[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// checkReport is what ginit-check found for one service.
type checkReport struct {
	name  string
	read  bool // its file was found and read (perhaps with errors)
	errs  []error
	warns []string
}

// allNames lists every service file of the directories (first directory
// wins), for ginit-check -a.
func (l *Loader) allNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, dir := range l.Dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // a missing default directory is normal; named ones fail on load
		}
		for _, e := range ents {
			n := e.Name()
			if seen[n] || ValidName(n) != nil || (!e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0) {
				continue
			}
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// checkSet loads names and everything they name, breadth first, and keeps
// going past every problem. A missing dependency is an error; a missing
// before/after, chain-to or consumer-of target is a warning on the service
// that names it (ginit runs without it). It returns a report per service in
// load order and the problems between services (cycles, consumer-of).
func (l *Loader) checkSet(names []string) ([]*checkReport, []error) {
	var reps []*checkReport
	byName := map[string]*checkReport{}
	descs := map[string]*service.Description{}
	var cur *checkReport
	cl := *l
	cl.checkFiles = true
	cl.Log = loggerFunc(func(format string, a ...any) {
		cur.warns = append(cur.warns, fmt.Sprintf(format, a...))
	})
	type item struct {
		name    string
		from    *service.Description // set for a target that need not exist
		setting string
	}
	queue := make([]item, 0, len(names))
	for _, n := range names {
		queue = append(queue, item{name: n})
	}
	for i := 0; i < len(queue); i++ {
		it := queue[i]
		if byName[it.name] != nil {
			continue
		}
		if it.from != nil {
			if _, _, err := cl.locate(it.name); IsNotFound(err) {
				r := byName[it.from.Name]
				r.warns = append(r.warns, (&Error{File: it.from.File, Setting: it.setting,
					Err: fmt.Errorf("service '%s' not found", it.name)}).Error())
				continue
			}
		}
		cur = &checkReport{name: it.name}
		reps = append(reps, cur)
		byName[it.name] = cur
		d, optional, err := cl.load(it.name, nil)
		if err != nil {
			cur.errs = flatten(err)
		}
		if d == nil {
			continue
		}
		cur.read = true
		descs[d.Name] = d
		cl.dropMissingOptional(d, optional, func(n string) bool { return byName[n] != nil })
		for _, e := range d.Deps {
			if isHard(e.Kind) {
				queue = append(queue, item{name: e.Name})
			} else {
				queue = append(queue, item{e.Name, d, e.Kind.String()})
			}
		}
		if d.Ext().ChainTo != "" {
			queue = append(queue, item{d.Ext().ChainTo, d, "chain-to"})
		}
		if d.Ext().ConsumerOf != "" {
			queue = append(queue, item{d.Ext().ConsumerOf, d, "consumer-of"})
		}
		if d.Timer != nil && d.Timer.Run == nil {
			queue = append(queue, item{name: d.Timer.Target}) // needed: the timer does not load without it
		}
		if d.Socket != nil && !d.Socket.Accept {
			queue = append(queue, item{name: d.Socket.Target}) // needed: the socket does not load without it
		}
	}
	var cross []error
	if err := CheckCycles(descs); err != nil {
		cross = append(cross, err)
	}
	cross = append(cross, consumerErrors(descs)...)
	return reps, cross
}

// flatten lists the problems of one load.
func flatten(err error) []error {
	var list ErrorList
	if errors.As(err, &list) {
		return list
	}
	return []error{err}
}

type loggerFunc func(format string, a ...any)

func (f loggerFunc) Printf(format string, a ...any) { f(format, a...) }

// ignoredWithoutProcess says whether a setting only matters to a service
// that runs a process, so that internal and triggered services ignore it.
// (options are looked at word by word; log-type only when not none.)
func ignoredWithoutProcess(key string) bool {
	switch key {
	case "command", "stop-command", "reload-command", "working-dir", "run-as", "socket-listen",
		"socket-permissions", "socket-uid", "socket-gid", "run-in-cgroup",
		"capabilities", "securebits", "inittab-id", "inittab-line", "logfile",
		"logfile-permissions", "logfile-uid", "logfile-gid", "log-buffer-size",
		"log-max-size", "nice", "ioprio", "oom-score-adj", "rlimit-nofile",
		"rlimit-core", "rlimit-data", "rlimit-addrspace", "umask", "chroot",
		"unshare", "memory-max", "pids-max", "cpu-weight", "ready-notification",
		"term-signal", "termsignal":
		return true
	}
	return false
}

// ignoredOptionWithoutProcess are the options dinit-check also flags on an
// internal or triggered service.
func ignoredOptionWithoutProcess(o string) bool {
	switch o {
	case "signal-process-only", "start-interruptible", "pass-cs-fd", "skippable", "no-new-privs":
		return true
	}
	return false
}

// lint warns, through the loader's Log, about settings that the service's
// type ignores and, for ginit-check (checkFiles), about files that would
// fail when the service starts. It runs after every line is applied and
// before validate drops the ignored commands. errs are the lines' errors:
// after a bad type line the type is unknown and not linted.
func (p *parser) lint(lines []rawLine, errs ErrorList) {
	d := p.d
	warn := func(rl *rawLine, format string, args ...any) {
		p.l.logf("%v", p.errf(rl, format, args...))
	}
	typeKnown := true
	for _, e := range errs {
		var le *Error
		if errors.As(e, &le) && le.Setting == "type" {
			typeKnown = false
		}
	}
	// A timer runs a process only when it has a command of its own.
	noProcess := d.Type == service.TypeInternal || d.Type == service.TypeTriggered ||
		d.Type == service.TypeTimer && len(d.Command) == 0
	if typeKnown {
		switch {
		case noProcess:
			seen := map[string]bool{}
			for i := range lines {
				rl := &lines[i]
				switch {
				case seen[rl.key]:
				case rl.key == "options":
					for _, o := range strings.Fields(rl.val) {
						if ignoredOptionWithoutProcess(o) && !seen["options "+o] {
							seen["options "+o] = true
							warn(rl, "%s ignored for type %s (it runs no process)", o, d.Type)
						}
					}
				case ignoredWithoutProcess(rl.key) || (rl.key == "log-type" && d.LogType != service.LogNone):
					seen[rl.key] = true
					hint := ""
					if (rl.key == "command" || rl.key == "stop-command") && !hasLine(lines, "type") {
						hint = "; it is the default type, set type = process?"
					}
					warn(rl, "ignored for type %s (it runs no process%s)", d.Type, hint)
				}
			}
		case d.Type == service.TypeScripted:
			if d.Ext().ReadyNotification != "" {
				warn(lastLine(lines, "ready-notification", d), "ignored for type scripted (only a process service signals readiness)")
			}
		}
		if d.Type != service.TypeInternal && d.Type != service.TypeTriggered &&
			p.logTypeSet && d.LogType != service.LogFile && d.Ext().LogFile != "" {
			warn(lastLine(lines, "logfile", d), "ignored: log-type is not file")
		}
	}
	if p.l.checkFiles {
		p.lintFiles(lines, warn)
	}
}

// lintFiles checks what the supervisor will need when the service starts:
// the commands (as supervise finds them: a name with a '/' relative to the
// working directory, a bare name through the service's PATH), the
// working-dir and the logfile's directory. It only stats: whether run-as's
// user may execute a file is not tried (that would need root), any
// execute bit will do.
func (p *parser) lintFiles(lines []rawLine, warn func(*rawLine, string, ...any)) {
	d := p.d
	under := func(path string) string {
		if d.Ext().Chroot == "" {
			return path
		}
		return filepath.Join(d.Ext().Chroot, path)
	}
	wd := d.Ext().WorkingDir
	if wd == "" {
		wd = filepath.Dir(d.File)
	} else if err := isDir(under(wd)); err != nil {
		warn(lastLine(lines, "working-dir", d), "%v", err)
	}
	path, ok := p.lookup("PATH")
	if !ok {
		path = defaultPath
	}
	for _, c := range []struct {
		key  string
		argv []string
	}{{"command", d.Command}, {"stop-command", d.Ext().StopCommand}} {
		if len(c.argv) == 0 {
			continue
		}
		if err := findExecutable(c.argv[0], wd, path, under); err != nil {
			warn(lastLine(lines, c.key, d), "%v", err)
		}
	}
	for i, argv := range d.Ext().ReloadCommand {
		if err := findExecutable(argv[0], wd, path, under); err != nil {
			warn(nthLine(lines, "reload-command", i), "%v", err)
		}
	}
	if d.Ext().LogFile != "" && (d.LogType == service.LogFile || !p.logTypeSet) {
		if err := isDir(filepath.Dir(d.Ext().LogFile)); err != nil {
			warn(lastLine(lines, "logfile", d), "directory of %s: %v", d.Ext().LogFile, err)
		}
	}
}

func hasLine(lines []rawLine, key string) bool {
	for i := range lines {
		if lines[i].key == key {
			return true
		}
	}
	return false
}

// nthLine is the line that started the n-th (0-based) reload-command.
func nthLine(lines []rawLine, key string, n int) *rawLine {
	for i := range lines {
		if lines[i].key == key && lines[i].op != "+=" {
			if n == 0 {
				return &lines[i]
			}
			n--
		}
	}
	return nil
}

// lastLine is the line that set key last (a `+=` line only adds to it).
func lastLine(lines []rawLine, key string, d *service.Description) *rawLine {
	var found *rawLine
	for i := range lines {
		if lines[i].key == key && (lines[i].op != "+=" || found == nil) {
			found = &lines[i]
		}
	}
	if found == nil {
		found = &rawLine{file: d.File, key: key}
	}
	return found
}

// findExecutable finds cmd as the supervisor's exec would, in root (under).
func findExecutable(cmd, wd, path string, under func(string) string) error {
	if strings.Contains(cmd, "/") {
		if !filepath.IsAbs(cmd) {
			cmd = filepath.Join(wd, cmd) // exec runs in the working directory
		}
		return executableFile(under(cmd))
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(wd, dir)
		}
		if executableFile(under(filepath.Join(dir, cmd))) == nil {
			return nil
		}
	}
	return fmt.Errorf("%s not found in PATH (%s)", cmd, path)
}

func executableFile(p string) error {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return fmt.Errorf("cannot stat %s: %w", p, bare(err))
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", p)
	case st.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable (mode %04o)", p, st.Mode().Perm())
	}
	return nil
}

func isDir(p string) error {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return fmt.Errorf("cannot stat %s: %w", p, bare(err))
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory", p)
	}
	return nil
}
