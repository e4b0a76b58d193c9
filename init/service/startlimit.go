package service

import "time"

// The soft limit on parallel starts. Which services may be spawned now is
// decided by mayStart, a pure function of the limit, the clock, the start
// times of the services still starting and a pressure reading; the manager
// (slots in startslot.go) only gathers those and acts on the answer.

// StartLimit is the manager's soft limit on services starting at once.
// The zero value is no limit.
type StartLimit struct {
	// Max is how many services may be starting (command spawned, not yet
	// ready) at once; 0 is no limit.
	Max int
	// Grace: a service that has been starting longer than this no longer
	// counts against Max (a slow start must not stall the boot). 0: it
	// counts until it is ready.
	Grace time.Duration
	// CPU and IO are PSI "some avg10" thresholds (percent): while a reading
	// is above one, no new start is spawned. 0 is no threshold.
	CPU, IO float64
	// Recheck is how often a start held back by pressure looks again
	// (0: every second).
	Recheck time.Duration
}

// Pressure is one reading of the pressure stall information.
type Pressure struct {
	CPU, IO float64
}

// PressureReader reads the pressure stall information (avg10 of "some").
// An error (no PSI in this kernel) counts as no pressure.
type PressureReader interface {
	ReadPressure() (Pressure, error)
}

// usesPressure: is there a threshold to read the pressure for?
func (l StartLimit) usesPressure() bool { return l.CPU > 0 || l.IO > 0 }

// recheck is the pressure re-check period.
func (l StartLimit) recheck() time.Duration {
	if l.Recheck > 0 {
		return l.Recheck
	}
	return time.Second
}

// Why a start waits, for status.
const waitSlotText = "waiting for a start slot"

// mayStart decides whether one more service may be spawned at now, given
// when each service still starting began and the pressure (nil: not read).
// When it may not, again is how long until the answer can change by the
// clock alone (0: only when a start finishes).
func mayStart(l StartLimit, now time.Time, began []time.Time, p *Pressure) (ok bool, again time.Duration) {
	if p != nil && (l.CPU > 0 && p.CPU > l.CPU || l.IO > 0 && p.IO > l.IO) {
		return false, l.recheck()
	}
	if l.Max <= 0 {
		return true, 0
	}
	counting := 0
	for _, b := range began {
		age := now.Sub(b)
		if l.Grace > 0 && age >= l.Grace {
			continue
		}
		counting++
		if l.Grace > 0 && (again == 0 || l.Grace-age < again) {
			again = l.Grace - age
		}
	}
	if counting < l.Max {
		return true, 0
	}
	return false, again
}
