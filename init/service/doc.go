// Package service holds ginit's service records, the dependency graph and the
// service state machine. It is pure logic: no syscalls, files or sockets, so
// the whole manager can be driven in memory with a fake clock and fake
// processes.
//
// # States and phases
//
// A service is in one of four states; each has phases, and every change of
// state or phase goes through Manager.setState (setPhase keeps the state),
// which wakes up the neighbours of the service. The diagram, as the edges
// it allows (a test holds every run of the manager tests to it):
//
//	state     phase               next                       when
//	Stopped   none             →  Starting/wait-deps         wanted: its dependencies are held
//	                           →  Stopped/restart-delay      wanted again sooner than restart-delay after the last start
//	          restart-delay    →  Stopped/none               the delay elapsed, or brought down, or shutdown
//	Starting  wait-deps        →  Starting/exec              dependencies up, ordering met, a start slot free: the command is spawned
//	                           →  Stopped/none               a dependency failed, or no longer wanted
//	          exec             →  Started/none               ready: process up or readiness, launcher done, script ran, trigger
//	                           →  Stopping/wait-dependents   failed, timed out or cancelled with a process running
//	                           →  Stopped/none               failed or cancelled with none
//	Started   none             →  Stopping/wait-dependents   not wanted, a hard dependency stopping, the process ended
//	Stopping  wait-dependents  →  Stopping/kill-all          hard dependents down, and options kill-all-on-stop
//	                           →  Stopping/exec-stop         hard dependents down: stop-command or term-signal
//	          kill-all         →  Stopping/exec-stop         every other process was signalled
//	          exec-stop        →  Stopped/none               every process gone (KILL after stop-timeout)
//
// A service is wanted while it is explicitly activated or held by an active
// dependent, and not pinned stopped or being brought down; Stopped and
// wanted starts it again, which is how restarts (of the service and of its
// dependents) happen. A smooth recovery re-runs the process without leaving
// Started.
//
// # Files
//
//	manager.go   Config, the Manager and its loop (Run, call, post, timers, idle exit)
//	verbs.go     the public verbs: one request frame, waiters for their replies
//	load.go      reading descriptions off the loop, installing and linking them, reload, add/rm-dep
//	engine.go    the state machine: the queue, step, the start and stop paths
//	exit.go      process exits, readiness, the restart decision (a pure function), smooth recovery
//	startlimit.go  the soft limit on parallel starts: StartLimit and the pure decision mayStart
//	startslot.go   the manager's start slots: who holds one, who waits, re-checks
//	timer.go     type timer: elapses start the target; stop waits for its run; clock jumps
//	shutdown.go  stopping everything, reporting and giving up on what holds it
//	snapshot.go  Info for list and status
//	state.go     State, StopReason, ExitStatus's text
//	record.go    the record of one service, its phases and edges
//	desc.go      Description, the input the loaders produce
//	iface.go     what the manager is given: Clock, Spawner, Proc, Notifier, Logger
//	errors.go    the errors verbs return
//	caps.go      capability and securebits parsing for descriptions
package service
