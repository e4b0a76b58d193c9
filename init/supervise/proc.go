package supervise

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"ginit/init/service"
	"ginit/internal/cgroup2"
)

// errGone is returned when signalling a process that has already been reaped
// (its pid may belong to someone else by now).
var errGone = errors.New("process has exited")

// proc is a started or adopted process and its tree.
//
// Its main pid can change after Spawn (sd_notify MAINPID=), so pid, pidfd,
// child and watch are guarded by mu. The Proc value the manager holds stays
// the same across such a change.
type proc struct {
	s    *Supervisor
	name string
	pgid int    // process group to signal; 0 = none
	cg   string // cgroup dir, "" = none
	// cgFD and cgRel name cg for openat: the Supervisor's open cgroup
	// root and cg's name below it, or AT_FDCWD and cg itself.
	cgFD  int
	cgRel string
	n     service.Notifier
	// signalOnly: options signal-process-only.
	signalOnly bool

	mu   sync.Mutex
	pid  int
	dead bool // reaped, or seen dead through its pidfd
	// pidfd names exactly this process, for a main process that is not
	// our child (-1 = none): a child is signalled by pid under s.mu.
	pidfd int
	child bool     // our child: the reaper sees its exit; else watch does
	watch *os.File // non-children: a pollable pidfd whose readability means exit
	// treeGone: the process was dead and its cgroup seen empty. A tree
	// once gone stays gone (a later start is another proc), so the exit
	// path's second question (the manager's, after the reaper's) costs
	// no open and read of cgroup.events: ~7% of a crash loop's CPU.
	treeGone bool
	// sweepSig is the stop signal KillTree sent the main process and its
	// group, still to be sent to the rest of the tree once the main
	// process has exited; 0 = none.
	sweepSig int
}

var _ service.Proc = (*proc)(nil)

// Pid returns the current main pid.
func (p *proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

func (p *proc) String() string { return fmt.Sprintf("%s[%d]", p.name, p.Pid()) }

// markDead records that the pid is gone and drops its pidfd and watcher.
func (p *proc) markDead() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dead = true
	p.dropPidfdLocked()
}

func (p *proc) dropPidfdLocked() {
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
	if p.watch != nil {
		p.watch.Close() // ends the watcher goroutine without a report
		p.watch = nil
	}
}

// alive reports whether the main process has not been seen to end. For a
// process that is not our child it also probes the pidfd, so that a death
// is known at stop even before the watcher goroutine has run.
func (p *proc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return false
	}
	if !p.child && p.pidfd >= 0 && pidfdExited(p.pidfd) {
		return false
	}
	return true
}

// pidfdExited polls a pidfd without blocking: it is readable once the
// process has exited (whether or not it was reaped).
func pidfdExited(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && pfd[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0
	}
}

// lockSignal makes p.pid safe to signal by number: the reaper holds s.mu
// from the wait4 that reaps a child to its markDead, so under s.mu a
// child not marked dead is unreaped and its pid still its own.
func (p *proc) lockSignal() {
	p.s.mu.Lock()
	p.mu.Lock()
}

func (p *proc) unlockSignal() {
	p.mu.Unlock()
	p.s.mu.Unlock()
}

// Signal sends sig to the process group, or to the process only.
func (p *proc) Signal(sig int) error {
	p.lockSignal()
	defer p.unlockSignal()
	if p.dead {
		if p.signalOnly || p.pgid == 0 {
			return errGone
		}
		// The leader is gone but the group may live on.
		if err := unix.Kill(-p.pgid, unix.Signal(sig)); err != unix.ESRCH {
			return err
		}
		return errGone
	}
	// A non-child's pidfd names exactly this process even if its pid
	// were reused; a child's pid is safe under lockSignal.
	leader := func() error {
		if p.pidfd >= 0 {
			return unix.PidfdSendSignal(p.pidfd, unix.Signal(sig), nil, 0)
		}
		return unix.Kill(p.pid, unix.Signal(sig))
	}
	if p.signalOnly || p.pgid == 0 {
		return leader()
	}
	// Signal the leader too in case it left its group (setsid).
	err := unix.Kill(-p.pgid, unix.Signal(sig))
	if e := leader(); err != nil {
		err = e
	}
	return err
}

