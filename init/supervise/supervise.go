package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/logging"
	"ginit/init/service"
	"ginit/internal/cgroup2"
	"ginit/internal/kfile"
	"ginit/internal/rawsys"
)

// Config configures a Supervisor.
type Config struct {
	Logger service.Logger // required
	// CgroupRoot is a directory of the unified (cgroup2) hierarchy that ginit
	// owns; each service gets a child cgroup under it. "" = no cgroups: trees
	// are process groups. See cgroup2.UnifiedMount.
	CgroupRoot string
	// Console is the terminal of services with runs-on-console,
	// starts-on-console or shares-console (nil: ginit's stdin/stdout).
	Console *os.File
	// RuntimeDir holds per-service notify sockets, in RuntimeDir/notify
	// ("" = no sd_notify: ready-notification = notify fails to start).
	RuntimeDir string
	// NoSubreaper leaves PR_SET_CHILD_SUBREAPER alone (it is set when ginit
	// is not PID 1, so that double-forked daemons are reaped by us).
	NoSubreaper bool
	// ControlConn makes a new control connection for a service with
	// options pass-cs-fd and returns the service's end (nil: the option
	// makes the start fail).
	ControlConn func() (*os.File, error)
	// TreePoll is how often trees of exited processes are checked for
	// emptiness besides after each reaped exit, when that cannot be
	// learnt from cgroup.events (no cgroups, or no inotify); also how often
	// a non-child main process is probed when its pidfd cannot be watched
	// (default 1s).
	TreePoll time.Duration
}

// Supervisor is the real service.Spawner and service.LogReader.
type Supervisor struct {
	cfg Config
	// kick wakes the waiter (waitChildren) that found no child, after a
	// fork.
	kick chan struct{}

	mu      sync.Mutex          // registry lock; see the package doc
	procs   map[int]*proc       // live children by pid
	pending map[*proc]struct{}  // exited (or adopted) procs whose tree is not known empty
	units   map[string]*unit    // service name -> what is kept for it
	socks   map[string]*sockSet // socket services' sockets (listen.go)
	cgWarn  bool                // "no cgroups" was logged
	// watcher reports changes of service cgroups' cgroup.events on trees
	// (nil: trees are polled every TreePoll).
	watcher  *cgroup2.Watcher
	trees    chan struct{} // a watched cgroup.events changed
	needPoll chan struct{} // a watch failed: poll trees from now on
	// inflight counts forks running without the lock; while any is, the
	// reaper keeps exits of unknown pids in early (see Spawn).
	inflight int
	early    map[int]service.ExitStatus
	// out copies output pipes into memory buffers while Run runs.
	out *outputs
	// null is /dev/null, opened once (read-write) for every child's
	// stdin and unlogged output: an open per spawn was 8% of starting
	// 1000 services (the open and os.File's poller probe). It lives as
	// long as the Supervisor.
	nullOnce sync.Once
	null     *os.File
	nullErr  error
	// rm removes released service cgroups in the background (cgremove.go).
	rm *remover
	// rootFD is CgroupRoot, open for the Supervisor's life (-1: none):
	// service cgroups' files are opened and the cgroups removed relative
	// to it, one path component instead of the whole path's walk.
	rootFD int
}

// devNull returns the shared /dev/null; the child gets a dup of it, so it
// is never closed per spawn.
func (s *Supervisor) devNull() (*os.File, error) {
	s.nullOnce.Do(func() {
		s.null, s.nullErr = os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if s.nullErr != nil {
			s.nullErr = fmt.Errorf("open %s: %w", os.DevNull, s.nullErr)
		}
	})
	return s.null, s.nullErr
}

// unit is what the Supervisor keeps for one service: its resources from
// the first start until Release, and its log buffer for good (catlog).
type unit struct {
	log     *logging.Buffer
	cgroup  string   // cgroup dir created by us ("" = none)
	watched string   // cgroup dir whose cgroup.events is watched
	unwatch func()   // ends that watch
	release []func() // resources freed by Release
	startPG int      // process group of its last start command
	// spawning counts spawns between their look at cgroup and their
	// fork: while any is, the reaper leaves the cgroup to Release.
	spawning int32
	// tailW is the kept write end of its tail pipe, plus one (0: none):
	// kept from a restart on, closed by Release (keepTail).
	tailW int32
	// eventsFD is its cgroup's cgroup.events kept open, plus one (0:
	// none): read again at each exit (populatedKept), closed with the
	// cgroup (Release, removeStopped).
	eventsFD int32
	// dirFD is its cgroup directory kept open from a restart on, plus
	// one (0: none): each later start dups it for CLONE_INTO_CGROUP
	// instead of opening the directory; dropped with eventsFD.
	dirFD  int32
	notify *notifySock
	listen *os.File  // socket-listen socket
	pipe   *outPipe  // its output pipe, as a log-type = pipe producer
	term   *terminal // terminal = pty: kept, like log, for good (pty.go)
}

