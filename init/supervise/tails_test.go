package supervise

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"ginit/init/service"
)

// TestOutputsManyServices: one reader copies the output of many services
// writing at once, each into its own buffer, whole and in order, and
// drops each pipe once its service is gone.
func TestOutputsManyServices(t *testing.T) {
	s := newSup(t, "")
	const n = 60
	type run struct {
		d *service.Description
		r *recorder
	}
	var runs []run
	for i := 0; i < n; i++ {
		d := desc(fmt.Sprintf("out-%02d", i))
		d.LogType = service.LogBuffer
		d.LogBufferSize = 64 << 10
		if i%2 == 0 {
			d.LogType = service.LogTail
		}
		r := newRecorder()
		// 300 numbered lines (about 3 KiB): more than one read for some.
		spawn(t, s, d, r, "sh", "-c", fmt.Sprintf("i=0; while [ $i -lt 300 ]; do echo %s $i; i=$((i+1)); done", d.Name))
		runs = append(runs, run{d, r})
	}
	for _, x := range runs {
		x.r.next(t, "exited")
		name := x.d.Name
		last := fmt.Sprintf("%s 299\n", name)
		got := catLogWhen(t, s, name, func(b []byte) bool { return strings.HasSuffix(string(b), last) })
		if !strings.HasSuffix(got, last) {
			t.Fatalf("%s: output ends %q, want %q", name, got[max(0, len(got)-40):], last)
		}
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		first := 300 - len(lines)
		for j, l := range lines {
			if want := fmt.Sprintf("%s %d", name, first+j); l != want {
				t.Fatalf("%s: line %d = %q, want %q (lost or mixed output)", name, j, l, want)
			}
		}
		if x.d.LogType == service.LogBuffer && first != 0 {
			t.Fatalf("%s: buffer kept %d of 300 lines", name, len(lines))
		}
	}
	// Every pipe reached EOF and was closed: none is left registered.
	deadline := time.Now().Add(wait)
	for {
		s.out.mu.Lock()
		left := len(s.out.pipes)
		s.out.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d output pipes still open after their services exited", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestChildrenHoldNoPidfd: a spawned child costs ginit no pidfd (every
// fd held is copied by each later fork and closed by each exec), and is
// still signalled, by pid, and reaped.
func TestChildrenHoldNoPidfd(t *testing.T) {
	s := newSup(t, "")
	before := countPidfds(t)
	var procs []service.Proc
	var recs []*recorder
	for i := 0; i < 5; i++ {
		r := newRecorder()
		procs = append(procs, spawn(t, s, desc(fmt.Sprintf("nopidfd-%d", i)), r, "sleep", "100"))
		recs = append(recs, r)
	}
	if n := countPidfds(t) - before; n != 0 {
		t.Errorf("%d pidfds held for 5 children, want 0", n)
	}
	for i, p := range procs {
		if err := p.Signal(int(syscall.SIGTERM)); err != nil {
			t.Fatalf("signal child %d: %v", i, err)
		}
		if e := recs[i].next(t, "exited"); !e.st.Signaled || e.st.Signal != int(syscall.SIGTERM) {
			t.Fatalf("child %d: exit %+v, want SIGTERM", i, e.st)
		}
		if err := p.Signal(int(syscall.SIGTERM)); !errors.Is(err, errGone) {
			t.Fatalf("signal reaped child %d: %v, want errGone", i, err)
		}
	}
}

// countPidfds counts this process's open pidfds.
func countPidfds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.Contains(l, "pidfd") {
			n++
		}
	}
	return n
}

// TestTailKeptAcrossRestarts: from a service's second start (a restart,
// no Release between) its tail pipe is kept: later starts write into the
// same pipe, the reader holds one pipe for it whatever the count of
// restarts, every run's output arrives, and Release closes it.
func TestTailKeptAcrossRestarts(t *testing.T) {
	s := newSup(t, "")
	d := desc("tailkeep")
	d.LogType = service.LogTail
	pipes := func() int {
		s.out.mu.Lock()
		defer s.out.mu.Unlock()
		return len(s.out.pipes)
	}
	waitPipes := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for pipes() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d output pipes open, want %d", what, pipes(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for run := 1; run <= 4; run++ {
		r := newRecorder()
		spawn(t, s, d, r, "sh", "-c", fmt.Sprintf("echo run%d", run))
		r.next(t, "exited")
		want := fmt.Sprintf("run%d\n", run)
		got := catLogWhen(t, s, d.Name, func(b []byte) bool { return strings.HasSuffix(string(b), want) })
		if !strings.HasSuffix(got, want) {
			t.Fatalf("run %d: tail %q, want it to end %q", run, got, want)
		}
		if run == 1 {
			waitPipes(0, "after the first start's exit") // not kept: maybe no restart
		} else {
			waitPipes(1, fmt.Sprintf("after restart %d", run-1))
		}
	}
	if got := catLogWhen(t, s, d.Name, func([]byte) bool { return true }); got != "run1\nrun2\nrun3\nrun4\n" {
		t.Fatalf("tail %q, want every run's line", got)
	}
	s.Release(d)
	waitPipes(0, "after Release")
	s.mu.Lock()
	u := s.units[d.Name]
	s.mu.Unlock()
	if u != nil && u.tailW != 0 {
		t.Fatal("Release left the kept write end")
	}
}
