package service

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"ginit/internal/calendar"
)

// benchClock is the real clock, for benchmarks of real timing.
type benchClock struct{}

func (benchClock) Now() time.Time                            { return time.Now() }
func (benchClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// BenchmarkTimerDispatch: how late a timer's target starts after its
// elapse, through the manager's loop (arm, fire, post, step, start), for
// 200 timers elapsing 5 ms apart; the anchor is time.AfterFunc alone on
// the same schedule in the same run.
func BenchmarkTimerDispatch(b *testing.B) {
	const n, gap = 200, 5 * time.Millisecond
	for b.Loop() {
		var mu sync.Mutex
		started := map[string]time.Time{}
		var descs []*Description
		for i := range n {
			job := "job" + itoa(i)
			descs = append(descs, svcDesc(job, TypeInternal),
				timerDesc("t"+itoa(i), job, calendar.Triggers{OnActive: []time.Duration{time.Duration(i+1) * gap}}))
		}
		byName := map[string]*Description{}
		for _, d := range descs {
			byName[d.Name] = d
		}
		m := New(Config{
			Clock: benchClock{}, Spawner: &fakeSpawner{}, Logger: &logBuf{},
			Load: func(name string) ([]*Description, error) {
				d := byName[name]
				return []*Description{d, byName[d.Timer.Target]}, nil
			},
			Observe: func(d *Description, st State) {
				if st == Started && d.Type == TypeInternal {
					mu.Lock()
					started[d.Name] = time.Now()
					mu.Unlock()
				}
			},
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _, _ = m.Run(ctx); close(done) }()
		begun := make([]time.Time, n)
		for i := range n {
			begun[i] = time.Now()
			if err := m.Start(ctx, "t"+itoa(i), StartOpts{}); err != nil {
				b.Fatal(err)
			}
		}
		// The anchor: bare AfterFunc on the same schedule.
		anchor := make([]time.Duration, n)
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := range n {
			wg.Add(1)
			due := time.Duration(i+1) * gap
			time.AfterFunc(due, func() { anchor[i] = time.Since(t0) - due; wg.Done() })
		}
		wg.Wait()
		time.Sleep(50 * time.Millisecond)
		cancel()
		<-done
		late := make([]time.Duration, 0, n)
		for i := range n {
			at, ok := started["job"+itoa(i)]
			if !ok {
				b.Fatalf("job%d never started", i)
			}
			late = append(late, at.Sub(begun[i])-time.Duration(i+1)*gap)
		}
		report := func(what string, d []time.Duration) {
			slices.Sort(d)
			b.ReportMetric(float64(d[len(d)/2].Microseconds()), what+"-p50-µs")
			b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), what+"-p99-µs")
			b.ReportMetric(float64(d[len(d)-1].Microseconds()), what+"-max-µs")
		}
		report("timer", late)
		report("afterfunc", anchor)
	}
}
