package pid1

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Action is what the manager should do about a signal.
type Action int

// Actions, from the table on SignalPolicy.
const (
	ActionNone          Action = iota // ignore
	ActionReboot                      // stop all services, then reboot
	ActionForceReboot                 // reboot now, without waiting for services
	ActionHalt                        // stop all services, then halt
	ActionPoweroff                    // stop all services, then power off
	ActionStopExit                    // stop all services, then exit (not a system manager)
	ActionShutdownNow                 // no orderly stop: straight to FinalShutdown (poweroff)
	ActionReopenControl               // re-create / reopen the control socket
)

func (a Action) String() string {
	switch a {
	case ActionNone:
		return "none"
	case ActionReboot:
		return "reboot"
	case ActionForceReboot:
		return "force-reboot"
	case ActionHalt:
		return "halt"
	case ActionPoweroff:
		return "poweroff"
	case ActionStopExit:
		return "stop-exit"
	case ActionShutdownNow:
		return "shutdown-now"
	case ActionReopenControl:
		return "reopen-control"
	}
	return "unknown"
}

// SignalPolicy turns incoming signals into actions.
//
//	signal   system manager (PID 1 or -m)            otherwise
//	SIGINT   reboot (ctrl-alt-del); the 3rd within    stop all, exit
//	         ForceWindow: force-reboot at once
//	SIGTERM  halt                                     stop all, exit
//	SIGQUIT  shutdown-now (no orderly stop)           stop all, exit
//	SIGUSR1  reopen control socket                    same
//	SIGUSR2  poweroff                                 stop all, exit
//	SIGHUP   ignored (a console hangup must not       ignored
//	         take the system down)
//	SIGURG, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE: ignored everywhere (SIGURG
//	is the Go runtime's preemption signal and is never forwarded).
//
// The policy is owned by the manager goroutine; it is not safe for
// concurrent use.
type SignalPolicy struct {
	// System is true for a system manager (PID 1 or -m).
	System bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ForceWindow is how close three SIGINTs must be to force a reboot;
	// zero means 5s.
	ForceWindow time.Duration

	ints []time.Time // recent SIGINT arrivals, at most 3
}

// HandledSignals lists the signals to pass to signal.Notify.
func HandledSignals() []os.Signal {
	return []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGHUP}
}

// IgnoredSignals lists the signals to pass to signal.Ignore. SIGURG is not
// among them: the runtime needs it, and it is simply never acted upon.
func IgnoredSignals() []os.Signal {
	return []os.Signal{unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGPIPE}
}

// Decide returns the action for sig.
func (p *SignalPolicy) Decide(sig os.Signal) Action {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return ActionNone
	}
	switch s {
	case unix.SIGINT:
		if !p.System {
			return ActionStopExit
		}
		return p.sigint()
	case unix.SIGTERM:
		if p.System {
			return ActionHalt
		}
		return ActionStopExit
	case unix.SIGQUIT:
		if p.System {
			return ActionShutdownNow
		}
		return ActionStopExit
	case unix.SIGUSR1:
		return ActionReopenControl
	case unix.SIGUSR2:
		if p.System {
			return ActionPoweroff
		}
		return ActionStopExit
	}
	return ActionNone
}

func (p *SignalPolicy) sigint() Action {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	win := p.ForceWindow
	if win <= 0 {
		win = 5 * time.Second
	}
	t := now()
	kept := p.ints[:0]
	for _, x := range p.ints {
		if t.Sub(x) < win {
			kept = append(kept, x)
		}
	}
	p.ints = append(kept, t)
	if len(p.ints) >= 3 {
		p.ints = p.ints[:0]
		return ActionForceReboot
	}
	return ActionReboot
}
