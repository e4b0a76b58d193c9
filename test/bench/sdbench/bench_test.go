package sdbench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"ginit/internal/testenv"
)

const (
	login1   = "org.freedesktop.login1"
	mgrPath  = godbus.ObjectPath("/org/freedesktop/login1")
	ifMgr    = "org.freedesktop.login1.Manager"
	ifSess   = "org.freedesktop.login1.Session"
	pamSvc   = "sdbench"
	pamBare  = "sdbench-bare"
	settleMs = 200
)

// daemon is one side of the comparison.
type daemon struct {
	name   string
	module string // its PAM module
	start  func(w *world) *exec.Cmd
	floors bool // the Go and kernel floors are measured in its rounds
}

// world is one daemon's run: its Env, the daemon, a client connection
// and the session leaders with the FIFOs CreateSession handed back.
type world struct {
	*testenv.Env
	d       *daemon
	cmd     *exec.Cmd
	conn    *godbus.Conn
	uni     string
	leg     string
	leaders []int
	fifos   []*os.File
	ids     []string
}

func newWorld(tb testing.TB, d *daemon) *world {
	tb.Helper()
	w := &world{Env: testenv.New(tb), d: d}
	w.WritePAM(map[string]string{pamSvc: "auth required pam_permit.so\naccount required pam_permit.so\nsession required " + d.module + "\n",
		pamBare: "auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_permit.so\n"})
	w.uni, w.leg = w.MakeCgroups("sdbench")
	w.StartBus(floorPolicy)
	w.cmd = d.start(w)
	var err error
	w.conn, err = godbus.Connect(testenv.BusAddr)
	w.Must(err, "connect")
	tb.Cleanup(func() {
		for _, f := range w.fifos {
			f.Close()
		}
		w.conn.Close()
	})
	// Wait until the name is owned and the seat published, as PAM does.
	w.WaitFor(d.name+" on the bus", func() bool {
		var owner string
		return w.conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, login1).Store(&owner) == nil
	})
	w.WaitFor(d.name+"'s seat0", func() bool { _, err := os.Stat("/run/systemd/seats/seat0"); return err == nil })
	return w
}

func startSessiond(bin string) func(w *world) *exec.Cmd {
	return func(w *world) *exec.Cmd { return w.startSessiond(bin) }
}

func (w *world) startSessiond(bin string) *exec.Cmd {
	w.Must(os.MkdirAll(w.Path("power"), 0o755), "mkdir power")
	w.Must(os.MkdirAll(w.Path("input"), 0o755), "mkdir input")
	w.Must(os.WriteFile(w.Path("power/state"), []byte("freeze mem disk\n"), 0o644), "power/state")
	w.Must(os.WriteFile(w.Path("power/disk"), []byte("[platform] shutdown\n"), 0o644), "power/disk")
	w.StartDaemon(bin, "-bus", testenv.BusAddr, "-run-dir", "/run",
		"-cgroup-root", w.uni, "-cgroup-legacy-root", w.leg, "-vts", "off", "-linger-dir", w.Path("linger"),
		"-stop-timeout", "3s", "-config", w.Path("logind.conf"), "-ginit-socket", w.Path("ginitctl"),
		"-sys-power", w.Path("power"), "-wtmp", w.Path("wtmp"), "-input-dir", w.Path("input"))
	return w.Daemon
}

func startElogind(root string) func(w *world) *exec.Cmd {
	return func(w *world) *exec.Cmd {
		script, err := filepath.Abs("../elogind.sh")
		w.Must(err, "script path")
		c := exec.Command(script, "run", root, w.uni, w.leg)
		c.Env = w.CmdEnv()
		logf, err := os.Create(w.Path("sessiond.log")) // Env.Log reads this name
		w.Must(err, "log")
		defer logf.Close()
		c.Stdout, c.Stderr = logf, logf
		w.Start(c)
		return c
	}
}

