package daemon

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/control"
	"ginit/init/control/server"
	"ginit/init/loader"
	"ginit/init/logging"
	"ginit/init/lsb"
	"ginit/init/pid1"
	"ginit/init/sdunit"
	"ginit/init/service"
	"ginit/init/supervise"
	"ginit/internal/cgroup2"
	"ginit/internal/i18n"
	"ginit/internal/power"
	"ginit/internal/prof"
	"ginit/internal/utmp"
)

// Paths of the login records; variables of Daemon so tests can move them.
const (
	defaultWtmp = "/var/log/wtmp"
	defaultUtmp = "/run/utmp"
)

// Main is ginit's whole program: it parses args and runs until the manager
// is done. It returns the exit status (as PID 1 it does not return).
func Main(args []string, stdout, stderr io.Writer) int {
	procs := idleProcs(os.Getenv) // before any other thread starts
	// First thing, beside everything else the start does.
	sig := registerSignals()
	tr := i18n.ForEnv(os.Getenv)
	cfg, err := parseArgs(args, tr)
	isPID1 := os.Getpid() == 1
	if err != nil {
		fmt.Fprintf(stderr, "ginit: %v\n", err)
		tr.Fprintf(stderr, "Try '%s --help' for more information.\n", "ginit")
		if !isPID1 {
			return 2
		}
		// PID 1 must come up whatever the kernel passed: use defaults.
		cfg = Config{}
	}
	if printInfo(cfg, isPID1, stdout, tr) {
		return 0
	}
	cfg.PID1 = isPID1
	// A container's PID 1 (or a system manager in one) must not treat the
	// mounts and the reboot(2) it can reach as its own: they are the
	// host's. Decide before Finish, which makes PID 1 the machine's manager.
	container := ""
	if !cfg.Container && (cfg.PID1 || cfg.SystemMgr) {
		if container = pid1.DetectContainer(pid1.RealDetectEnv()); container != "" {
			cfg.Container = true
		}
	}
	if os.Getenv("GOGC") == "" {
		// PID 1 lives for ever and mostly idles: trade a little GC work
		// for a smaller heap.
		debug.SetGCPercent(50)
	}
	cfg.Finish(os.Getenv, os.Geteuid())
	if cfg.User {
		// Before anything reads them: the control socket's path and every
		// service's environment follow.
		for _, kv := range userSessionEnv(os.Getenv, os.Getuid(), dirOwner) {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	}

	var early []string // problems before the log exists
	if err := cfg.loadConf(args); err != nil {
		early = append(early, fmt.Sprintf("config: %v (its settings are ignored)", err))
	}
	if cfg.PID1 && !cfg.Container {
		if err := pid1.SetupConsole(); err != nil {
			early = append(early, fmt.Sprintf("console: %v", err))
		}
	}
	var console io.Writer = stdout
	if cfg.Quiet {
		console = nil
	}
	log := logging.NewMain(console)
	defer log.Close()
	for _, e := range early {
		log.Printf("%s", e)
	}
	if container != "" {
		log.Printf("container detected (%s): running as with --container", container)
	}
	d := &Daemon{cfg: cfg, log: log, wtmp: defaultWtmp, utmp: defaultUtmp, syslogPath: "/dev/log", sig: sig, procs: procs}
	if p := os.Getenv("GINIT_SYSLOG_SOCKET"); p != "" {
		d.syslogPath = p // tests: a socket of their own
	}
	run := func() error {
		// Every allocation: a service's records are a few hundred bytes.
		stop := prof.Start("GINIT", true)
		defer stop()
		return d.Run(context.Background())
	}
	if cfg.PID1 && !cfg.Container {
		_ = pid1.Protect(run, log)
		return 1 // not reached: Protect does not return as PID 1
	}
	if err := run(); err != nil {
		log.Printf("ginit: %v", err)
		return 1
	}
	return 0
}

// Daemon is one running ginit.
type Daemon struct {
	cfg        Config
	sig        *signals // registered at start (nil: Run registers them)
	log        *logging.Main
	wtmp       string
	utmp       string
	syslogPath string // where starts-log sends ginit's log

	mu        sync.Mutex // guards the fields below (Observe runs on the manager goroutine)
	logOpen   bool
	bootWrote bool
	readySent bool
	srv       *server.Server
	srvCancel context.CancelFunc

	m        *service.Manager
	backend  *Backend
	sockPath string // the control socket, resolved once
	procs    procs
}

// machine reports whether ginit manages the machine (reboot(2) at the end).
func (d *Daemon) machine() bool { return d.cfg.SystemMgr && !d.cfg.Container }

// clock is the manager's clock. Timers' on-boot counts from the machine's
// boot for the machine's init, and from ginit's own start for a container,
// namespace or user instance, whose "boot" that is.
func (d *Daemon) clock() realClock {
	if d.machine() {
		return realClock{}
	}
	return realClock{base: realClock{}.SinceBoot()}
}

// Run brings up the manager, the supervisor and the control socket, starts
// the requested services, and handles signals until the manager is done.
func (d *Daemon) Run(ctx context.Context) error {
	cfg := d.cfg
	log := d.log
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if d.machine() && cfg.PID1 {
		if err := pid1.EarlyMounts(log); err != nil {
			log.Printf("early mounts: %v", err)
		}
	}
	if cfg.SystemMgr && !cfg.PID1 && !cfg.Container {
		if err := pid1.WriteCadPid(); err != nil {
			log.Printf("cad_pid: %v", err)
		}
	}
	if d.sig == nil {
		d.sig = registerSignals()
	}
	sigs, sigsSet := d.sig.handled, d.sig.set
	// Run returns only for the process to exit, so the signals stay
	// with sigs: signal.Stop would be one more round trip to that thread
	// per signal on the way out.
	defer func() { <-sigsSet }()

	if cfg.LogFile != "" {
		d.attachLog()
	}

	env := baseEnv(cfg)
	if cfg.EnvFile != "" {
		e, err := loader.ReadEnvFile(cfg.EnvFile, env)
		if err != nil {
			log.Printf("env-file %s: %v", cfg.EnvFile, err)
		} else {
			env = e
		}
	}

	cgRoot, cgCleanup := d.setupCgroups()
	defer cgCleanup()

	d.sockPath = control.SocketPath(cfg.SocketPath, cfg.User, os.Getenv)
	runtimeDir := ""
	if cfg.System {
		runtimeDir = "/run/ginit"
		if cfg.Container {
			runtimeDir = filepath.Join(filepath.Dir(d.sockPath), ".ginit-"+filepath.Base(d.sockPath))
		}
	} else if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
		runtimeDir = filepath.Join(x, "ginit")
	}
	if runtimeDir != "" {
		// Made by the first notify socket (openNotify's MkdirAll, whose
		// error names the service), not at start: most runs have no
		// ready-notification = notify service, and the directory's
		// mkdir and rmdir were a third of an idle container's exit
		// (0.5 ms on /tmp). Absent, the removal is two failed calls.
		defer os.RemoveAll(runtimeDir)
	}

	supCfg := supervise.Config{Logger: log, CgroupRoot: cgRoot, RuntimeDir: runtimeDir, ControlConn: d.controlConn}
	sup, err := supervise.New(supCfg)
	if err != nil && cgRoot != "" {
		log.Printf("supervise: %v; running without cgroups", err)
		supCfg.CgroupRoot = ""
		sup, err = supervise.New(supCfg)
	}
	if err != nil {
		return fmt.Errorf("supervise: %w", err)
	}
	supCtx, supCancel := context.WithCancel(context.Background())
	supDone := make(chan struct{})
	go func() { _ = sup.Run(supCtx); close(supDone) }()
	defer func() { supCancel(); <-supDone }()

	ld := &loader.Loader{Dirs: cfg.ServicesDirs, Env: loader.EnvList(env), Log: log}
	if !cfg.User {
		fstab := cfg.Fstab
		if fstab == "" {
			fstab = "/etc/fstab"
		}
		// --no-systemd-units drops only the unit lookup: fstab and the
		// init scripts stay, since units/boot waits for both aggregates.
		var unitDirs []string
		if !cfg.NoUnits {
			unitDirs = append(slices.Clone(cfg.ServicesDirs), sdunit.SystemDirs()...)
		}
		ld.Units = sdunit.Fallback(cfg.ServicesDirs, unitDirs, append(lsb.DebianDirs(), lsb.BSDDirs()...), fstab)
	}
	var timers service.TimerStore
	if dir := defaultTimersDir(cfg, os.Getenv); dir != "" {
		ts := newTimerStore(dir, log)
		tsCtx, tsCancel := context.WithCancel(context.Background())
		tsDone := make(chan struct{})
		go func() { ts.run(tsCtx); close(tsDone) }()
		defer func() { tsCancel(); <-tsDone }()
		timers = ts
	}
	d.m = service.New(service.Config{
		Load:         ld.LoadAll,
		Check:        loader.CheckAll,
		Spawner:      d.spawner(sup),
		Conditions:   service.OSConditions{},
		Sockets:      sup,
		Clock:        d.clock(),
		Logger:       log,
		Env:          env,
		ExitWhenIdle: !cfg.SystemMgr,
		Observe:      d.observe,
		// A machine must go down even if a service will not stop; the
		// final shutdown then TERMs and KILLs whatever is left.
		ShutdownTimeout: shutdownTimeout(cfg),
		// Overlap fork/execs of services that become ready together.
		SpawnParallel: 2 * runtime.NumCPU(),
		StartLimit:    cfg.StartLimit,
		ClassLimits:   cfg.ClassLimits,
		Pressure:      supervise.PSI{Dir: "/proc/pressure"},
		TimerStore:    timers,
		// After a burst (boot, many starts or stops) the heap it grew is
		// garbage: return it to the kernel now rather than over minutes.
		Settled: func() {
			d.procs.narrow()
			go debug.FreeOSMemory()
		},
		SettleDelay: time.Second,
		Burst:       d.procs.widen,
		KillAll: func(done func()) {
			go func() { pid1.KillAll(2*time.Second, log); done() }()
		},
	})
	d.backend = &Backend{M: d.m, Logs: sup, IsNotFound: loader.IsNotFound, IsLoadError: loader.IsLoadError, Terms: sup}

	if d.machine() {
		d.bootRecord()
	}
	<-sigsSet
	if err := d.openControl(ctx); err != nil {
		log.Printf("control socket: %v (retried when a starts-rwfs service starts)", err)
	}
	defer d.closeControl()

	type result struct {
		kind power.Kind
		err  error
	}
	clockCtx, clockCancel := context.WithCancel(ctx)
	defer clockCancel()
	go watchClockSet(clockCtx, d.m.WallClockSet, log) // clockset.go
	done := make(chan result, 1)
	go func() {
		k, err := d.m.Run(ctx)
		done <- result{k, err}
	}()
	// Starting is loading and activating (NoWait), so each Start returns
	// quickly; they run beside this loop, which must keep serving signals.
	noneLoaded := make(chan error, 1)
	go func() {
		var errs []error
		for _, name := range cfg.Services {
			if err := d.m.Start(ctx, name, service.StartOpts{NoWait: true}); err != nil {
				log.Printf("start '%s': %v", name, err)
				errs = append(errs, err)
			}
		}
		// Like dinit, an instance that exits when idle and could start
		// none of the services it was asked for has nothing to do.
		if !cfg.SystemMgr && len(errs) == len(cfg.Services) && allLoadErrors(errs) {
			noneLoaded <- fmt.Errorf("none of the services to start could be loaded (%s)", strings.Join(cfg.Services, ", "))
		}
	}()

	policy := &pid1.SignalPolicy{System: cfg.SystemMgr}
	for {
		select {
		case sig := <-sigs:
			switch a := policy.Decide(sig); a.Step {
			case pid1.StepStop, pid1.StepExit:
				log.Printf("signal %v: %s", sig, a.Doing())
				d.m.RequestShutdown(a.Kind)
			case pid1.StepNow:
				log.Printf("signal %v: %s now, without stopping services", sig, a.Kind)
				d.finish(a.Kind)
				return nil
			case pid1.StepReopenControl:
				d.closeControl()
				if err := d.openControl(ctx); err != nil {
					log.Printf("control socket: %v", err)
				}
			}
		case err := <-noneLoaded:
			return err
		case r := <-done:
			if r.err != nil && !errors.Is(r.err, context.Canceled) {
				return r.err
			}
			log.Printf("all services stopped (%s)", r.kind)
			d.closeControl()
			supCancel()
			<-supDone
			d.finish(r.kind)
			return nil
		}
	}
}

