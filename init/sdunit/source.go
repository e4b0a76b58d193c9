package sdunit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"ginit/init/fstab"
	"ginit/init/loader"
	"ginit/init/lsb"
	"ginit/init/service"
)

// SystemDirs are systemd's system unit paths, most specific first (the
// admin's /etc before generated /run before what packages ship).
func SystemDirs() []string {
	return []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}
}

// Fallback is what ginit and ginit-check ask for a name no description
// has: the systemd units of unitDirs, then the init scripts of scriptDirs
// (their dependencies may name units, descriptions in serviceDirs, or other
// scripts), then the entries of fstabPath ("" for none).
func Fallback(serviceDirs, unitDirs, scriptDirs []string, fstabPath string) loader.UnitSource {
	units := New(Config{Dirs: unitDirs})
	exists := func(n string) bool {
		if _, ok, _ := units.Find(n); ok {
			return true
		}
		for _, dir := range serviceDirs {
			if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
				return true
			}
		}
		return false
	}
	srcs := loader.Sources{units, lsb.New(lsb.Config{Dirs: scriptDirs, Exists: exists})}
	if fstabPath != "" {
		srcs = append(srcs, fstab.New(fstab.Config{Path: fstabPath}))
	}
	return srcs
}

// Config says where units are and how names outside a unit are resolved.
type Config struct {
	// Dirs are the unit directories in search order.
	Dirs []string
	// PasswdFile resolves User= for %h, %U and setpriv; "" is /etc/passwd.
	PasswdFile string
	// Hostname gives %H; nil reads os.Hostname.
	Hostname func() (string, error)
	// Setpriv is the program that drops to User= inside a generated start
	// script; "" looks in /usr/bin and /bin.
	Setpriv string
	// BusNameHelper is ginit-busname, which makes a Type=dbus service
	// ready when its BusName= has an owner; "" is the one beside the
	// running program, else /usr/sbin/ginit-busname.
	BusNameHelper string
}

// Source loads systemd units; it implements loader.UnitSource. Its fields
// are read only, so one Source may serve several goroutines.
type Source struct {
	cfg Config
}

// New makes a Source over cfg.
func New(cfg Config) *Source { return &Source{cfg: cfg} }

// Unit suffixes ginit maps; everything else (.mount, .device, .slice, …)
// names something ginit does not manage; a .timer is one of ginit's timers.
const (
	sufService = ".service"
	sufSocket  = ".socket"
	sufTarget  = ".target"
	sufTimer   = ".timer"
)

// UnitName is the unit file a ginit service name resolves to: the name
// itself when it has a unit suffix ginit maps, else NAME.service.
func UnitName(name string) string {
	for _, s := range []string{sufService, sufSocket, sufTarget, sufTimer} {
		if strings.HasSuffix(name, s) && len(name) > len(s) {
			return name
		}
	}
	return name + sufService
}

// serviceName is the ginit name a dependency on unit u uses: a service
// without its suffix (so "ssh" and "ssh.service" are one record), other
// units as they are.
func serviceName(u string) string {
	if n, ok := strings.CutSuffix(u, sufService); ok && n != "" {
		return n
	}
	return u
}

// splitTemplate gives a unit name's prefix, instance and whether it is an
// instance ("getty@tty1.service" → "getty", "tty1", true).
func splitTemplate(unitName string) (prefix, instance, suffix string, isInst bool) {
	dot := strings.LastIndexByte(unitName, '.')
	base, suffix := unitName[:dot], unitName[dot:]
	prefix, instance, isInst = strings.Cut(base, "@")
	return prefix, instance, suffix, isInst
}

// Find returns the unit file for a ginit service name, if any unit
// directory has one. A masked unit is found (Load then refuses it).
func (s *Source) Find(name string) (string, bool, error) {
	if loader.ValidName(name) != nil {
		return "", false, nil
	}
	p, err := s.findUnit(UnitName(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, nil
		}
		return "", false, err
	}
	return p, true, nil
}

// findUnit finds a unit file: the name itself, or an instance's template.
func (s *Source) findUnit(u string) (string, error) {
	cands := []string{u}
	if prefix, inst, suf, ok := splitTemplate(u); ok && inst != "" {
		cands = append(cands, prefix+"@"+suf)
	}
	for _, c := range cands {
		for _, dir := range s.cfg.Dirs {
			p := filepath.Join(dir, c)
			st, err := os.Lstat(p)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return "", &loader.Error{File: p, Err: err}
			}
			if st.Mode()&fs.ModeSymlink != 0 {
				if t, err := filepath.EvalSymlinks(p); err == nil && t == os.DevNull {
					return p, nil // masked: Load says so
				}
			}
			if st, err := os.Stat(p); err != nil || st.IsDir() {
				continue // a dangling link or a directory is no unit
			}
			return p, nil
		}
	}
	return "", fs.ErrNotExist
}