// spawnLeaders starts n sleep processes (one shell forks them all, for
// speed) and returns their pids; they are killed with their process
// group when the run ends.
func (w *world) spawnLeaders(n int) []int {
	w.TB.Helper()
	sh := exec.Command("sh", "-c", `i=0; while [ $i -lt $1 ]; do sleep 3600 & i=$((i+1)); done; echo ready; wait`, "sh", strconv.Itoa(n))
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := sh.StdoutPipe()
	w.Must(err, "pipe")
	w.Must(sh.Start(), "spawn leaders")
	w.TB.Cleanup(func() { _ = syscall.Kill(-sh.Process.Pid, syscall.SIGKILL); _ = sh.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		w.TB.Fatalf("leader shell: %q", line)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", sh.Process.Pid, sh.Process.Pid))
	w.Must(err, "children")
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	if len(pids) != n {
		w.TB.Fatalf("%d leaders, want %d", len(pids), n)
	}
	return pids
}

// create opens one session led by pid, as pam_systemd would for a tty
// login of root, and keeps its FIFO.
func (w *world) create(pid int) time.Duration {
	n := len(w.ids)
	var (
		id, rt, seat string
		path         godbus.ObjectPath
		fd           godbus.UnixFD
		uid, vt      uint32
		existing     bool
	)
	start := time.Now()
	err := w.conn.Object(login1, mgrPath).Call(ifMgr+".CreateSession", 0, uint32(0), uint32(pid), "sdbench", "tty", "user", "", "",
		uint32(0), fmt.Sprintf("pts/%d", n), "", false, "", "", []struct {
			A string
			B godbus.Variant
		}{}).Store(&id, &path, &rt, &fd, &uid, &seat, &vt, &existing)
	took := time.Since(start)
	if err != nil {
		w.TB.Fatalf("%s: CreateSession %d (leader %d): %v\nlog:\n%s", w.d.name, n, pid, err, w.Log())
	}
	w.fifos = append(w.fifos, os.NewFile(uintptr(fd), "fifo"))
	w.ids = append(w.ids, id)
	w.leaders = append(w.leaders, pid)
	return took
}

// fill creates sessions until there are n and returns the time each took.
func (w *world) fill(n int) []time.Duration {
	pids := w.spawnLeaders(n - len(w.ids))
	out := make([]time.Duration, 0, len(pids))
	for _, p := range pids {
		out = append(out, w.create(p))
	}
	return out
}

// timeCalls makes n calls with f and returns the median duration.
func timeCalls(n int, f func(i int) error) (time.Duration, error) {
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := f(i); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(ds), nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func (w *world) listSessions(n int) (time.Duration, error) {
	obj := w.conn.Object(login1, mgrPath)
	want := len(w.ids)
	return timeCalls(n, func(int) error {
		var l []struct {
			ID   string
			UID  uint32
			User string
			Seat string
			Path godbus.ObjectPath
		}
		if err := obj.Call(ifMgr+".ListSessions", 0).Store(&l); err != nil {
			return err
		}
		if len(l) != want {
			return fmt.Errorf("ListSessions: %d sessions, want %d", len(l), want)
		}
		return nil
	})
}

func (w *world) bySessionPID(c *godbus.Conn, n, seed int) (time.Duration, error) {
	obj := c.Object(login1, mgrPath)
	return timeCalls(n, func(i int) error {
		var p godbus.ObjectPath
		return obj.Call(ifMgr+".GetSessionByPID", 0, uint32(w.leaders[(i*7919+seed)%len(w.leaders)])).Store(&p)
	})
}

func (w *world) lockedHint(n int) (time.Duration, error) {
	obj := w.conn.Object(login1, godbus.ObjectPath(string(mgrPath)+"/session/"+escape(w.ids[len(w.ids)/2])))
	return timeCalls(n, func(i int) error { return obj.Call(ifSess+".SetLockedHint", 0, i%2 == 0).Err })
}

// escape is sd-bus's object path label escaping (ids are [a-z0-9]).
func escape(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String()
}

// throughputCost is what the processes of a throughput run spent, in
// CPU µs per call: the daemon, the bus daemon (which carries every call
// and reply twice) and the clients (this process).
type throughputCost struct{ daemon, bus, clients float64 }

// throughput: par clients, each on its own connection, each making
// calls GetSessionByPID calls at once; calls per second over all, and
// the CPU each process spent per call.
func (w *world) throughput(par, calls int) (float64, throughputCost, error) {
	var cost throughputCost
	conns := make([]*godbus.Conn, par)
	for i := range conns {
		c, err := godbus.Connect(testenv.BusAddr)
		if err != nil {
			return 0, cost, err
		}
		defer c.Close()
		conns[i] = c
	}
	var busPid uint32
	_ = w.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, "org.freedesktop.DBus").Store(&busPid)
	pids := []int{w.cmd.Process.Pid, int(busPid), os.Getpid()}
	before := make([]float64, len(pids))
	for i, p := range pids {
		if p != 0 {
			before[i], _ = w.sched(p)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, par)
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.bySessionPID(c, calls, i)
		}()
	}
	wg.Wait()
	el := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, cost, err
		}
	}
	n := float64(par * calls)
	per := make([]float64, len(pids))
	for i, p := range pids {
		if p != 0 {
			after, _ := w.sched(p)
			per[i] = (after - before[i]) / 1000 / n
		}
	}
	cost = throughputCost{daemon: per[0], bus: per[1], clients: per[2]}
	return n / el.Seconds(), cost, nil
}

// pamCycleOf is the median pamtester open+close of a PAM service, in
// wall time and in pamtester's own CPU time (user and system: the PAM
// module's work on the client side, apart from the daemon's and the
// bus's, and much less moved by a loaded machine than the wall time).
func (w *world) pamCycleOf(svc string, n int) (wall, cpu time.Duration, err error) {
	cpus := make([]time.Duration, 0, n)
	wall, err = timeCalls(n, func(int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, "pamtester", svc, "root", "open_session", "close_session")
		c.Env = w.CmdEnv()
		out, err := c.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "successfully opened") {
			return fmt.Errorf("pamtester: %v %s", err, out)
		}
		cpus = append(cpus, c.ProcessState.UserTime()+c.ProcessState.SystemTime())
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return wall, median(cpus), nil
}