// dropKeptLocked closes the kept cgroup.events and cgroup directory
// (under s.mu).
func (u *unit) dropKeptLocked() {
	for _, f := range [...]*int32{&u.eventsFD, &u.dirFD} {
		if *f != 0 {
			rawsys.Close(int(*f) - 1)
			*f = 0
		}
	}
}

// populatedKept answers Populated for p from its unit's cgroup.events,
// opened at the first exit and kept: a restart's exit then costs one
// pread, not an open, a read and a close (the open of a kernfs file was
// ~6% of a crash loop's CPU). ok is false when p's cgroup is not its
// unit's present one of ours: the caller reads the file itself.
func (s *Supervisor) populatedKept(p *proc, locked bool) (pop, ok bool, err error) {
	if !locked {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	u := s.units[p.name]
	if u == nil || u.cgroup != p.cg || s.rootFD < 0 || p.cgFD != s.rootFD {
		return false, false, nil
	}
	if u.eventsFD == 0 {
		fd, err := kfile.OpenAt(p.cgFD, p.cgRel+"/cgroup.events", unix.O_RDONLY|unix.O_CLOEXEC)
		if err != nil {
			return false, false, nil
		}
		u.eventsFD = int32(fd) + 1
	}
	pop, err = cgroup2.PopulatedFD(int(u.eventsFD)-1, p.cg)
	if err != nil {
		u.dropKeptLocked() // removed meanwhile, say: open it afresh next time
	}
	return pop, true, err
}

// idle reports whether u holds nothing Release leaves behind.
func (u *unit) idle() bool {
	return u.spawning == 0 && u.log == nil && u.term == nil && u.pipe == nil && u.notify == nil && u.listen == nil && u.cgroup == "" && u.watched == "" && len(u.release) == 0 && u.tailW == 0 && u.eventsFD == 0 && u.dirFD == 0
}

// unitLocked returns the record of a service, made at first use.
func (s *Supervisor) unitLocked(name string) *unit {
	u := s.units[name]
	if u == nil {
		u = &unit{}
		s.units[name] = u
	}
	return u
}

// dropIfIdleLocked forgets u once it holds nothing.
func (s *Supervisor) dropIfIdleLocked(name string, u *unit) {
	if s.units[name] == u && u.idle() {
		delete(s.units, name)
	}
}

// forgetEarlyLocked drops kept exits once no fork is in flight: they were
// orphans, and their pids may be reused later.
func (s *Supervisor) forgetEarlyLocked() {
	if s.inflight == 0 && len(s.early) > 0 {
		clear(s.early)
	}
}

var (
	_ service.Spawner   = (*Supervisor)(nil)
	_ service.LogReader = (*Supervisor)(nil)
	_ service.Sockets   = (*Supervisor)(nil)
)

// New prepares a Supervisor; call Run to reap.
func New(cfg Config) (*Supervisor, error) {
	if cfg.Logger == nil {
		return nil, errors.New("supervise: Config.Logger is nil")
	}
	if cfg.TreePoll <= 0 {
		cfg.TreePoll = time.Second
	}
	if cfg.CgroupRoot != "" {
		if err := cgroup2.Check(cfg.CgroupRoot); err != nil {
			return nil, err
		}
	}
	if !cfg.NoSubreaper && os.Getpid() != 1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("supervise: PR_SET_CHILD_SUBREAPER: %w", err)
		}
	}
	out, err := newOutputs()
	if err != nil {
		return nil, fmt.Errorf("supervise: %w", err)
	}
	s := &Supervisor{
		socks:    map[string]*sockSet{},
		out:      out,
		cfg:      cfg,
		procs:    map[int]*proc{},
		pending:  map[*proc]struct{}{},
		units:    map[string]*unit{},
		early:    map[int]service.ExitStatus{},
		trees:    make(chan struct{}, 1),
		needPoll: make(chan struct{}, 1),
		kick:     make(chan struct{}, 1),
	}
	s.rm = newRemover(s.removeCgroup)
	s.rootFD = -1
	if cfg.CgroupRoot != "" {
		if fd, err := unix.Open(cfg.CgroupRoot, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			s.rootFD = fd
		}
	}
	if cfg.CgroupRoot != "" {
		cgroup2.EnableControllers(cgroup2.LimitControllers[:], filepath.Dir(cfg.CgroupRoot), cfg.CgroupRoot)
		w, err := cgroup2.NewWatcher()
		if err != nil {
			cfg.Logger.Printf("supervise: %v; checking service cgroups every %v", err, cfg.TreePoll)
		}
		s.watcher = w
	}
	return s, nil
}

