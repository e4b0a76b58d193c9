package pam_test

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkPAMSessiondCycle: one pamtester run through pam_sessiond.so
// per iteration: CreateSession, ReleaseSession, the FIFO closed, and the
// session's removal once pamtester exits. Prints cycles per second.
func BenchmarkPAMSessiondCycle(b *testing.B) {
	e := newEnv(b, true)
	e.hold("modhold", "root", "pts/1") // keeps the user (and runtime dir) around, as in real logins
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		out, err := e.Run(nil, "pamtester", "modtest", "root", "open_session", "close_session")
		if err != nil || !strings.Contains(out, "successfully opened") {
			b.Fatalf("pamtester: %v %s", err, out)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cycles/s")
}
