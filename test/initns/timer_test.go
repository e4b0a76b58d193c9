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

// runsJob is a scripted service that appends the time of each run (ns).
const runsJob = "type = scripted\ncommand = /bin/sh -c \"date +%s%N >> @OUT@/runs\"\n"

func lines(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// A timer with short on-active and on-unit-inactive spans runs its
// scripted target three times, each run at least the span after the last
// one ended; list and status show the next and last run.
func TestTimerFiresThreeTimes(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\nwaits-for: tick\n",
		"tick": "type = timer\ntimer-target = job\non-active = 300ms\non-unit-inactive = 0.4\n",
		"job":  runsJob,
	})
	in.waitState("tick", "started")
	st := in.mustCtl("status", "tick").out
	for _, want := range []string{"Type: timer", "Timer target: job", "Next run: ", "(on-active)", "Last run: never"} {
		if !strings.Contains(st, want) {
			t.Fatalf("status before the first run lacks %q:\n%s", want, st)
		}
	}
	runs := lines(in.waitOut("runs", func(s string) bool { return len(lines(s)) >= 3 }))
	var prev int64
	for i, l := range runs[:3] {
		ns, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			t.Fatalf("run line %q", l)
		}
		if i > 0 && time.Duration(ns-prev) < 400*time.Millisecond {
			t.Errorf("run %d came %v after the previous one, before on-unit-inactive", i+1, time.Duration(ns-prev))
		}
		prev = ns
	}
	st = in.mustCtl("status", "tick").out
	for _, want := range []string{"Last run: ", "(on-unit-inactive)", "Runs since started: "} {
		if !strings.Contains(st, want) {
			t.Errorf("status after three runs lacks %q:\n%s", want, st)
		}
	}
	if list := in.mustCtl("list").out; !strings.Contains(list, "] tick (next: ") || !strings.Contains(list, ", last: ") {
		t.Errorf("list shows no next/last run:\n%s", list)
	}
	in.mustCtl("stop", "tick")
	n := len(lines(in.readOut("runs")))
	time.Sleep(time.Second)
	if m := len(lines(in.readOut("runs"))); m != n {
		t.Errorf("%d runs after the timer stopped", m-n)
	}
	if in.state("job") != "stopped" {
		t.Errorf("job is %s after its run", in.state("job"))
	}
}

// Stopping a timer waits until the run in progress has finished, and does
// not kill it.
func TestTimerStopWaitsForRunningTask(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\nwaits-for: tick\n",
		"tick": "type = timer\ntimer-target = job\non-active = 100ms\n",
		"job":  "type = scripted\ncommand = /bin/sh -c \"touch @OUT@/began; sleep 1.5; touch @OUT@/ended\"\n",
	})
	in.waitOut("began", func(string) bool { _, err := os.Stat(filepath.Join(in.out, "began")); return err == nil })
	t0 := time.Now()
	in.mustCtl("stop", "tick")
	took := time.Since(t0)
	if _, err := os.Stat(filepath.Join(in.out, "ended")); err != nil {
		t.Fatalf("stop returned after %v, before the run ended", took)
	}
	if st := in.state("tick"); st != "stopped" {
		t.Fatalf("tick is %s", st)
	}
	if st := in.mustCtl("status", "job").out; !strings.Contains(st, "State: STOPPED") || strings.Contains(st, "failed") {
		t.Fatalf("the run did not end cleanly:\n%s", st)
	}
}

// A persistent daily timer whose record says it last ran two days ago
// runs once at start and rewrites its record; a damaged record is logged
// and the timer waits for its next elapse.
func TestTimerPersistent(t *testing.T) {
	for _, tc := range []struct {
		name, record string
		runs         int
	}{
		{"missed", fmt.Sprintf("v1 %d\n", time.Now().Add(-48*time.Hour).UnixNano()), 1},
		{"damaged", "v1 yesterday\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "daily"), []byte(tc.record), 0o600); err != nil {
				t.Fatal(err)
			}
			in := newInstance(t, map[string]string{
				"boot":  "type = internal\nwaits-for: daily\n",
				"daily": "type = timer\ntimer-target = job\non-calendar = daily\npersistent = yes\n",
				"job":   runsJob,
			}, "--timers-dir", dir)
			in.waitState("daily", "started")
			if tc.runs > 0 {
				in.waitOut("runs", func(s string) bool { return len(lines(s)) == 1 })
				deadline := time.Now().Add(5 * time.Second)
				for {
					b, _ := os.ReadFile(filepath.Join(dir, "daily"))
					f := strings.Fields(string(b))
					if len(f) == 2 {
						if ns, _ := strconv.ParseInt(f[1], 10, 64); time.Since(time.Unix(0, ns)) < time.Minute {
							break
						}
					}
					if time.Now().After(deadline) {
						t.Fatalf("record not rewritten: %q", b)
					}
					time.Sleep(20 * time.Millisecond)
				}
				return
			}
			time.Sleep(500 * time.Millisecond)
			if r := in.readOut("runs"); r != "" {
				t.Fatalf("ran with a damaged record: %q", r)
			}
			log, _ := os.ReadFile(in.logf)
			if !strings.Contains(string(log), filepath.Join(dir, "daily")+":1: bad time") {
				t.Fatalf("the damaged record was not named in the log:\n%s", log)
			}
		})
	}
}

// In a container (this namespace) on-boot counts from ginit's start, so a
// short on-boot elapses once, not never (the host booted long ago).
func TestTimerOnBootInContainer(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\nwaits-for: tick\n",
		"tick": "type = timer\ntimer-target = job\non-boot = 1s\n",
		"job":  runsJob,
	})
	in.waitOut("runs", func(s string) bool { return len(lines(s)) == 1 })
	time.Sleep(time.Second)
	if n := len(lines(in.readOut("runs"))); n != 1 {
		t.Fatalf("%d runs of an on-boot timer, want 1", n)
	}
	if st := in.mustCtl("status", "tick").out; !strings.Contains(st, "Next run: none") {
		t.Errorf("status after the one elapse:\n%s", st)
	}
}

// A timer with a command of its own runs it as NAME.run.
func TestTimerOwnCommand(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\nwaits-for: tick\n",
		"tick": "type = timer\non-active = 200ms\non-unit-inactive = 200ms\ncommand = /bin/sh -c \"date +%s%N >> @OUT@/runs\"\n",
	})
	in.waitOut("runs", func(s string) bool { return len(lines(s)) >= 2 })
	if st := in.mustCtl("status", "tick").out; !strings.Contains(st, "Timer target: tick.run") {
		t.Fatalf("status:\n%s", st)
	}
	if st := in.mustCtl("status", "tick.run").out; !strings.Contains(st, "Type: scripted") {
		t.Fatalf("status of the run:\n%s", st)
	}
}
