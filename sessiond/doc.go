// Package sessiond is a logind-compatible session manager: it keeps the
// sessions, users and seats that PAM creates through CreateSession,
// serves them on the bus as org.freedesktop.login1, places session
// processes in systemd's cgroup layout and writes the /run/systemd state
// files that libsystemd's sd-login reads, so unmodified clients work.
//
// One goroutine (Manager.Run) owns all state. Bus handlers, FIFO and
// cgroup watchers and timers only post closures to it (queue.go) and wait
// for the answer; after each batch the loop publishes what changed for
// the read-only calls, answers, then persists it and emits the signals
// (PropertiesChanged included) in order: the reply comes first, as
// logind's does (Manager.apply).
//
// The files follow the objects, as systemd's src/login does; each holds
// an object's logic and its bus face:
//
//	manager.go   Config, Manager, the owner loop's flush, the Manager
//	             interface table and properties, the object tree
//	session.go   sessions: lifecycle, state file, Session interface and
//	             the Manager methods on sessions
//	seat.go      seats: the active session, VT switching, CanGraphical
//	udev.go      seats and their devices from udev, uaccess ACLs
//	vt.go        a controller's VT: graphics mode, VT_PROCESS switching
//	adopt.go     controllers and their devices taken back after a restart
//	user.go      users: runtime directory, linger, state file
//	inhibitor.go inhibitor locks and Inhibit
//	power.go     power actions, ScheduleShutdown, PrepareFor…
//	buttons.go   what the power keys and the lid do (HandlePowerKey=, …)
//	devices.go   TakeControl/TakeDevice: devices handed to controllers
//	auth.go      authorization: one rule per call (owner, root, polkit)
//	create.go    CreateSession
//	restore.go   the state-file codec and the rebuild after a restart
//	host.go      Host, VTs, Buttons, Clock: what the logic asks of the
//	             machine; daemon.go wires it to the bus
//
// The syscalls behind those interfaces are in sessiond/sys. All state
// lives in files under the run directory, so a sessiond killed with
// SIGKILL and started again restores every session, user and seat.
package sessiond
