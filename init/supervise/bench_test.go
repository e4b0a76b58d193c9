package supervise

import (
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/cgroup2"
)

// benchTreeModes is treeModes for benchmarks: a cgroup under a private
// test root when one can be made, and a plain process group.
func benchTreeModes(b *testing.B) map[string]func(*testing.B) string {
	return map[string]func(*testing.B) string{
		"pgroup": func(*testing.B) string { return "" },
		"cgroup": benchCgroupRoot,
	}
}

func benchCgroupRoot(b *testing.B) string { return testCgroupRoot(b) }

// treeSize counts the processes of a tree: its cgroup's members, or the
// members of its process group.
func treeSize(cg string, pgid int) int {
	if cg != "" {
		pids, _ := cgroup2.Pids(cg)
		return len(pids)
	}
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := procStat(pid); err == nil && len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			n++
		}
	}
	return n
}

// BenchmarkKillTree500 measures stopping a service of 500 processes: from
// KillTree(SIGKILL) until TreeEmpty, i.e. until every process is dead and
// reaped. Building the tree is not timed.
func BenchmarkKillTree500(b *testing.B) {
	const size = 500
	for mode, root := range benchTreeModes(b) {
		b.Run(mode, func(b *testing.B) {
			s := newSup(b, root(b))
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				d := desc("tree")
				r := newRecorder()
				p := spawn(b, s, d, r, "sh", "-c",
					`i=1; while [ $i -lt `+strconv.Itoa(size)+` ]; do sleep 300 & i=$((i+1)); done; exec sleep 300`)
				pp := p.(*proc)
				deadline := time.Now().Add(wait)
				for treeSize(pp.cg, pp.pgid) < size {
					if time.Now().After(deadline) {
						_ = p.KillTree(int(unix.SIGKILL))
						b.Fatalf("tree has %d processes, want %d", treeSize(pp.cg, pp.pgid), size)
					}
					time.Sleep(5 * time.Millisecond)
				}
				b.StartTimer()
				start := time.Now()
				if err := p.KillTree(int(unix.SIGKILL)); err != nil {
					b.Fatal(err)
				}
				r.next(b, "empty")
				total += time.Since(start)
				b.StopTimer()
				s.Release(d)
			}
			b.ReportMetric(float64(size*b.N)/total.Seconds(), "procs/s")
		})
	}
}

// BenchmarkRespawn measures a crash loop at full speed: start /bin/true,
// see it exit and its tree empty, release the service (its cgroup), again.
func BenchmarkRespawn(b *testing.B) {
	for mode, root := range benchTreeModes(b) {
		b.Run(mode, func(b *testing.B) {
			s := newSup(b, root(b))
			d := desc("crashloop")
			r := newRecorder()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				spawn(b, s, d, r, "/bin/true")
				r.next(b, "exited")
				r.next(b, "empty")
				s.Release(d)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "spawns/s")
		})
	}
}