// Run reaps children until ctx ends (see waitChildren). It is the only
// caller of wait4. Trees are checked after each reaped exit and each change
// of a service cgroup's cgroup.events; only trees that are process groups (no cgroups,
// or no inotify) are also polled. Before it returns, the cgroups of
// released services are all removed.
func (s *Supervisor) Run(ctx context.Context) error {
	defer s.rm.flush()
	go s.waitChildren(ctx)
	outDone := make(chan struct{})
	go func() { s.out.run(ctx.Done()); close(outDone) }()
	defer func() { <-outDone }()
	var poll <-chan time.Time
	var tick *time.Ticker
	needPoll := s.needPoll
	startPolling := func() {
		tick = time.NewTicker(s.cfg.TreePoll)
		needPoll, poll = nil, tick.C
	}
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	if s.watcher == nil {
		startPolling()
	} else {
		defer s.watcher.Close()
	}
	for {
		s.checkTrees()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.trees:
		case <-poll:
		case <-needPoll:
			startPolling()
		}
	}
}

// waitChildren reaps each child at its exit. It is woken by the exit
// itself: blocked in waitid(P_ALL, WEXITED|WNOWAIT), which reaps nothing,
// it then reaps every exited child (reap). SIGCHLD is not used: each one
// handed through os/signal cost four thread wake-ups (the signalled thread,
// the runtime's signal thread, sysmon, and a thread for the reaper) where
// this costs the one the kernel makes. With no child at all, waitid fails
// at once (ECHILD) and the next fork kicks it: an orphan can be reparented
// to us only while a descendant lives, so none is missed. The goroutine
// outlives Run while waitid blocks; it stops at its next wake-up, reaping
// nothing once ctx has ended.
func (s *Supervisor) waitChildren(ctx context.Context) {
	for ctx.Err() == nil {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if ctx.Err() != nil {
			return
		}
		switch err {
		case nil:
			s.reap()
		case unix.ECHILD:
			select {
			case <-s.kick:
			case <-ctx.Done():
				return
			}
		case unix.EINTR:
		default:
			// Not expected of waitid with these arguments: do not spin.
			s.cfg.Logger.Printf("supervise: waitid: %v", err)
			select {
			case <-time.After(s.cfg.TreePoll):
			case <-ctx.Done():
				return
			}
		}
	}
}

// kickWaiter tells waitChildren a child may exist now.
func (s *Supervisor) kickWaiter() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// treeChanged is the watcher's callback: it wakes Run, never blocking.
func (s *Supervisor) treeChanged() {
	select {
	case s.trees <- struct{}{}:
	default:
	}
}

type exit struct {
	p  *proc
	st service.ExitStatus
}

// reap collects every exited child, then reports exits and emptied trees.
func (s *Supervisor) reap() {
	var exits []exit
	s.mu.Lock()
	for {
		var ws unix.WaitStatus
		// Raw (rawsys): a wait4 with WNOHANG never waits.
		pid, err := rawsys.Wait4NoHang(&ws)
		if err != nil || pid <= 0 {
			break
		}
		st := service.ExitStatus{Code: ws.ExitStatus()}
		if ws.Signaled() {
			st = service.ExitStatus{Signaled: true, Signal: int(ws.Signal())}
		}
		p := s.procs[pid]
		if p == nil {
			// An orphan reparented to us, or a child whose Spawn has not
			// registered it yet.
			if s.inflight > 0 {
				s.early[pid] = st
			}
			continue
		}
		delete(s.procs, pid)
		p.markDead()
		exits = append(exits, exit{p, st})
	}
	s.mu.Unlock()
	for _, e := range exits {
		if e.p.cg != "" && !s.removeStopped(e.p) {
			// Read cgroup.events here, before the manager hears of
			// the exit and asks the same (Populated keeps an empty
			// tree's answer): otherwise the manager, the stop's
			// bottleneck, often read it first.
			e.p.Populated()
		}
		e.p.n.Exited(e.p, e.st)
	}
	// Only now may a TreeEmpty be reported for them (checkTrees also runs
	// on other goroutines): it must come after Exited.
	s.mu.Lock()
	for _, e := range exits {
		s.pending[e.p] = struct{}{}
	}
	s.mu.Unlock()
	s.checkTrees()
}

