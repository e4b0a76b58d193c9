//go:build ginitprof

package prof

import (
	"fmt"
	"os"
	"runtime/metrics"
	"strings"
	"time"
)

// writeMetricsEvery writes the runtime's memory and scheduler metrics to
// path every d: where the daemon's dirty pages go, by the runtime's classes.
func writeMetricsEvery(path string, d time.Duration, stop <-chan struct{}) {
	var samples []metrics.Sample
	for _, desc := range metrics.All() {
		if strings.HasPrefix(desc.Name, "/memory/classes/") || strings.HasPrefix(desc.Name, "/sched/") ||
			strings.HasPrefix(desc.Name, "/gc/heap/objects") || strings.HasPrefix(desc.Name, "/gc/stack/") {
			samples = append(samples, metrics.Sample{Name: desc.Name})
		}
	}
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-stop:
			return
		}
		metrics.Read(samples)
		var b strings.Builder
		for _, s := range samples {
			switch s.Value.Kind() {
			case metrics.KindUint64:
				fmt.Fprintf(&b, "%-50s %d\n", s.Name, s.Value.Uint64())
			case metrics.KindFloat64:
				fmt.Fprintf(&b, "%-50s %g\n", s.Name, s.Value.Float64())
			}
		}
		_ = os.WriteFile(path, []byte(b.String()), 0o644)
	}
}
