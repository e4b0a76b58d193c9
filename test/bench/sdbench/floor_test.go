package sdbench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
	"ginit/internal/testenv"
	"ginit/sessiond/sys"
)

// The Go floor: this test binary, run with floorEnv set, is a bare
// dbus.Conn that answers one inline method, configured as sessiond runs
// (one P, GC at 25%). Its latency, CPU and wake-ups per call, measured
// in the same round as sessiond's GetSessionByPID, are what any call
// served by a Go program through the runtime's netpoller costs here
// (perf: most of it is the wake path, finish_task_switch, sysmon's
// futex and nanosleeps, findRunnable's epoll), not sessiond's own work.
const (
	floorEnv = "SDBENCH_FLOOR_SERVER"
	// floorRecordsEnv is how many sessions' worth of live records the
	// floor holds (see floorRecords).
	floorRecordsEnv = "SDBENCH_FLOOR_RECORDS"
	// floorChurnEnv, when set, has the floor allocate its records among
	// short-lived garbage of every small size class (see floorRecords).
	floorChurnEnv = "SDBENCH_FLOOR_CHURN"
	floorIface    = "org.ginit.Floor"
	floorPath     = godbus.ObjectPath("/floor")
	floorName     = "org.ginit.Floor"
	// floorPolicy lets root own the floor's name and anyone call it.
	floorPolicy = `<policy user="root"><allow own="` + floorName + `"/></policy>` +
		`<policy context="default"><allow send_destination="` + floorName + `"/></policy>`
)

// floorRecord is one of the floor's live records: 192 bytes holding a
// pointer, the size class of sessiond's session record, so the collector
// scans them as it scans sessiond's.
type floorRecord struct {
	next *floorRecord
	_    [184]byte
}

// floorPerSession is the live heap the floor holds per session, in
// records: sessiond's in-use heap at 1000 sessions is about 1.2 KiB a
// session (heap profile of a ginitprof build: the session record and
// its fixed part, the view's copy, the three maps by id and leader, the
// FIFO and cgroup watches, path strings).
const floorPerSession = 6

// floorRecords allocates n sessions' worth of live records, linked so
// they stay reachable. With churn, each record comes among garbage of
// the small size classes, as sessiond's records come among a
// CreateSession's messages, maps and file buffers: the same live heap,
// but spans of many classes partly filled and the runtime's span
// metadata that such a heap needs, which it keeps once the garbage is
// gone (a FreeOSMemory returns only free pages).
func floorRecords(n int, churn bool) *floorRecord {
	// The allocator's size classes up to 2 KiB.
	churnSizes := [...]int{16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352,
		384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048}
	var head *floorRecord
	var sink []byte
	for i := range n * floorPerSession {
		head = &floorRecord{next: head}
		if churn {
			for j := range 6 {
				sink = make([]byte, churnSizes[(i*7+j)%len(churnSizes)])
			}
		}
	}
	runtime.KeepAlive(sink)
	return head
}

// floorServer serves until its stdin closes; it prints its name once
// it owns it.
func floorServer(addr string) {
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(25)
	n, _ := strconv.Atoi(os.Getenv(floorRecordsEnv))
	live := floorRecords(n, os.Getenv(floorChurnEnv) != "")
	// At rest, as sessiond once its work pauses (sessiond.MemoryTrim):
	// the allocation's peak is given back.
	debug.FreeOSMemory()
	ctx := context.Background()
	ifc := &bus.Interface{Name: floorIface, Methods: []bus.Method{{
		Name: "Echo", In: []bus.Arg{{Name: "n", Type: "u"}}, Out: []bus.Arg{{Name: "p", Type: "o"}}, Inline: true,
		Handler: func(*bus.Call) ([]any, error) { return []any{floorPath}, nil },
	}}}
	tree := bus.NewTree(ctx, func(p godbus.ObjectPath) (*bus.Object, bool) {
		if p != floorPath {
			return nil, false
		}
		return &bus.Object{Interfaces: []*bus.Interface{ifc}}, true
	}, nil)
	conn, err := bus.Dial(ctx, addr, bus.ConnConfig{Tree: tree})
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	if _, err := conn.RequestName(ctx, floorName, uint32(godbus.NameFlagDoNotQueue)); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	fmt.Println(floorName)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	runtime.KeepAlive(live)
	conn.Close()
	os.Exit(0)
}

// startFloor starts the floor server on the world's bus, holding the
// live records of sessions sessions, and returns its pid and bus name;
// it is stopped with the world.
func (w *world) startFloor(sessions int, churn bool) (int, string) {
	w.TB.Helper()
	c := exec.Command(os.Args[0])
	c.Env = append(os.Environ(), floorEnv+"="+testenv.BusAddr, floorRecordsEnv+"="+strconv.Itoa(sessions))
	if churn {
		c.Env = append(c.Env, floorChurnEnv+"=1")
	}
	in, err := c.StdinPipe()
	w.Must(err, "floor stdin")
	out, err := c.StdoutPipe()
	w.Must(err, "floor stdout")
	c.Stderr = os.Stderr
	w.Start(c)
	w.TB.Cleanup(func() { in.Close() })
	name, err := bufio.NewReader(out).ReadString('\n')
	w.Must(err, "floor name")
	return c.Process.Pid, strings.TrimSpace(name)
}

// floor measures the floor server: median call latency, and its CPU and
// wake-ups per call.
func (w *world) floor(n int) (lat, cpuUs, wakes float64, err error) {
	pid, name := w.startFloor(0, false)
	obj := w.conn.Object(name, floorPath)
	call := func(i int) error {
		var p godbus.ObjectPath
		return obj.Call(floorIface+".Echo", 0, uint32(i)).Store(&p)
	}
	d, err := timeCalls(n, call)
	if err != nil {
		return 0, 0, 0, err
	}
	cpuUs, wakes, err = w.perCallOf(pid, n, call)
	return us(d), cpuUs, wakes, err
}

// floorRSS is the VmRSS of a floor server holding the live records of
// sessions sessions, once it has served a few calls, and its anonymous
// part: what an idle Go program of sessiond's shape (one bus
// connection, one P, GC at 25%) with sessiond's live heap keeps
// resident.
func (w *world) floorRSS(sessions int, churn bool) (rss, anon float64, err error) {
	pid, name := w.startFloor(sessions, churn)
	obj := w.conn.Object(name, floorPath)
	for i := range 20 {
		var p godbus.ObjectPath
		if err := obj.Call(floorIface+".Echo", 0, uint32(i)).Store(&p); err != nil {
			return 0, 0, err
		}
	}
	anon, _ = w.rssSplitOf(pid)
	return rssOf(w.TB, pid), anon, nil
}

// stateWrite is the median time of one state file write as sessiond
// makes it at every change it persists (sys.WriteFileAtomic: open,
// write, fchmod, close, rename on the world's /run), done here by the
// bench itself. SetLockedHint pays it (LOCKED_HINT is kept for a
// restart) where elogind writes nothing.
func (w *world) stateWrite(n int) (time.Duration, error) {
	dir := filepath.Join("/run", "sdbench-floor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	data := []byte(strings.Repeat("KEY=value\n", 30))
	path := filepath.Join(dir, "c1")
	return timeCalls(n, func(int) error { return sys.WriteFileAtomic(path, data, 0o644) })
}
