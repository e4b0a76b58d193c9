// Package daemon wires ginit together: the service manager, the loader, the
// supervisor, the control socket and, as PID 1, the machine-level duties.
// It also adapts control requests to manager calls (Backend).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"ginit/init/control"
	"ginit/init/control/server"
	"ginit/init/loader"
	"ginit/init/service"
	"ginit/internal/version"

	"golang.org/x/sys/unix"
)

// Version is reported by the version request.
const Version = version.Release

// Backend executes control requests on a Manager.
type Backend struct {
	M    *service.Manager
	Logs service.LogReader // may be nil: catlog then answers Unsupported
	// IsNotFound recognises the loader's "no such service" error.
	IsNotFound func(error) bool
	// IsLoadError recognises a description error (bad file, cycle).
	IsLoadError func(error) bool
	// Terms serves attach sessions (attach.go); nil: attach answers Unsupported.
	Terms Terminals
}

var _ server.Backend = (*Backend)(nil)

// listBytesPerService sizes a list's buffer: a process service's name,
// type, states, pid, file and time take about that.
const listBytesPerService = 96

// Do implements server.Backend.
func (b *Backend) Do(ctx context.Context, req control.Request) control.Response {
	if req.Service == "" && needsService(req.Op) {
		return control.Response{Code: control.BadRequest, Message: fmt.Sprintf("%s: a service name is required", req.Op)}
	}
	m := b.M
	switch req.Op {
	case control.OpVersion:
		return control.Response{Code: control.OK, Message: "ginit " + Version}
	case control.OpStart:
		return b.result(req, m.Start(ctx, req.Service, service.StartOpts{Pin: req.Pin, NoWait: req.NoWait}))
	case control.OpStop:
		return b.result(req, m.Stop(ctx, req.Service, service.StopOpts{Pin: req.Pin, Force: req.Force, NoWait: req.NoWait, IgnoreUnstarted: req.IgnoreUnstarted}))
	case control.OpRestart:
		return b.result(req, m.Restart(ctx, req.Service, service.StopOpts{Force: req.Force, NoWait: req.NoWait, IgnoreUnstarted: req.IgnoreUnstarted}))
	case control.OpWake:
		return b.result(req, m.Wake(ctx, req.Service, req.NoWait))
	case control.OpRelease:
		return b.result(req, m.Release(ctx, req.Service, req.IgnoreUnstarted))
	case control.OpUnpin:
		return b.result(req, m.Unpin(ctx, req.Service))
	case control.OpStatus:
		in, err := m.Status(ctx, req.Service)
		if err != nil {
			return b.result(req, err)
		}
		si := ToInfo(in)
		if b.Logs != nil && (in.Failed || in.State == service.Stopped) {
			si.LastOutput = lastLines(b.Logs, in.Name, statusLines)
		}
		return control.Response{Code: control.OK, Services: []control.ServiceInfo{si}}
	case control.OpList:
		// Encoded as the records are read: thousands of ServiceInfos,
		// all pointers, made the collector most of a list's cost.
		var enc []byte
		var si control.ServiceInfo
		err := m.ListFunc(ctx, func(i, n int, in *service.Info) {
			if enc == nil {
				enc = make([]byte, 0, n*listBytesPerService)
			}
			si = ToInfo(*in)
			enc = control.AppendServiceInfo(enc, &si)
		})
		if err != nil {
			return b.result(req, err)
		}
		return control.Response{Code: control.OK, EncodedServices: enc}
	case control.OpReload:
		return b.result(req, m.Reload(ctx, req.Service))
	case control.OpReloadService:
		return b.result(req, m.ReloadService(ctx, req.Service))
	case control.OpUnload:
		return b.result(req, m.Unload(ctx, req.Service))
	case control.OpAddDep, control.OpRmDep:
		kind, ok := parseDepType(req.DepType)
		if !ok {
			return control.Response{Code: control.BadRequest, Message: fmt.Sprintf("unknown dependency type %q (need, regular, milestone or waits-for)", req.DepType)}
		}
		if req.DepTarget == "" {
			return control.Response{Code: control.BadRequest, Message: "a dependency target is required"}
		}
		return b.result(req, m.DepOp(ctx, req.Op == control.OpAddDep, kind, req.Service, req.DepTarget))
	case control.OpEnable, control.OpDisable:
		return b.result(req, b.enable(ctx, req))
	case control.OpSetEnv:
		return b.result(req, m.SetEnv(ctx, req.Env, false))
	case control.OpUnsetEnv:
		return b.result(req, m.SetEnv(ctx, req.Env, true))
	case control.OpTrigger, control.OpUntrigger:
		return b.result(req, m.Trigger(ctx, req.Service, req.Op == control.OpTrigger))
	case control.OpSignal:
		if req.Signal <= 0 || req.Signal > 64 {
			return control.Response{Code: control.BadRequest, Message: fmt.Sprintf("invalid signal number %d", req.Signal)}
		}
		return b.result(req, m.Signal(ctx, req.Service, req.Signal))
	case control.OpCatLog:
		if _, err := m.Describe(ctx, req.Service); err != nil {
			return b.result(req, err)
		}
		if b.Logs == nil {
			return control.Response{Code: control.Unsupported, Message: "service output buffers are not available"}
		}
		data, trunc, err := b.Logs.CatLog(req.Service, req.Clear)
		if err != nil {
			return b.result(req, err)
		}
		return control.Response{Code: control.OK, Log: data, Truncated: trunc}
	case control.OpShutdown:
		kind, err := req.ShutdownKind()
		if err != nil {
			return control.Response{Code: control.BadRequest, Message: err.Error()}
		}
		return b.result(req, m.Shutdown(ctx, kind))
	}
	return control.Response{Code: control.BadRequest, Message: fmt.Sprintf("unknown request %q", req.Op)}
}

