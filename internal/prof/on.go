//go:build ginitprof

package prof

import (
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"
)

// Start writes, for the variables set with the given prefix (GINIT,
// SESSIOND): a CPU profile to $P_CPUPROFILE, an execution trace to
// $P_TRACE, every 2s a heap profile to $P_HEAPPROFILE (with its text form,
// which ends with runtime.MemStats, in .txt and the goroutines in
// .goroutines: the last one before exit shows what the daemon holds), and
// every 2s the runtime's memory and scheduler metrics to $P_METRICS.
// The heap profile samples every allocation when everyAllocation is set or
// $P_MEMRATE1 is: the objects of interest are a few hundred bytes.
func Start(prefix string, everyAllocation bool) (stop func()) {
	env := func(name string) string { return os.Getenv(prefix + "_" + name) }
	var cpu *os.File
	if p := env("CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			cpu = f
		}
	}
	var tr *os.File
	if p := env("TRACE"); p != "" {
		if f, err := os.Create(p); err == nil && trace.Start(f) == nil {
			tr = f
		}
	}
	done := make(chan struct{})
	if p := env("METRICS"); p != "" {
		go writeMetricsEvery(p, 2*time.Second, done)
	}
	if heap := env("HEAPPROFILE"); heap != "" {
		if everyAllocation || env("MEMRATE1") != "" {
			runtime.MemProfileRate = 1
		}
		go func() {
			t := time.NewTicker(2 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					writeHeap(heap)
				case <-done:
					return
				}
			}
		}()
	}
	return func() {
		close(done)
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

// writeHeap writes the heap profile after a GC, its text form and the
// goroutines beside it.
func writeHeap(path string) {
	runtime.GC()
	for _, out := range []struct {
		suffix string
		write  func(w io.Writer) error
	}{
		{"", pprof.WriteHeapProfile},
		{".txt", func(w io.Writer) error { return pprof.Lookup("heap").WriteTo(w, 1) }},
		{".goroutines", func(w io.Writer) error { return pprof.Lookup("goroutine").WriteTo(w, 1) }},
	} {
		if f, err := os.Create(path + out.suffix); err == nil {
			_ = out.write(f)
			f.Close()
		}
	}
}
