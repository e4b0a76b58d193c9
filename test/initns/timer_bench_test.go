package initns

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wakeups is the number of times ginit's threads have been switched in
// voluntarily so far (each sleep that ended: a timer, an event, a read).
func wakeups(b *testing.B, pid int) int {
	b.Helper()
	dirs, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "status"))
	if err != nil || len(dirs) == 0 {
		b.Fatalf("ginit's threads: %v", err)
	}
	total := 0
	for _, p := range dirs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that ended
		}
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "voluntary_ctxt_switches:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				total += n
			}
		}
	}
	return total
}

// idleWakeups starts ginit on files, waits until boot is up and reports
// ginit's wake-ups per minute over a quiet span.
func idleWakeups(b *testing.B, files map[string]string, metric string) {
	in := newInstance(b, files)
	deadline := time.Now().Add(60 * time.Second)
	for in.state("boot") != "started" {
		if time.Now().After(deadline) {
			b.Fatal("boot did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // let start-up settle
	pid := in.ginitPid()
	const span = time.Minute // the wall-clock check runs once a minute
	w0 := wakeups(b, pid)
	time.Sleep(span)
	b.ReportMetric(float64(wakeups(b, pid)-w0)*float64(time.Minute)/float64(span), metric)
}

// BenchmarkTimers1000Idle: ginit's CPU wake-ups per minute with 1000 timer
// services started whose next elapses are an hour off (500 on-calendar
// hourly, 500 on-active 1h); the anchor, BenchmarkInternal1000Idle, is
// the same ginit with 1000 internal services up instead.
func BenchmarkTimers1000Idle(b *testing.B) {
	files := map[string]string{"job": "type = internal\n"}
	var boot strings.Builder
	boot.WriteString("type = internal\n")
	for i := range 1000 {
		name := fmt.Sprintf("t%04d", i)
		trigger := "on-calendar = hourly"
		if i%2 == 1 {
			trigger = "on-active = 1h"
		}
		files[name] = "type = timer\ntimer-target = job\n" + trigger + "\n"
		fmt.Fprintf(&boot, "waits-for: %s\n", name)
	}
	files["boot"] = boot.String()
	for b.Loop() {
		idleWakeups(b, files, "wakeups/min")
	}
}

// BenchmarkInternal1000Idle is BenchmarkTimers1000Idle's anchor.
func BenchmarkInternal1000Idle(b *testing.B) {
	files := map[string]string{}
	var boot strings.Builder
	boot.WriteString("type = internal\n")
	for i := range 1000 {
		name := fmt.Sprintf("s%04d", i)
		files[name] = "type = internal\n"
		fmt.Fprintf(&boot, "waits-for: %s\n", name)
	}
	files["boot"] = boot.String()
	for b.Loop() {
		idleWakeups(b, files, "wakeups/min")
	}
}
