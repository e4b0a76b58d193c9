package service

import "time"

// Clock is injected so that timers (start/stop timeouts, restart delays and
// rate limits) can be driven by a fake in tests.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once after d, on a goroutine of the clock's choosing.
	// The manager uses it only to post an event into its own loop.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	Stop() bool
}

// ProcKind says which command of a service a process runs.
type ProcKind int

// Process kinds.
const (
	ProcStart  ProcKind = iota // `command`
	ProcStop                   // `stop-command`
	ProcReload                 // `reload-command` (reload-service)
)

// SpawnRequest asks the spawner to start one command of a service.
type SpawnRequest struct {
	Desc *Description
	Kind ProcKind
	Argv []string
	// Env is the manager's activation environment (from the env file and
	// setenv), KEY=VALUE; the service's own Desc.Env takes priority over it.
	Env []string
	// Sockets names the started socket services whose listening sockets
	// a start command gets (fd 3 on, in this order, LISTEN_FDS); for an
	// instance started for a connection, its own name (the connection).
	Sockets []string
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code     int   // exit code when Signaled is false
	Signaled bool  // killed by Signal
	Signal   int   // signal number
	ExecErr  error // non-nil: the command never ran (exec or set-up failed); Code/Signal are meaningless
}

// Success reports a clean exit with status 0.
func (e ExitStatus) Success() bool { return e.ExecErr == nil && !e.Signaled && e.Code == 0 }

// Proc is a process (with its tree) that the spawner started or adopted.
type Proc interface {
	Pid() int
	// Signal sends sig to the main process, or to its process group unless
	// the service has options: signal-process-only.
	Signal(sig int) error
	// KillTree sends sig to every process of the service: its cgroup when
	// there is one, else its process group, and to the main process even
	// if it has left them (pam_systemd moves a login to its session's
	// cgroup). With a cgroup, a signal other than SIGKILL reaches the main
	// process and its group at once and the rest of the cgroup once the
	// main process has exited.
	KillTree(sig int) error
}

// Notifier receives facts about processes after Spawn returns. The manager's
// implementation only posts events to its loop, so calls never block long.
// Every call for a Proc comes after Spawn/Adopt returned it.
type Notifier interface {
	// Exited: the main process ended (the pid is reaped).
	Exited(p Proc, st ExitStatus)
	// Ready: the process signalled readiness (ready-notification or sd_notify READY=1).
	Ready(p Proc)
	// StatusText: sd_notify STATUS=.
	StatusText(p Proc, text string)
	// TreeEmpty: no process of the service is left (cgroup.events populated 0,
	// or the process group is gone).
	TreeEmpty(p Proc)
}

// Spawner starts and watches processes for the manager. supervise provides
// the real one; tests use a fake.
type Spawner interface {
	// Spawn starts req. The process is registered with the reaper before it
	// can exit, so no Exited is lost. n receives later facts about it.
	Spawn(req SpawnRequest, n Notifier) (Proc, error)
	// Adopt reads the pid file of a bgprocess service (with the security
	// checks a root daemon needs) and watches that pid, which need not be
	// a child of ginit.
	Adopt(d *Description, n Notifier) (Proc, error)
	// Release frees what the spawner holds for a service whose processes are
	// all gone (its cgroup, notify socket, pid watchers).
	Release(d *Description)
}

// LogReader returns the buffered output of a service (log-type = buffer).
// clear empties the buffer after reading. truncated reports that output was
// discarded because the buffer was full.
type LogReader interface {
	CatLog(service string, clear bool) (data []byte, truncated bool, err error)
}

// Logger is ginit's own log.
type Logger interface {
	Printf(format string, args ...any)
}

// Sockets holds the listening sockets of socket services (activation.go);
// supervise provides the real one. Open and Close run on the manager
// goroutine and never block on a peer (bind and listen, no accept).
type Sockets interface {
	// Open makes every socket of d.Socket; on error none is left open.
	Open(d *Description) error
	// Watch arms a one-shot watch: readable is called once, from any
	// goroutine, when one of d's sockets has a connection or data. A
	// Watch replaces the previous one.
	Watch(d *Description, readable func())
	// Unwatch disarms the watch (a readable already on its way may still
	// come: the manager ignores it).
	Unwatch(d *Description)
	// Close closes d's sockets (and removes the paths made, with
	// RemoveOnStop); for an instance of an Accept socket, its connection.
	Close(d *Description)
	// Accept takes one pending connection of an Accept socket without
	// blocking and keeps it for the instance named by name(local,
	// remote), whose start gets it; "" when none was pending.
	Accept(d *Description, name func(local, remote string) string) (string, error)
}
