package sdbench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"ginit/internal/testenv"
)

// row is one figure of the table.
type row struct {
	key, unit string
	goal      string // the goal for sessiond/elogind
}

var rows = []row{
	{"ListSessions, 0 sessions", "µs", "≤ 1.0"},
	{"ListSessions, 50 sessions", "µs", "≤ 1.0"},
	{"ListSessions, 1000 sessions", "µs", "≤ 1.0"},
	{"GetSessionByPID, 1000 sessions", "µs", "≤ 1.0"},
	{"  daemon CPU per GetSessionByPID", "µs", "floor"},
	{"  daemon wake-ups per GetSessionByPID", "", "floor"},
	{"Go floor: bare dbus.Conn, inline call", "µs", "floor"},
	{"  floor CPU per call", "µs", "floor"},
	{"  floor wake-ups per call", "", "floor"},
	{"throughput, 8 clients, 1000 sessions", "calls/s", "≥ 1.0"},
	{"  daemon CPU per call, 8 clients", "µs", "floor"},
	{"  bus daemon CPU per call, 8 clients", "µs", "floor"},
	{"  clients' CPU per call, 8 clients", "µs", "floor"},
	{"throughput, 16 clients, 1000 sessions", "calls/s", "≥ 1.0"},
	{"  daemon CPU per call, 16 clients", "µs", "floor"},
	{"  bus daemon CPU per call, 16 clients", "µs", "floor"},
	{"  clients' CPU per call, 16 clients", "µs", "floor"},
	{"SetLockedHint, 50 sessions", "µs", "≤ 1.0"},
	{"SetLockedHint, 1000 sessions", "µs", "≤ 1.0, flat"},
	{"  daemon CPU per SetLockedHint", "µs", "floor"},
	{"  daemon wake-ups per SetLockedHint", "", "floor"},
	{"  kernel: state file write per change", "µs", "floor"},
	{"CreateSession (first 50)", "µs", "≤ 1.0"},
	{"creating 1000 sessions", "ms", "≤ 1.0"},
	{"pamtester open+close (own module)", "ms", "≤ 1.0"},
	{"  pamtester's own CPU per open+close", "ms", "≤ 1.0"},
	{"  pamtester open+close, no module", "ms", "floor"},
	{"  pamtester's own CPU, no module", "ms", "floor"},
	{"  kernel: move a process to a new cgroup", "ms", "floor"},
	{"RSS idle", "KiB", "≤ 2.0"},
	{"RSS 1000 sessions, right after the calls", "KiB", "-"},
	{"RSS 1000 sessions, at rest", "KiB", "≤ 2.0"},
	{"  anonymous: heap, stacks, runtime", "KiB", "-"},
	{"  file pages: binary, libraries", "KiB", "-"},
	{"Go floor: bare dbus.Conn, RSS idle", "KiB", "floor"},
	{"Go floor: + 1000 sessions' live heap, RSS", "KiB", "floor"},
	{"  floor's anonymous: heap, stacks, runtime", "KiB", "floor"},
	{"  floor's anonymous, records among garbage", "KiB", "floor"},
	{"stop, 1000 sessions", "ms", "-"},
}

// scaleRows are the 5000-session run's figures.
var scaleRows = []row{
	{"CreateSession, sessions 1-100", "µs", "flat"},
	{"CreateSession, sessions 901-1000", "µs", "flat"},
	{"CreateSession, sessions 4901-5000", "µs", "flat"},
	{"ListSessions, 5000 sessions", "µs", "≤ 1.0"},
	{"GetSessionByPID, 5000 sessions", "µs", "≤ 1.0"},
	{"  daemon CPU per GetSessionByPID", "µs", "floor"},
	{"  daemon wake-ups per GetSessionByPID", "", "floor"},
	{"SetLockedHint, 5000 sessions", "µs", "≤ 1.0, flat"},
	{"  daemon CPU per SetLockedHint", "µs", "floor"},
	{"  daemon wake-ups per SetLockedHint", "", "floor"},
	{"RSS 5000 sessions, right after the calls", "KiB", "-"},
	{"RSS 5000 sessions, at rest", "KiB", "≤ 2.0"},
	{"  anonymous: heap, stacks, runtime", "KiB", "-"},
	{"  file pages: binary, libraries", "KiB", "-"},
	{"Go floor: + 5000 sessions' live heap, RSS", "KiB", "floor"},
	{"  floor's anonymous: heap, stacks, runtime", "KiB", "floor"},
	{"  floor's anonymous, records among garbage", "KiB", "floor"},
	{"stop, 5000 sessions", "ms", "-"},
}