// KillTree sends sig to every process of the service.
//
// A stop signal reaches the main process and its process group at once
// and the rest of the cgroup (what left the group) once the main process
// has exited (checkTrees' sweep): most trees are the main process alone,
// and the read of cgroup.procs and a kill per pid at each stop were ~60% of
// the manager's share of a stop of thousands of services, where two
// signals are enough. SIGKILL goes to the whole cgroup at once.
func (p *proc) KillTree(sig int) error {
	if p.cg != "" {
		if sig != int(unix.SIGKILL) {
			// lockSignal: a child's main pid is signalled by number.
			p.lockSignal()
			if !p.dead {
				p.signalGroupLocked(sig)
				p.sweepSig = sig
				p.unlockSignal()
				return nil
			}
			signalled := p.sweepSig == sig
			p.sweepSig = 0
			p.unlockSignal()
			return p.sweep(sig, signalled)
		}
		err := cgroup2.Kill(p.cg, unix.Signal(sig))
		p.signalStray(sig)
		return err
	}
	err := p.Signal(sig)
	if errors.Is(err, errGone) || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

// signalGroupLocked signals the live main process's group, and the main
// process itself when it is not (or no longer) in that group. The caller
// holds lockSignal.
func (p *proc) signalGroupLocked(sig int) {
	if p.pgid == 0 {
		p.signalMainLocked(sig)
		return
	}
	_ = unix.Kill(-p.pgid, unix.Signal(sig))
	// A main pid changed by MAINPID=, or one that joined another group
	// (setpgid), needs its own signal.
	if pg, err := unix.Getpgid(p.pid); err != nil || pg != p.pgid {
		p.signalMainLocked(sig)
	}
}

// sweep sends sig to every process of the cgroup, and to the main process
// if it lives outside the tree. When signalled, KillTree has sent sig to
// the main process and its group already: they are skipped, as a second
// stop signal means "now, hard" to some programs.
func (p *proc) sweep(sig int, signalled bool) error {
	pids, err := cgroup2.PidsAt(p.cgFD, p.cgRel)
	if err != nil {
		err = cgroup2.Kill(p.cg, unix.Signal(sig))
		p.signalStray(sig)
		return err
	}
	p.mu.Lock()
	pid, pgid, dead := p.pid, p.pgid, p.dead
	p.mu.Unlock()
	inTree := false
	for _, q := range pids {
		if q == pid {
			inTree = true
			if !dead && signalled {
				continue
			}
		} else if signalled && pgid != 0 {
			if pg, err := unix.Getpgid(q); err == nil && pg == pgid {
				continue
			}
		}
		_ = unix.Kill(q, unix.Signal(sig))
	}
	if !inTree && !signalled {
		p.signalMain(sig)
	}
	return nil
}

// takeSweep returns, once, the stop signal KillTree left for the rest of
// the tree, once the main process is dead; 0 = none.
func (p *proc) takeSweep() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dead {
		return 0
	}
	sig := p.sweepSig
	p.sweepSig = 0
	return sig
}

// Populated reports whether any process of the tree is left. The manager
// uses it (by interface assertion) after Exited to wait for TreeEmpty.
func (p *proc) Populated() bool { return p.populated(false) }

// populated is Populated; locked says the caller holds p.s.mu (checkTrees).
func (p *proc) populated(locked bool) bool {
	if p.cg != "" {
		p.mu.Lock()
		gone := p.treeGone
		p.mu.Unlock()
		if gone {
			return false
		}
		pop, kept, err := p.s.populatedKept(p, locked)
		if !kept {
			pop, err = cgroup2.PopulatedAt(p.cgFD, p.cgRel)
		}
		if err == nil {
			if !pop && !p.alive() {
				p.mu.Lock()
				p.treeGone = true
				p.mu.Unlock()
			}
			return pop
		}
	}
	if p.alive() {
		return true
	}
	if p.pgid != 0 {
		err := unix.Kill(-p.pgid, 0)
		return err == nil || err == unix.EPERM
	}
	return false
}

// workingDir is the service's working directory: working-dir, else (as in
// dinit) the directory of its service file, else ginit's own.
func workingDir(d *service.Description) string {
	if d.Ext().WorkingDir != "" {
		return d.Ext().WorkingDir
	}
	if d.File != "" {
		return filepath.Dir(d.File)
	}
	return ""
}

// signalStray signals the main process when it has left the service's
// cgroup (pam_systemd moves a login to its session scope; a daemon may
// move itself), so that stopping the service still reaches it.
func (p *proc) signalStray(sig int) {
	p.lockSignal()
	defer p.unlockSignal()
	if p.dead {
		return
	}
	pids, err := cgroup2.PidsAt(p.cgFD, p.cgRel)
	if err != nil {
		return
	}
	for _, q := range pids {
		if q == p.pid {
			return
		}
	}
	p.signalMainLocked(sig)
}

// signalMain signals the main process, if it lives, outside its tree.
func (p *proc) signalMain(sig int) {
	p.lockSignal()
	defer p.unlockSignal()
	if !p.dead {
		p.signalMainLocked(sig)
	}
}

// signalMainLocked signals the main process; the caller holds lockSignal.
func (p *proc) signalMainLocked(sig int) {
	if p.pidfd >= 0 {
		_ = unix.PidfdSendSignal(p.pidfd, unix.Signal(sig), nil, 0)
		return
	}
	_ = unix.Kill(p.pid, unix.Signal(sig))
}
