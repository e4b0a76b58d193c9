package initns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Supervision promises (issue 3), checked through ginit and ginitctl only.
// Processes inside the namespace are found from the host by a unique
// marker in their command line.

// findByMarker returns the host pids of live processes whose command line
// contains marker.
func findByMarker(marker string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), marker) {
			continue
		}
		if pidAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func waitMarker(t *testing.T, marker string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := findByMarker(marker)
		if len(p) >= n {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d processes with %q, found %v", n, marker, p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A service whose process forks a daemon into a new session (escaping the
// process group) and another child must be stopped completely: ginit kills
// the service's cgroup, not just the main pid or its process group.
func TestDoubleForkingServiceFullyKilled(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.procs"); err != nil {
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.procs"); err != nil {
			t.Skip("needs a cgroup2 hierarchy")
		}
	}
	m := fmt.Sprintf("%d.%d", 20000+os.Getpid()%10000, time.Now().UnixNano()%100000)
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"forker": "type = process\nrestart = no\nstop-timeout = 2\n" +
			`command = /bin/sh -c "setsid /bin/sh -c 'sleep ` + m + `1 & sleep ` + m + `2 & wait' & sleep ` + m + `3 & exec sleep ` + m + `4"` + "\n",
	})
	in.mustCtl("start", "forker")
	var all []int
	for i := 1; i <= 4; i++ {
		all = append(all, waitMarker(t, m+strconv.Itoa(i), 1)...)
	}
	t.Cleanup(func() {
		for _, p := range all {
			_ = exec.Command("kill", "-9", strconv.Itoa(p)).Run()
		}
	})
	in.mustCtl("stop", "forker")
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []int
		for _, p := range all {
			if pidAlive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of the stopped service still alive: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := in.state("forker"); st != "stopped" {
		t.Errorf("forker is %s", st)
	}
}

// A log file rotated by size keeps every line: the current file plus the
// rotated ones hold each line exactly once, in order.
func TestLogRotationWithoutLoss(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"talker": "type = scripted\nlogfile = @OUT@/talk.log\nlog-max-size = 4096\n" +
			`command = /bin/sh -c "i=0; while [ $$i -lt 600 ]; do echo line-$$i; i=$$((i+1)); done"` + "\n",
	})
	in.mustCtl("start", "talker")
	// The process has exited; ginit may still be copying the rest of its
	// output from the pipe into the file.
	var all []string
	read := func() []string {
		var lines []string
		for _, f := range []string{"talk.log.3", "talk.log.2", "talk.log.1", "talk.log"} {
			b, err := os.ReadFile(filepath.Join(in.out, f))
			if err != nil {
				continue
			}
			lines = append(lines, strings.Split(strings.TrimRight(string(b), "\n"), "\n")...)
		}
		return lines
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		all = read()
		if len(all) > 0 && all[len(all)-1] == "line-599" {
			// Read once more, now that nothing writes or rotates: the
			// first read may have straddled the last rotation.
			all = read()
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Only what fits in the kept files can survive; everything from the
	// first kept line on must be there, in order, once.
	if len(all) == 0 {
		t.Fatal("no log written")
	}
	first, err := strconv.Atoi(strings.TrimPrefix(all[0], "line-"))
	if err != nil {
		t.Fatalf("first kept line %q", all[0])
	}
	for i, l := range all {
		if want := fmt.Sprintf("line-%d", first+i); l != want {
			t.Fatalf("line %d of the rotated logs is %q, want %q", i, l, want)
		}
	}
	if last := all[len(all)-1]; last != "line-599" {
		t.Errorf("last line %q, want line-599", last)
	}
	if _, err := os.Stat(filepath.Join(in.out, "talk.log.1")); err != nil {
		t.Errorf("the log was never rotated: %v", err)
	}
	for _, f := range []string{"talk.log", "talk.log.1"} {
		if st, err := os.Stat(filepath.Join(in.out, f)); err == nil && st.Size() > 4096+64 {
			t.Errorf("%s is %d bytes, past log-max-size", f, st.Size())
		}
	}
}
