package sessiond_test

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"ginit/internal/testenv"
)

// BenchmarkListSessions: ListSessions round trips over the private bus
// from an in-process godbus client, with a few sessions open.
func BenchmarkListSessions(b *testing.B) {
	e := newEnv(b)
	for _, tty := range []string{"pts/1", "pts/2", "pts/3"} {
		e.hold("root", tty)
	}
	obj := e.conn.Object("org.freedesktop.login1", mgrPath)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var l []struct {
			ID   string
			UID  uint32
			User string
			Seat string
			Path any
		}
		if err := obj.Call(ifManager+".ListSessions", 0).Store(&l); err != nil {
			b.Fatal(err)
		}
		if len(l) != 3 {
			b.Fatalf("ListSessions returned %d sessions, want 3", len(l))
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// BenchmarkPAMSession: one pamtester run through pam_systemd per
// iteration: CreateSession (scope, runtime dir, FIFO, files),
// ReleaseSession, and the session's removal when pamtester exits.
func BenchmarkPAMSession(b *testing.B) {
	e := newEnv(b)
	e.hold("root", "pts/1") // keeps the user (and runtime dir) around, as in real logins
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		out, err := e.Run(nil, "pamtester", "sdtest", "root", "open_session", "close_session")
		if err != nil || !strings.Contains(out, "successfully opened") {
			b.Fatalf("pamtester: %v %s", err, out)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cycles/s")
}

// BenchmarkDropSessions: 50 open sessions whose processes all die at
// once; the time until sessiond has removed every one of them.
func BenchmarkDropSessions(b *testing.B) {
	e := newEnv(b)
	const n = 50
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		hs := make([]*testenv.Held, 0, n)
		for j := 0; j < n; j++ {
			hs = append(hs, e.hold("root", fmt.Sprintf("pts/%d", 100+j)))
		}
		b.StartTimer()
		start := time.Now()
		for _, h := range hs {
			_ = syscall.Kill(h.Sleep, syscall.SIGKILL)
			_ = h.Cmd.Process.Kill()
		}
		for deadline := start.Add(30 * time.Second); ; time.Sleep(200 * time.Microsecond) {
			if ents, _ := os.ReadDir("/run/systemd/sessions"); len(ents) == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("sessions not dropped; log:\n%s", e.Log())
			}
		}
		total += time.Since(start)
		b.StopTimer()
		for _, h := range hs {
			_ = h.Cmd.Wait()
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/50-sessions")
}
