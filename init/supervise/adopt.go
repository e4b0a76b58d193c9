package supervise

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/logging"
	"ginit/init/service"
	"ginit/internal/cgroup2"
)

// maxPIDFile bounds what is read of a pid file: a pid and a newline.
const maxPIDFile = 64

// Adopt reads the pid file of a bgprocess service and watches that pid.
//
// ginit runs as root and will signal whatever pid it adopts, so the file is
// trusted only if nobody but root or the service's own user could have
// written it: it must not be a symbolic link (O_NOFOLLOW), must be a
// regular file owned by root or the run-as user, not writable by group or
// others, in a directory that others cannot write to without the sticky
// bit. The pid must be alive and belong to the service: inside its cgroup
// when it has one, else running as the file's owner if that is not root.
//
// A daemon that is ginit's child (reparented to ginit as PID 1 or
// subreaper) is reaped by Run and its real exit status is reported. Any
// other pid is watched through a pidfd; its exit status cannot be known,
// so it is reported as a normal exit (code 0), as dinit does.
func (s *Supervisor) Adopt(d *service.Description, n service.Notifier) (service.Proc, error) {
	if d.Ext().PIDFile == "" {
		return nil, errors.New("bgprocess: no pid-file")
	}
	fail := func(err error) (service.Proc, error) {
		return nil, fmt.Errorf("pid-file %s: %w", d.Ext().PIDFile, err)
	}
	var runAs uint32
	if d.RunAs != "" {
		cred, _, err := lookupRunAs(d.RunAs, d.Options.UserGroups)
		if err != nil {
			return fail(err)
		}
		runAs = cred.Uid
	}
	pid, owner, err := readPIDFile(d.Ext().PIDFile, runAs)
	if err != nil {
		return fail(err)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return fail(fmt.Errorf("process %d is not running", pid))
	} else if err != nil {
		return fail(fmt.Errorf("pidfd_open %d: %w", pid, err))
	}
	cg := s.serviceCgroup(d)
	if err := belongs(pid, cg, owner); err != nil {
		unix.Close(pidfd)
		return fail(err)
	}
	s.mu.Lock()
	if q := s.procs[pid]; q != nil {
		s.mu.Unlock()
		unix.Close(pidfd)
		if q.name == d.Name {
			return q, nil // already ours, e.g. adopted again after a smooth recovery
		}
		return fail(fmt.Errorf("process %d belongs to service '%s'", pid, q.name))
	}
	launcher := 0
	if u := s.units[d.Name]; u != nil {
		launcher = u.startPG
	}
	s.mu.Unlock()
	// Signal the daemon's process group only if it is a group we can vouch
	// for: its own (it called setsid) or the launcher's, which Spawn made.
	pgid := 0
	if pg, err := unix.Getpgid(pid); err == nil && (pg == pid || pg == launcher) {
		pgid = pg
	}
	p := &proc{s: s, name: d.Name, pgid: pgid, n: n,
		signalOnly: d.Options.SignalProcessOnly, pidfd: -1}
	s.setCgroup(p, cg)
	if err := s.attach(p, pid, pidfd); err != nil {
		return fail(err)
	}
	return p, nil
}

