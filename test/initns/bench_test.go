package initns

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ginit/init/control"
)

// These benchmarks print figures for `make bench`; nothing here asserts a
// time. Each iteration runs a fresh ginit as PID 1 of a private namespace.

// manyServices is a target depending on n trivial process services.
func manyServices(n int) map[string]string {
	files := map[string]string{"boot": "type = internal\n"}
	var deps strings.Builder
	deps.WriteString("type = internal\n")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%04d", i)
		files[name] = "type = process\ncommand = /bin/sleep 100000\nrestart = no\n"
		fmt.Fprintf(&deps, "depends-on: %s\n", name)
	}
	files["target"] = deps.String()
	return files
}

// chain is c000 <- c001 <- ... : each depends on the previous one.
func chain(n int) map[string]string {
	files := map[string]string{"boot": "type = internal\n"}
	for i := 0; i < n; i++ {
		body := "type = process\ncommand = /bin/sleep 100000\nrestart = no\n"
		if i > 0 {
			body += fmt.Sprintf("depends-on: c%03d\n", i-1)
		}
		files[fmt.Sprintf("c%03d", i)] = body
	}
	return files
}

func timeStart(b *testing.B, files map[string]string, target string) {
	requireRoot(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		in := newInstance(b, files)
		b.StartTimer()
		t0 := time.Now()
		in.mustCtl("start", target)
		total += time.Since(t0)
		b.StopTimer()
		if i == b.N-1 {
			b.ReportMetric(float64(rssKB(b, in))/1024, "MB-RSS")
		}
		in.mustCtl("stop", target)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}

// BenchmarkStart1000 starts a target that depends on 1000 process services
// (load + fork/exec + bookkeeping), and reports ginit's RSS with them up.
func BenchmarkStart1000(b *testing.B) { timeStart(b, manyServices(1000), "target") }

// BenchmarkChain100 starts the end of a chain of 100 dependencies.
func BenchmarkChain100(b *testing.B) { timeStart(b, chain(100), "c099") }

// BenchmarkStatusRoundTrip is one status request through the client
// library on the control socket of a ginit with 1000 services loaded.
func BenchmarkStatusRoundTrip(b *testing.B) {
	in := newInstance(b, manyServices(1000))
	in.mustCtl("start", "target")
	c, err := control.Dial(in.sock)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := c.Do(ctx, control.Request{Op: control.OpStatus, Service: "s0500"})
		if err != nil || resp.Code != control.OK {
			b.Fatalf("status: %v %+v", err, resp)
		}
	}
	b.StopTimer()
	in.mustCtl("stop", "target")
}

// BenchmarkGinitctlStatus1000 runs the ginitctl program 1000 times (process
// start included) and reports the total.
func BenchmarkGinitctlStatus1000(b *testing.B) {
	in := newInstance(b, manyServices(1000))
	in.mustCtl("start", "target")
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		for j := 0; j < 1000; j++ {
			in.mustCtl("status", "s0500")
		}
		total += time.Since(t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/1000-runs")
	in.mustCtl("stop", "target")
}

// rssKB finds ginit (the child of unshare) and reads its VmRSS.
func rssKB(b *testing.B, in *instance) int {
	pid := in.ginitPid()
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkCrashLoopRespawn: a service whose process exits at once, with
// no restart delay and no restart limit, is respawned by ginit as fast as
// it can; the figure is respawns per second through the whole manager.
func BenchmarkCrashLoopRespawn(b *testing.B) {
	in := newInstance(b, map[string]string{
		"boot": "type = internal\n",
		"crasher": "type = process\nrestart = yes\nrestart-delay = 0\nrestart-limit-count = 0\n" +
			"command = /bin/sh -c \"echo >> @OUT@/count; exit 1\"\n",
	})
	count := func() int {
		data, _ := os.ReadFile(filepath.Join(in.out, "count"))
		return strings.Count(string(data), "\n")
	}
	in.mustCtl("start", "--no-wait", "crasher")
	b.ResetTimer()
	var total int
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		c0, t0 := count(), time.Now()
		time.Sleep(2 * time.Second)
		total += count() - c0
		elapsed += time.Since(t0)
	}
	b.StopTimer()
	in.mustCtl("stop", "crasher")
	b.ReportMetric(float64(total)/elapsed.Seconds(), "respawns/s")
}
