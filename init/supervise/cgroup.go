package supervise

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/service"
)

// UnifiedMount returns where the unified (cgroup2) hierarchy is mounted:
// /sys/fs/cgroup on pure cgroup2 hosts, /sys/fs/cgroup/unified on hybrid ones.
func UnifiedMount() (string, error) {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if checkCgroup2(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("no cgroup2 hierarchy mounted")
}

// SelfCgroup returns the directory of the calling process's own cgroup in
// the unified hierarchy mounted at mount.
func SelfCgroup(mount string) (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return filepath.Join(mount, rest), nil
		}
	}
	return "", errors.New("/proc/self/cgroup: no cgroup2 entry")
}

func checkCgroup2(dir string) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return fmt.Errorf("cgroup root %s: %w", dir, err)
	}
	if fs.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("cgroup root %s: not a cgroup2 file system", dir)
	}
	return nil
}

// limitControllers are the controllers whose limits a description can set.
var limitControllers = []string{"memory", "pids", "cpu"}

// enableControllers turns on, where the kernel offers them, the controllers
// of the limits in the root's subtree_control (and its parent's, which must
// offer them first). Failures only mean that limits are not applied.
func (s *Supervisor) enableControllers() {
	root := s.cfg.CgroupRoot
	for _, dir := range []string{filepath.Dir(root), root} {
		avail, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		if err != nil {
			continue
		}
		have := strings.Fields(string(avail))
		for _, c := range limitControllers {
			for _, h := range have {
				if h == c {
					_ = os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0)
				}
			}
		}
	}
}

// placeCgroup chooses the cgroup of a new process and arranges for it to be
// created there (CLONE_INTO_CGROUP). It returns the cgroup directory, or ""
// when trees are plain process groups.
func (s *Supervisor) placeCgroup(d *service.Description, st *setup) (string, error) {
	var dir string
	switch {
	case d.RunInCgroup != "":
		var err error
		if dir, err = s.runInCgroup(d); err != nil {
			return "", err
		}
	case s.cfg.CgroupRoot == "":
		s.mu.Lock()
		warn := !s.cgWarn
		s.cgWarn = true
		s.mu.Unlock()
		if warn {
			s.cfg.Logger.Printf("supervise: no cgroup2 root; service trees are process groups")
		}
		return "", nil
	default:
		dir = filepath.Join(s.cfg.CgroupRoot, cgroupName(d.Name))
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("cgroup %s: %w", dir, err)
		}
		s.mu.Lock()
		s.cgroups[d.Name] = dir
		s.mu.Unlock()
		s.applyLimits(d, dir)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("cgroup %s: %w", dir, err)
	}
	st.close = append(st.close, os.NewFile(uintptr(fd), dir))
	st.sys.UseCgroupFD, st.sys.CgroupFD = true, fd
	return dir, nil
}

// runInCgroup resolves run-in-cgroup as dinit does: an existing cgroup,
// absolute from the hierarchy root or relative to ours.
func (s *Supervisor) runInCgroup(d *service.Description) (string, error) {
	if strings.HasPrefix(d.RunInCgroup, "/") {
		mount, err := UnifiedMount()
		if err != nil {
			return "", fmt.Errorf("run-in-cgroup %s: %w", d.RunInCgroup, err)
		}
		return filepath.Join(mount, d.RunInCgroup), nil
	}
	if s.cfg.CgroupRoot != "" {
		return filepath.Join(s.cfg.CgroupRoot, d.RunInCgroup), nil
	}
	return "", fmt.Errorf("run-in-cgroup %s: no cgroup root", d.RunInCgroup)
}

// serviceCgroup returns the cgroup the service's processes were started
// in, or "" when it has none (no cgroup root, or nothing spawned yet).
func (s *Supervisor) serviceCgroup(d *service.Description) string {
	if d.RunInCgroup != "" {
		dir, err := s.runInCgroup(d)
		if err != nil {
			return ""
		}
		return dir
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cgroups[d.Name]
}

// inCgroup reports whether pid is a member of the cgroup dir or of one of
// its descendants. It compares the path in /proc/PID/cgroup with dir's path
// below the cgroup2 mount, and falls back to dir's cgroup.procs (a cgroup
// namespace can make the two paths differ).
func inCgroup(pid int, dir string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	if mount := cgroupMount(dir); mount != "" {
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(dir, mount), "/")
		for _, line := range strings.Split(string(data), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				if p == rel || strings.HasPrefix(p, strings.TrimSuffix(rel, "/")+"/") {
					return true
				}
			}
		}
	}
	pids, err := cgroupPids(dir)
	if err != nil {
		return false
	}
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

// cgroupMount returns the mount point of the cgroup2 file system holding
// dir: the topmost ancestor that is still cgroup2.
func cgroupMount(dir string) string {
	if checkCgroup2(dir) != nil {
		return ""
	}
	for {
		parent := filepath.Dir(dir)
		if parent == dir || checkCgroup2(parent) != nil {
			return dir
		}
		dir = parent
	}
}

// applyLimits writes memory.max, pids.max and cpu.weight; a missing
// controller is logged and the limit skipped.
func (s *Supervisor) applyLimits(d *service.Description, dir string) {
	set := func(file string, v int64) {
		if v == 0 {
			return
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.FormatInt(v, 10)), 0); err != nil {
			s.cfg.Logger.Printf("service '%s': %s not applied: %v", d.Name, file, err)
		}
	}
	set("memory.max", d.MemoryMax)
	set("pids.max", d.PidsMax)
	set("cpu.weight", d.CPUWeight)
}

// killCgroup signals every process of a cgroup: cgroup.kill for SIGKILL,
// else each pid of cgroup.procs.
func killCgroup(dir string, sig unix.Signal) error {
	if sig == unix.SIGKILL {
		err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
		if err == nil || errors.Is(err, os.ErrNotExist) && !exists(dir) {
			return nil
		}
	}
	// Several passes so that children forked while we signal are caught too.
	for pass := 0; pass < 4; pass++ {
		pids, err := cgroupPids(dir)
		if err != nil {
			if !exists(dir) {
				return nil
			}
			return err
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

func cgroupPids(dir string) ([]int, error) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
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

// cgroupPopulated reads "populated" from cgroup.events.
func cgroupPopulated(dir string) (bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "populated "); ok {
			return v != "0", nil
		}
	}
	return false, fmt.Errorf("%s/cgroup.events: no populated key", dir)
}

// removeCgroup removes a service cgroup, killing stragglers first if any
// are left; zombies still count as members until reaped, so it retries
// briefly.
func removeCgroup(dir string) error {
	var err error
	for i := 0; i < 20; i++ {
		err = unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY {
			break
		}
		_ = killCgroup(dir, unix.SIGKILL)
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}
