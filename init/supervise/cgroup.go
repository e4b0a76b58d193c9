package supervise

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"ginit/init/service"
	"ginit/internal/cgroup2"
	"ginit/internal/rawsys"
)

// placeCgroup chooses the cgroup of a new process and arranges for it to be
// created there (CLONE_INTO_CGROUP). It returns the cgroup directory, or
// "" when trees are plain process groups. Its cgroup.events is watched
// only once a main process has ended with the tree still populated (see
// checkTrees): most trees empty with their main process, and a watch per
// start was an inotify_add_watch at each start and a rm_watch and an
// event to route at each stop.
func (s *Supervisor) placeCgroup(d *service.Description, st *setup) (string, error) {
	var dir string
	kept := false
	switch {
	case d.Ext().RunInCgroup != "":
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
		s.mu.Lock()
		// Kept since the last start (a restart, not Released): it
		// exists, and a mkdir per respawn only to be told so is saved.
		// Until the fork, the reaper may not take it (removeStopped).
		u := s.unitLocked(d.Name)
		kept = u.cgroup == dir
		u.spawning++
		st.spawning = u
		// The kept directory, while the exit's read of the kept
		// cgroup.events found the cgroup alive (populatedKept drops
		// both otherwise): a dup, this spawn's own to close.
		keptFD := -1
		if kept && u.dirFD != 0 && u.eventsFD != 0 {
			if fd, err := rawsys.Dup(int(u.dirFD) - 1); err == nil {
				keptFD = fd
			}
		}
		s.mu.Unlock()
		st.cleanup = append(st.cleanup, func() { s.doneSpawning(st) })
		if !kept {
			if err := s.makeCgroup(d.Name, dir); err != nil {
				return "", err
			}
		}
		if keptFD >= 0 {
			// Limits are applied as below: a reload may change them.
			s.applyLimits(d, dir)
			st.closeFD = append(st.closeFD, keptFD)
			st.sys.UseCgroupFD, st.sys.CgroupFD = true, keptFD
			st.keptDir = true
			return dir, nil
		}
		s.applyLimits(d, dir)
	}
	// Raw (rawsys): a cgroupfs directory opens without waiting.
	fd, err := rawsys.Openat(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT && kept {
		// Someone removed the kept cgroup meanwhile: make it again.
		if err = s.makeCgroup(d.Name, dir); err == nil {
			fd, err = rawsys.Openat(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		return "", fmt.Errorf("cgroup %s: %w", dir, err)
	}
	// A bare fd: os.NewFile would cost an fcntl and a finalizer per spawn.
	st.closeFD = append(st.closeFD, fd)
	st.sys.UseCgroupFD, st.sys.CgroupFD = true, fd
	if kept {
		s.keepDir(d.Name, dir, fd)
	}
	return dir, nil
}

// applyLimits writes the service's resource limits into its cgroup.
func (s *Supervisor) applyLimits(d *service.Description, dir string) {
	limits := cgroup2.Limits{MemoryMax: d.Ext().MemoryMax, PidsMax: d.Ext().PidsMax, CPUWeight: d.Ext().CPUWeight}
	if err := limits.Apply(dir); err != nil {
		for _, e := range unwrapJoined(err) {
			s.cfg.Logger.Printf("service '%s': %v", d.Name, e)
		}
	}
}

// keepDir keeps a copy of fd, the restarting service's cgroup directory,
// for its later starts (unit.dirFD): a crash loop's respawn then dups it,
// not an open of a kernfs directory (4% of its CPU).
func (s *Supervisor) keepDir(name, dir string, fd int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.units[name]
	if u == nil || u.cgroup != dir || u.dirFD != 0 {
		return
	}
	if c, err := rawsys.Dup(fd); err == nil {
		u.dirFD = int32(c) + 1
	}
}

// dropKeptDir forgets the kept directory after a fork into it failed:
// removed by someone else, say (clone3 gives ENODEV for a dead cgroup);
// the next start opens it afresh, or makes it again.
func (s *Supervisor) dropKeptDir(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.units[name]; u != nil {
		u.dropKeptLocked()
	}
}

// doneSpawning ends st's claim on its unit's cgroup (placeCgroup), once.
func (s *Supervisor) doneSpawning(st *setup) {
	s.mu.Lock()
	s.doneSpawningLocked(st)
	s.mu.Unlock()
}

func (s *Supervisor) doneSpawningLocked(st *setup) {
	if st.spawning != nil {
		st.spawning.spawning--
		st.spawning = nil
	}
}

// makeCgroup makes the service's own cgroup dir and records it in its
// unit (Release queues it for removal).
func (s *Supervisor) makeCgroup(name, dir string) error {
	s.rm.claim(dir) // a removal left from its last Release is done first
	if err := cgroup2.Create(dir); err != nil {
		return err
	}
	s.mu.Lock()
	s.unitLocked(name).cgroup = dir
	s.mu.Unlock()
	return nil
}

// setCgroup sets p's cgroup dir and how to name it for openat: below the
// open root by its one name when it is a service cgroup of ours.
func (s *Supervisor) setCgroup(p *proc, dir string) {
	p.cg, p.cgFD, p.cgRel = dir, unix.AT_FDCWD, dir
	if rel, ok := s.belowRoot(dir); ok {
		p.cgFD, p.cgRel = s.rootFD, rel
	}
}

// belowRoot returns the name of dir in the open cgroup root, if dir is a
// child of it.
func (s *Supervisor) belowRoot(dir string) (string, bool) {
	if s.rootFD < 0 || dir == "" {
		return "", false
	}
	rel, ok := strings.CutPrefix(dir, s.cfg.CgroupRoot+"/")
	if !ok || rel == "" || strings.Contains(rel, "/") {
		return "", false
	}
	return rel, true
}

// unwrapJoined lists the errors of an errors.Join, or err alone.
func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// watchTree watches the cgroup.events of p's cgroup until Release of its
// service, so that the reaper learns when the tree left behind by p
// empties; p must be pending (exited, tree not known empty). It reports
// whether the watch is in place. A watch that fails (inotify's limit of
// watches) turns polling on.
func (s *Supervisor) watchTree(p *proc) bool {
	unwatch, err := s.watcher.Watch(p.cg, s.treeChanged)
	if err != nil {
		s.cfg.Logger.Printf("service '%s': %v; polling trees every %v", p.name, err, s.cfg.TreePoll)
		select {
		case s.needPoll <- struct{}{}:
		default:
		}
		return false
	}
	s.mu.Lock()
	old := unwatch
	if _, live := s.pending[p]; live {
		// Still p's service's: Release, which drops p from pending
		// under the same lock, ends this watch.
		u := s.unitLocked(p.name)
		old = u.unwatch
		u.watched, u.unwatch = p.cg, unwatch
	}
	s.mu.Unlock()
	if old != nil {
		old()
	}
	return true
}

// runInCgroup resolves run-in-cgroup as dinit does: an existing cgroup,
// absolute from the hierarchy root or relative to ours.
func (s *Supervisor) runInCgroup(d *service.Description) (string, error) {
	if strings.HasPrefix(d.Ext().RunInCgroup, "/") {
		mount, err := cgroup2.UnifiedMount()
		if err != nil {
			return "", fmt.Errorf("run-in-cgroup %s: %w", d.Ext().RunInCgroup, err)
		}
		return filepath.Join(mount, d.Ext().RunInCgroup), nil
	}
	if s.cfg.CgroupRoot != "" {
		return filepath.Join(s.cfg.CgroupRoot, d.Ext().RunInCgroup), nil
	}
	return "", fmt.Errorf("run-in-cgroup %s: no cgroup root", d.Ext().RunInCgroup)
}

// serviceCgroup returns the cgroup the service's processes were started
// in, or "" when it has none (no cgroup root, or nothing spawned yet).
func (s *Supervisor) serviceCgroup(d *service.Description) string {
	if d.Ext().RunInCgroup != "" {
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