// results[daemon][figure] are the values of every round.
type results map[string]map[string][]float64

func (r results) add(d, key string, v float64) {
	if r[d] == nil {
		r[d] = map[string][]float64{}
	}
	r[d][key] = append(r[d][key], v)
}

func medianF(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func rounds() int {
	if n, err := strconv.Atoi(os.Getenv("SDBENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// daemons are the two sides: sessiond as built (GINIT_BIN) and the
// anchor, which is elogind unless SDBENCH_ANCHOR names another sessiond
// binary (a build to compare with, in the same interleaved rounds) or
// is "none" (sessiond alone, for a profile).
func daemons(tb testing.TB) []*daemon {
	ds := []*daemon{{name: "sessiond", module: filepath.Join(testenv.BinDir(), "pam_sessiond.so"),
		start: startSessiond(filepath.Join(testenv.BinDir(), "sessiond")), floors: true}}
	switch anchor := os.Getenv("SDBENCH_ANCHOR"); anchor {
	case "none":
	case "":
		if root := elogindRoot(tb); root != "" {
			ds = append(ds, &daemon{name: "elogind", module: filepath.Join(root, "lib/x86_64-linux-gnu/security/pam_elogind.so"),
				start: startElogind(root)})
		}
	default:
		ds = append(ds, &daemon{name: "anchor", module: ds[0].module, start: startSessiond(anchor)})
	}
	return ds
}

// want says whether a part of the table is measured: all of them unless
// SDBENCH_ONLY lists some (comma-separated: list, lock, pam, pid, floor,
// throughput, rss, stop); the sessions are created in any case.
func want(part string) bool {
	only := os.Getenv("SDBENCH_ONLY")
	return only == "" || slices.Contains(strings.Split(only, ","), part)
}

// BenchmarkVersusElogind runs the table's figures for each daemon in
// turn, rounds() times (SDBENCH_ROUNDS), and prints the table. Run with
// -benchtime 1x.
func BenchmarkVersusElogind(b *testing.B) {
	ds := daemons(b)
	res := results{}
	for r := 0; r < rounds(); r++ {
		// Alternate which daemon goes first, so neither always runs on
		// the warmer (or busier) half of a round.
		order := ds
		if r%2 == 1 && len(ds) == 2 {
			order = []*daemon{ds[1], ds[0]}
		}
		for _, d := range order {
			b.Run(fmt.Sprintf("%s/round%d", d.name, r), func(b *testing.B) { measure(b, d, res) })
		}
	}
	printTable(ds, res, rows, rounds())
}

// BenchmarkScale5000 creates 5000 sessions for each daemon, in
// SDBENCH_SCALE_ROUNDS (default 2) interleaved rounds, and prints the
// per-session cost at 100, 1000 and 5000, the answers at 5000 and the
// stop.
func BenchmarkScale5000(b *testing.B) {
	ds := daemons(b)
	res := results{}
	n := 2
	if v, err := strconv.Atoi(os.Getenv("SDBENCH_SCALE_ROUNDS")); err == nil && v > 0 {
		n = v
	}
	for r := 0; r < n; r++ {
		order := ds
		if r%2 == 1 && len(ds) == 2 {
			order = []*daemon{ds[1], ds[0]}
		}
		for _, d := range order {
			b.Run(fmt.Sprintf("%s/round%d", d.name, r), func(b *testing.B) { scale(b, d, res) })
		}
	}
	printTable(ds, res, scaleRows, n)
}

// must ends the benchmark on a failed measurement.
func must(tb testing.TB) func(time.Duration, error) time.Duration {
	return func(d time.Duration, err error) time.Duration {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return d
	}
}

func measure(b *testing.B, d *daemon, res results) {
	w := newWorld(b, d)
	add := func(k string, v float64) { res.add(d.name, k, v) }
	time.Sleep(settleMs * time.Millisecond)
	if want("list") {
		add("ListSessions, 0 sessions", us(must(b)(w.listSessions(200))))
	}
	if want("rss") {
		add("RSS idle", w.rssKiB())
	}
	var first []time.Duration
	for _, p := range w.spawnLeaders(50) {
		first = append(first, w.create(p))
	}
	add("CreateSession (first 50)", us(median(first)))
	if want("list") {
		add("ListSessions, 50 sessions", us(must(b)(w.listSessions(200))))
	}
	if want("lock") {
		add("SetLockedHint, 50 sessions", us(must(b)(w.lockedHint(200))))
	}
	if want("pam") {
		wall, pcpu, err := w.pamCycleOf(pamSvc, 15)
		if err != nil {
			b.Fatal(err)
		}
		add("pamtester open+close (own module)", us(wall)/1000)
		add("  pamtester's own CPU per open+close", us(pcpu)/1000)
		wall, pcpu, err = w.pamCycleOf(pamBare, 15)
		if err != nil {
			b.Fatal(err)
		}
		add("  pamtester open+close, no module", us(wall)/1000)
		add("  pamtester's own CPU, no module", us(pcpu)/1000)
		add("  kernel: move a process to a new cgroup", us(must(b)(w.cgroupMove(15)))/1000)
	}
	rest := w.fill(1000)
	var total time.Duration
	for _, t := range append(first, rest...) {
		total += t
	}
	add("creating 1000 sessions", float64(total.Milliseconds()))
	if want("list") {
		add("ListSessions, 1000 sessions", us(must(b)(w.listSessions(40))))
	}
	if want("pid") {
		add("GetSessionByPID, 1000 sessions", us(must(b)(w.bySessionPID(w.conn, 300, 0))))
		cpu, wakes, err := w.pidCost(300)
		if err != nil {
			b.Fatal(err)
		}
		add("  daemon CPU per GetSessionByPID", cpu)
		add("  daemon wake-ups per GetSessionByPID", wakes)
	}
	if d.floors && want("floor") {
		// Only in sessiond's column: the Go program it could at best be.
		lat, fcpu, fwakes, err := w.floor(300)
		if err != nil {
			b.Fatal(err)
		}
		add("Go floor: bare dbus.Conn, inline call", lat)
		add("  floor CPU per call", fcpu)
		add("  floor wake-ups per call", fwakes)
	}
	if want("lock") {
		add("SetLockedHint, 1000 sessions", us(must(b)(w.lockedHint(200))))
		cpu, wakes, err := w.lockedCost(200)
		if err != nil {
			b.Fatal(err)
		}
		add("  daemon CPU per SetLockedHint", cpu)
		add("  daemon wake-ups per SetLockedHint", wakes)
		if d.floors {
			add("  kernel: state file write per change", us(must(b)(w.stateWrite(200))))
		}
	}
	if want("throughput") {
		for _, par := range []int{8, 16} {
			t, cost, err := w.throughput(par, 1600/par)
			if err != nil {
				b.Fatal(err)
			}
			add(fmt.Sprintf("throughput, %d clients, 1000 sessions", par), t)
			add(fmt.Sprintf("  daemon CPU per call, %d clients", par), cost.daemon)
			add(fmt.Sprintf("  bus daemon CPU per call, %d clients", par), cost.bus)
			add(fmt.Sprintf("  clients' CPU per call, %d clients", par), cost.clients)
		}
	}
	if want("rss") {
		add("RSS 1000 sessions, right after the calls", w.rssKiB())
		w.rest()
		add("RSS 1000 sessions, at rest", w.rssKiB())
		anon, file := w.rssSplit()
		add("  anonymous: heap, stacks, runtime", anon)
		add("  file pages: binary, libraries", file)
	}
	if d.floors && want("rss") && want("floor") {
		for _, f := range []struct {
			key      string
			sessions int
		}{{"Go floor: bare dbus.Conn, RSS idle", 0}, {"Go floor: + 1000 sessions' live heap, RSS", 1000}} {
			rss, anon, err := w.floorRSS(f.sessions, false)
			if err != nil {
				b.Fatal(err)
			}
			add(f.key, rss)
			if f.sessions > 0 {
				add("  floor's anonymous: heap, stacks, runtime", anon)
				_, anon, err = w.floorRSS(f.sessions, true)
				if err != nil {
					b.Fatal(err)
				}
				add("  floor's anonymous, records among garbage", anon)
			}
		}
	}
	if want("stop") {
		add("stop, 1000 sessions", us(w.stop())/1000)
	}
}

func scale(b *testing.B, d *daemon, res results) {
	w := newWorld(b, d)
	add := func(k string, v float64) { res.add(d.name, k, v) }
	ts := w.fill(5000)
	// The median of the 100 creations up to each mark (a spike of the
	// machine's load moves a mean, hardly a median).
	at := func(n int) float64 { return us(median(ts[n-100 : n])) }
	add("CreateSession, sessions 1-100", at(100))
	add("CreateSession, sessions 901-1000", at(1000))
	add("CreateSession, sessions 4901-5000", at(5000))
	add("ListSessions, 5000 sessions", us(must(b)(w.listSessions(20))))
	add("GetSessionByPID, 5000 sessions", us(must(b)(w.bySessionPID(w.conn, 300, 0))))
	cpu, wakes, err := w.pidCost(300)
	if err != nil {
		b.Fatal(err)
	}
	add("  daemon CPU per GetSessionByPID", cpu)
	add("  daemon wake-ups per GetSessionByPID", wakes)
	add("SetLockedHint, 5000 sessions", us(must(b)(w.lockedHint(200))))
	cpu, wakes, err = w.lockedCost(200)
	if err != nil {
		b.Fatal(err)
	}
	add("  daemon CPU per SetLockedHint", cpu)
	add("  daemon wake-ups per SetLockedHint", wakes)
	add("RSS 5000 sessions, right after the calls", w.rssKiB())
	w.rest()
	add("RSS 5000 sessions, at rest", w.rssKiB())
	anon, file := w.rssSplit()
	add("  anonymous: heap, stacks, runtime", anon)
	add("  file pages: binary, libraries", file)
	if d.floors {
		rss, anon, err := w.floorRSS(5000, false)
		if err != nil {
			b.Fatal(err)
		}
		add("Go floor: + 5000 sessions' live heap, RSS", rss)
		add("  floor's anonymous: heap, stacks, runtime", anon)
		_, anon, err = w.floorRSS(5000, true)
		if err != nil {
			b.Fatal(err)
		}
		add("  floor's anonymous, records among garbage", anon)
	}
	add("stop, 5000 sessions", us(w.stop())/1000)
}

// printTable prints each figure: sessiond's and the anchor's medians,
// the median of the per-round ratios sessiond/anchor, and the goal.
func printTable(ds []*daemon, res results, rs []row, n int) {
	var b strings.Builder
	anchor := "-"
	if len(ds) == 2 {
		anchor = ds[1].name
	}
	fmt.Fprintf(&b, "\n== %s vs %s: medians of %d interleaved round(s); ratio = median of per-round %s/%s\n", ds[0].name, anchor, n, ds[0].name, anchor)
	fmt.Fprintf(&b, "%-40s %14s %14s %7s  %s\n", "figure", ds[0].name, anchor, "ratio", "goal")
	for _, r := range rs {
		s := res[ds[0].name][r.key]
		if len(s) == 0 {
			continue
		}
		line := fmt.Sprintf("%-40s %14s", r.key, fmt.Sprintf("%.1f %s", medianF(s), r.unit))
		if e := res[anchor][r.key]; len(ds) == 2 && len(e) == len(s) {
			ratios := make([]float64, len(s))
			for i := range s {
				ratios[i] = s[i] / e[i]
			}
			line += fmt.Sprintf(" %14s %7.2f  %s", fmt.Sprintf("%.1f %s", medianF(e), r.unit), medianF(ratios), r.goal)
		} else {
			line += fmt.Sprintf(" %14s %7s  %s", "-", "-", r.goal)
		}
		b.WriteString(line + "\n")
	}
	fmt.Print(b.String())
}
