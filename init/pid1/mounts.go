package pid1

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"ginit/internal/mountinfo"
)

// Logger is the minimal log this package writes to (service.Logger fits).
type Logger interface {
	Printf(format string, args ...any)
}

// MountEntry is one line of /proc/self/mountinfo.
type MountEntry = mountinfo.Entry

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
