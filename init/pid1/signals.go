package pid1

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/power"
)

// Action is what the manager should do about a signal: a Step, and for the
// steps that end the manager, how the machine ends.
type Action struct {
	Step Step
	// Kind is the end for StepStop and StepNow. StepExit carries
	// power.Halt, which is what a control-socket shutdown asks of an
	// instance that is not the machine's manager as well.
	Kind power.Kind
}

// Step says how an Action is carried out.
type Step int

// Steps, from the table on SignalPolicy.
const (
	StepNone          Step = iota // ignore the signal
	StepStop                      // stop all services, then end as Kind
	StepNow                       // no orderly stop: straight to FinalShutdown as Kind
	StepExit                      // stop all services, then exit (not a system manager)
	StepReopenControl             // re-create / reopen the control socket
)

func (a Action) String() string {
	switch a.Step {
	case StepNone:
		return "none"
	case StepStop:
		return a.Kind.String()
	case StepNow:
		return a.Kind.String() + " now"
	case StepExit:
		return "stop-exit"
	case StepReopenControl:
		return "reopen-control"
	}
	return fmt.Sprintf("Step(%d)", int(a.Step))
}

// Doing words a stopping action for the log: "rebooting", "stopping all
// services".
func (a Action) Doing() string {
	switch {
	case a.Step == StepStop && a.Kind == power.Reboot:
		return "rebooting"
	case a.Step == StepStop && a.Kind == power.Halt:
		return "halting"
	case a.Step == StepStop && a.Kind == power.Poweroff:
		return "powering off"
	}
	return "stopping all services"
}

// SignalPolicy turns incoming signals into actions.
//
//	signal   system manager (PID 1 or -m)            otherwise
//	SIGINT   reboot (ctrl-alt-del); the 3rd within    stop all, exit
//	         ForceWindow: reboot now, without the stop
//	SIGTERM  halt                                     stop all, exit
//	SIGQUIT  poweroff now (no orderly stop)           stop all, exit
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
	exit := Action{StepExit, power.Halt}
	s, ok := sig.(syscall.Signal)
	if !ok {
		return Action{}
	}
	switch s {
	case unix.SIGINT:
		if !p.System {
			return exit
		}
		return p.sigint()
	case unix.SIGTERM:
		if p.System {
			return Action{StepStop, power.Halt}
		}
		return exit
	case unix.SIGQUIT:
		if p.System {
			return Action{StepNow, power.Poweroff}
		}
		return exit
	case unix.SIGUSR1:
		return Action{Step: StepReopenControl}
	case unix.SIGUSR2:
		if p.System {
			return Action{StepStop, power.Poweroff}
		}
		return exit
	}
	return Action{}
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
		return Action{StepNow, power.Reboot}
	}
	return Action{StepStop, power.Reboot}
}