// signals are the channels the daemon's signals reach.
type signals struct {
	handled chan os.Signal // pid1.HandledSignals
	set     chan struct{}  // closed once every one is registered
}

// registerSignals hands the daemon's signals to the runtime on a
// goroutine of its own. Each is a round trip to the runtime's signal-mask
// thread (two thread wake-ups, some 0.1 ms, six of them): made beside
// the rest of the start-up, and awaited before the control socket opens
// (the ready line promises a ginit that answers signals too).
func registerSignals() *signals {
	// Not SIGCHLD: the supervisor's reaper is woken by the exits
	// themselves (supervise.Supervisor.waitChildren).
	s := &signals{handled: make(chan os.Signal, 8), set: make(chan struct{})}
	go func() {
		signal.Notify(s.handled, pid1.HandledSignals()...)
		signal.Ignore(pid1.IgnoredSignals()...)
		close(s.set)
	}()
	return s
}

// allLoadErrors reports whether every error is about the descriptions (not
// found, malformed, a cycle) rather than, say, a shutdown in progress.
func allLoadErrors(errs []error) bool {
	for _, err := range errs {
		if !loader.IsLoadError(err) {
			return false
		}
	}
	return true
}

func shutdownTimeout(cfg Config) time.Duration {
	if cfg.SystemMgr && !cfg.Container {
		return 2 * time.Minute
	}
	return 0
}

