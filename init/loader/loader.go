package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"ginit/init/service"
)

// maxIncludeDepth bounds nested @include (a file including itself).
const maxIncludeDepth = 16

// Loader finds and parses service descriptions. Its fields are read only;
// a Loader may be used from several goroutines.
type Loader struct {
	// Dirs are the service directories, in search order.
	Dirs []string
	// Env looks a variable up in the daemon environment (initial env, -e
	// file, setenv). Nil means an empty environment.
	Env func(name string) (string, bool)
	// Log receives warnings (an unreadable .d directory). May be nil.
	Log service.Logger
	// PasswdFile and GroupFile are read to resolve user and group names;
	// empty means /etc/passwd and /etc/group.
	PasswdFile string
	GroupFile  string
	// Units resolves a name that no file in Dirs describes (systemd units:
	// init/sdunit). Nil: none.
	Units UnitSource
	// checkFiles (ginit-check) makes the parser also warn about the files
	// a description names: commands, working-dir, the logfile's directory.
	checkFiles bool
}

// UnitSource describes services from files of another format, asked only
// for names the service directories do not have, so a native description
// always wins.
type UnitSource interface {
	// Find says whether the source has name, and in which file.
	Find(name string) (file string, ok bool, err error)
	// Load reads name's description, sending warnings to log (may be
	// nil). With an error it may also return what it read (ginit-check).
	Load(name string, log service.Logger) (*service.Description, error)
}

// EnvMap adapts a map to Loader.Env.
func EnvMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// EnvList adapts KEY=VALUE pairs (later ones win) to Loader.Env.
func EnvList(env []string) func(string) (string, bool) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return EnvMap(m)
}

func (l *Loader) logf(format string, args ...any) {
	if l.Log != nil {
		l.Log.Printf(format, args...)
	}
}

func (l *Loader) passwdFile() string {
	if l.PasswdFile != "" {
		return l.PasswdFile
	}
	return "/etc/passwd"
}

func (l *Loader) groupFile() string {
	if l.GroupFile != "" {
		return l.GroupFile
	}
	return "/etc/group"
}

func (l *Loader) daemonEnv(name string) (string, bool) {
	if l.Env == nil {
		return "", false
	}
	return l.Env(name)
}

// ValidName checks a service name: non-empty, no leading '.', only
// alphanumerics, '.', '-', '_' and bytes >= 0x80, with an optional @argument
// (the argument may hold any byte except '/' and NUL).
func ValidName(name string) error {
	base, arg, isTmpl := strings.Cut(name, "@")
	if base == "" {
		return fmt.Errorf("invalid service name %q: empty", name)
	}
	if base[0] == '.' {
		return fmt.Errorf("invalid service name %q: starts with '.'", name)
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !(isKeyByte(c) || c >= 0x80) {
			return fmt.Errorf("invalid service name %q: character %q not allowed", name, c)
		}
	}
	if isTmpl && strings.ContainsAny(arg, "/\x00") {
		return fmt.Errorf("invalid service name %q: '/' or NUL in the argument", name)
	}
	if len(name) > 1021 {
		return fmt.Errorf("invalid service name %q: longer than 1021 bytes", clip(name))
	}
	return nil
}

// Sources asks each source in turn: the first that has a name describes it.
type Sources []UnitSource

// Find is the first source's answer that has name.
func (ss Sources) Find(name string) (string, bool, error) {
	for _, s := range ss {
		if p, ok, err := s.Find(name); ok || err != nil {
			return p, ok, err
		}
	}
	return "", false, nil
}

// Load loads name from the first source that has it.
func (ss Sources) Load(name string, log service.Logger) (*service.Description, error) {
	for _, s := range ss {
		if _, ok, err := s.Find(name); err != nil {
			return nil, err
		} else if ok {
			return s.Load(name, log)
		}
	}
	return nil, &NotFoundError{Name: name}
}

// Names lists the names of every source that can list them.
func (ss Sources) Names() []string {
	var out []string
	for _, s := range ss {
		if n, ok := s.(interface{ Names() []string }); ok {
			out = mergeNames(out, n.Names())
		}
	}
	return out
}

// find returns the description file for name: `name` in the first directory
// that has it; for an instance `base@arg` the file `base`, as dinit has it,
// or else `base@`.
func (l *Loader) find(name string) (string, error) {
	cands := []string{name}
	if base, _, ok := strings.Cut(name, "@"); ok {
		cands = []string{base, base + "@"}
	}
	for _, dir := range l.Dirs {
		for _, c := range cands {
			p := filepath.Join(dir, c)
			st, err := os.Stat(p)
			if err == nil {
				switch {
				case st.Mode().IsRegular():
					return p, nil
				case st.IsDir():
					continue
				}
				return "", &Error{File: p, Service: name, Err: notRegular(st.Mode())}
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", &Error{File: p, Service: name, Err: bare(err)}
			}
		}
	}
	return "", &NotFoundError{Name: name, Searched: l.Dirs}
}

// Load finds name in the service directories and parses it. It does not
// load dependencies.
func (l *Loader) Load(name string) (*service.Description, error) {
	d, _, err := l.load(name, nil)
	if err != nil {
		return nil, err // d may be partial (for ginit-check)
	}
	return d, nil
}

