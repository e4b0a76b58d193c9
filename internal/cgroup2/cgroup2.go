// Package cgroup2 is the one layer over the unified (cgroup v2) hierarchy
// that ginit and sessiond share: finding the mount, creating, moving into,
// killing and removing cgroups, reading and watching "populated", and
// writing limits. It works on plain directory paths, links nothing but
// x/sys/unix (PID 1 stays lean; see docs/design.md for why it is not
// containerd/cgroups) and keeps no state outside a Watcher.
package cgroup2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/kfile"
	"ginit/internal/rawsys"
)

// mountCandidates are where the unified hierarchy is mounted: /sys/fs/cgroup
// on pure cgroup2 hosts, /sys/fs/cgroup/unified on hybrid ones.
var mountCandidates = [...]string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}

// ErrNoHierarchy is returned by UnifiedMount when no cgroup2 is mounted.
var ErrNoHierarchy = errors.New("no cgroup2 hierarchy mounted")

// UnifiedMount returns where the unified hierarchy is mounted.
func UnifiedMount() (string, error) {
	for _, p := range mountCandidates {
		if Check(p) == nil {
			return p, nil
		}
	}
	return "", ErrNoHierarchy
}

// Check returns an error unless dir is on a cgroup2 file system.
func Check(dir string) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return fmt.Errorf("cgroup root %s: %w", dir, err)
	}
	if fs.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("cgroup root %s: not a cgroup2 file system", dir)
	}
	return nil
}

// MountOf returns the mount point of the cgroup2 file system holding dir
// (its topmost ancestor that is still cgroup2), or "" if dir is not on one.
func MountOf(dir string) string {
	if Check(dir) != nil {
		return ""
	}
	for {
		parent := filepath.Dir(dir)
		if parent == dir || Check(parent) != nil {
			return dir
		}
		dir = parent
	}
}

// PathOf returns pid's cgroup on the unified hierarchy as the kernel names
// it in /proc/PID/cgroup ("/a/b", relative to the mount); pid 0 is the
// calling process.
func PathOf(pid int) (string, error) {
	file := "/proc/self/cgroup"
	if pid != 0 {
		file = "/proc/" + strconv.Itoa(pid) + "/cgroup"
	}
	data, err := readFile(file)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return rest, nil
		}
	}
	return "", fmt.Errorf("%s: no cgroup2 entry", file)
}

// Self returns the directory of the calling process's own cgroup in the
// unified hierarchy mounted at mount.
func Self(mount string) (string, error) {
	rel, err := PathOf(0)
	if err != nil {
		return "", err
	}
	return filepath.Join(mount, rel), nil
}

// Contains reports whether pid is a member of the cgroup dir or of one of
// its descendants. It compares the path in /proc/PID/cgroup with dir's
// path below its mount, and falls back to dir's cgroup.procs (a cgroup
// namespace can make the two paths differ).
func Contains(dir string, pid int) bool {
	if mount := MountOf(dir); mount != "" {
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(dir, mount), "/")
		if p, err := PathOf(pid); err == nil && (p == rel || strings.HasPrefix(p, strings.TrimSuffix(rel, "/")+"/")) {
			return true
		}
	}
	pids, err := Pids(dir)
	return err == nil && slices.Contains(pids, pid)
}

// Create makes the cgroup dir; one that exists already is fine. The error
// names dir (an *os.PathError).
func Create(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// CreateAll makes the cgroup dir and any missing parents.
func CreateAll(dir string) error {
	// The parent usually exists (a session's scope under its user's
	// slice): one mkdir instead of MkdirAll's stat of dir and its parent.
	if err := os.Mkdir(dir, 0o755); err == nil {
		return nil
	}
	return os.MkdirAll(dir, 0o755)
}

// Move puts pid into the cgroup dir.
func Move(dir string, pid int) error {
	if err := writeFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid))); err != nil {
		return fmt.Errorf("move pid %d into %s: %w", pid, dir, err)
	}
	return nil
}

// Pids lists the processes of the cgroup dir itself (not its descendants).
func Pids(dir string) ([]int, error) {
	return PidsAt(unix.AT_FDCWD, dir)
}