// finish writes the shutdown record and hands over to the final steps. Only
// the machine's manager does either: a container or user instance shares
// the host's wtmp and must leave it alone.
func (d *Daemon) finish(kind power.Kind) {
	if !d.machine() {
		return
	}
	if err := utmp.AppendWtmp(d.wtmp, utmp.ShutdownRecord(time.Now(), utmp.KernelRelease())); err != nil {
		d.log.Printf("wtmp: %v", err)
	}
	if err := pid1.FinalShutdown(kind, d.log); err != nil {
		d.log.Printf("shutdown: %v", err)
	}
}

// baseEnv is the initial activation environment.
func baseEnv(cfg Config) []string {
	if cfg.PID1 && !cfg.Container {
		return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=linux", "HOME=/"}
	}
	return os.Environ()
}

func (d *Daemon) openControl(ctx context.Context) error {
	path := d.sockPath
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.srv != nil {
		return nil
	}
	srv, err := server.NewServer(path, d.backend, d.log)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	d.srv, d.srvCancel = srv, cancel
	go func() { _ = srv.Serve(sctx) }()
	if fd := d.cfg.ReadyFD; fd >= 0 && !d.readySent {
		// dinit's -F: the socket listens now, so commands are accepted.
		d.readySent = true
		f := os.NewFile(uintptr(fd), "ready-fd")
		if _, err := f.WriteString(path + "\n"); err != nil {
			d.log.Printf("ready-fd %d: %v", fd, err)
		}
		f.Close()
	}
	return nil
}