// load also returns the dependencies that came from .d directories, which
// may name services that do not exist. With an error in the description
// it returns what was read of it as well.
// strs, when not nil, is the table of words shared by the descriptions
// of one load (budget.strs).
func (l *Loader) load(name string, strs map[string]string) (*service.Description, map[string]bool, error) {
	if err := ValidName(name); err != nil {
		return nil, nil, &Error{Service: name, Err: err}
	}
	path, unit, err := l.locate(name)
	if err != nil {
		return nil, nil, err
	}
	if unit {
		d, err := l.Units.Load(name, l.Log)
		return d, nil, err
	}
	return l.parseFile(name, path, strs)
}

// locate is find, then the unit source for a name find does not have.
func (l *Loader) locate(name string) (path string, unit bool, err error) {
	path, err = l.find(name)
	if !IsNotFound(err) || l.Units == nil {
		return path, false, err
	}
	p, ok, uerr := l.Units.Find(name)
	switch {
	case uerr != nil:
		return "", false, &Error{File: p, Service: name, Err: uerr}
	case !ok:
		return "", false, err
	}
	return p, true, nil
}

// LoadAll loads name and, recursively, every service it depends on
// (depends-on, depends-ms, waits-for and their .d forms; before/after
// targets and chain-to are not loaded). It returns name's description
// first, or the first error. Missing services named only through .d
// directories are dropped with a warning, as dinit does.
func (l *Loader) LoadAll(name string) ([]*service.Description, error) {
	descs, err := l.closure([]string{name})
	if err != nil {
		return nil, err
	}
	m := make(map[string]*service.Description, len(descs))
	for _, d := range descs {
		m[d.Name] = d
	}
	if err := CheckAll(m); err != nil {
		return nil, err
	}
	return descs, nil
}

// closure loads names and their dependencies breadth first, up to the
// first error.
func (l *Loader) closure(names []string) ([]*service.Description, error) {
	var out []*service.Description
	seen := map[string]bool{}
	strs := map[string]string{}
	queue := append([]string(nil), names...)
	for _, n := range queue {
		seen[n] = true
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		d, optional, err := l.load(n, strs)
		if err != nil {
			return nil, err
		}
		l.dropMissingOptional(d, optional, func(n string) bool { return seen[n] })
		out = append(out, d)
		for _, e := range d.Deps {
			if isHard(e.Kind) && !seen[e.Name] {
				seen[e.Name] = true
				queue = append(queue, e.Name)
			}
		}
		// A timer's target is loaded with it: an elapse never reads files.
		switch {
		case d.Timer != nil && d.Timer.Run != nil:
			seen[d.Timer.Target] = true
			out = append(out, d.Timer.Run)
		case d.Timer != nil && !seen[d.Timer.Target]:
			seen[d.Timer.Target] = true
			queue = append(queue, d.Timer.Target)
		case d.Socket != nil && !d.Socket.Accept && !seen[d.Socket.Target]:
			// Likewise a socket's: a connection never reads files.
			seen[d.Socket.Target] = true
			queue = append(queue, d.Socket.Target)
		}
	}
	return out, nil
}

// dropMissingOptional drops, with a warning, the dependencies of d that
// came from a .d directory (optional) and name no service, as dinit does.
// known says which names are already known to exist or be loaded.
func (l *Loader) dropMissingOptional(d *service.Description, optional map[string]bool, known func(string) bool) {
	kept := d.Deps[:0:0]
	for _, e := range d.Deps {
		if optional[e.Name] && isHard(e.Kind) && !known(e.Name) {
			if _, _, err := l.locate(e.Name); IsNotFound(err) {
				l.logf("service '%s': dependency '%s' from a .d directory not found; ignored", d.Name, e.Name)
				continue
			}
		}
		kept = append(kept, e)
	}
	d.Deps = kept
}

func isHard(k service.DepKind) bool {
	return k == service.DepRegular || k == service.DepMilestone || k == service.DepWaitsFor
}

