//go:build ginitprof

package daemon

import (
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"
)

// startProfile, in a binary built with -tags ginitprof (never the shipped
// one: runtime/pprof is heavy for PID 1), writes a CPU profile to
// $GINIT_CPUPROFILE, an execution trace to $GINIT_TRACE and a heap profile to $GINIT_HEAPPROFILE
// every 2s, and the runtime's memory and scheduler metrics to $GINIT_METRICS
// every 2s. The benchmarks use it to find where time and memory go.
func startProfile() (stop func()) {
	var cpu *os.File
	if p := os.Getenv("GINIT_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			cpu = f
		}
	}
	var tr *os.File
	if p := os.Getenv("GINIT_TRACE"); p != "" {
		if f, err := os.Create(p); err == nil && trace.Start(f) == nil {
			tr = f
		}
	}
	heap := os.Getenv("GINIT_HEAPPROFILE")
	writeHeap := func() {
		if f, err := os.Create(heap); err == nil {
			runtime.GC()
			_ = pprof.WriteHeapProfile(f)
			if g, err := os.Create(heap + ".goroutines"); err == nil {
				_ = pprof.Lookup("goroutine").WriteTo(g, 1)
				g.Close()
			}
			f.Close()
		}
	}
	stopHeap := make(chan struct{})
	if p := os.Getenv("GINIT_METRICS"); p != "" {
		go writeMetricsEvery(p, 2*time.Second, stopHeap)
	}
	if heap != "" {
		runtime.MemProfileRate = 1 // every allocation: the figures are small
		// Every 2s too: the profile at the end holds nothing running.
		go func() {
			t := time.NewTicker(2 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					writeHeap()
				case <-stopHeap:
					return
				}
			}
		}()
	}
	return func() {
		close(stopHeap)
		if tr != nil {
			trace.Stop()
			tr.Close()
		}
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}

	}
}