// removeStopped removes the cgroup of a process that KillTree stopped,
// at its exit, and reports whether it did: the tree is then known gone.
// The rmdir that Release's remover would make a moment later is also
// the kernel's answer to "is the tree empty" (EBUSY while a process or
// a cgroup of the service's own is left), so the exit of a stop costs
// one system call instead of the open, read and close of cgroup.events
// and a hand-off to the remover. A restart (a start after an exit
// without Release) keeps its cgroup: only a stop signal's exit takes it,
// and never while a spawn of the service is between its look at the
// unit's cgroup and its fork.
func (s *Supervisor) removeStopped(p *proc) bool {
	p.mu.Lock()
	stopping := p.sweepSig != 0
	p.mu.Unlock()
	// setCgroup named a service cgroup of ours by the open root.
	if !stopping || s.rootFD < 0 || p.cgFD != s.rootFD {
		return false
	}
	gone := false
	s.rm.inline(p.cg, func() {
		s.mu.Lock()
		u := s.units[p.name]
		take := u != nil && u.cgroup == p.cg && u.spawning == 0 && u.watched == ""
		if take {
			u.cgroup = ""
			u.dropKeptLocked() // an open file does not keep the cgroup, but is no use now
		}
		s.mu.Unlock()
		if !take {
			return
		}
		err := rawsys.Unlinkat(p.cgFD, p.cgRel, unix.AT_REMOVEDIR)
		if gone = err == nil || err == unix.ENOENT; !gone {
			// Still populated (or holding cgroups of its own):
			// Release removes it as before.
			s.mu.Lock()
			if u.cgroup == "" {
				u.cgroup = p.cg
			}
			s.mu.Unlock()
		}
	})
	if gone {
		p.mu.Lock()
		p.treeGone, p.sweepSig = true, 0
		p.mu.Unlock()
	}
	return gone
}

// reportExit tells p's notifier that it ended, and only then lets its tree
// be checked: TreeEmpty must follow Exited. (reap does the same for a batch.)
func (s *Supervisor) reportExit(p *proc, st service.ExitStatus) {
	p.n.Exited(p, st)
	s.mu.Lock()
	s.pending[p] = struct{}{}
	s.mu.Unlock()
	s.checkTrees()
}

// sweepOf is a tree to send the stop signal its main process had.
type sweepOf struct {
	p   *proc
	sig int
}

// checkTrees reports TreeEmpty, once, for each exited process whose tree is
// gone. A tree still populated gets its cgroup.events watched, and is read
// once more after that: it may have emptied between the read and the watch,
// an event no one would have seen.
func (s *Supervisor) checkTrees() {
	for pass := 0; pass < 2; pass++ {
		s.mu.Lock()
		var empty, unwatched []*proc
		var swept []sweepOf
		for p := range s.pending {
			if p.alive() {
				continue
			}
			if !p.populated(true) {
				delete(s.pending, p)
				empty = append(empty, p)
				continue
			}
			if sig := p.takeSweep(); sig != 0 {
				swept = append(swept, sweepOf{p, sig})
			}
			if pass == 0 && p.cg != "" && s.watcher != nil {
				if u := s.units[p.name]; u == nil || u.watched != p.cg {
					unwatched = append(unwatched, p)
				}
			}
		}
		s.mu.Unlock()
		for _, w := range swept {
			// The rest of a tree whose main process took its stop
			// signal and went (KillTree).
			_ = w.p.sweep(w.sig, true)
		}
		for _, p := range empty {
			p.n.TreeEmpty(p)
		}
		again := false
		for _, p := range unwatched {
			again = s.watchTree(p) || again
		}
		if !again {
			return
		}
	}
}