// readFragment reads a file and the files it @includes, within b.
func (l *Loader) readFragment(path string, pre lookupFunc, depth int, from *rawLine, b *budget) ([]rawLine, error) {
	// The top fragment's path comes from find, which has just seen it
	// regular; an included one is checked here.
	data, err := b.readFile(path, from == nil)
	if err != nil {
		if from != nil {
			return nil, &Error{File: from.file, Line: from.line, Err: fmt.Errorf("%s %s: %w", from.key, path, err)}
		}
		return nil, &Error{File: path, Err: err}
	}
	lines, err := splitLines(path, string(data), b)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(lines, func(rl rawLine) bool { return rl.key == "@include" || rl.key == "@include-opt" }) {
		return lines, nil // most files: no copy
	}
	out := make([]rawLine, 0, len(lines))
	for i := range lines {
		rl := lines[i]
		if rl.key != "@include" && rl.key != "@include-opt" {
			out = append(out, rl)
			continue
		}
		ws, err := words(rl.val, pre, b)
		if err != nil || len(ws) != 1 {
			if err == nil {
				err = fmt.Errorf("expected one path, got %q", rl.val)
			}
			return nil, &Error{File: rl.file, Line: rl.line, Err: fmt.Errorf("%s: %w", rl.key, err)}
		}
		inc := ws[0]
		if !filepath.IsAbs(inc) {
			inc = filepath.Join(filepath.Dir(path), inc)
		}
		if depth >= maxIncludeDepth {
			return nil, &Error{File: rl.file, Line: rl.line, Err: fmt.Errorf("%s: includes nested deeper than %d", rl.key, maxIncludeDepth)}
		}
		if rl.key == "@include-opt" {
			if _, err := os.Stat(inc); errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		sub, err := l.readFragment(inc, pre, depth+1, &rl, b)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// readDotD lists the service names in a .d directory (non-dot names,
// sorted). An unreadable directory is not fatal, nor is an entry that is
// neither a file nor a symbolic link (a named pipe, say): it is skipped.
func (l *Loader) readDotD(svc, dir string, b *budget) []string {
	ents, err := b.readDir(dir)
	if err != nil {
		l.logf("service '%s': cannot read %s: %v", svc, dir, err)
		return nil
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if t := e.Type(); !t.IsRegular() && t&fs.ModeSymlink == 0 {
			l.logf("service '%s': %s: %s is %s; ignored", svc, dir, e.Name(), fileKind(t))
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// readEnvFile reads NAME=VALUE lines into env (in file order, later wins),
// within b. Supported commands: !clear, !unset NAME..., !import NAME...
// (from the daemon environment).
func (l *Loader) readEnvFile(path string, env *envList, b *budget) error {
	data, err := b.readWith(path, openEnv)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	n := 0
	for text := range strings.Lines(string(data)) {
		n++
		line := strings.TrimSpace(text)
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '!' {
			f := strings.Fields(line[1:])
			if len(f) == 0 {
				return fmt.Errorf("%s:%d: empty command", path, n)
			}
			switch f[0] {
			case "clear":
				env.clear()
			case "unset":
				for _, k := range f[1:] {
					env.unset(k)
				}
			case "import":
				for _, k := range f[1:] {
					if v, ok := l.daemonEnv(k); ok {
						env.set(k, v)
					}
				}
			default:
				return fmt.Errorf("%s:%d: unknown command %q", path, n, "!"+f[0])
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || !validVarName(k) {
			return fmt.Errorf("%s:%d: expected NAME=VALUE, got %q", path, n, clip(line))
		}
		env.set(k, v)
	}
	return nil
}

func validVarName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// envList is an ordered set of variables.
type envList struct {
	keys []string
	vals map[string]string
}

func (e *envList) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *envList) unset(k string) {
	if _, ok := e.vals[k]; !ok {
		return
	}
	delete(e.vals, k)
	for i, x := range e.keys {
		if x == k {
			e.keys = append(e.keys[:i], e.keys[i+1:]...)
			break
		}
	}
}

func (e *envList) clear() { e.keys, e.vals = nil, nil }

func (e *envList) get(k string) (string, bool) { v, ok := e.vals[k]; return v, ok }

// ReadEnvFile reads a global environment file (ginit -e): NAME=VALUE lines,
// # comments, !clear, !unset NAME..., !import NAME... from base. It returns
// base with the file's changes applied, as KEY=VALUE.
func ReadEnvFile(path string, base []string) ([]string, error) {
	var env envList
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env.set(k, v)
		}
	}
	l := &Loader{Env: EnvList(base)}
	if err := l.readEnvFile(path, &env, newBudget()); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(env.keys))
	for _, k := range env.keys {
		out = append(out, k+"="+env.vals[k])
	}
	return out, nil
}

// DefaultDirs are the service directories used when none are given: for a
// user instance under $XDG_CONFIG_HOME (or ~/.config) and the shared user
// directories, else the system ones. The first holding a name wins, so the
// admin's /etc comes before /run and the shipped lib directories (where
// make install puts the descriptions), as in dinit and systemd.
func DefaultDirs(user bool, getenv func(string) string) []string {
	if !user {
		return []string{"/etc/ginit.d", "/etc/dinit.d", "/run/dinit.d",
			"/usr/local/lib/ginit.d", "/usr/local/lib/dinit.d", "/usr/lib/ginit.d", "/lib/dinit.d"}
	}
	// The user's own directory first, then the admin's, then the packaged
	// ones; ginit's names before dinit's, so that a dinit user directory
	// still works.
	var dirs []string
	config := getenv("XDG_CONFIG_HOME")
	if config == "" {
		if h := getenv("HOME"); h != "" {
			config = filepath.Join(h, ".config")
		}
	}
	if config != "" {
		dirs = append(dirs, filepath.Join(config, "ginit.d"), filepath.Join(config, "dinit.d"))
	}
	return append(dirs, "/etc/ginit.d/user", "/etc/dinit.d/user",
		"/usr/local/lib/ginit.d/user", "/usr/lib/ginit.d/user", "/usr/lib/dinit.d/user", "/usr/local/lib/dinit.d/user")
}
