package pid1

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/power"
)

// System is the syscall surface of FinalShutdown.
type System interface {
	Mountinfo() ([]MountEntry, error)
	Mount(source, target, fstype string, flags uintptr, data string) error
	Unmount(target string, flags int) error
	Kill(pid int, sig unix.Signal) error
	Reap()
	OthersAlive() bool
	Sync()
	Reboot(cmd int) error
	Sleep(d time.Duration)
	Now() time.Time
}

// ShutdownOptions tunes FinalShutdown; the zero value is the real thing.
type ShutdownOptions struct {
	Sys         System        // nil: the real syscalls
	TermTimeout time.Duration // wait after SIGTERM; zero: 5s
	// Container: we are not PID 1 of the machine (a system manager that is
	// not PID 1, or the caller knows better): do not reboot(2), return
	// after the filesystems are synced (the caller exits), and leave even
	// the root file system's superblock alone. Set whenever we are not
	// PID 1.
	Container bool
	// forever bounds the final loop in tests (0: loop forever).
	forever int
}

// FinalShutdown runs the last steps after the manager stopped every
// service: TERM every process, wait (bounded) for them to go, KILL the
// rest, sync, unmount what can be unmounted and make the rest read-only
// (innermost first, see unmountAll), sync, reboot(2). As PID 1 it never
// returns: if reboot(2) fails it logs and sleeps forever. A kind that ends
// no machine (power.None, power.Remain) powers off.
//
// It is for the machine's own init only: in a container or namespace the
// caller must not call it (DetectContainer), since kill(-1) and the
// mounts it sees may be shared with the host.
func FinalShutdown(kind power.Kind, log Logger) error {
	return finalShutdown(kind, log, ShutdownOptions{Container: os.Getpid() != 1})
}

// FinalShutdownWith is FinalShutdown with options (containers, tests).
func FinalShutdownWith(kind power.Kind, log Logger, o ShutdownOptions) error {
	return finalShutdown(kind, log, o)
}

func finalShutdown(kind power.Kind, log Logger, o ShutdownOptions) error {
	cmd, ok := kind.RebootCmd()
	if !ok {
		// A manager that ended without a machine kind (its context ended)
		// still takes the machine down: off is the safe end.
		kind = power.Poweroff
		cmd, _ = kind.RebootCmd()
	}
	sys := o.Sys
	if sys == nil {
		sys = realSys{}
	}
	wait := o.TermTimeout
	if wait <= 0 {
		wait = 5 * time.Second
	}
	log.Printf("pid1: final shutdown (%s): sending SIGTERM to all processes", kind)
	if err := sys.Kill(-1, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		log.Printf("pid1: kill(-1, TERM): %v", err)
	}
	deadline := sys.Now().Add(wait)
	for {
		sys.Reap()
		if !sys.OthersAlive() {
			break
		}
		if !sys.Now().Before(deadline) {
			log.Printf("pid1: processes left after %v: sending SIGKILL", wait)
			break
		}
		sys.Sleep(100 * time.Millisecond)
	}
	if err := sys.Kill(-1, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		log.Printf("pid1: kill(-1, KILL): %v", err)
	}
	sys.Reap()
	sys.Sync()
	errs := unmountAll(sys, log, !o.Container)
	sys.Sync()
	if o.Container {
		log.Printf("pid1: %s: not PID 1 of a machine, exiting instead of reboot(2)", kind)
		return errors.Join(errs...)
	}
	log.Printf("pid1: reboot(2): %s", kind)
	err := sys.Reboot(cmd)
	if err == nil {
		err = errors.New("returned") // success never returns; a fake may
	}
	log.Printf("pid1: reboot(2) %s failed: %v; halting here", kind, err)
	for i := 0; o.forever == 0 || i < o.forever; i++ {
		sys.Sleep(time.Hour)
	}
	return fmt.Errorf("reboot(2) %s: %w", kind, err)
}

// apiFS are kernel filesystems that are never unmounted or remounted (they
// hold no data and the kernel still needs some of them). The volatile
// ones (tmpfs, ramfs) are left alone too: there is nothing on them to
// protect, and their superblock may be mounted elsewhere.
var apiFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "cgroup2": true, "cgroup": true,
	"securityfs": true, "debugfs": true, "tracefs": true, "pstore": true, "efivarfs": true,
	"bpf": true, "configfs": true, "fusectl": true, "mqueue": true, "hugetlbfs": true,
	"autofs": true, "binfmt_misc": true, "rpc_pipefs": true, "tmpfs": true, "ramfs": true,
}

// unmountAll walks mountinfo from the last (innermost) entry to the first:
// each mount is unmounted when possible, otherwise made read-only with a
// bind remount, which changes this mount only. A plain MS_REMOUNT changes
// the superblock, and with it every other mount of the same file system,
// in every mount namespace (a host's volume bind-mounted into a
// container, a host's /dev/shm); only the root file system of the
// machine's own init (rootSuperblock) gets that, so that the kernel sees
// it clean. Mount points are tried once each.
func unmountAll(sys System, log Logger, rootSuperblock bool) []error {
	ents, err := sys.Mountinfo()
	if err != nil {
		log.Printf("pid1: mountinfo: %v", err)
		return []error{err}
	}
	var errs []error
	for i := len(ents) - 1; i >= 0; i-- {
		e := ents[i]
		if apiFS[e.FSType] {
			continue
		}
		root := e.MountPoint == "/"
		if !root {
			if err := sys.Unmount(e.MountPoint, 0); err == nil {
				continue
			}
		}
		if hasOpt(e.Options, "ro") {
			continue
		}
		flags, what := uintptr(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY), "bind-remount"
		if root && rootSuperblock {
			flags, what = unix.MS_REMOUNT|unix.MS_RDONLY, "remount"
		}
		if err := sys.Mount("", e.MountPoint, "", flags, ""); err != nil {
			err = fmt.Errorf("%s %s read-only: %w", what, e.MountPoint, err)
			log.Printf("pid1: %v", err)
			errs = append(errs, err)
		}
	}
	return errs
}

func hasOpt(opts, want string) bool {
	start := 0
	for i := 0; i <= len(opts); i++ {
		if i == len(opts) || opts[i] == ',' {
			if opts[start:i] == want {
				return true
			}
			start = i + 1
		}
	}
	return false
}