// exists says whether a ginit name has a unit, or a file of that name in
// one of the directories (the -d directories come first in Dirs, so a
// native description counts).
func (s *Source) exists(name string) bool {
	if _, err := s.findUnit(UnitName(name)); err == nil {
		return true
	}
	for _, dir := range s.cfg.Dirs {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// Names lists every unit in the directories that a ginit name can load:
// services (not bare templates), sockets and targets, first directory
// winning, as ginit service names, sorted.
func (s *Source) Names() []string {
	seen := map[string]bool{}
	var out []string
	for _, dir := range s.cfg.Dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() || strings.HasSuffix(n, "@"+sufService) || !strings.HasSuffix(n, sufService) {
				continue
			}
			g := serviceName(n)
			if !seen[g] && loader.ValidName(g) == nil {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Load reads the unit for name and its drop-ins into a description.
// Warnings (keys ignored, conditions not evaluated) go to log with the file
// and line; refused keys and bad values are errors, every one of them, as a
// loader.ErrorList of *loader.Error.
func (s *Source) Load(name string, log service.Logger) (*service.Description, error) {
	if err := loader.ValidName(name); err != nil {
		return nil, &loader.Error{Service: name, Err: err}
	}
	u := UnitName(name)
	if _, inst, _, isInst := splitTemplate(u); isInst && inst == "" {
		return nil, &loader.Error{Service: name, Err: fmt.Errorf("%s is a template: start an instance (NAME@INSTANCE)", u)}
	}
	path, err := s.findUnit(u)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &loader.NotFoundError{Name: name, Searched: s.cfg.Dirs}
		}
		return nil, err
	}
	if t, err := filepath.EvalSymlinks(path); err == nil && t == os.DevNull {
		return nil, &loader.Error{File: path, Service: name, Err: errMasked}
	}
	opts, err := s.readUnit(u, path)
	if err != nil {
		return nil, withService(err, name)
	}
	t := newTranslator(s, name, u, path, log)
	var d *service.Description
	switch {
	case strings.HasSuffix(u, sufService):
		d = t.service(opts)
	case strings.HasSuffix(u, sufSocket):
		d = t.socketUnit(opts)
	case strings.HasSuffix(u, sufTimer):
		d = t.timerUnit(opts)
	default:
		d = t.target(opts)
	}
	if len(t.errs) > 0 {
		return d, t.errs
	}
	return d, nil
}

func withService(err error, name string) error {
	var le *loader.Error
	if errors.As(err, &le) && le.Service == "" {
		le.Service = name
	}
	return err
}

// readUnit reads the unit file and then its drop-ins: NAME.d/*.conf of the
// unit, of its template and of its type ("service.d"), from every
// directory; a drop-in name in an earlier directory hides the same name in
// later ones, and all are applied in name order, as systemd does.
func (s *Source) readUnit(u, path string) ([]option, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, &loader.Error{File: path, Err: err}
	}
	opts, err := parseOptions(path, data)
	if err != nil {
		return nil, err
	}
	dropDirs := []string{u + ".d"}
	prefix, inst, suf, isInst := splitTemplate(u)
	if isInst && inst != "" {
		dropDirs = append(dropDirs, prefix+"@"+suf+".d")
	}
	dropDirs = append(dropDirs, strings.TrimPrefix(suf, ".")+".d")
	byName := map[string]string{}
	for _, dd := range dropDirs {
		for _, dir := range s.cfg.Dirs {
			ents, err := os.ReadDir(filepath.Join(dir, dd))
			if err != nil {
				continue
			}
			for _, e := range ents {
				n := e.Name()
				if !strings.HasSuffix(n, ".conf") || byName[n] != "" {
					continue
				}
				byName[n] = filepath.Join(dir, dd, n)
			}
		}
	}
	if len(byName) > maxDropIns {
		return nil, &loader.Error{File: path, Err: fmt.Errorf("more than %d drop-ins: %w", maxDropIns, loader.ErrTooLarge)}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := byName[n]
		if t, err := filepath.EvalSymlinks(p); err == nil && t == os.DevNull {
			continue // a masked drop-in is no drop-in
		}
		data, err := readFile(p)
		if err != nil {
			return nil, &loader.Error{File: p, Err: err}
		}
		more, err := parseOptions(p, data)
		if err != nil {
			return nil, err
		}
		if len(opts)+len(more) > maxOptions {
			return nil, &loader.Error{File: p, Err: fmt.Errorf("more than %d assignments: %w", maxOptions, loader.ErrTooLarge)}
		}
		opts = append(opts, more...)
	}
	return opts, nil
}

// wants lists the units linked in TARGET.wants (and .requires) in every
// unit directory, as ginit names, with whether each is required.
func (s *Source) wants(target string) (names []string, required map[string]bool) {
	required = map[string]bool{}
	seen := map[string]bool{}
	for _, kind := range []string{".requires", ".wants"} {
		for _, dir := range s.cfg.Dirs {
			ents, err := os.ReadDir(filepath.Join(dir, target+kind))
			if err != nil {
				continue
			}
			for _, e := range ents {
				n := e.Name()
				// Sockets and timers are linked too (sockets.target,
				// timers.target); other targets, mounts and paths are
				// nothing ginit runs.
				if !(strings.HasSuffix(n, sufService) || strings.HasSuffix(n, sufSocket) || strings.HasSuffix(n, sufTimer)) || seen[n] {
					continue
				}
				seen[n] = true
				g := serviceName(n)
				names = append(names, g)
				required[g] = kind == ".requires"
			}
		}
	}
	sort.Strings(names)
	return names, required
}
