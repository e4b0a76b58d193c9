package pid1

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// The inode numbers the kernel gives the initial namespaces
// (PROC_USER_INIT_INO, PROC_PID_INIT_INO in include/linux/proc_ns.h); every
// other namespace gets one allocated from the nsfs range.
const (
	initUserNSIno = 0xEFFFFFFD
	initPIDNSIno  = 0xEFFFFFFC
)

// DetectEnv is what DetectContainer looks at; the zero value is not
// usable, see RealDetectEnv.
type DetectEnv struct {
	PID1 bool
	// Getenv is our own environment (PID 1's, when we are PID 1).
	Getenv func(string) string
	// ReadFile reads a file (/proc/1/environ).
	ReadFile func(string) ([]byte, error)
	// Exists reports whether a path exists (/.dockerenv).
	Exists func(string) bool
	// NSIno returns the inode number of a /proc/self/ns link.
	NSIno func(path string) (uint64, error)
	// Mounter mounts /proc when it is missing (a bare boot); nil: never.
	Mounter Mounter
}

// RealDetectEnv is DetectEnv on the live system.
func RealDetectEnv() DetectEnv {
	return DetectEnv{
		PID1:     os.Getpid() == 1,
		Getenv:   os.Getenv,
		ReadFile: os.ReadFile,
		Exists: func(p string) bool {
			_, err := os.Lstat(p)
			return err == nil
		},
		NSIno: func(p string) (uint64, error) {
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				return 0, err
			}
			return st.Ino, nil
		},
		Mounter: realSys{},
	}
}

// DetectContainer tells whether we run inside a container or a namespace
// of some other system rather than as the machine's own manager, and says
// which sign decided it ("" when none did). It looks, as systemd's
// detect-virt does, at the `container` variable of PID 1's environment,
// podman's /run/.containerenv and docker's /.dockerenv, and then at the
// namespaces themselves: a PID or user namespace other than the initial
// one belongs to a container, whatever launched it.
//
// As PID 1 of a bare boot /proc is not mounted yet; it is mounted here
// (EarlyMounts would mount it first anyway) so that the namespaces can be
// read.
func DetectContainer(env DetectEnv) string {
	if v := containerVar(env); v != "" {
		return fmt.Sprintf("environment variable container=%s", v)
	}
	for _, p := range []string{"/run/.containerenv", "/.dockerenv"} {
		if env.Exists(p) {
			return p + " exists"
		}
	}
	ino, err := env.NSIno("/proc/self/ns/pid")
	if err != nil && env.PID1 && env.Mounter != nil && errors.Is(err, os.ErrNotExist) {
		if merr := env.Mounter.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); merr == nil {
			ino, err = env.NSIno("/proc/self/ns/pid")
		}
	}
	if err == nil && ino != initPIDNSIno {
		return fmt.Sprintf("PID namespace is not the initial one (inode %d)", ino)
	}
	if ino, err := env.NSIno("/proc/self/ns/user"); err == nil && ino != initUserNSIno {
		return fmt.Sprintf("user namespace is not the initial one (inode %d)", ino)
	}
	return ""
}

// containerVar is $container of PID 1: our own as PID 1, otherwise read
// from /proc/1/environ (readable to root only; a user instance reads
// nothing and relies on the namespaces).
func containerVar(env DetectEnv) string {
	if env.PID1 {
		return env.Getenv("container")
	}
	b, err := env.ReadFile("/proc/1/environ")
	if err != nil {
		return ""
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := strings.CutPrefix(string(kv), "container="); ok {
			return v
		}
	}
	return ""
}
