package ctl

import (
	"fmt"
	"io"
	"strings"
	"time"

	"ginit/init/control"
)

// The timer lines of list and status: when a timer service next and last
// ran, in the caller's local time.

const timeLayout = "2006-01-02 15:04:05 MST"

func unixText(sec int) string { return time.Unix(int64(sec), 0).Format(timeLayout) }

// timerSuffix is what list adds to a timer: "(next: ..., last: ...)".
func timerSuffix(si *control.ServiceInfo) string {
	if si.TimerTarget == "" {
		return ""
	}
	var parts []string
	if si.NextRun != 0 {
		parts = append(parts, "next: "+unixText(si.NextRun))
	}
	if si.LastRun != 0 {
		parts = append(parts, "last: "+unixText(si.LastRun))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// writeTimerStatus prints a timer's target, next and last run.
func writeTimerStatus(w io.Writer, si *control.ServiceInfo) {
	if si.TimerTarget == "" {
		return
	}
	fmt.Fprintf(w, "    Timer target: %s\n", si.TimerTarget)
	if si.NextRun != 0 {
		fmt.Fprintf(w, "    Next run: %s (%s)\n", unixText(si.NextRun), si.NextTrigger)
	} else {
		fmt.Fprintf(w, "    Next run: none\n")
	}
	if si.LastRun != 0 {
		fmt.Fprintf(w, "    Last run: %s\n", unixText(si.LastRun))
	} else {
		fmt.Fprintf(w, "    Last run: never\n")
	}
	if si.Runs > 0 {
		fmt.Fprintf(w, "    Runs since started: %d\n", si.Runs)
	}
}
