package supervise

import (
	"fmt"
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

// TestPidfdBudget: children beyond the pidfd budget run without one (and
// are still signalled and reaped); every budgeted pidfd is given back.
func TestPidfdBudget(t *testing.T) {
	s := newSup(t, "")
	s.pidfdBudget = 2
	var procs []*proc
	var recs []*recorder
	for i := 0; i < 5; i++ {
		r := newRecorder()
		p := spawn(t, s, desc(fmt.Sprintf("budget-%d", i)), r, "sleep", "100")
		procs = append(procs, p.(*proc))
		recs = append(recs, r)
	}
	with := 0
	for _, p := range procs {
		p.mu.Lock()
		if p.pidfd >= 0 {
			with++
		}
		p.mu.Unlock()
	}
	if with != 2 || s.pidfds.Load() != 2 {
		t.Fatalf("%d children got a pidfd, %d counted; want 2 of 5", with, s.pidfds.Load())
	}
	for i, p := range procs {
		if err := p.Signal(int(syscall.SIGTERM)); err != nil {
			t.Fatalf("signal child %d: %v", i, err)
		}
		recs[i].next(t, "exited")
	}
	if n := s.pidfds.Load(); n != 0 {
		t.Fatalf("%d pidfds still counted after every child exited", n)
	}
}
