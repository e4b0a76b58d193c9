package service

import (
	"fmt"
	"syscall"
)

// State is where a service is in its life cycle; the package doc draws
// the four states with the phases inside them.
type State int

// The four states.
const (
	Stopped State = iota
	Starting
	Started
	Stopping
)

func (s State) String() string {
	switch s {
	case Stopped:
		return "stopped"
	case Starting:
		return "starting"
	case Started:
		return "started"
	case Stopping:
		return "stopping"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// StopReason says why a service last stopped (or failed to start).
type StopReason int

// Stop reasons, after dinit's.
const (
	ReasonNone         StopReason = iota
	ReasonNormal                  // stopped on request
	ReasonDepRestart              // a hard dependency restarted
	ReasonDepFailed               // a dependency failed to start
	ReasonFailed                  // the start command failed or the process died before it was ready
	ReasonExecFailed              // the command could not be run
	ReasonTimedOut                // start timed out
	ReasonTerminated              // the process ended by itself
	ReasonDepStopped              // a hard dependency stopped
	ReasonRestartLimit            // it kept dying: restart-limit-count reached within restart-limit-interval
	ReasonStopKilled              // stopped on request, but killed (SIGKILL) after stop-timeout
	ReasonCondition               // a condition was not met: nothing ran, dependents went on
	ReasonAssert                  // an assertion was not met: the start failed
)

func (r StopReason) String() string {
	switch r {
	case ReasonNone:
		return ""
	case ReasonNormal:
		return "normal"
	case ReasonDepRestart:
		return "dependency restarted"
	case ReasonDepFailed:
		return "dependency failed"
	case ReasonFailed:
		return "failed"
	case ReasonExecFailed:
		return "exec failed"
	case ReasonTimedOut:
		return "timed out"
	case ReasonTerminated:
		return "terminated"
	case ReasonDepStopped:
		return "dependency stopped"
	case ReasonRestartLimit:
		return "restart limit reached"
	case ReasonStopKilled:
		return "killed after the stop timeout"
	case ReasonCondition:
		return "condition not met"
	case ReasonAssert:
		return "assertion failed"
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// String renders an exit status for humans: "exited 0", "signal 9 (killed)".
func (e ExitStatus) String() string {
	switch {
	case e.ExecErr != nil:
		return "exec failed: " + e.ExecErr.Error()
	case e.Signaled:
		return fmt.Sprintf("signal %d (%s)", e.Signal, syscall.Signal(e.Signal))
	default:
		return fmt.Sprintf("exited %d", e.Code)
	}
}