// cgroupMove is the median time of the write that moves a fresh process
// into a fresh cgroup of the world's subtree, what both daemons do with
// each session's leader: the kernel takes cgroup_threadgroup_rwsem for
// writing, which costs an RCU grace period (5-40 ms measured here) when
// the lock has been idle for tens of milliseconds. Each move follows a
// 5 ms pause, about the gap between the moves of successive pamtester
// cycles, so the lock is as idle as in the pamtester row.
func (w *world) cgroupMove(n int) (time.Duration, error) {
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		dir := filepath.Join(w.uni, fmt.Sprintf("floor-%d.scope", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return 0, err
		}
		p := exec.Command("sleep", "3600")
		if err := p.Start(); err != nil {
			return 0, err
		}
		time.Sleep(5 * time.Millisecond)
		start := time.Now()
		err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(p.Process.Pid)), 0)
		ds = append(ds, time.Since(start))
		_ = p.Process.Kill()
		_ = p.Wait()
		if rerr := os.Remove(dir); err == nil {
			err = rerr
		}
		if err != nil {
			return 0, err
		}
	}
	return median(ds), nil
}

// restMs is the pause before an "at rest" figure: what a daemon keeps
// resident once the calls stop, as ps shows it between logins. sessiond
// gives the heap's free pages back within a second of its last
// collection (sessiond.MemoryTrim); elogind waits as long.
const restMs = 1500

// rest waits restMs.
func (w *world) rest() { time.Sleep(restMs * time.Millisecond) }

// rssSplit is the daemon's resident memory in KiB from smaps_rollup:
// anonymous pages (heap, stacks, the runtime's or malloc's metadata) and
// the rest, file pages of its binary and libraries (sessiond's with 1000
// sessions, smaps: 2184 of its 2256 kB of text and 2456 of 2524 kB of
// rodata and pclntab resident; elogind's libc and libelogind-shared are
// shared, but VmRSS counts them too).
func (w *world) rssSplit() (anon, file float64) { return w.rssSplitOf(w.cmd.Process.Pid) }

// rssSplitOf is rssSplit for the process pid.
func (w *world) rssSplitOf(pid int) (anon, file float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	w.Must(err, "smaps_rollup")
	var rss float64
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "Rss:":
			rss = v
		case "Anonymous:":
			anon = v
		}
	}
	return anon, rss - anon
}

// rssKiB is the daemon's VmRSS.
func (w *world) rssKiB() float64 { return rssOf(w.TB, w.cmd.Process.Pid) }

// rssOf is the VmRSS of pid, in KiB.
func rssOf(tb testing.TB, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return f
		}
	}
	return 0
}

// stop sends SIGTERM and returns the time until the daemon exited.
func (w *world) stop() time.Duration {
	start := time.Now()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	_ = w.cmd.Wait()
	return time.Since(start)
}

// sched is the daemon's CPU time and the number of times any of its
// threads was put on a CPU (schedstat, summed over its threads): each
// put-on is a wake-up, so per call it counts the hand-offs a call costs
// the daemon, and the CPU per call is the daemon's share of a call's
// latency (the rest is the bus daemon, the client and the kernel).
func (w *world) sched(pid int) (cpuNs, slices float64) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	w.Must(err, "tasks")
	for _, t := range tasks {
		data, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(data))
		if len(f) < 3 {
			continue
		}
		run, _ := strconv.ParseFloat(f[0], 64)
		n, _ := strconv.ParseFloat(f[2], 64)
		cpuNs += run
		slices += n
	}
	return cpuNs, slices
}

// perCall makes n calls with f and returns the daemon's CPU (µs) and
// wake-ups per call.
func (w *world) perCall(n int, f func(i int) error) (cpuUs, wakes float64, err error) {
	return w.perCallOf(w.cmd.Process.Pid, n, f)
}

// perCallOf is perCall for the process pid.
func (w *world) perCallOf(pid, n int, f func(i int) error) (cpuUs, wakes float64, err error) {
	c0, s0 := w.sched(pid)
	for i := 0; i < n; i++ {
		if err := f(i); err != nil {
			return 0, 0, err
		}
	}
	c1, s1 := w.sched(pid)
	return (c1 - c0) / 1000 / float64(n), (s1 - s0) / float64(n), nil
}

// pidCost is perCall for GetSessionByPID.
func (w *world) pidCost(n int) (cpuUs, wakes float64, err error) {
	obj := w.conn.Object(login1, mgrPath)
	return w.perCall(n, func(i int) error {
		var p godbus.ObjectPath
		return obj.Call(ifMgr+".GetSessionByPID", 0, uint32(w.leaders[(i*7919)%len(w.leaders)])).Store(&p)
	})
}

// lockedCost is perCall for SetLockedHint.
func (w *world) lockedCost(n int) (cpuUs, wakes float64, err error) {
	obj := w.conn.Object(login1, godbus.ObjectPath(string(mgrPath)+"/session/"+escape(w.ids[len(w.ids)/2])))
	return w.perCall(n, func(i int) error { return obj.Call(ifSess+".SetLockedHint", 0, i%2 == 0).Err })
}
