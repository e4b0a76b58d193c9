package fstab

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/loader"
	"ginit/init/service"
	"ginit/internal/calendar"
)

// Aggregate is the service that starts every fstab entry without noauto.
// It exists even without an fstab (then it starts nothing), so the boot
// can wait for it on every machine.
const Aggregate = "fstab"

// AfterBoot is the boot service each mount is ordered after: ginit's
// rootfs-rw, which runs once fsck (units/fsck: fsck -A, the root first)
// has checked every local file system with a pass number, then mount -a.
// A mount service that starts at boot therefore finds its file system
// mounted and checks nothing; one started later (a noauto entry, or after
// an umount) checks its file system itself. Either way one path checks
// each file system. An order only: where no rootfs-rw is loaded it
// imposes nothing.
const AfterBoot = "rootfs-rw"

// Config says which fstab and which automount daemon.
type Config struct {
	Path      string // "" is /etc/fstab
	Automount string // the ginit-automount program; "" finds it next to ginit or in /sbin, /usr/sbin
}

// Source implements loader.UnitSource over an fstab; it keeps no state, so
// an edited fstab is seen at the next load.
type Source struct{ cfg Config }

// New makes a Source.
func New(cfg Config) *Source { return &Source{cfg: cfg} }

func (s *Source) path() string {
	if s.cfg.Path != "" {
		return s.cfg.Path
	}
	return "/etc/fstab"
}

// networkTypes are file systems that need the network.
var networkTypes = []string{"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "sshfs", "fuse.sshfs", "glusterfs",
	"ceph", "fuse.ceph", "davfs", "fuse.davfs", "9p", "afs", "ocfs2", "gfs", "gfs2"}

