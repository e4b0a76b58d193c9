package desktop

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"
)

// BenchmarkGreeter times kernel start ("Linux version" on the serial
// console) to the graphical greeter on the screen (its colour on half the
// screendump), booting the same image with ginit (the desktop target) and
// with Debian's systemd (greetd, the same greeter, as display-manager),
// RUNS times each (default 2), alternating; it prints the medians. The
// screendump is polled once a second, so figures are within a second.
func BenchmarkGreeter(b *testing.B) {
	runs := 2
	if n, err := strconv.Atoi(os.Getenv("RUNS")); err == nil && n > 0 {
		runs = n
	}
	times := map[string][]time.Duration{}
	for i := 0; i < runs; i++ {
		for _, init := range []string{"ginit", "systemd"} {
			b.Run(fmt.Sprintf("%s-%d", init, i+1), func(b *testing.B) {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
				defer cancel()
				target := "desktop"
				if init == "systemd" {
					target = "systemd"
				}
				g := bootDesktop(b, ctx, target)
				g.waitScreen(b, "greeter", greeterBlue, 0.5, bootLimit)
				d := time.Since(g.start)
				times[init] = append(times[init], d)
				b.ReportMetric(d.Seconds(), "s-to-greeter")
			})
		}
	}
	for _, init := range []string{"ginit", "systemd"} {
		ts := times[init]
		if len(ts) == 0 {
			continue
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		fmt.Printf("kernel start to greeter on screen, %-7s median %.1f s of %d (%v)\n", init, median(ts).Seconds(), len(ts), ts)
	}
}

func median(ts []time.Duration) time.Duration {
	n := len(ts)
	if n%2 == 1 {
		return ts[n/2]
	}
	return (ts[n/2-1] + ts[n/2]) / 2
}