func needsService(op control.Op) bool {
	switch op {
	case control.OpVersion, control.OpList, control.OpSetEnv, control.OpUnsetEnv, control.OpShutdown:
		return false
	}
	return true
}

func parseDepType(s string) (service.DepKind, bool) {
	switch s {
	case "need", "regular":
		return service.DepRegular, true
	case "milestone":
		return service.DepMilestone, true
	case "waits-for":
		return service.DepWaitsFor, true
	}
	return 0, false
}

// enable/disable: a waits-for link from --from (default: enable-via, else
// boot) plus the symlink in its single waits-for.d directory.
func (b *Backend) enable(ctx context.Context, req control.Request) error {
	d, err := b.M.Describe(ctx, req.Service)
	if err != nil {
		if err = b.M.Load(ctx, req.Service); err != nil {
			return err
		}
		if d, err = b.M.Describe(ctx, req.Service); err != nil {
			return err
		}
	}
	from := loader.EnableSource(req.From, d)
	if err := b.M.Load(ctx, from); err != nil {
		return err
	}
	fd, err := b.M.Describe(ctx, from)
	if err != nil {
		return err
	}
	link, target, err := loader.EnableLink(d, fd)
	if err != nil {
		return err
	}
	if req.Op == control.OpEnable {
		if err := b.M.DepOp(ctx, true, service.DepWaitsFor, from, req.Service); err != nil {
			return err
		}
		if err := os.Symlink(target, link); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("enable '%s' from '%s': %w", req.Service, from, err)
		}
		// As dinitctl enable: a service enabled from one that is up starts
		// now (held by the new link, not marked active).
		if fi, err := b.M.Status(ctx, from); err == nil && (fi.State == service.Started || fi.State == service.Starting) {
			if err := b.M.Wake(ctx, req.Service, req.NoWait); err != nil {
				return fmt.Errorf("service '%s' is enabled from '%s' but did not start: %w", req.Service, from, err)
			}
		}
		return nil
	}
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("disable '%s' from '%s': %w", req.Service, from, err)
	}
	if err := b.M.DepOp(ctx, false, service.DepWaitsFor, from, req.Service); err != nil && !errors.Is(err, service.ErrBadArgument) {
		return err
	}
	return nil
}

// result maps a manager error to a response.
func (b *Backend) result(req control.Request, err error) control.Response {
	if err == nil {
		return control.Response{Code: control.OK}
	}
	resp := control.Response{Code: control.Failed, Message: err.Error()}
	var de *service.DependentsError
	var se *service.StartError
	switch {
	case errors.As(err, &de):
		resp.Code, resp.Dependents = control.Refused, de.Dependents
	case errors.As(err, &se):
		resp.Code = control.Failed
	case errors.Is(err, service.ErrPinnedStarted), errors.Is(err, service.ErrPinnedStopped), errors.Is(err, service.ErrShuttingDown),
		errors.Is(err, service.ErrReloadRunning):
		resp.Code = control.Refused
	case errors.Is(err, service.ErrNotStarted):
		resp.Code = control.NotStarted
	case errors.Is(err, service.ErrNotLoaded), b.IsNotFound != nil && b.IsNotFound(err):
		resp.Code = control.NoService
	case errors.Is(err, service.ErrBadArgument):
		// The code says it was a bad argument; the message says which,
		// without the sentinel's text as a tail.
		resp.Code = control.BadRequest
		resp.Message = strings.TrimSuffix(resp.Message, ": "+service.ErrBadArgument.Error())
	case b.IsLoadError != nil && b.IsLoadError(err):
		resp.Code = control.LoadError
	}
	return resp
}

// ToInfo converts a manager snapshot to the wire form.
func ToInfo(in service.Info) control.ServiceInfo {
	out := control.ServiceInfo{
		Name: in.Name, Type: in.Type.String(), State: in.State.String(), Target: in.Target.String(),
		Active: in.Explicit, PinStart: in.PinStart, PinStop: in.PinStop, Failed: in.Failed, Skipped: in.Skipped,
		PID: in.PID, StatusText: in.StatusText, File: in.File, Deps: in.Deps, Dependents: in.Dependents,
		Triggered:   in.Triggered,
		TimerTarget: in.TimerTarget, NextTrigger: in.NextTrigger, Runs: in.Runs,
		NextRun: unixOrZero(in.NextRun), LastRun: unixOrZero(in.LastRun),
	}
	if in.HasExit {
		out.ExitStatus = in.Exit.String()
	}
	if !in.Since.IsZero() {
		out.Since = int(in.Since.UnixMilli())
	}
	if in.State == service.Stopped || in.Failed {
		out.StopReason = in.Reason.String()
	}
	return out
}

func unixOrZero(t time.Time) int {
	if t.IsZero() {
		return 0
	}
	return int(t.Unix())
}

// realClock is the wall clock, and CLOCK_BOOTTIME for timers (it counts
// suspend and is not moved by settimeofday), less base.
type realClock struct{ base time.Duration }

func (realClock) Now() time.Time { return time.Now() }

func (c realClock) SinceBoot() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0 // only before Linux 2.6.39, which Go no longer runs on
	}
	return time.Duration(ts.Nano()) - c.base
}
func (realClock) AfterFunc(d time.Duration, f func()) service.Timer {
	return time.AfterFunc(d, f)
}

// statusLines is how much of a stopped service's kept output status shows:
// enough for an error report, catlog has the rest.
const statusLines = 10

// lastLines returns the last n lines of a service's kept output (none when
// it keeps none).
func lastLines(logs service.LogReader, name string, n int) []string {
	data, _, err := logs.CatLog(name, false)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines[max(0, len(lines)-n):]
}
