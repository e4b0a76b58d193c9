package service

import "time"

// phase refines Starting and Stopping.
type phase uint8

const (
	phNone         phase = iota
	phWaitDeps           // Starting: waiting for dependencies and ordering
	phExec               // Starting: command running / waiting for readiness or trigger
	phWaitDepnts         // Stopping: waiting for hard dependents to stop
	phExecStop           // Stopping: stop command, signal, waiting for the process tree
	phRestartDelay       // Stopped: waiting for restart-delay before starting again
	phKillAll            // Stopping: kill-all-on-stop is signalling every process
)

// stage is where a service is: its state and the phase within it.
type stage struct {
	state State
	ph    phase
}

// edge is a dependency from `from` to `to`. hold means `from` currently
// requires `to` (counted in to.requiredBy).
type edge struct {
	from, to *svc
	kind     DepKind
	prepared bool // prepared-by: restarted when `from` restarts
	hold     bool
	// done: for waits-for and milestone edges, the dependency failed or was
	// brought down during this start attempt, so `from` stops waiting for it.
	done bool
}

// waiter is a control request waiting for a service to reach a state.
type waiter struct {
	want     State
	pastStop bool // restart: satisfied only after the service went through Stopped
	sawStop  bool
	reply    chan error
}

// svc is the manager's record of one loaded service. Owned by the manager goroutine.
type svc struct {
	desc  *Description
	state State
	since time.Time // when state last changed (the clock's time)

	// Counts of edges: int32 shares one word between them.
	requiredBy int32 // number of holding edges into this service
	holding    int32 // number of its deps edges that hold (see releaseDeps)

	deps       []*edge // outgoing: depends-on, depends-ms, waits-for
	dependents []*edge // incoming
	after      []*svc  // must not start before these have (after/before ordering)
	afterMe    []*svc  // the reverse of after

	proc     Proc       // main process (process, bgprocess) or running start command (scripted, bgprocess launcher)
	stopProc Proc       // running stop-command
	reload   *reloadRun // running reload-service (reload.go)
	treeProc Proc       // exited main process whose tree is still populated during stop
	exit     ExitStatus
	reason   StopReason
	tm       *timerRun
	sock     *sockRun // socket services (activation.go)
	status   string
	cause    string // detail for the last failure, e.g. the failed dependency

	startTimer, stopTimer, delayTimer Timer
	lastStart                         time.Time
	spawnSeq                          int         // bumps at each execStart; a queued spawn with an older one is stale
	restarts                          []time.Time // automatic restarts within restart-limit-interval

	waiters []*waiter

	// The phase and the flags share the record's last words (grouped, not
	// beside what they qualify: 31 bytes of padding took the record past
	// the allocator's 480-byte class; the phase a byte here and the edge
	// counts int32 take it from 464 bytes to the 448-byte class).
	ph          phase
	explicit    bool // activated by command or on the command line
	pinStart    bool
	pinStop     bool
	forceDown   bool // brought down: not wanted until it has stopped
	restarting  bool // this stop is a restart: keep activation
	autoRestart bool // the restart follows an unexpected exit: honour restart-delay
	held        bool // stopped for a restart: the spawner's resources were kept (not Released)
	launcher    bool // proc is a bgprocess launcher
	ready       bool // readiness seen for the current process
	hasExit     bool
	failed      bool
	skipped     bool
	triggered   bool
	ranOnce     bool
	killedAll   bool // kill-all-on-stop done for this stop
	waitSlot    bool // dependencies up, waiting for a start slot (in Manager.slotWait)
	byTimer     bool // this run was started by a timer's elapse (timer.go)
}

func (s *svc) name() string { return s.desc.Name }

// hasProcess reports whether the service's type runs a long-lived process.
func (s *svc) supervised() bool {
	return s.desc.Type == TypeProcess || s.desc.Type == TypeBGProcess
}
