package sys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/control"
	"ginit/internal/power"
	"ginit/internal/utmp"
)

// Power carries out sessiond's power actions: shutdowns go to ginit over its
// control socket, sleep goes to the kernel through /sys/power.
type Power struct {
	// ControlSocket is ginit's control socket.
	ControlSocket string
	// RebootFallback allows calling reboot(2) directly when no ginit
	// answers on ControlSocket (another init, or none). Off by default:
	// on a machine where sessiond is not in charge it must never reboot.
	RebootFallback bool
	// Reboot is reboot(2); nil means unix.Reboot.
	Reboot func(cmd int) error
	// PowerDir is normally /sys/power (files state and disk).
	PowerDir string
	// Wtmp receives the shutdown record when sessiond ends the machine
	// itself (the reboot(2) fallback); "" writes none. When ginit carries
	// the request out, ginit writes it: whoever ends the machine writes
	// the one record, so no path writes two.
	Wtmp string
	// AskTimeout bounds the exchange with ginit (default 30s).
	AskTimeout time.Duration
	Log        *slog.Logger
}

// Shutdown asks ginit for kind; when nobody answers and RebootFallback is
// set it writes the wtmp shutdown record and calls reboot(2) itself.
func (p *Power) Shutdown(ctx context.Context, kind power.Kind) error {
	cmd, ok := kind.RebootCmd()
	if !ok {
		return fmt.Errorf("%v ends no machine", kind)
	}
	answered, err := p.askInit(ctx, kind)
	if err == nil {
		return nil
	}
	if answered || !p.RebootFallback {
		return err
	}
	p.Log.Warn("ginit did not answer; calling reboot(2)", "kind", kind, "err", err)
	if p.Wtmp != "" {
		if err := utmp.AppendWtmp(p.Wtmp, utmp.ShutdownRecord(time.Now(), utmp.KernelRelease())); err != nil {
			p.Log.Warn("wtmp shutdown record", "file", p.Wtmp, "err", err)
		}
	}
	unix.Sync()
	reboot := p.Reboot
	if reboot == nil {
		reboot = unix.Reboot
	}
	if err := reboot(cmd); err != nil {
		return fmt.Errorf("reboot(2) for %s: %w", kind, err)
	}
	return nil
}

// askInit sends ginit's shutdown request. answered reports whether ginit
// replied at all (a refusal is not a reason to go around it).
func (p *Power) askInit(ctx context.Context, kind power.Kind) (answered bool, err error) {
	timeout := p.AskTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := control.Dial(p.ControlSocket)
	if err != nil {
		return false, fmt.Errorf("ginit control socket %s: %w", p.ControlSocket, err)
	}
	defer c.Close()
	resp, err := c.Do(ctx, control.Request{Op: control.OpShutdown, Shutdown: kind.String()})
	if err != nil {
		return false, fmt.Errorf("ginit control socket %s: %s request: %w", p.ControlSocket, kind, err)
	}
	if resp.Code != control.OK {
		return true, fmt.Errorf("ginit refused %s (code %d): %s", kind, resp.Code, resp.Message)
	}
	return true, nil
}

// sleepStates lists what the kernel offers in PowerDir/state.
func (p *Power) sleepStates() []string {
	data, err := os.ReadFile(filepath.Join(p.PowerDir, "state"))
	if err != nil {
		return nil
	}
	return strings.Fields(string(data))
}

func (p *Power) diskModes() []string {
	data, err := os.ReadFile(filepath.Join(p.PowerDir, "disk"))
	if err != nil {
		return nil
	}
	var l []string
	for _, f := range strings.Fields(string(data)) {
		l = append(l, strings.Trim(f, "[]"))
	}
	return l
}

// suspendState picks logind's default SuspendState=mem standby freeze.
func (p *Power) suspendState() string {
	st := p.sleepStates()
	for _, s := range []string{"mem", "standby", "freeze"} {
		if slices.Contains(st, s) {
			return s
		}
	}
	return ""
}

// CanSleep: suspend needs mem, standby or freeze in /sys/power/state;
// hibernate needs disk; hybrid-sleep also the "suspend" disk mode.
// Suspend-then-hibernate needs an RTC wake alarm, which sessiond does not
// drive: never offered. (logind also checks swap space for hibernation;
// sessiond does not.)
func (p *Power) CanSleep(kind string) bool {
	switch kind {
	case "suspend":
		return p.suspendState() != ""
	case "hibernate":
		return slices.Contains(p.sleepStates(), "disk")
	case "hybrid-sleep":
		return slices.Contains(p.sleepStates(), "disk") && slices.Contains(p.diskModes(), "suspend")
	}
	return false
}

// Sleep writes the state; the write returns after resume.
func (p *Power) Sleep(ctx context.Context, kind string) error {
	switch kind {
	case "suspend":
		st := p.suspendState()
		if st == "" {
			return errors.New("the kernel offers no suspend state")
		}
		return writeSysfs(filepath.Join(p.PowerDir, "state"), st)
	case "hibernate":
		return writeSysfs(filepath.Join(p.PowerDir, "state"), "disk")
	case "hybrid-sleep":
		if err := writeSysfs(filepath.Join(p.PowerDir, "disk"), "suspend"); err != nil {
			return err
		}
		return writeSysfs(filepath.Join(p.PowerDir, "state"), "disk")
	}
	return fmt.Errorf("sleep %q is not supported", kind)
}

func writeSysfs(path, val string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := f.WriteString(val)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write %q to %s: %w", val, path, werr)
	}
	return nil
}
