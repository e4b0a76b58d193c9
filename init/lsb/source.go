package lsb

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/loader"
	"ginit/init/service"
)

// DebianDirs and BSDDirs are where the scripts are.
func DebianDirs() []string { return []string{"/etc/init.d"} }

// BSDDirs are the rc.d directories of the BSDs (base system, then ports).
func BSDDirs() []string { return []string{"/etc/rc.d", "/usr/local/etc/rc.d"} }

// Config says where scripts are and how to tell whether a dependency that
// no script provides exists elsewhere (a native description or a unit).
type Config struct {
	Dirs   []string
	Exists func(name string) bool
	// Facilities maps an LSB facility ($local_fs, …) onto the services
	// a script needing it starts after (an order only: a name not loaded
	// orders nothing); nil is BootFacilities.
	Facilities map[string][]string
}

// BootFacilities are the LSB facilities in ginit's boot (units/): the
// local file systems are rootfs-rw's (fsck, remount, mount -a), the
// remote ones fstab's (its network mounts come after networking), the
// network networking's, the log syslog's and the clock hwclock's.
func BootFacilities() map[string][]string {
	return map[string][]string{
		"$local_fs":  {"rootfs-rw"},
		"$remote_fs": {"rootfs-rw", "fstab"},
		"$network":   {"networking"},
		"$named":     {"networking"},
		"$syslog":    {"syslog"},
		"$time":      {"hwclock"},
		"$portmap":   {"rpcbind"},
	}
}

// Source loads init scripts; it implements loader.UnitSource. It keeps no
// state: each lookup reads the directories, so a script added is seen.
type Source struct{ cfg Config }

// New makes a Source.
func New(cfg Config) *Source { return &Source{cfg: cfg} }

// skipName says which files of an init.d directory are no service.
func skipName(n string) bool {
	switch n {
	case "README", "skeleton", "rc", "rcS", "rc.local", "functions", ".depend.boot", ".depend.start", ".depend.stop":
		return true
	}
	return strings.HasPrefix(n, ".") || strings.Contains(n, ".dpkg-") || strings.HasSuffix(n, "~") || loader.ValidName(n) != nil
}

// script is one init script with its header.
type script struct {
	name, path string
	h          Header
	err        error // a bad header
}

// scan reads every script's header, first directory winning a name.
func (s *Source) scan() []*script {
	var out []*script
	seen := map[string]bool{}
	for _, dir := range s.cfg.Dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if seen[n] || skipName(n) {
				continue
			}
			p := filepath.Join(dir, n)
			data, err := readScript(p)
			if err != nil {
				continue // not an executable regular file
			}
			seen[n] = true
			h, ok, herr := ParseHeader(data)
			if !ok && herr == nil {
				continue // no header: not a service script
			}
			out = append(out, &script{name: n, path: p, h: h, err: herr})
		}
	}
	return out
}

// readScript reads the head of an executable regular file, opened as the
// loader opens descriptions (loader.OpenRegular: a fifo swapped in after
// the check blocks nothing).
func readScript(p string) ([]byte, error) {
	f, st, err := loader.OpenRegular(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	defer f.Close()
	if st.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("%s is not executable", p)
	}
	return io.ReadAll(io.LimitReader(f, maxHeaderScan))
}

// lookup finds the script for a name: its file name, else a Provides.
func lookup(all []*script, name string) *script {
	for _, sc := range all {
		if sc.name == name {
			return sc
		}
	}
	for _, sc := range all {
		if slices.Contains(sc.h.Provides, name) {
			return sc
		}
	}
	return nil
}

// Aggregate is the service that starts every script the boot would run
// (LSB Default-Start in S or 2 to 5, or an rc.d script without KEYWORD
// nostart) and that no description or unit of the same name replaces.
const Aggregate = "initscripts"

// atBoot says whether rc would start the script at boot.
func atBoot(h Header) bool {
	if h.Kind == "rc.d" {
		return !slices.Contains(h.Keywords, "nostart")
	}
	for _, l := range h.DefaultOn {
		if l == "S" || l == "2" || l == "3" || l == "4" || l == "5" {
			return true
		}
	}
	return false
}

