package pid1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Logger is the minimal log this package writes to (service.Logger fits).
type Logger interface {
	Printf(format string, args ...any)
}

// MountEntry is one line of /proc/self/mountinfo (the fields we use).
type MountEntry struct {
	MountPoint string
	FSType     string
	Source     string
	Options    string // per-mount options, e.g. "rw,nosuid"
}

// ParseMountinfo reads mountinfo text. Octal escapes (\040 for a space) in
// paths are decoded.
func ParseMountinfo(r io.Reader) ([]MountEntry, error) {
	var out []MountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		// id parent maj:min root mountpoint options [optional...] - fstype source superopts
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 7 || sep < 0 || sep+2 >= len(f) {
			return out, fmt.Errorf("mountinfo:%d: malformed line", line)
		}
		out = append(out, MountEntry{
			MountPoint: unescapeOctal(f[4]),
			Options:    f[5],
			FSType:     f[sep+1],
			Source:     unescapeOctal(f[sep+2]),
		})
	}
	return out, sc.Err()
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOct(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }

// Mounter is the syscall surface EarlyMounts needs.
type Mounter interface {
	Mountinfo() ([]MountEntry, error)
	Mkdir(path string, mode os.FileMode) error
	Mount(source, target, fstype string, flags uintptr, data string) error
}

// earlyMount is one API filesystem PID 1 provides.
type earlyMount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	mode                   os.FileMode
}

// earlyMounts in order: /dev/pts and /dev/shm need /dev.
var earlyMountTable = []earlyMount{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", 0o555},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", 0o555},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755", 0o755},
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", 0o755},
	{"tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777", 0o1777},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755", 0o755},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "nsdelegate", 0o555},
}

// EarlyMounts mounts the API filesystems a bare boot lacks, each only if
// nothing is mounted there yet. Failures are logged and returned together;
// they are not fatal (the system may still come up far enough for a shell).
func EarlyMounts(log Logger) error { return earlyMountsWith(realSys{}, log) }

func earlyMountsWith(m Mounter, log Logger) error {
	mounted := map[string]bool{}
	// Before /proc exists mountinfo is unreadable; that just means nothing
	// is known to be mounted yet.
	if ents, err := m.Mountinfo(); err == nil {
		for _, e := range ents {
			mounted[e.MountPoint] = true
		}
	}
	var errs []error
	for _, em := range earlyMountTable {
		if mounted[em.target] {
			continue
		}
		if err := m.Mkdir(em.target, em.mode); err != nil && !errors.Is(err, os.ErrExist) {
			errs = append(errs, fmt.Errorf("mkdir %s: %w", em.target, err))
		}
		err := m.Mount(em.source, em.target, em.fstype, em.flags, em.data)
		if err != nil && em.fstype == "cgroup2" && em.data != "" {
			// Older kernels lack nsdelegate.
			err = m.Mount(em.source, em.target, em.fstype, em.flags, "")
		}
		if err != nil {
			err = fmt.Errorf("mount %s on %s: %w", em.fstype, em.target, err)
			log.Printf("pid1: %v", err)
			errs = append(errs, err)
			continue
		}
		mounted[em.target] = true
	}
	return errors.Join(errs...)
}