// PidsAt is Pids of the cgroup dir, relative to the directory open as
// dirfd (AT_FDCWD: dir as given). A supervisor holding its root open
// names each service cgroup by one component: the walk of the full path
// was a quarter of each read at a mass stop.
func PidsAt(dirfd int, dir string) ([]int, error) {
	p := filepath.Join(dir, "cgroup.procs")
	data, err := readFileAt(dirfd, p, p)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// Kill signals every process of a cgroup: SIGKILL through cgroup.kill
// (the whole subtree, atomically), else each pid of cgroup.procs, which is
// also the fallback for kernels before 5.14 and for v1 directories. A
// cgroup that no longer exists has nothing to kill.
func Kill(dir string, sig unix.Signal) error {
	if sig == unix.SIGKILL {
		err := writeFile(filepath.Join(dir, "cgroup.kill"), []byte("1"))
		if err == nil || errors.Is(err, os.ErrNotExist) && !exists(dir) {
			return nil
		}
	}
	// Several passes so that children forked while we signal are caught too.
	for pass := 0; pass < 4; pass++ {
		pids, err := Pids(dir)
		if err != nil {
			if !exists(dir) {
				return nil
			}
			return fmt.Errorf("kill cgroup %s: %w", dir, err)
		}
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			_ = unix.Kill(pid, sig)
		}
		if sig != unix.SIGKILL {
			return nil
		}
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Populated reads "populated" from dir's cgroup.events: whether any
// process is left in dir or below it.
func Populated(dir string) (bool, error) {
	return PopulatedAt(unix.AT_FDCWD, dir)
}

// PopulatedAt is Populated of the cgroup dir, relative to the directory
// open as dirfd (see PidsAt).
func PopulatedAt(dirfd int, dir string) (bool, error) {
	p := filepath.Join(dir, "cgroup.events")
	// "populated" is the file's first line: one read of its start on
	// the stack answers, unless it somehow does not hold the whole line.
	var start [64]byte
	data, err := kfile.ReadFirstAt(dirfd, p, p, start[:])
	if err != nil {
		return false, err
	}
	if v, ok := firstPopulated(data); ok {
		return v, nil
	}
	if data, err = readFileAt(dirfd, p, p); err != nil {
		return false, err
	}
	return parsePopulated(dir, data)
}

// PopulatedFD is PopulatedAt for a cgroup.events file kept open as fd
// (dir names it in errors): one pread at offset 0, which the kernel
// answers with the file's present content.
func PopulatedFD(fd int, dir string) (bool, error) {
	var b [128]byte
	n, err := rawsys.Pread(fd, b[:], 0)
	if err != nil {
		return false, &fs.PathError{Op: "read", Path: filepath.Join(dir, "cgroup.events"), Err: err}
	}
	if v, ok := firstPopulated(b[:n]); ok {
		return v, nil
	}
	return parsePopulated(dir, b[:n])
}

// firstPopulated reads a complete "populated N" first line.
func firstPopulated(data []byte) (populated, ok bool) {
	line, _, complete := bytes.Cut(data, []byte{'\n'})
	v, found := bytes.CutPrefix(line, []byte("populated "))
	if !complete || !found || len(v) == 0 {
		return false, false
	}
	return string(v) != "0", true
}

func parsePopulated(dir string, data []byte) (bool, error) {
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "populated "); ok {
			return v != "0", nil
		}
	}
	return false, fmt.Errorf("%s/cgroup.events: no populated key", dir)
}

// retryEvery is how often Remove tries again while the kernel still counts
// exited processes (zombies, or ones a moment from gone) as members.
const retryEvery = 10 * time.Millisecond

// Remove removes the cgroup dir; one already gone is fine. While it is
// busy it retries for up to patience, first killing what is left in it
// when kill is set.
func Remove(dir string, patience time.Duration, kill bool) error {
	deadline := time.Now().Add(patience)
	for {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY || !time.Now().Before(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		if kill {
			_ = Kill(dir, unix.SIGKILL)
		}
		time.Sleep(retryEvery)
	}
}

// RemoveTree kills every process in dir and below it and removes dir and
// its descendants, deepest first (a cgroup with children cannot be
// removed), each busy one retried for up to patience. The error joins one
// error per cgroup left.
func RemoveTree(dir string, patience time.Duration) error {
	_ = Kill(dir, unix.SIGKILL) // cgroup.kill reaches the whole subtree
	var dirs []string
	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil // a cgroup that went meanwhile is fine
	})
	errs := []error{walkErr}
	for i := len(dirs) - 1; i >= 0; i-- {
		errs = append(errs, Remove(dirs[i], patience, true))
	}
	return errors.Join(errs...)
}
