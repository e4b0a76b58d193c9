package service

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by Manager methods; test with errors.Is / errors.As.
var (
	// ErrNotLoaded: the service is not loaded (for commands that do not load).
	ErrNotLoaded = errors.New("service not loaded")
	// ErrPinnedStopped: start of a service pinned stopped.
	ErrPinnedStopped = errors.New("service is pinned stopped")
	// ErrPinnedStarted: stop of a service pinned started.
	ErrPinnedStarted = errors.New("service is pinned started")
	// ErrNotStarted: restart/release of a service that is not started.
	ErrNotStarted = errors.New("service is not started")
	// ErrShuttingDown: the manager is shutting down and starts nothing.
	ErrShuttingDown = errors.New("shutting down")
	// ErrManagerExited: the manager's loop has ended.
	ErrManagerExited = errors.New("service manager has exited")
	// ErrNoReloadCommand: reload-service of a service without reload-command.
	ErrNoReloadCommand = errors.New("service has no reload-command")
	// ErrReloadRunning: reload-service while the last one still runs.
	ErrReloadRunning = errors.New("a reload of the service is still running")
	// ErrReloadFailed: a reload command failed; the service keeps running.
	ErrReloadFailed = errors.New("reload failed")
	// ErrBadArgument: a request argument is invalid.
	ErrBadArgument = errors.New("invalid argument")
)

// DependentsError refuses a gentle stop or restart: these active hard
// dependents would have to stop too (use --force).
type DependentsError struct {
	Service    string
	Dependents []string
}

func (e *DependentsError) Error() string {
	return fmt.Sprintf("service '%s' has active dependents: %s (use --force to stop them too)",
		e.Service, strings.Join(e.Dependents, ", "))
}

// StartError reports that a waited-for start did not succeed.
type StartError struct {
	Service string
	Reason  StopReason
	Exit    ExitStatus
	HasExit bool
	Cause   string // e.g. the dependency that failed
}

func (e *StartError) Error() string {
	msg := fmt.Sprintf("service '%s' failed to start (%s)", e.Service, e.Reason)
	if e.Cause != "" {
		msg += ": " + e.Cause
	}
	if e.HasExit {
		msg += ": " + e.Exit.String()
	}
	return msg
}

// StopCancelledError: a waited-for stop was overtaken (the service started again).
type StopCancelledError struct{ Service string }

func (e *StopCancelledError) Error() string {
	return fmt.Sprintf("service '%s' was started again before it stopped", e.Service)
}
