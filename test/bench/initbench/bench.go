package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// bench runs scenarios on every impl, interleaved, and keeps each round's
// figures so that ratios pair runs made next to each other.
type bench struct {
	impls       []*impl
	rounds      int
	curveRounds int
	only        map[string]bool
	// verbose prints every sample to stderr as it is taken.
	verbose bool
	failed  int // rounds dropped because a run failed
	// vals[key][impl][round]
	vals map[string]map[string][]float64
}

// figure is one row of the table.
type figure struct {
	key, title, unit, goal string
}

// figures is the table, in the order.
func figures() []figure {
	return []figure{
		{"start1000", "1000 process services, launch -> target started", "ms", "<= 0.8"},
		{"startcpu1000", "  its CPU time (daemon only, clock ticks)", "ms", ""},
		{"fds1000", "  kernel: spawns' copy and close of the fds held", "ms", ""},
		{"launchplain1000", "  kernel: 1000 sleeps spawned, one per CPU at a time", "ms", ""},
		{"launchcg1000", "  kernel: the same, each into a new cgroup", "ms", ""},
		{"stop1000", "stop target -> daemon exits, 1000 services", "ms", "<= 1.0"},
		{"rmdir1000", "  kernel: cgroup rmdir per service (of 1000)", "us", ""},
		{"stopplain1000", "  kernel: kill+reap 1000 sleeps, no cgroups", "ms", ""},
		{"stopcg1000", "  kernel: the same, each in a cgroup, + rmdir", "ms", ""},
		{"stop5000", "stop target -> daemon exits, 5000 services", "ms", "<= 1.0"},
		{"rmdir5000", "  kernel: cgroup rmdir per service (of 5000)", "us", ""},
		{"stopplain5000", "  kernel: kill+reap 5000 sleeps, no cgroups", "ms", ""},
		{"stopcg5000", "  kernel: the same, each in a cgroup, + rmdir", "ms", ""},
		{"ready", "socket ready after launch", "ms", "<= 1.0"},
		{"exit0", "exit with nothing to stop", "ms", "<= 1.0"},
		{"exit0fc", "  the same, the shutdown sent by the Go floor client", "ms", ""},
		{"pd0", "Private_Dirty idle", "kB", "<= 2.0"},
		{"pd1000", "Private_Dirty with 1000 services", "kB", "<= 1.5"},
		{"pdheap1000", "  of which the Go heap (objects, stacks, free slots)", "kB", ""},
		{"pdrest1000", "  the rest (runtime metadata, data, binary)", "kB", ""},
		{"thr0", "threads idle", "", ""},
		{"thr1000", "threads with 1000 services", "", ""},
		{"status1000", "ctl status (client spawned), 1000 loaded", "ms", "<= 1.0"},
		{"linked1000", "  Go floor client linking ginitctl's packages", "ms", ""},
		{"status5000", "ctl status (client spawned), 5000 loaded", "ms", "<= 1.0"},
		{"linked5000", "  Go floor client linking ginitctl's packages", "ms", ""},
		{"list5000", "ctl list, 5000 loaded", "ms", "<= 1.0"},
		{"status0", "ctl status (client spawned), idle", "ms", ""},
		{"crash", "daemon CPU per crash-loop respawn", "us", "<= 1.5"},
	}
}

// services is a boot service and a target depending on n long-running
// process services.
func services(n int) map[string]string {
	files := map[string]string{"boot": "type = internal\n"}
	var t strings.Builder
	t.WriteString("type = internal\n")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%05d", i)
		files[name] = "type = process\ncommand = /bin/sleep 1000000\nrestart = no\n"
		fmt.Fprintf(&t, "depends-on = %s\n", name)
	}
	files["target"] = t.String()
	return files
}

func (b *bench) record(key, impl string, v float64) {
	// "IMPL/key" is a figure another impl's run measured for IMPL (the
	// floor client, timed against ginit's daemon).
	if i := strings.IndexByte(key, '/'); i > 0 {
		impl, key = key[:i], key[i+1:]
	}
	if b.vals == nil {
		b.vals = map[string]map[string][]float64{}
	}
	if b.vals[key] == nil {
		b.vals[key] = map[string][]float64{}
	}
	b.vals[key][impl] = append(b.vals[key][impl], v)
}

