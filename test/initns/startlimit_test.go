package initns

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// spanSh, run by /bin/sh as a start command, records when it began and
// ended (ns) on one line of the file $1, sleeping $2 seconds between.
const spanSh = `s=$(date +%s%N); sleep "$2"; echo "$s $(date +%s%N)" >> "$1"
`

// spanScript is a scripted service running spanSh (written as @DIR@/sd/span.sh).
func spanScript(sleep string) string {
	return "type = scripted\ncommand = /bin/sh @DIR@/sd/span.sh @OUT@/spans " + sleep + "\n"
}

// maxOverlap is the largest number of spans ("begin end" lines) open at once.
func maxOverlap(t *testing.T, spans string) int {
	t.Helper()
	type ev struct {
		at    int64
		delta int
	}
	var evs []ev
	for _, line := range strings.Split(strings.TrimSpace(spans), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("bad span %q", line)
		}
		b, err1 := strconv.ParseInt(f[0], 10, 64)
		e, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad span %q", line)
		}
		evs = append(evs, ev{b, 1}, ev{e, -1})
	}
	// An end and a begin at the same instant do not overlap.
	slices.SortFunc(evs, func(a, b ev) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.delta - b.delta
	})
	open, most := 0, 0
	for _, e := range evs {
		open += e.delta
		most = max(most, open)
	}
	return most
}

// 200 services with --max-starting 8: never more than 8 start scripts run
// at once, and all of them run.
func TestMaxStarting(t *testing.T) {
	const n, limit = 200, 8
	files := map[string]string{"span.sh": spanSh}
	var boot strings.Builder
	boot.WriteString("type = internal\n")
	for i := range n {
		name := fmt.Sprintf("s%03d", i)
		fmt.Fprintf(&boot, "waits-for: %s\n", name)
		files[name] = spanScript("0.05")
	}
	files["boot"] = boot.String()
	start := time.Now()
	in := newInstance(t, files, "--max-starting", strconv.Itoa(limit))
	deadline := time.Now().Add(60 * time.Second)
	for in.state("boot") != "started" {
		if time.Now().After(deadline) {
			t.Fatalf("boot did not start: %s", in.ctl("status", "boot"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	spans := in.readOut("spans")
	if got := strings.Count(spans, "\n"); got != n {
		t.Fatalf("%d start scripts ran, want %d", got, n)
	}
	most := maxOverlap(t, spans)
	t.Logf("%d services, limit %d: at most %d start scripts at once, boot in %v", n, limit, most, time.Since(start).Round(time.Millisecond))
	if most > limit {
		t.Errorf("%d start scripts ran at once, limit %d", most, limit)
	}
	if most < 2 {
		t.Errorf("start scripts never overlapped (at most %d at once): the limit is not a parallel one", most)
	}
}

// A start held back by the limit says so in ginitctl status.
func TestMaxStartingStatus(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"slow": "type = scripted\ncommand = /bin/sleep 1000\noptions: start-interruptible\n", // so the clean-up's shutdown need not wait for it
		"next": "type = scripted\ncommand = /bin/true\n",
	}, "--max-starting", "1", "--starting-grace", "1.5")
	in.mustCtl("start", "--no-wait", "slow")
	in.waitState("slow", "starting")
	in.mustCtl("start", "--no-wait", "next")
	if r := in.mustCtl("status", "next"); !strings.Contains(r.out, "waiting for a start slot") || in.state("next") != "starting" {
		t.Fatalf("status of a queued start: %s", r)
	}
	// slow has been starting longer than the grace: it stops counting.
	in.waitState("next", "started")
	if r := in.mustCtl("status", "next"); strings.Contains(r.out, "waiting for a start slot") {
		t.Errorf("started, still waiting: %s", r)
	}
	in.waitState("slow", "starting")
}

// A shutdown interrupts a long start script (options: start-interruptible):
// the script hears SIGTERM at once, long before its stop-timeout would
// escalate, and the service ends stopped, which lets ginit finish.
func TestShutdownInterruptsStartScript(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":     "type = internal\n",
		"slow.sh":  "trap 'echo term >> \"$1\"; exit 143' TERM\necho begun >> \"$1\"\nsleep 1000 & wait\n",
		"slowinit": "type = scripted\ncommand = /bin/sh @DIR@/sd/slow.sh @OUT@/slow\noptions: start-interruptible\nstop-timeout = 60\n",
	})
	in.mustCtl("start", "--no-wait", "slowinit")
	in.waitOut("slow", func(s string) bool { return s == "begun\n" })
	in.waitState("slowinit", "starting")
	t0 := time.Now()
	in.mustCtl("shutdown", "halt")
	select {
	case err := <-in.done:
		in.done <- err // for the harness's clean-up
	case <-time.After(10 * time.Second):
		t.Fatal("ginit did not finish its shutdown while a start script ran")
	}
	t.Logf("shutdown with a start script running took %v", time.Since(t0).Round(time.Millisecond))
	if got := in.readOut("slow"); got != "begun\nterm\n" {
		t.Errorf("start script output %q, want it interrupted by SIGTERM", got)
	}
	log, _ := os.ReadFile(in.logf)
	if !strings.Contains(string(log), "service 'slowinit' stopped (normal)") {
		t.Errorf("the log does not show slowinit stopped normally:\n%s", log)
	}
}
