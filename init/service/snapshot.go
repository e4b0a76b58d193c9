package service

import (
	"context"
	"time"
)

// Info is a snapshot of one service for list and status.
type Info struct {
	Name       string
	Type       Type
	State      State
	Target     State
	Explicit   bool
	PinStart   bool
	PinStop    bool
	Failed     bool
	Skipped    bool
	PID        int
	Exit       ExitStatus
	HasExit    bool
	Reason     StopReason
	StatusText string
	File       string
	Deps       []string
	Dependents []string
	Triggered  bool

	// Timer services: the target, the coming elapse (zero: none) and the
	// trigger behind it, the last elapse (this start's or the stored one),
	// and the elapses since the timer started.
	TimerTarget string
	NextRun     time.Time
	NextTrigger string
	LastRun     time.Time
	Runs        int
	Since       time.Time // when State was entered (zero: never changed)
}

func (m *Manager) info(s *svc, edges bool) Info {
	in := Info{
		Name: s.name(), Type: s.desc.Type, State: s.state, Explicit: s.explicit,
		PinStart: s.pinStart, PinStop: s.pinStop, Failed: s.failed, Skipped: s.skipped,
		Exit: s.exit, HasExit: s.hasExit, Reason: s.reason, StatusText: s.status,
		File: s.desc.File, Triggered: s.triggered, Since: s.since,
	}
	if s.waitSlot && in.StatusText == "" {
		in.StatusText = waitSlotText
	}
	in.Target = Stopped
	if m.wanted(s) {
		in.Target = Started
	}
	s.timerInfo(&in)
	if s.proc != nil && !s.launcher {
		in.PID = s.proc.Pid()
	}
	if !edges {
		// List leaves them out: a target's thousands of dependencies
		// were most of a list's bytes, and ginitctl list shows none.
		return in
	}
	for _, e := range s.deps {
		in.Deps = append(in.Deps, e.to.name())
	}
	for _, e := range s.dependents {
		in.Dependents = append(in.Dependents, e.from.name())
	}
	return in
}

// Status reports on one service, loading it if needed (as dinitctl does).
func (m *Manager) Status(ctx context.Context, name string) (Info, error) {
	var in Info
	err := m.do(ctx, name, loadIfMissing, func(s *svc) error {
		in = m.info(s, true)
		return nil
	})
	return in, err
}

// ListFunc reports on every loaded service in load order, without their
// dependencies and dependents (Status has them), one at a time: f gets the
// i'th of n snapshots, on the manager goroutine, and must not keep in after
// it returns. The control server fills its answer from it in one pass; a
// []Info of 5000 services first was a 1.5 MB allocation per list, and
// garbage at once.
func (m *Manager) ListFunc(ctx context.Context, f func(i, n int, in *Info)) error {
	return m.call(ctx, func() {
		var in Info
		for i, s := range m.order {
			in = m.info(s, false)
			f(i, len(m.order), &in)
		}
	})
}