// controlConn makes a socket pair, serves one end like an accepted control
// connection and returns the other for a service (options pass-cs-fd).
func (d *Daemon) controlConn() (*os.File, error) {
	d.mu.Lock()
	srv := d.srv
	d.mu.Unlock()
	if srv == nil {
		return nil, errors.New("the control socket is not open yet")
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "control")
	defer ours.Close() // FileConn keeps its own copy
	c, err := net.FileConn(ours)
	if err != nil {
		unix.Close(fds[1])
		return nil, err
	}
	if err := srv.ServeConn(context.Background(), c.(*net.UnixConn)); err != nil {
		unix.Close(fds[1])
		return nil, err
	}
	return os.NewFile(uintptr(fds[1]), "control"), nil
}

func (d *Daemon) closeControl() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.srv == nil {
		return
	}
	d.srvCancel()
	_ = d.srv.Close()
	d.srv = nil
}

// attachLog opens -l once the file system allows.
func (d *Daemon) attachLog() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.logOpen || d.cfg.LogFile == "" {
		return
	}
	if err := d.log.AttachFile(d.cfg.LogFile); err != nil {
		d.log.Printf("%v (kept in memory until a starts-rwfs service starts)", err)
		return
	}
	d.logOpen = true
}

// bootRecord writes the wtmp boot and runlevel records once wtmp is
// writable.
func (d *Daemon) bootRecord() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bootWrote {
		return
	}
	now := time.Now()
	k := utmp.KernelRelease()
	if err := utmp.AppendWtmp(d.wtmp, utmp.BootRecord(now, k)); err != nil {
		if !errors.Is(err, unix.EROFS) && !errors.Is(err, os.ErrNotExist) {
			d.log.Printf("wtmp boot record: %v", err)
		}
		return
	}
	_ = utmp.AppendWtmp(d.wtmp, utmp.RunlevelRecord(now, '2', 'N', k))
	_ = utmp.WriteUtmp(d.utmp, utmp.BootRecord(now, k))
	d.bootWrote = true
}