func (b *bench) want(keys ...string) bool {
	if b.only == nil {
		return true
	}
	for _, k := range keys {
		if b.only[k] {
			return true
		}
	}
	return false
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// interleave runs f for every impl but the Go floor, rounds times,
// alternating which goes first; a round in which any impl failed is
// dropped for all, so that the ratios stay paired.
func (b *bench) interleave(name string, rounds int, f func(im *impl) (map[string]float64, error)) {
	b.interleaveImpls(name, rounds, slices.DeleteFunc(slices.Clone(b.impls), func(im *impl) bool { return im.floor }), f)
}

// interleaveFloor is interleave with the Go floor too.
func (b *bench) interleaveFloor(name string, rounds int, f func(im *impl) (map[string]float64, error)) {
	b.interleaveImpls(name, rounds, b.impls, f)
}

func (b *bench) interleaveImpls(name string, rounds int, impls []*impl, f func(im *impl) (map[string]float64, error)) {
	for r := 0; r < rounds; r++ {
		order := slices.Clone(impls)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		got := map[string]map[string]float64{}
		failed := false
		for _, im := range order {
			v, err := f(im)
			if err != nil {
				fmt.Fprintf(os.Stderr, "initbench: %s, round %d, %s: %v\n", name, r+1, im.name, err)
				b.failed++
				failed = true
				break
			}
			got[im.name] = v
		}
		if failed {
			continue
		}
		for impl, kv := range got {
			for k, v := range kv {
				b.record(k, impl, v)
				if b.verbose {
					fmt.Fprintf(os.Stderr, "%s round %d %s %s = %.2f\n", name, r+1, impl, k, v)
				}
			}
		}
	}
}

// figures runs every scenario and prints the table.
func (b *bench) figures() {
	if b.want("ready", "exit0", "pd0", "thr0", "status0") {
		b.interleaveFloor("idle", b.rounds, b.idle)
	}
	if b.want("start1000", "stop1000", "pd1000", "thr1000", "status1000") {
		b.interleaveFloor("1000", b.rounds, func(im *impl) (map[string]float64, error) {
			if im.floor {
				return b.burst(im, 1000)
			}
			return b.loadedFloor(im, 1000)
		})
	}
	if b.want("stop5000", "status5000", "list5000") {
		b.interleave("5000", b.rounds, func(im *impl) (map[string]float64, error) { return b.loadedFloor(im, 5000) })
	}
	if b.want("crash") {
		b.interleaveFloor("crash", b.rounds, b.crashLoop)
	}
	b.print(figures())
}

// loadedFloor is loaded, and in ginit's turn the kernel's cost of removing
// as many service cgroups (cgroupFloor) and, for the start of 1000, of the
// fds ginit holds per service (fdFloor), measured in the same round.
func (b *bench) loadedFloor(im *impl, n int) (map[string]float64, error) {
	out, err := b.loaded(im, n)
	if err != nil || im.name != "ginit" {
		return out, err
	}
	fl, err := cgroupFloor(n)
	if err != nil {
		return nil, fmt.Errorf("cgroup floor: %w", err)
	}
	maps.Copy(out, fl)
	if fl, err = stopFloor(n); err != nil {
		return nil, fmt.Errorf("stop floor: %w", err)
	}
	maps.Copy(out, fl)
	if n <= 1000 {
		// The start row's floor: ginit holds an output pipe per service.
		if fl, err = fdFloor(n); err != nil {
			return nil, fmt.Errorf("fd floor: %w", err)
		}
		maps.Copy(out, fl)
		if fl, err = launchFloor(n); err != nil {
			return nil, fmt.Errorf("launch floor: %w", err)
		}
		maps.Copy(out, fl)
	}
	return out, nil
}

// settle is how long a daemon idles before its memory is read: what it
// keeps while idle, not what a burst left behind for a moment.
const settle = 1500 * time.Millisecond

// idle: launch with nothing but an internal boot service.
func (b *bench) idle(im *impl) (map[string]float64, error) {
	in, err := launch(im, services(0), "boot")
	if err != nil {
		return nil, err
	}
	defer in.close()
	out := map[string]float64{"ready": ms(in.ready)}
	time.Sleep(settle)
	kb, thr, err := in.privateDirtyKB()
	if err != nil {
		return nil, err
	}
	out["pd0"], out["thr0"] = float64(kb), float64(thr)
	if out["status0"], err = medianCtl(in.im.ctl, in, "status", "boot"); err != nil {
		return nil, err
	}
	if out["exit0"], err = timeShutdown(in, in.im.ctl); err != nil {
		return nil, err
	}
	if fl := b.floor(); fl != nil && im.name == "ginit" {
		// The same exit asked by the Go floor client instead of
		// ginitctl: ginit's part of the row apart from its client's
		// start (the floor column's exit is the floor client's too).
		if out["exit0fc"], err = exitBy(im, fl.ctl); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// exitBy launches im idle again and times its exit on a shutdown sent
// by the client ctl.
func exitBy(im *impl, ctl string) (float64, error) {
	in, err := launch(im, services(0), "boot")
	if err != nil {
		return 0, err
	}
	defer in.close()
	time.Sleep(settle)
	// Warm as in idle's turn, whose status calls came first: a daemon's
	// first request faults in the code that serves it.
	if _, err := medianCtl(ctl, in, "status", "boot"); err != nil {
		return 0, err
	}
	return timeShutdown(in, ctl)
}

// timeShutdown is how long in takes to exit, in milliseconds, from a
// shutdown sent by the client ctl.
func timeShutdown(in *inst, ctl string) (float64, error) {
	t0 := time.Now()
	if err := in.ctlWith(ctl, "shutdown"); err != nil {
		return 0, err
	}
	if err := in.waitExit(20 * time.Second); err != nil {
		return 0, err
	}
	return ms(time.Since(t0)), nil
}

// burst is the Go floor's memory beside loaded's: the floor daemon after
// allocating and dropping what a load of n services might (its
// --burst), read after the same settle.
func (b *bench) burst(im *impl, n int) (map[string]float64, error) {
	in, err := launch(im, services(0), fmt.Sprintf("--burst=%d", n))
	if err != nil {
		return nil, err
	}
	defer in.close()
	time.Sleep(settle)
	kb, thr, err := in.privateDirtyKB()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{fmt.Sprintf("pd%d", n): float64(kb), fmt.Sprintf("thr%d", n): float64(thr)}
	return out, heapSplit(in, out, n, kb)
}

// heapSplit records a Go daemon's Private_Dirty kb (n services) as its
// heap arena and the rest: what its objects cost apart from what the
// runtime keeps whatever it holds.
func heapSplit(in *inst, out map[string]float64, n, kb int) error {
	heap, err := in.goHeapKB()
	if err != nil {
		return err
	}
	out[fmt.Sprintf("pdheap%d", n)], out[fmt.Sprintf("pdrest%d", n)] = float64(heap), float64(kb-heap)
	return nil
}

// loaded: launch with the target of n services, wait for it to be started
// (a ctl start that blocks until it is), measure with them up, then stop
// the target and time until the daemon has exited.
func (b *bench) loaded(im *impl, n int) (map[string]float64, error) {
	in, err := launch(im, services(n), "target")
	if err != nil {
		return nil, err
	}
	defer in.close()
	if err := in.ctl("start", "target"); err != nil {
		return nil, err
	}
	out := map[string]float64{fmt.Sprintf("start%d", n): ms(time.Since(in.t0))}
	// Its own CPU time so far (loading and starting): on a busy machine
	// the wall time above also counts waiting for a CPU.
	ticks, err := in.cpuTicks()
	if err != nil {
		return nil, err
	}
	out[fmt.Sprintf("startcpu%d", n)] = float64(ticks) * 10
	time.Sleep(settle)
	kb, thr, err := in.privateDirtyKB()
	if err != nil {
		return nil, err
	}
	out[fmt.Sprintf("pd%d", n)], out[fmt.Sprintf("thr%d", n)] = float64(kb), float64(thr)
	if in.im.name == "ginit" && n == 1000 {
		if err := heapSplit(in, out, n, kb); err != nil {
			return nil, err
		}
	}
	probe := fmt.Sprintf("s%05d", n/2)
	status, linked := fmt.Sprintf("status%d", n), fmt.Sprintf("linked%d", n)
	// The Go client floor does the same status round trip to ginit, and
	// beside it the same client linking all ginitctl links (its floor
	// column is the plain client's figure of this round); their calls
	// alternate with ginitctl's, so that a busy spell of the machine
	// weighs on all three alike.
	ctls := []string{in.im.ctl}
	fl := b.floor()
	if fl != nil && in.im.name == "ginit" {
		ctls = append(ctls, fl.ctl, fl.linkedCtl)
	}
	med, err := medianCtls(ctls, in, "status", probe)
	if err != nil {
		return nil, err
	}
	out[status] = med[0]
	if len(med) == 3 {
		out[fl.name+"/"+status], out[linked], out[fl.name+"/"+linked] = med[1], med[2], med[1]
	}
	if out[fmt.Sprintf("list%d", n)], err = medianCtl(in.im.ctl, in, "list"); err != nil {
		return nil, err
	}
	// The daemon runs the target alone: stopping it leaves nothing
	// running, and a container's manager then exits.
	t0 := time.Now()
	if err := in.ctl("stop", "target"); err != nil {
		return nil, err
	}
	if err := in.waitExit(60 * time.Second); err != nil {
		return nil, err
	}
	out[fmt.Sprintf("stop%d", n)] = ms(time.Since(t0))
	return out, nil
}

// floor is the Go floor impl, if it was built.
func (b *bench) floor() *impl {
	for _, im := range b.impls {
		if im.floor {
			return im
		}
	}
	return nil
}

// medianCtl is the median time of 30 runs of the ctl program ctl on in.
func medianCtl(ctl string, in *inst, args ...string) (float64, error) {
	m, err := medianCtls([]string{ctl}, in, args...)
	if err != nil {
		return 0, err
	}
	return m[0], nil
}

// medianCtls is medianCtl for each of ctls, their calls alternating (the
// order reversed every other time).
func medianCtls(ctls []string, in *inst, args ...string) ([]float64, error) {
	ds := make([][]float64, len(ctls))
	for i := 0; i < 30; i++ {
		for j := range ctls {
			if i%2 == 1 {
				j = len(ctls) - 1 - j
			}
			d, err := in.timeCtlWith(ctls[j], args...)
			if err != nil {
				return nil, err
			}
			ds[j] = append(ds[j], ms(d))
		}
	}
	out := make([]float64, len(ctls))
	for j, d := range ds {
		out[j] = median(d)
	}
	return out, nil
}

// crashLoop: a process that exits at once, restarted with no delay and no
// limit; the figure is the daemon's own CPU time per respawn.
func (b *bench) crashLoop(im *impl) (map[string]float64, error) {
	files := map[string]string{
		"boot": "type = internal\n",
		"crasher": "type = process\ncommand = /bin/sh -c \"echo >> @DIR@/count\"\n" +
			"restart = yes\nrestart-delay = 0\nrestart-limit-count = 0\n",
	}
	service := "crasher"
	if im.floor {
		service = "--respawn"
	}
	in, err := launch(im, files, service)
	if err != nil {
		return nil, err
	}
	defer in.close()
	count := func() int {
		data, _ := os.ReadFile(filepath.Join(in.dir, "count"))
		return strings.Count(string(data), "\n")
	}
	time.Sleep(300 * time.Millisecond)
	c0 := count()
	t0, err := in.cpuTicks()
	if err != nil {
		return nil, err
	}
	time.Sleep(3 * time.Second)
	t1, err := in.cpuTicks()
	if err != nil {
		return nil, err
	}
	n := count() - c0
	if n <= 0 {
		return nil, fmt.Errorf("no respawns")
	}
	_ = in.ctl("stop", "crasher")
	// clock ticks are 1/100 s on Linux (USER_HZ).
	return map[string]float64{"crash": float64(t1-t0) * 10000 / float64(n), "crashrate": float64(n) / 3}, nil
}

// curve prints the per-service cost of start, status and stop for each n.
func (b *bench) curve(ns []int) {
	fmt.Println()
	fmt.Println("per-service cost (us per service; status and list per call, ms)")
	for _, n := range ns {
		b.interleave(fmt.Sprintf("curve %d", n), b.curveRounds, func(im *impl) (map[string]float64, error) {
			v, err := b.loaded(im, n)
			if err != nil {
				return nil, err
			}
			out := map[string]float64{
				fmt.Sprintf("c-start%d", n):  v[fmt.Sprintf("start%d", n)] * 1000 / float64(n),
				fmt.Sprintf("c-stop%d", n):   v[fmt.Sprintf("stop%d", n)] * 1000 / float64(n),
				fmt.Sprintf("c-pd%d", n):     v[fmt.Sprintf("pd%d", n)] / float64(n),
				fmt.Sprintf("c-status%d", n): v[fmt.Sprintf("status%d", n)],
				fmt.Sprintf("c-list%d", n):   v[fmt.Sprintf("list%d", n)],
			}
			if im.name == "ginit" {
				// The kernel's own curve for the stop, in the same
				// round: whether a cost per service that grows
				// with n is the daemon's or the kernel's.
				fl, err := stopFloor(n)
				if err != nil {
					return nil, fmt.Errorf("stop floor: %w", err)
				}
				out[fmt.Sprintf("c-stopplain%d", n)] = fl[fmt.Sprintf("stopplain%d", n)] * 1000 / float64(n)
				out[fmt.Sprintf("c-stopcg%d", n)] = fl[fmt.Sprintf("stopcg%d", n)] * 1000 / float64(n)
			}
			return out, nil
		})
	}
	var rows []figure
	for _, n := range ns {
		rows = append(rows,
			figure{fmt.Sprintf("c-start%d", n), fmt.Sprintf("%5d: launch -> started, per service", n), "us", ""},
			figure{fmt.Sprintf("c-stop%d", n), fmt.Sprintf("%5d: stop -> exit, per service", n), "us", ""},
			figure{fmt.Sprintf("c-stopplain%d", n), "  kernel: kill+reap sleeps, no cgroups", "us", ""},
			figure{fmt.Sprintf("c-stopcg%d", n), "  kernel: the same, each in a cgroup, + rmdir", "us", ""},
			figure{fmt.Sprintf("c-pd%d", n), fmt.Sprintf("%5d: Private_Dirty per service", n), "kB", ""},
			figure{fmt.Sprintf("c-status%d", n), fmt.Sprintf("%5d: ctl status", n), "ms", ""},
			figure{fmt.Sprintf("c-list%d", n), fmt.Sprintf("%5d: ctl list", n), "ms", ""},
		)
	}
	b.print(rows)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// print writes rows: each impl's median and the median of paired ratios
// (ginit/dinit), then the Go floor's median and ginit/floor where the floor
// has the figure.
func (b *bench) print(rows []figure) {
	var anchor string
	fl := b.floor()
	for _, im := range b.impls[1:] {
		if !im.floor {
			anchor = im.name
		}
	}
	fmt.Printf("%-52s %12s", "figure", "ginit")
	if anchor != "" {
		fmt.Printf(" %12s %7s %8s", anchor, "ratio", "goal")
	}
	if fl != nil {
		fmt.Printf(" %12s %7s", "Go floor", "g/floor")
	}
	fmt.Println()
	for _, r := range rows {
		g := b.vals[r.key]["ginit"]
		if len(g) == 0 {
			continue
		}
		unit := ""
		if r.unit != "" {
			unit = " " + r.unit
		}
		fmt.Printf("%-52s %12s", r.title, fmt.Sprintf("%.2f%s", median(g), unit))
		if anchor != "" {
			if d := b.vals[r.key][anchor]; len(d) > 0 {
				fmt.Printf(" %12s %7.2f %8s", fmt.Sprintf("%.2f%s", median(d), unit), median(pairedRatios(g, d)), r.goal)
			} else {
				// A floor of ginit's alone (the kernel's rows).
				fmt.Printf(" %12s %7s %8s", "", "", r.goal)
			}
		}
		if fl != nil {
			if f := b.vals[r.key][fl.name]; len(f) > 0 {
				fmt.Printf(" %12s %7.2f", fmt.Sprintf("%.2f%s", median(f), unit), median(pairedRatios(g, f)))
			}
		}
		fmt.Println()
	}
	if fl != nil && slices.ContainsFunc(rows, func(r figure) bool { return len(b.vals[r.key][fl.name]) > 0 }) {
		fmt.Println("Go floor: floor/daemon (os/signal as an init needs, net.Listen, ready line, FreeOSMemory, exit on shutdown)")
		fmt.Println("  and floor/client (one blocking connect, request and reply); on the loaded status rows the")
		fmt.Println("  floor client sends the same status request to ginit's daemon; the row below each is that")
		fmt.Println("  client built to link every package ginitctl links (their initialisers, ginitctl's binary size).")
		fmt.Println("  On the 1000-service memory rows the floor daemon first allocates and drops 20 MB across the")
		fmt.Println("  small size classes (GOGC 50, as ginit): what the runtime keeps after a load, chiefly GC metadata.")
		fmt.Println("  On the crash-loop row the floor daemon runs the same command again as soon as it exits:")
		fmt.Println("  syscall.ForkExec and a blocking wait4 on one goroutine, no cgroup, no output pipe, no log.")
	}
}

// pairedRatios is a[i]/b[i] for the rounds both have.
func pairedRatios(a, b []float64) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}
