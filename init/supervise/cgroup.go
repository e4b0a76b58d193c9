package supervise

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"ginit/init/service"
	"ginit/internal/cgroup2"
)

// placeCgroup chooses the cgroup of a new process and arranges for it to be
// created there (CLONE_INTO_CGROUP), watching its cgroup.events so that the
// reaper learns when its tree empties. It returns the cgroup directory, or
// "" when trees are plain process groups.
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
		dir = filepath.Join(s.cfg.CgroupRoot, cgroup2.Name(d.Name))
		if err := cgroup2.Create(dir); err != nil {
			return "", err
		}
		s.mu.Lock()
		s.unitLocked(d.Name).cgroup = dir
		s.mu.Unlock()
		limits := cgroup2.Limits{MemoryMax: d.MemoryMax, PidsMax: d.PidsMax, CPUWeight: d.CPUWeight}
		if err := limits.Apply(dir); err != nil {
			for _, e := range unwrapJoined(err) {
				s.cfg.Logger.Printf("service '%s': %v", d.Name, e)
			}
		}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("cgroup %s: %w", dir, err)
	}
	// A bare fd: os.NewFile would cost an fcntl and a finalizer per spawn.
	st.closeFD = append(st.closeFD, fd)
	st.sys.UseCgroupFD, st.sys.CgroupFD = true, fd
	s.watchCgroup(d.Name, dir)
	return dir, nil
}

// unwrapJoined lists the errors of an errors.Join, or err alone.
func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// watchCgroup watches the cgroup.events of the service's cgroup dir, once
// per service and dir, until Release. Without a watcher trees are polled;
// a watch that fails (inotify's limit of watches) turns polling on.
func (s *Supervisor) watchCgroup(name, dir string) {
	if s.watcher == nil {
		return
	}
	s.mu.Lock()
	u := s.unitLocked(name)
	done := u.watched == dir
	s.mu.Unlock()
	if done {
		return
	}
	unwatch, err := s.watcher.Watch(dir, s.treeChanged)
	if err != nil {
		s.cfg.Logger.Printf("service '%s': %v; polling trees every %v", name, err, s.cfg.TreePoll)
		select {
		case s.needPoll <- struct{}{}:
		default:
		}
		return
	}
	// Spawn and Release of one service never overlap (the manager orders
	// them), so u is still the service's record.
	s.mu.Lock()
	old := u.unwatch
	u.watched, u.unwatch = dir, unwatch
	s.mu.Unlock()
	if old != nil {
		old()
	}
}

// runInCgroup resolves run-in-cgroup as dinit does: an existing cgroup,
// absolute from the hierarchy root or relative to ours.
func (s *Supervisor) runInCgroup(d *service.Description) (string, error) {
	if strings.HasPrefix(d.RunInCgroup, "/") {
		mount, err := cgroup2.UnifiedMount()
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
	if u := s.units[d.Name]; u != nil {
		return u.cgroup
	}
	return ""
}
