// Package control is ginit's control protocol: the request and response
// types, their versioned wire encoding (PROTOCOL.md) and the client that
// ginitctl and sessiond use. It imports no other ginit package but
// internal/power, so a client links nothing of the service manager; the
// socket server is control/server.
package control

import "ginit/internal/power"

// Op names a control request. The set follows dinitctl's subcommands.
type Op string

// Operations.
const (
	OpVersion   Op = "version"
	OpStart     Op = "start"
	OpStop      Op = "stop"
	OpRestart   Op = "restart"
	OpWake      Op = "wake"
	OpRelease   Op = "release"
	OpUnpin     Op = "unpin"
	OpStatus    Op = "status"
	OpList      Op = "list"
	OpReload    Op = "reload" // read the description again, as dinitctl's reload
	OpUnload    Op = "unload"
	OpAddDep    Op = "add-dep"
	OpRmDep     Op = "rm-dep"
	OpEnable    Op = "enable"
	OpDisable   Op = "disable"
	OpSetEnv    Op = "setenv"
	OpUnsetEnv  Op = "unsetenv"
	OpTrigger   Op = "trigger"
	OpUntrigger Op = "untrigger"
	OpSignal    Op = "signal"
	OpCatLog    Op = "catlog"
	OpShutdown  Op = "shutdown"
	OpAttach    Op = "attach" // a service's terminal session (attach.go)
	// OpReloadService runs a started service's reload-command (systemd's
	// ExecReload) and answers when it has ended.
	OpReloadService Op = "reload-service"
)

// Known reports whether op is one of the operations above.
func (op Op) Known() bool {
	switch op {
	case OpVersion, OpStart, OpStop, OpRestart, OpWake, OpRelease, OpUnpin, OpStatus,
		OpList, OpReload, OpUnload, OpAddDep, OpRmDep, OpEnable, OpDisable, OpSetEnv,
		OpUnsetEnv, OpTrigger, OpUntrigger, OpSignal, OpCatLog, OpShutdown, OpAttach, OpReloadService:
		return true
	}
	return false
}

// Request is one control request.
type Request struct {
	Op      Op
	Service string // the service named by the command, if any

	// Flags of start/stop/restart/release/catlog.
	Pin             bool
	Force           bool
	NoWait          bool
	IgnoreUnstarted bool
	Clear           bool

	DepType   string   // add-dep/rm-dep: "need" (alias "regular"), "milestone", "waits-for"
	DepTarget string   // add-dep/rm-dep: the dependency (Service is the dependent)
	From      string   // enable/disable --from
	Signal    int      // signal number
	Env       []string // setenv: NAME=VALUE; unsetenv: NAME
	Shutdown  string   // a power.Kind's name: "halt" (also ""), "poweroff", "reboot", "kexec", "remain"
}

// ShutdownKind reads a shutdown request's type; an empty one is halt, as
// in dinit.
func (r *Request) ShutdownKind() (power.Kind, error) {
	if r.Shutdown == "" {
		return power.Halt, nil
	}
	return power.Parse(r.Shutdown)
}

// Code is the outcome of a request; ginitctl maps it to its exit status.
type Code int

// Result codes.
const (
	OK          Code = iota
	Failed           // the request was valid but the action failed (e.g. the service failed to start)
	NoService        // the named service is not loaded and could not be loaded
	BadRequest       // malformed or unknown request, or bad arguments
	Refused          // refused by policy, e.g. stop with hard dependents and no --force
	LoadError        // the service description has errors (Message names file:line)
	NotStarted       // is-started/--ignore-unstarted style answers: the service is not started
	Unsupported      // the daemon does not do this (yet)
)

// ServiceInfo describes one loaded service in list and status replies.
type ServiceInfo struct {
	Name       string
	Type       string // service type name
	State      string // "stopped", "starting", "started", "stopping"
	Target     string // the state it is heading for: "started" or "stopped"
	Active     bool   // explicitly activated (started by command or on the command line)
	PinStart   bool
	PinStop    bool
	Failed     bool   // the last start failed
	Skipped    bool   // scripted service skipped (options: skippable)
	PID        int    // 0 if no process
	ExitStatus string // how the last process ended, e.g. "exited 1", "signal 9 (Killed)"
	StopReason string // why it stopped: "normal", "dependency restarted", "dependency failed", "failed", "exec failed", "timed out", "terminated"
	StatusText string // sd_notify STATUS=
	File       string // description file
	Deps       []string
	Dependents []string
	Triggered  bool     // triggered services: trigger set
	LastOutput []string // status of a failed or stopped service: its last lines of output kept in memory

	// Timer services.
	TimerTarget string // the service each elapse starts
	NextRun     int    // the coming elapse, Unix seconds; 0 = none
	NextTrigger string // the setting behind it: "on-calendar", "on-boot", "on-active", "on-unit-inactive"
	LastRun     int    // the last elapse, Unix seconds (this start's or the stored one); 0 = never
	Runs        int    // elapses since the timer started

	Since int // when State was entered, in Unix milliseconds (0: unknown)
}

// Response is the answer to a Request.
type Response struct {
	Code     Code
	Message  string        // human-readable detail; for errors, precise (file:line, service)
	Services []ServiceInfo // list: all; status: one
	// EncodedServices are more services, already encoded one after another
	// by AppendServiceInfo and sent after Services (a server's list);
	// decoding puts them in Services.
	EncodedServices []byte
	Log             []byte   // catlog
	Truncated       bool     // catlog: output was discarded
	Dependents      []string // stop refused: the dependents that would stop
	Env             []string // reserved for getallenv
}