// observe runs on the manager goroutine: a starts-rwfs service makes the
// file system writable, so now the log file, wtmp and a control socket that
// could not be created earlier get another try.
func (d *Daemon) observe(desc *service.Description, st service.State) {
	if st == service.Started && desc.Options.StartsLog && d.cfg.LogFile == "" {
		// The syslog daemon is up: ginit's log goes to it (-l wins).
		go func() {
			if err := d.log.AttachSyslog(d.syslogPath); err != nil {
				d.log.Printf("service '%s' (starts-log): %v", desc.Name, err)
			}
		}()
	}
	if st != service.Started || !desc.Options.StartsRWFS {
		return
	}
	go func() {
		d.attachLog()
		if d.machine() {
			d.bootRecord()
		}
		if err := d.openControl(context.Background()); err != nil {
			d.log.Printf("control socket: %v", err)
		}
	}()
}

// setupCgroups gives ginit a subtree of the unified hierarchy: with -b,
// the named cgroup (see namedCgroup); as the machine's init, /ginit.slice
// for services and /init.scope for itself; otherwise a fresh child of its
// own cgroup (unique, so several instances can share a parent) holding
// services/, with ginit left where it is. Moving itself would buy nothing
// there: the subtree is offered only what ginit's cgroup enables in its
// subtree_control, which cgroup v2 refuses to a non-root cgroup with
// processes whether or not ginit leaves it, and the root is exempt from
// that rule. And each move of a running ginit waits for an RCU grace
// period in the kernel (cgroup_threadgroup_rwsem): profiled at ~15 ms,
// once at start and again at exit to move back, most of a container's
// start and stop. The cleanup removes what it made.
func (d *Daemon) setupCgroups() (string, func()) {
	mount, err := cgroup2.UnifiedMount()
	if err != nil {
		return d.noCgroups(err)
	}
	if d.cfg.CgroupPath != "" {
		return d.namedCgroup(mount, d.cfg.CgroupPath)
	}
	self, err := cgroup2.Self(mount)
	if err != nil {
		return d.noCgroups(err)
	}
	if d.machine() && self == mount {
		initScope := filepath.Join(mount, "init.scope")
		services := filepath.Join(mount, "ginit.slice")
		for _, dir := range []string{initScope, services} {
			if err := cgroup2.Create(dir); err != nil {
				return d.noCgroups(err)
			}
		}
		if err := cgroup2.Move(initScope, os.Getpid()); err != nil {
			d.log.Printf("cgroups: %v", err)
		}
		// The machine's tree goes down with it.
		return services, func() {}
	}
	// Only distinct from other instances' names, not secret: the runtime's
	// generator, where crypto/rand's first read set up its DRBG on the way
	// to the ready line.
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], rand.Uint32())
	top := filepath.Join(self, "ginit-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(top, 0o755); err != nil {
		return d.noCgroups(err)
	}
	services := filepath.Join(top, "services")
	if err := cgroup2.Create(services); err != nil {
		_ = os.Remove(top)
		return d.noCgroups(err)
	}
	cleanup := func() {
		// Whatever is left (a forced reboot did not stop services) goes
		// with us; ginit itself is not in the subtree.
		d.removeCgroupTree(services)
		d.removeCgroup(top)
	}
	return services, cleanup
}

// noCgroups logs why services run without cgroups and returns setupCgroups'
// answer for that: no root, nothing to clean up.
func (d *Daemon) noCgroups(err error) (string, func()) {
	d.log.Printf("cgroups: %v; service trees are process groups", err)
	return "", func() {}
}

