package service

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"ginit/internal/mountinfo"
)

// OSConditions checks conditions against the running system. Every check
// is a stat, lstat, access, glob or the read of a small file of /proc or
// /run: nothing waits on a process or the network.
type OSConditions struct{}

// Check implements ConditionChecker.
func (OSConditions) Check(c Condition) (bool, error) {
	p := c.Arg
	switch c.Kind {
	case "PathExists":
		_, err := os.Stat(p)
		return err == nil, nil
	case "PathExistsGlob":
		m, err := filepath.Glob(p)
		return len(m) > 0, err
	case "PathIsDirectory":
		st, err := os.Stat(p)
		return err == nil && st.IsDir(), nil
	case "PathIsSymbolicLink":
		st, err := os.Lstat(p)
		return err == nil && st.Mode()&os.ModeSymlink != 0, nil
	case "PathIsMountPoint":
		return isMountPoint(p), nil
	case "PathIsReadWrite":
		var st unix.Statfs_t
		if unix.Statfs(p, &st) != nil {
			return false, nil
		}
		return st.Flags&unix.ST_RDONLY == 0, nil
	case "FileNotEmpty":
		st, err := os.Stat(p)
		return err == nil && st.Mode().IsRegular() && st.Size() > 0, nil
	case "DirectoryNotEmpty":
		f, err := os.Open(p)
		if err != nil {
			return false, nil
		}
		defer f.Close()
		names, _ := f.Readdirnames(1)
		return len(names) > 0, nil
	case "FileIsExecutable":
		st, err := os.Stat(p)
		return err == nil && st.Mode().IsRegular() && unix.Access(p, unix.X_OK) == nil, nil
	case "KernelCommandLine":
		b, err := os.ReadFile("/proc/cmdline")
		if err != nil {
			return false, err
		}
		return cmdlineHas(string(b), p), nil
	case "Virtualization":
		return virtMatches(container(), p), nil
	}
	return false, fmt.Errorf("condition %s is not evaluated", c.Kind)
}

// isMountPoint: p and its parent are on different devices, or p is
// listed as a mount point (a bind mount of the same device).
func isMountPoint(p string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(p, &a) != nil || unix.Lstat(filepath.Join(p, ".."), &b) != nil {
		return false
	}
	if a.Dev != b.Dev || a.Ino == b.Ino {
		return true
	}
	ents, err := mountinfo.Read()
	if err != nil {
		return false
	}
	return listedMount(ents, p)
}

// listedMount: p is the mount point of one of ents (mountinfo has decoded
// the escapes, so a path with a space matches).
func listedMount(ents []mountinfo.Entry, p string) bool {
	clean := filepath.Clean(p)
	for _, e := range ents {
		if e.MountPoint == clean {
			return true
		}
	}
	return false
}

// cmdlineHas: word is a whole word of the command line, or (without "=")
// the name of a NAME=VALUE word, as systemd matches.
func cmdlineHas(cmdline, word string) bool {
	for _, w := range strings.Fields(cmdline) {
		if w == word || !strings.Contains(word, "=") && strings.HasPrefix(w, word+"=") {
			return true
		}
	}
	return false
}

// container names the container manager ginit runs under, "" for none:
// /run/systemd/container as the manager writes it, else container= in
// the environment of pid 1.
func container() string {
	if b, err := os.ReadFile("/run/systemd/container"); err == nil {
		return strings.TrimSpace(string(b))
	}
	b, err := os.ReadFile("/proc/1/environ")
	if err != nil {
		return ""
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("container=")); ok {
			return string(v)
		}
	}
	return ""
}

// virtMatches: systemd's ConditionVirtualization for what ginit can tell
// (containers only): a boolean, "container", "none" or the manager's name.
func virtMatches(ctr, want string) bool {
	switch want {
	case "yes", "true", "1", "container":
		return ctr != ""
	case "no", "false", "0", "none":
		return ctr == ""
	}
	return ctr != "" && ctr == want
}