// enabled says whether the boot runs a Debian or rc.d script. Where the
// init.d directory has rcN.d siblings (update-rc.d made them from the
// header; `update-rc.d NAME disable` turned S links into K links), a start
// link S<nn>NAME in rcS.d or rc2.d to rc5.d enables the script; without
// those directories the header decides.
func enabled(sc *script) bool {
	dir := filepath.Dir(sc.path)
	if sc.h.Kind == "rc.d" || filepath.Base(dir) != "init.d" {
		return atBoot(sc.h)
	}
	hasLinks := false
	for _, l := range []string{"S", "2", "3", "4", "5"} {
		ents, err := os.ReadDir(filepath.Join(filepath.Dir(dir), "rc"+l+".d"))
		if err != nil {
			continue
		}
		hasLinks = true
		for _, e := range ents {
			n := e.Name()
			if len(n) > 3 && n[0] == 'S' && isDigit(n[1]) && isDigit(n[2]) && n[3:] == sc.name {
				return true
			}
		}
	}
	return !hasLinks && atBoot(sc.h)
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// Find says whether a script answers to name.
func (s *Source) Find(name string) (string, bool, error) {
	// The aggregate exists while there is a script directory to look in,
	// even an empty one, so the boot can wait for it on every machine.
	if name == Aggregate && len(s.cfg.Dirs) > 0 {
		return s.cfg.Dirs[0], true, nil
	}
	all := s.scan()
	if name == Aggregate && len(all) > 0 {
		return s.cfg.Dirs[0], true, nil
	}
	if sc := lookup(all, name); sc != nil {
		return sc.path, true, nil
	}
	return "", false, nil
}

// newDesc is a script's service with dinit's defaults, as the loader
// fills them.
func newDesc(name, path string) *service.Description {
	return &service.Description{
		Name: name, File: path,
		Type:         service.TypeScripted,
		Command:      []string{path, "start"},
		More:         &service.Extra{StopCommand: []string{path, "stop"}},
		Restart:      service.RestartNo,
		RestartDelay: 200 * time.Millisecond, RestartLimitInterval: 10 * time.Second, RestartLimitCount: 3,
		StartTimeout: 60 * time.Second, StopTimeout: 10 * time.Second,
		TermSignal:        int32(unix.SIGTERM),
		SocketPermissions: 0o666, SocketUID: -1, SocketGID: -1,
		LogType: service.LogTail, LogFilePermissions: 0o600, LogFileUID: -1, LogFileGID: -1, LogBufferSize: 4096,
	}
}

// Names lists the scripts' names.
func (s *Source) Names() []string {
	var out []string
	for _, sc := range s.scan() {
		out = append(out, sc.name)
	}
	if len(s.cfg.Dirs) > 0 {
		out = append(out, Aggregate)
	}
	sort.Strings(out)
	return out
}

// Load maps the script for name onto a scripted service.
func (s *Source) Load(name string, log service.Logger) (*service.Description, error) {
	all := s.scan()
	if name == Aggregate && len(s.cfg.Dirs) > 0 {
		return s.aggregate(all, log), nil
	}
	sc := lookup(all, name)
	if sc == nil {
		return nil, &loader.NotFoundError{Name: name, Searched: s.cfg.Dirs}
	}
	if sc.err != nil {
		e := &loader.Error{File: sc.path, Service: name, Err: sc.err}
		var he *HeaderError
		if errors.As(sc.err, &he) {
			e.Line, e.Err = he.Line, he.Err
		}
		return nil, e
	}
	warn := func(format string, a ...any) {
		if log != nil {
			log.Printf("%v", &loader.Error{File: sc.path, Service: name, Err: fmt.Errorf(format, a...)})
		}
	}
	d := newDesc(name, sc.path)
	d.Options.StartsOnConsole = sc.h.Interactive
	// resolve maps a header name onto a service: facilities ($local_fs,
	// $network, …) are ginit's own boot and dropped; another script's
	// Provides is that script; else a description or unit of the name.
	resolve := func(n string) (string, bool) {
		if strings.HasPrefix(n, "$") || n == sc.name || slices.Contains(sc.h.Provides, n) {
			return "", false
		}
		if o := lookup(all, n); o != nil {
			return o.name, true
		}
		if s.cfg.Exists != nil && s.cfg.Exists(n) {
			return n, true
		}
		return "", false
	}
	add := func(n string, k service.DepKind) {
		if !d.DependsOn(n, k) {
			d.Deps = append(d.Deps, service.Dep{Name: n, Kind: k})
		}
	}
	hard := service.DepRegular
	if sc.h.Kind == "rc.d" {
		// rcorder's REQUIRE orders; the names are often milestones
		// (FILESYSTEMS, NETWORKING): start them, tolerate their failure.
		hard = service.DepWaitsFor
	}
	facilities := s.cfg.Facilities
	if facilities == nil {
		facilities = BootFacilities()
	}
	after := func(names []string) {
		for _, n := range names {
			for _, f := range facilities[n] {
				if f != sc.name {
					add(f, service.DepAfter)
				}
			}
		}
	}
	after(sc.h.Requires)
	after(sc.h.Should)
	for _, n := range sc.h.Requires {
		if r, ok := resolve(n); ok {
			add(r, hard)
		} else if !strings.HasPrefix(n, "$") && n != sc.name {
			warn("dependency %q is provided by no script, description or unit; dropped", n)
		}
	}
	for _, n := range sc.h.Should {
		if r, ok := resolve(n); ok {
			add(r, service.DepAfter)
		}
	}
	for _, n := range sc.h.Before {
		if r, ok := resolve(n); ok {
			add(r, service.DepBefore)
		}
	}
	for _, k := range sc.h.Keywords {
		if k == "nostart" {
			warn("KEYWORD nostart: rc would not start it at boot; ginit starts it only when asked")
		}
	}
	if err := stillExecutable(sc.path); err != nil {
		return nil, &loader.Error{File: sc.path, Service: name, Err: err}
	}
	return d, nil
}

// aggregate waits for every script the boot would run, by the script's
// own name, leaving out those a description or unit replaces.
func (s *Source) aggregate(all []*script, log service.Logger) *service.Description {
	d := newDesc(Aggregate, s.cfg.Dirs[0])
	d.Type, d.Command, d.More = service.TypeInternal, nil, nil // newDesc's StopCommand is all More held
	for _, sc := range all {
		if sc.err != nil || !enabled(sc) {
			continue
		}
		if s.replaced(sc) {
			continue // the usual case on Debian, no problem to report
		}
		d.Deps = append(d.Deps, service.Dep{Name: sc.name, Kind: service.DepWaitsFor})
	}
	return d
}

// replaced says whether a description or unit does a script's job: one
// of the script's name, or of a name it provides (Debian's hwclock.sh
// provides hwclock, which ginit's boot has).
func (s *Source) replaced(sc *script) bool {
	if s.cfg.Exists == nil {
		return false
	}
	return slices.ContainsFunc(append([]string{sc.name}, sc.h.Provides...), s.cfg.Exists)
}

// stillExecutable checks the script can still be run (it may have gone since scan).
func stillExecutable(p string) error {
	st, err := os.Stat(p)
	if err == nil && st.Mode().Perm()&0o111 == 0 {
		err = fmt.Errorf("%s is not executable", p)
	}
	return err
}