// entries reads and parses the fstab; a missing file has none.
func (s *Source) entries() ([]Entry, error) {
	p := s.path()
	f, _, err := loader.OpenRegular(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// managed says whether ginit makes a service of the entry: not the root
// (mounted before ginit runs), not swap, not a pseudo entry.
func managed(e Entry) bool {
	return e.File != "/" && e.File != "none" && e.Type != "swap" && e.Type != "ignore"
}

func (s *Source) fail(e *Entry, name string, err error) error {
	le := &loader.Error{File: s.path(), Service: name, Err: err}
	var pe *LineError
	if errors.As(err, &pe) {
		le.Line, le.Err = pe.Line, pe.Err
	} else if e != nil {
		le.Line = e.Line
	}
	return le
}

// Find says whether the fstab has name: the aggregate, or an entry's
// mount unit name.
func (s *Source) Find(name string) (string, bool, error) {
	es, err := s.entries()
	if err != nil {
		return s.path(), false, err
	}
	if name == Aggregate {
		return s.path(), true, nil
	}
	for _, e := range es {
		if managed(e) && UnitName(e.File) == name {
			return s.path(), true, nil
		}
	}
	return "", false, nil
}

// Names lists the aggregate and every entry's name.
func (s *Source) Names() []string {
	out := []string{Aggregate}
	es, err := s.entries()
	if err != nil {
		return out
	}
	for _, e := range es {
		if managed(e) {
			out = append(out, UnitName(e.File))
		}
	}
	return out
}

func base(name string, file string) *service.Description {
	return &service.Description{
		Name: name, File: file, Type: service.TypeInternal, Restart: service.RestartNo,
		RestartDelay: 200 * time.Millisecond, RestartLimitInterval: 10 * time.Second, RestartLimitCount: 3,
		StartTimeout: 90 * time.Second, StopTimeout: 90 * time.Second, TermSignal: int32(unix.SIGTERM),
		SocketPermissions: 0o666, SocketUID: -1, SocketGID: -1,
		LogType: service.LogTail, LogFilePermissions: 0o600, LogFileUID: -1, LogFileGID: -1, LogBufferSize: 4096,
	}
}

// Load describes the aggregate or one mount.
func (s *Source) Load(name string, log service.Logger) (*service.Description, error) {
	es, err := s.entries()
	if err != nil {
		return nil, s.fail(nil, name, err)
	}
	warn := func(e *Entry, format string, a ...any) {
		if log != nil {
			log.Printf("%v", &loader.Error{File: s.path(), Line: e.Line, Service: name, Err: fmt.Errorf(format, a...)})
		}
	}
	if name == Aggregate {
		d := base(name, s.path())
		for i := range es {
			e := &es[i]
			if !managed(*e) {
				continue
			}
			// As systemd's fstab generator: noauto keeps mount -a (and
			// this) from mounting an entry, but an automount of one is
			// still set up (noauto,x-systemd.automount is the usual form).
			if _, noauto := e.Option("noauto"); noauto && !isAutomount(e) {
				continue
			}
			k := service.DepRegular
			if _, nofail := e.Option("nofail"); nofail {
				k = service.DepWaitsFor
			}
			d.Deps = append(d.Deps, service.Dep{Name: UnitName(e.File), Kind: k})
		}
		return d, nil
	}
	for i := range es {
		e := &es[i]
		if managed(*e) && UnitName(e.File) == name {
			d, err := s.mount(name, e, es, warn)
			if err != nil {
				return nil, s.fail(e, name, err)
			}
			return d, nil
		}
	}
	return nil, &loader.NotFoundError{Name: name, Searched: []string{s.path()}}
}

// mountOptions are the options mount(8) gets: without the ones for the
// service manager.
func mountOptions(e *Entry) string {
	var out []string
	for _, o := range e.Options {
		k, _, _ := strings.Cut(o, "=")
		switch {
		case strings.HasPrefix(k, "x-systemd."), strings.HasPrefix(k, "x-ginit."),
			k == "nofail", k == "noauto", k == "auto", k == "_netdev":
		default:
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return "defaults"
	}
	return strings.Join(out, ",")
}

func shQuote(w string) string { return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'" }

// mount describes one entry.
func (s *Source) mount(name string, e *Entry, all []Entry, warn func(*Entry, string, ...any)) (*service.Description, error) {
	d := base(name, s.path())
	d.Type = service.TypeScripted
	mountArgv := []string{"mount", "-t", e.Type, "-o", mountOptions(e), e.Spec, e.File}
	// Below the longest other mount point that holds this one.
	parent := ""
	for _, o := range all {
		if managed(o) && o.File != e.File && strings.HasPrefix(e.File, strings.TrimSuffix(o.File, "/")+"/") && len(o.File) > len(parent) {
			parent = o.File
		}
	}
	if parent != "" {
		d.Deps = append(d.Deps, service.Dep{Name: UnitName(parent), Kind: service.DepRegular})
	}
	d.Deps = append(d.Deps, service.Dep{Name: AfterBoot, Kind: service.DepAfter})
	_, netdev := e.Option("_netdev")
	if netdev || slices.Contains(networkTypes, e.Type) {
		// network is the usual name, networking ginit's boot's (units/).
		d.Deps = append(d.Deps, service.Dep{Name: "network", Kind: service.DepAfter}, service.Dep{Name: "networking", Kind: service.DepAfter})
	}
	for _, o := range e.Options {
		k, v, _ := strings.Cut(o, "=")
		var kind service.DepKind
		switch k {
		case "x-systemd.requires":
			kind = service.DepRegular
		case "x-systemd.wants":
			kind = service.DepWaitsFor
		case "x-systemd.after":
			kind = service.DepAfter
		case "x-systemd.before":
			kind = service.DepBefore
		case "x-systemd.requires-mounts-for":
			if v != "" {
				d.Deps = append(d.Deps, service.Dep{Name: UnitName(v), Kind: service.DepRegular})
			}
			continue
		default:
			if strings.HasPrefix(k, "x-systemd.") && k != "x-systemd.automount" && k != "x-systemd.idle-timeout" && k != "x-systemd.device-timeout" && k != "x-systemd.mount-timeout" {
				warn(e, "option %s ignored", k)
			}
			continue
		}
		n := strings.TrimSuffix(v, ".service")
		if loader.ValidName(n) != nil {
			return nil, fmt.Errorf("%s=%q: not a service name", k, v)
		}
		d.Deps = append(d.Deps, service.Dep{Name: n, Kind: kind})
	}
	if v, ok := e.Option("x-systemd.mount-timeout"); ok {
		t, err := span(v)
		if err != nil {
			return nil, fmt.Errorf("x-systemd.mount-timeout: %w", err)
		}
		d.StartTimeout = t
	}
	if isAutomount(e) {
		idle := time.Duration(0)
		if v, ok := e.Option("x-systemd.idle-timeout"); ok {
			t, err := span(v)
			if err != nil {
				return nil, fmt.Errorf("x-systemd.idle-timeout: %w", err)
			}
			idle = t
		}
		d.Type = service.TypeProcess
		// A dead daemon leaves the mount point answering nothing (the
		// kernel fails walks once the pipe is gone): ginit restarts it,
		// within the restart limit, and the new one takes over the
		// autofs mount left in place.
		d.Restart = service.RestartYes
		d.Command = append([]string{s.automount(), "--timeout", idle.String(), "--", e.File}, mountArgv...)
		d.StopTimeout = 10 * time.Second
		return d, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mountpoint -q %s && exit 0\n", shQuote(e.File))
	fmt.Fprintf(&b, "[ -d %s ] || mkdir -p %s || exit $?\n", shQuote(e.File), shQuote(e.File))
	if e.Pass > 0 && strings.HasPrefix(e.Spec, "/") || e.Pass > 0 && strings.Contains(e.Spec, "=") {
		// fsck: 0 clean, 1 errors corrected; anything else stops the mount.
		fmt.Fprintf(&b, "fsck -a %s; rc=$?; [ $rc -le 1 ] || { echo \"fsck %s: exit $rc\" >&2; exit $rc; }\n", shQuote(e.Spec), e.Spec)
	}
	q := make([]string, len(mountArgv))
	for i, w := range mountArgv {
		q[i] = shQuote(w)
	}
	b.WriteString("exec " + strings.Join(q, " ") + "\n")
	d.Command = []string{"/bin/sh", "-c", b.String(), name}
	d.ExtMut().StopCommand = []string{"umount", e.File}
	return d, nil
}

func isAutomount(e *Entry) bool {
	_, a := e.Option("x-systemd.automount")
	_, b := e.Option("x-ginit.automount")
	return a || b
}

// span reads a time span as fstab options give it: seconds, or systemd's
// span syntax (30s, 5min, 1h 30min).
func span(v string) (time.Duration, error) {
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return calendar.ParseDuration(v)
}

// automount finds ginit-automount: next to the running program (ginit
// installs them side by side), else in /sbin or /usr/sbin.
func (s *Source) automount() string {
	if s.cfg.Automount != "" {
		return s.cfg.Automount
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "ginit-automount")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, p := range []string{"/sbin/ginit-automount", "/usr/sbin/ginit-automount"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "ginit-automount"
}