// readPIDFile opens path without following a symbolic link, checks who
// could have written it and returns the pid in it and the file's owner.
// The directory is reached as logging.OpenDir does (no link of a less
// privileged user's is followed) and the file is opened relative to it, so
// the directory checked is the one the file was read from.
func readPIDFile(path string, runAs uint32) (pid int, owner uint32, err error) {
	dir, base, err := logging.OpenParent(path)
	if err != nil {
		return 0, 0, err
	}
	defer dir.Close()
	fd, err := unix.Openat(dir.Fd(), base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err == unix.ELOOP {
		return 0, 0, errors.New("is a symbolic link")
	} else if err != nil {
		return 0, 0, err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, 0, fmt.Errorf("fstat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, 0, errors.New("not a regular file")
	}
	if st.Uid != 0 && st.Uid != runAs {
		return 0, 0, fmt.Errorf("owned by uid %d, not by root or the service's user", st.Uid)
	}
	if st.Mode&0o022 != 0 {
		return 0, 0, fmt.Errorf("writable by group or others (mode %04o)", st.Mode&0o7777)
	}
	// Someone who can write the directory could replace the file between
	// the daemon writing it and us reading it; the sticky bit prevents that
	// for files they do not own.
	var dst unix.Stat_t
	if err := unix.Fstat(dir.Fd(), &dst); err == nil && dst.Mode&0o002 != 0 && dst.Mode&unix.S_ISVTX == 0 {
		return 0, 0, fmt.Errorf("directory %s is writable by others and not sticky", dir.Path())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPIDFile+1))
	if err != nil {
		return 0, 0, err
	}
	if len(data) > maxPIDFile {
		return 0, 0, fmt.Errorf("longer than %d bytes", maxPIDFile)
	}
	text := strings.TrimSpace(string(data))
	pid, err = strconv.Atoi(text)
	if err != nil || pid <= 0 {
		return 0, 0, fmt.Errorf("no valid pid in %q", text)
	}
	if pid == 1 || pid == os.Getpid() {
		return 0, 0, fmt.Errorf("names pid %d, which cannot be a service's", pid)
	}
	return pid, st.Uid, nil
}

// belongs checks that pid is part of the service: a member of its cgroup
// when there is one; otherwise, when a non-root user owns the pid file,
// a process of that user (they could have written any pid into it).
func belongs(pid int, cg string, owner uint32) error {
	if cg != "" {
		if !cgroup2.Contains(cg, pid) {
			return fmt.Errorf("process %d is not in the service's cgroup %s", pid, cg)
		}
		return nil
	}
	if owner == 0 {
		return nil
	}
	uid, err := procUID(pid)
	if err != nil {
		return fmt.Errorf("process %d is not running", pid)
	}
	if uid != owner {
		return fmt.Errorf("process %d runs as uid %d, not as the file's owner %d", pid, uid, owner)
	}
	return nil
}

// attach makes pid the main process of p, taking ownership of pidfd: it
// is registered with the reaper when it is our child, and watched through
// its pidfd otherwise. The old main pid, if any, is no longer watched.
func (s *Supervisor) attach(p *proc, pid, pidfd int) error {
	s.mu.Lock()
	if q := s.procs[pid]; q != nil && q != p {
		s.mu.Unlock()
		unix.Close(pidfd)
		return fmt.Errorf("process %d belongs to service '%s'", pid, q.name)
	}
	// Holding s.mu, the reaper cannot reap pid between this check and the
	// registration: a child seen here (even a zombie) is reported by Run.
	ppid, err := parentOf(pid)
	if err != nil {
		s.mu.Unlock()
		unix.Close(pidfd)
		return fmt.Errorf("process %d is not running", pid)
	}
	p.mu.Lock()
	if p.dead {
		p.mu.Unlock()
		s.mu.Unlock()
		unix.Close(pidfd)
		return errGone
	}
	if old := p.pid; old != 0 && old != pid && s.procs[old] == p {
		delete(s.procs, old) // if it exits now it is reaped as an orphan
	}
	p.dropPidfdLocked()
	p.pid, p.pidfd, p.child = pid, pidfd, ppid == os.Getpid()
	if p.child {
		s.procs[pid] = p
	}
	child := p.child
	p.mu.Unlock()
	s.mu.Unlock()
	if !child {
		s.watchExit(p, pid)
	}
	return nil
}

// watchExit reports the exit of pid, a main process that is not our
// child, as soon as its pidfd becomes readable. A duplicate of the pidfd
// is handed to Go's poller, so no thread is held while waiting; closing it
// (p.dropPidfdLocked) ends the wait without a report.
func (s *Supervisor) watchExit(p *proc, pid int) {
	p.mu.Lock()
	if p.dead || p.pid != pid || p.pidfd < 0 {
		p.mu.Unlock()
		return
	}
	fd, err := unix.FcntlInt(uintptr(p.pidfd), unix.F_DUPFD_CLOEXEC, 0)
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	var f *os.File
	if err == nil {
		f = os.NewFile(uintptr(fd), "pidfd "+strconv.Itoa(pid))
		p.watch = f
	}
	p.mu.Unlock()
	if err != nil {
		s.cfg.Logger.Printf("service '%s': cannot watch pid %d: %v; checking it every %v", p.name, pid, err, s.cfg.TreePoll)
		go s.pollExit(p, pid)
		return
	}
	go func() {
		rc, err := f.SyscallConn()
		if err == nil {
			err = rc.Read(func(fd uintptr) bool { return pidfdExited(int(fd)) })
		}
		if err == nil {
			s.nonChildExited(p, pid)
			return
		}
		p.mu.Lock()
		current := p.watch == f
		p.mu.Unlock()
		if !current {
			return // closed: no longer the main pid, or already seen dead
		}
		// The poller refused this fd (an old kernel): probe instead.
		s.cfg.Logger.Printf("service '%s': cannot watch pid %d: %v; checking it every %v", p.name, pid, err, s.cfg.TreePoll)
		s.pollExit(p, pid)
	}()
}

// pollExit is watchExit's fallback: it probes the pidfd every TreePoll.
func (s *Supervisor) pollExit(p *proc, pid int) {
	for {
		p.mu.Lock()
		cur := !p.dead && p.pid == pid && p.pidfd >= 0
		exited := cur && pidfdExited(p.pidfd)
		p.mu.Unlock()
		if !cur {
			return
		}
		if exited {
			s.nonChildExited(p, pid)
			return
		}
		time.Sleep(s.cfg.TreePoll)
	}
}

// nonChildExited reports the end of a watched main process that we cannot
// reap: as a normal exit, since its status went to its own parent.
func (s *Supervisor) nonChildExited(p *proc, pid int) {
	p.mu.Lock()
	if p.dead || p.pid != pid || p.child {
		p.mu.Unlock()
		return
	}
	p.dead = true
	p.dropPidfdLocked()
	p.mu.Unlock()
	s.reportExit(p, service.ExitStatus{})
}

// parentOf returns the parent pid of a process from /proc/PID/stat.
func parentOf(pid int) (int, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	return strconv.Atoi(f[1])
}

// procStat returns the fields of /proc/PID/stat after the command name,
// so that f[0] is the state (field 3 of proc(5)).
func procStat(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	return strings.Fields(string(data[i+1:])), nil
}

// procUID returns the real uid of a process.
func procUID(pid int) (uint32, error) {
	v, err := procStatus(pid, "Uid")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0, fmt.Errorf("/proc/%d/status: empty Uid", pid)
	}
	n, err := strconv.ParseUint(f[0], 10, 32)
	return uint32(n), err
}

// procStatus returns the value of one key of /proc/PID/status.
func procStatus(pid int, key string) (string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("/proc/%d/status: no %s", pid, key)
}
