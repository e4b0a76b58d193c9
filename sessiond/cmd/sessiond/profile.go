//go:build ginitprof

package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// startProfile, in a binary built with -tags ginitprof (never the shipped
// one), writes a CPU profile to $SESSIOND_CPUPROFILE and a heap profile
// to $SESSIOND_HEAPPROFILE every 2s (the last one before exit shows
// what the sessions hold). The benchmarks pass the variables through to
// the daemon they start.
func startProfile() (stop func()) {
	var cpu *os.File
	if p := os.Getenv("SESSIOND_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			cpu = f
		}
	}
	heap := os.Getenv("SESSIOND_HEAPPROFILE")
	done := make(chan struct{})
	if heap != "" {
		if os.Getenv("SESSIOND_MEMRATE1") != "" {
			runtime.MemProfileRate = 1 // every allocation: a session is a few hundred bytes
		}
		go func() {
			t := time.NewTicker(2 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					if f, err := os.Create(heap); err == nil {
						runtime.GC()
						_ = pprof.WriteHeapProfile(f)
						f.Close()
					}
					// The text form ends with runtime.MemStats: heap in
					// use, idle, released, stacks, the runtime's own.
					if f, err := os.Create(heap + ".txt"); err == nil {
						_ = pprof.Lookup("heap").WriteTo(f, 1)
						f.Close()
					}
				case <-done:
					return
				}
			}
		}()
	}
	return func() {
		close(done)
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
	}
}