// CatLog returns the buffered output of a service (log-type = buffer).
func (s *Supervisor) CatLog(name string, clear bool) ([]byte, bool, error) {
	s.mu.Lock()
	var b *logging.Buffer
	var t *terminal
	if u := s.units[name]; u != nil {
		b, t = u.log, u.term
	}
	s.mu.Unlock()
	if b == nil && t != nil {
		// A terminal service's output went to its terminal: the replay.
		return t.replay(), false, nil
	}
	if b == nil {
		return nil, false, fmt.Errorf("service '%s': no log buffer", name)
	}
	data, tr := b.Read(clear)
	return data, tr, nil
}

// Release frees the cgroup, notify socket and watchers of a service whose
// processes are all gone. The log buffer is kept for catlog. The cgroup
// is removed in the background (remover), before Run returns at the
// latest.
func (s *Supervisor) Release(d *service.Description) {
	s.mu.Lock()
	u := s.units[d.Name]
	if u == nil {
		s.mu.Unlock()
		return
	}
	dir, unwatch, fns, tailW := u.cgroup, u.unwatch, u.release, u.tailW
	u.cgroup, u.watched, u.unwatch, u.release, u.startPG, u.tailW = "", "", nil, nil, 0, 0
	u.dropKeptLocked()
	for p := range s.pending {
		if p.name == d.Name {
			delete(s.pending, p)
		}
	}
	s.mu.Unlock()
	if tailW != 0 {
		rawsys.Close(int(tailW) - 1)
	}
	for _, f := range fns {
		f()
	}
	if unwatch != nil {
		unwatch()
	}
	if dir != "" {
		s.rm.add(dir)
	}
	s.mu.Lock()
	s.dropIfIdleLocked(d.Name, u)
	s.mu.Unlock()
}

// removeCgroup removes a released service's cgroup (the remover's work).
// The tree was seen empty, so one rmdir mostly does; RemoveTree (a kill,
// a walk) only when the service made cgroups of its own below or left
// something behind.
func (s *Supervisor) removeCgroup(dir string) {
	var err error
	if rel, ok := s.belowRoot(dir); ok {
		err = unix.Unlinkat(s.rootFD, rel, unix.AT_REMOVEDIR)
	} else {
		err = unix.Rmdir(dir)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		if err := cgroup2.RemoveTree(dir, 200*time.Millisecond); err != nil {
			s.cfg.Logger.Printf("supervise: %v", err)
		}
	}
}

// onRelease registers f to run at Release of the service.
func (s *Supervisor) onRelease(name string, f func()) {
	s.mu.Lock()
	u := s.unitLocked(name)
	u.release = append(u.release, f)
	s.mu.Unlock()
}

// keepUntilRelease stores v in a field of the service's record (under the
// registry lock) and has Release clear it, if it still holds v, and then
// free it.
func keepUntilRelease[T comparable](s *Supervisor, name string, field *T, v T, free func()) {
	s.mu.Lock()
	*field = v
	s.mu.Unlock()
	s.onRelease(name, func() {
		s.mu.Lock()
		if *field == v {
			var zero T
			*field = zero
		}
		s.mu.Unlock()
		free()
	})
}

// mergeEnv overlays the service's own variables on the activation
// environment; a later entry of a key replaces an earlier one in place.
// Environments are short, so keys are found by a scan of what is kept so
// far: a map per spawn was 2-3% of starting 1000 services.
func mergeEnv(base, over []string) []string {
	out := make([]string, 0, len(base)+len(over))
	if len(base)+len(over) > envScanMax {
		return mergeEnvMap(out, base, over)
	}
	// Each entry's key is cut once, not again at every later entry's
	// scan (the environment is merged at each spawn of a crash loop).
	var keys [envScanMax]string
	for _, l := range [2][]string{base, over} {
	next:
		for _, kv := range l {
			k := envKey(kv)
			for i, o := range keys[:len(out)] {
				if o == k {
					out[i] = kv
					continue next
				}
			}
			keys[len(out)] = k
			out = append(out, kv)
		}
	}
	return out
}

// envScanMax is the size up to which mergeEnv scans instead of indexing.
const envScanMax = 64

func mergeEnvMap(out, base, over []string) []string {
	idx := make(map[string]int, len(base)+len(over))
	for _, l := range [2][]string{base, over} {
		for _, kv := range l {
			k := envKey(kv)
			if i, ok := idx[k]; ok {
				out[i] = kv
				continue
			}
			idx[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

func envKey(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	return k
}

func getenv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// lookPath resolves argv0 through the PATH of the service's environment.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		return argv0, nil
	}
	path, ok := getenv(env, "PATH")
	if !ok {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, argv0)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %s: executable file not found in $PATH", argv0)
}