// namedCgroup is -b PATH (dinit's --cgroup-path): services get their
// cgroups below mount/PATH, made if missing, and a relative run-in-cgroup
// resolves against it. ginit itself stays where it is: the named cgroup
// may be its own or hold other processes. So the cleanup kills and removes
// only what this instance made: the service cgroups that were not there
// before, and the directories of PATH it created.
func (d *Daemon) namedCgroup(mount, rel string) (string, func()) {
	dir := mount
	var made []string
	for _, el := range strings.Split(strings.Trim(rel, "/"), "/") {
		if el == "" {
			continue
		}
		dir = filepath.Join(dir, el)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			made = append(made, dir)
			continue
		}
		if !errors.Is(err, os.ErrExist) {
			for i := len(made) - 1; i >= 0; i-- {
				_ = os.Remove(made[i])
			}
			return d.noCgroups(fmt.Errorf("--cgroup-path %s: %w", rel, err))
		}
	}
	before := map[string]bool{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return d.noCgroups(fmt.Errorf("--cgroup-path %s: %w", rel, err))
	}
	for _, e := range ents {
		before[e.Name()] = true
	}
	cleanup := func() {
		d.removeChildCgroups(dir, before)
		for i := len(made) - 1; i >= 0; i-- {
			d.removeCgroup(made[i])
		}
	}
	return dir, cleanup
}

// removeChildCgroups kills and removes the child cgroups of dir, with
// their subtrees, except those named in keep.
func (d *Daemon) removeChildCgroups(dir string, keep map[string]bool) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() && !keep[e.Name()] {
			d.removeCgroupTree(filepath.Join(dir, e.Name()))
		}
	}
}

// cleanupPatience is how long a cgroup may stay busy at cleanup: the
// kernel reports it empty a moment after the last process died.
const cleanupPatience = 2 * time.Second

// removeCgroup removes an emptied cgroup.
func (d *Daemon) removeCgroup(dir string) {
	if err := cgroup2.Remove(dir, cleanupPatience, false); err != nil {
		d.log.Printf("cgroups: cleanup: %v", err)
	}
}

// removeCgroupTree kills what is left in dir and below and removes it all.
func (d *Daemon) removeCgroupTree(dir string) {
	if err := cgroup2.RemoveTree(dir, cleanupPatience); err != nil {
		d.log.Printf("cgroups: cleanup: %v", err)
	}
}

// spawner is sup, with utmp/wtmp entries for gettys when ginit manages the
// machine (other instances share the host's files).
func (d *Daemon) spawner(sup *supervise.Supervisor) service.Spawner {
	if !d.machine() {
		return sup
	}
	return &utmpSpawner{Spawner: sup, d: d}
}

// utmpSpawner writes utmp/wtmp entries for services with inittab-id or
// inittab-line (gettys), as sysvinit and dinit do.
type utmpSpawner struct {
	service.Spawner
	d *Daemon
}

func (u *utmpSpawner) Spawn(req service.SpawnRequest, n service.Notifier) (service.Proc, error) {
	desc := req.Desc
	if req.Kind != service.ProcStart || (desc.Ext().InittabID == "" && desc.Ext().InittabLine == "") {
		return u.Spawner.Spawn(req, n)
	}
	id, line := desc.Ext().InittabID, desc.Ext().InittabLine
	un := &utmpNotifier{Notifier: n, u: u, id: id, line: line}
	p, err := u.Spawner.Spawn(req, un)
	if err != nil {
		return nil, err
	}
	if err := utmp.WriteUtmp(u.d.utmp, utmp.InitRecord(time.Now(), p.Pid(), id, line)); err != nil {
		u.d.log.Printf("service '%s': utmp: %v", desc.Name, err)
	}
	return p, nil
}

type utmpNotifier struct {
	service.Notifier
	u        *utmpSpawner
	id, line string
}

func (n *utmpNotifier) Exited(p service.Proc, st service.ExitStatus) {
	rec := utmp.DeadRecord(time.Now(), p.Pid(), n.id, n.line)
	_ = utmp.WriteUtmp(n.u.d.utmp, rec)
	_ = utmp.AppendWtmp(n.u.d.wtmp, rec)
	n.Notifier.Exited(p, st)
}
