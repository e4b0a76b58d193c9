package supervise

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/service"
	"ginit/internal/cgroup2"
)

// testCgroupRoot makes a private cgroup subtree for one test and removes it
// (killing what is left in it) at cleanup.
func testCgroupRoot(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	mount, err := cgroup2.UnifiedMount()
	if err != nil {
		t.Skipf("no cgroup2: %v", err)
	}
	dir := filepath.Join(mount, "ginit-test-"+strconv.Itoa(os.Getpid())+"-"+strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot create a test cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := cgroup2.RemoveTree(dir, time.Second); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return dir
}

// TestCgroupKillTree: a daemon that left the process group (setsid) is
// still in the service's cgroup; KillTree kills it and TreeEmpty follows.
func TestCgroupKillTree(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	testOrphan(t, s, "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!")
	d := desc("daemon")
	dir := filepath.Join(root, "daemon")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("service cgroup: %v", err)
	}
	s.Release(d)
	s.rm.flush() // removed in the background
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cgroup %s still there after Release: %v", dir, err)
	}
}

// spawnInCgroup runs cat /proc/self/cgroup as d and checks that the
// process was in the cgroup dir from its first instruction.
func spawnInCgroup(t *testing.T, s *Supervisor, d *service.Description, dir string) *recorder {
	t.Helper()
	d.LogType = service.LogBuffer
	r := newRecorder()
	spawn(t, s, d, r, "cat", "/proc/self/cgroup")
	r.next(t, "exited")
	mount, _ := cgroup2.UnifiedMount()
	want := "0::/" + strings.TrimPrefix(dir, mount+"/") + "\n"
	got := catLogWhen(t, s, d.Name, func(b []byte) bool { return strings.Contains(string(b), "0::") })
	if !strings.Contains(got, want) {
		t.Fatalf("/proc/self/cgroup = %q, want line %q", got, want)
	}
	return r
}

// TestCgroupPlacement: the process is in <root>/<escaped name> from its
// first instruction (it reads its own /proc/self/cgroup).
func TestCgroupPlacement(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	d := desc("getty@tty1")
	r := spawnInCgroup(t, s, d, filepath.Join(root, "getty@tty1"))
	r.next(t, "empty")
	s.Release(d)
}

// TestCgroupLimits: pids.max and memory.max are written when the
// controllers are available under the test root.
func TestCgroupLimits(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	ctl, _ := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
	for _, c := range []string{"pids", "memory"} {
		if !strings.Contains(string(ctl), c) {
			t.Skipf("controller %s not available on this cgroup2 hierarchy (subtree_control %q)", c, ctl)
		}
	}
	d := desc("limited")
	d.ExtMut().PidsMax, d.ExtMut().MemoryMax = 7, 64<<20
	r := newRecorder()
	p := spawn(t, s, d, r, "sleep", "300")
	for file, want := range map[string]string{"pids.max": "7", "memory.max": strconv.Itoa(64 << 20)} {
		b, err := os.ReadFile(filepath.Join(root, "limited", file))
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q, %v; want %s", file, b, err, want)
		}
	}
	_ = p.KillTree(int(unix.SIGKILL))
	r.next(t, "empty")
}

// TestCgroupKillTreeReachesStrayMain: a main process that moved itself out
// of the service's cgroup (as pam_systemd moves a login into its session
// scope) still gets the stop signal.
func TestCgroupKillTreeReachesStrayMain(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	elsewhere := filepath.Join(root, "session-scope")
	if err := os.Mkdir(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	d := desc("login")
	r := newRecorder()
	p := spawn(t, s, d, r, "sh", "-c", "echo $$ > "+filepath.Join(elsewhere, "cgroup.procs")+" && exec sleep 300")
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(elsewhere, "cgroup.procs"))
		if strings.TrimSpace(string(b)) == strconv.Itoa(p.Pid()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("main process never moved to %s", elsewhere)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.KillTree(int(unix.SIGTERM)); err != nil {
		t.Fatal(err)
	}
	ev := r.next(t, "exited")
	if !ev.st.Signaled || ev.st.Signal != int(unix.SIGTERM) {
		t.Fatalf("main process ended with %+v, want SIGTERM", ev.st)
	}
	s.Release(d)
}

// TestRunInCgroup: run-in-cgroup puts the process into an existing cgroup
// (relative to ginit's root here) instead of one of its own, and a missing
// one is an error naming it.
func TestRunInCgroup(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	if err := os.Mkdir(filepath.Join(root, "shared.slice"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := desc("guest")
	d.ExtMut().RunInCgroup = "shared.slice"
	spawnInCgroup(t, s, d, filepath.Join(root, "shared.slice"))
	if _, err := os.Stat(filepath.Join(root, "guest")); !os.IsNotExist(err) {
		t.Errorf("a cgroup of its own was made for a run-in-cgroup service: %v", err)
	}
	s.Release(d)
	bad := desc("lost")
	bad.ExtMut().RunInCgroup = "nowhere.slice"
	if _, err := s.Spawn(service.SpawnRequest{Desc: bad, Argv: []string{"true"}, Env: []string{"PATH=/bin"}}, newRecorder()); err == nil || !strings.Contains(err.Error(), "nowhere.slice") {
		t.Errorf("missing run-in-cgroup: %v", err)
	}
}

// TestCgroupTreeEmptyWithoutPolling: the last process of a service's
// cgroup is not our child (another process reaps it, so no SIGCHLD comes
// to us) and polling is off; TreeEmpty still follows its death, learnt
// from cgroup.events.
func TestCgroupTreeEmptyWithoutPolling(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSupConfig(t, Config{CgroupRoot: root, TreePoll: time.Hour})
	// holder forks the stray and stays alive after reaping it.
	pidFile := filepath.Join(t.TempDir(), "stray")
	holder, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "sleep 300 & echo $! > " + pidFile + "; wait; exec sleep 300"},
		&os.ProcAttr{Files: []*os.File{nil, nil, os.Stderr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Kill() }) // reaped by the Supervisor
	var stray int
	for deadline := time.Now().Add(5 * time.Second); stray == 0; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		stray, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		if time.Now().After(deadline) {
			t.Fatal("holder never wrote the stray's pid")
		}
	}
	d := desc("watched")
	r := newRecorder()
	p := spawn(t, s, d, r, "sleep", "300")
	if err := cgroup2.Move(filepath.Join(root, "watched"), stray); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(int(unix.SIGKILL)); err != nil {
		t.Fatal(err)
	}
	r.next(t, "exited")
	select {
	case e := <-r.ch:
		t.Fatalf("%s while the stray runs", e.kind)
	case <-time.After(200 * time.Millisecond):
	}
	if err := unix.Kill(stray, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.next(t, "empty")
	if err := holder.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the holder ended, so a SIGCHLD may have done the work: %v", err)
	}
	s.Release(d)
}

// TestCgroupReleaseRemovesNested: a service that made a cgroup of its own
// below its service cgroup (and moved into it) leaves nothing behind after
// its stop and Release (rmdir of the service cgroup alone was EBUSY).
func TestCgroupReleaseRemovesNested(t *testing.T) {
	root := testCgroupRoot(t)
	logger := &testLogger{}
	s := newSupConfig(t, Config{CgroupRoot: root, Logger: logger})
	d := desc("delegating")
	dir := filepath.Join(root, "delegating")
	r := newRecorder()
	p := spawn(t, s, d, r, "sh", "-c", "mkdir "+dir+"/worker && echo $$ > "+dir+"/worker/cgroup.procs && exec sleep 300")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if pids, _ := cgroup2.Pids(filepath.Join(dir, "worker")); len(pids) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the service never moved into its own cgroup")
		}
	}
	if err := p.KillTree(int(unix.SIGKILL)); err != nil {
		t.Fatal(err)
	}
	r.next(t, "empty")
	s.Release(d)
	s.rm.flush() // removed in the background
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s still there after Release: %v", dir, err)
	}
	logger.mu.Lock()
	defer logger.mu.Unlock()
	for _, l := range logger.lines {
		t.Errorf("logged: %s", l)
	}
}

// gateRemovals makes s's background removal of dir wait until the
// returned channel is closed.
func gateRemovals(s *Supervisor, dir string) chan struct{} {
	gate := make(chan struct{})
	remove := s.rm.remove
	s.rm.remove = func(d string) {
		if d == dir {
			<-gate
		}
		remove(d)
	}
	return gate
}

// runTrue spawns true as d and waits for its exit and empty tree.
func runTrue(t *testing.T, s *Supervisor, d *service.Description) {
	t.Helper()
	r := newRecorder()
	spawn(t, s, d, r, "true")
	r.next(t, "exited")
	r.next(t, "empty")
}

// TestCgroupStartAfterRelease: a service started again while the removal
// of its released cgroup still waits in the background queue runs in a
// fresh cgroup of its name, which that queued removal does not take away.
func TestCgroupStartAfterRelease(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	first, again := desc("first"), desc("again")
	gate := gateRemovals(s, filepath.Join(root, "first"))
	runTrue(t, s, first)
	s.Release(first) // the worker waits at the gate with it
	runTrue(t, s, again)
	s.Release(again) // queued behind first
	dir := filepath.Join(root, "again")
	spawnInCgroup(t, s, again, dir).next(t, "empty")
	close(gate)
	s.rm.flush()
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the started service's cgroup went with the queued removal: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "first")); !os.IsNotExist(err) {
		t.Errorf("cgroup of first still there after the queue drained: %v", err)
	}
	s.Release(again)
	s.rm.flush()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s still there after Release: %v", dir, err)
	}
}

// TestCgroupRemovedBeforeRunEnds: Run does not return while a released
// cgroup waits for its removal, so a daemon that exits after Run leaves
// no cgroup behind.
func TestCgroupRemovedBeforeRunEnds(t *testing.T) {
	root := testCgroupRoot(t)
	s, err := New(Config{CgroupRoot: root, Logger: &testLogger{}, TreePoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	d := desc("leaving")
	dir := filepath.Join(root, "leaving")
	gate := gateRemovals(s, dir)
	runTrue(t, s, d)
	s.Release(d)
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned before the released cgroup was removed")
	case <-time.After(200 * time.Millisecond):
	}
	close(gate)
	<-done
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s still there after Run returned: %v", dir, err)
	}
}

// TestCgroupKeptAcrossRestart: a service started again without a Release
// between (a restart) runs in the cgroup it kept; one that someone else
// removed meanwhile is made again rather than failing the start.
func TestCgroupKeptAcrossRestart(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	d := desc("respawning")
	dir := filepath.Join(root, "respawning")
	runTrue(t, s, d)
	spawnInCgroup(t, s, d, dir).next(t, "empty")
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	spawnInCgroup(t, s, d, dir).next(t, "empty")
	s.Release(d)
	s.rm.flush()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s still there after Release: %v", dir, err)
	}
}

// TestCgroupStopSignalReachesTreeAfterMain: a stop signal goes to the main
// process and its group first, and to the rest of the cgroup (a daemon
// that left the group by setsid) once the main process has exited; each
// process gets it once.
func TestCgroupStopSignalReachesTreeAfterMain(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }
	loop := "while :; do sleep 0.05; done"
	script := `setsid sh -c 'trap "if [ -e ` + f("main-done") + ` ]; then echo after; else echo before; fi > ` + f("stray") + `; exit 0" TERM; : > ` + f("stray-ready") + `; ` + loop + `' </dev/null >/dev/null 2>&1 &
sh -c 'trap "echo term >> ` + f("member") + `; exit 0" TERM; : > ` + f("member-ready") + `; ` + loop + `' &
trap 'sleep 0.2; : > ` + f("main-done") + `; exit 0' TERM
: > ` + f("main-ready") + `
` + loop
	d := desc("stopper")
	r := newRecorder()
	p := spawn(t, s, d, r, "sh", "-c", script)
	t.Cleanup(func() { _ = p.KillTree(int(unix.SIGKILL)) })
	deadline := time.Now().Add(10 * time.Second)
	// The main process's trap too: a SIGTERM before it is set kills it.
	for _, ready := range []string{"stray-ready", "member-ready", "main-ready"} {
		for {
			if _, err := os.Stat(f(ready)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never appeared", ready)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := p.KillTree(int(unix.SIGTERM)); err != nil {
		t.Fatal(err)
	}
	if ev := r.next(t, "exited"); !ev.st.Success() {
		t.Fatalf("main process ended with %+v, want its trap's exit 0", ev.st)
	}
	r.next(t, "empty")
	for name, want := range map[string]string{"stray": "after\n", "member": "term\n"} {
		if b, err := os.ReadFile(f(name)); err != nil || string(b) != want {
			t.Errorf("%s wrote %q, %v; want %q", name, b, err, want)
		}
	}
	s.Release(d)
}

// TestCgroupEmptyTreeKnownAtExit: the reaper reads cgroup.events before it
// reports the exit, so that the manager's own question (Populated, right
// after Exited) is usually answered without another read on its goroutine.
// The kernel may unlink a dead task from its cgroup a moment after its
// parent can reap it (6.18 defers the unlink to the task's last switch), so
// one run may see the tree still populated; the reaper must see it empty in
// most of the runs, and every run must still end with TreeEmpty.
func TestCgroupEmptyTreeKnownAtExit(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	const runs = 20
	known := 0
	for i := 0; i < runs; i++ {
		d := desc("oneshot")
		r := newRecorder()
		p := spawn(t, s, d, r, "true")
		ev := r.next(t, "exited")
		if ev.treeGone {
			known++
			if p.(interface{ Populated() bool }).Populated() {
				t.Fatal("tree populated after the reaper saw it empty")
			}
		}
		r.next(t, "empty")
		s.Release(d)
	}
	if known*2 < runs {
		t.Fatalf("empty tree known at exit in %d of %d runs, want most", known, runs)
	}
}

// TestCgroupRemovedAtStoppedExit: the exit of a process that KillTree
// stopped takes its cgroup down at once (the rmdir is the emptiness test),
// so the manager hears a gone tree with Exited and Release has nothing
// left to remove; the next start makes the cgroup afresh. A tree with a
// process left keeps its cgroup until Release, as before.
func TestCgroupRemovedAtStoppedExit(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	d := desc("stopped")
	dir := filepath.Join(root, "stopped")
	for round := 0; round < 2; round++ {
		r := newRecorder()
		p := spawn(t, s, d, r, "sleep", "100")
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("round %d: no cgroup while running: %v", round, err)
		}
		if err := p.KillTree(int(unix.SIGTERM)); err != nil {
			t.Fatal(err)
		}
		ev := r.next(t, "exited")
		if !ev.treeGone {
			// The kernel may unlink the dead task a moment after it can
			// be reaped (see TestCgroupEmptyTreeKnownAtExit): then the
			// reaper's rmdir met EBUSY and Release removes it.
			t.Logf("round %d: tree not yet empty at exit", round)
		} else if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("round %d: cgroup %s still there at a stopped exit: %v", round, dir, err)
		}
		r.next(t, "empty")
		s.Release(d)
		s.rm.flush()
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("round %d: cgroup %s still there after Release: %v", round, dir, err)
		}
	}

	// A process left in the tree: the rmdir fails, the cgroup stays.
	d = desc("leftover")
	dir = filepath.Join(root, "leftover")
	r := newRecorder()
	marker := filepath.Join(t.TempDir(), "left")
	p := spawn(t, s, d, r, "sh", "-c", "setsid sh -c 'touch "+marker+"; exec sleep 100' & exec sleep 100")
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Only once it has its own session is the stray out of the
		// main process's group, which the stop signal reaches.
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tree's second process never left the group")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.KillTree(int(unix.SIGHUP)); err != nil {
		t.Fatal(err)
	}
	ev := r.next(t, "exited")
	if ev.treeGone {
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		t.Fatalf("tree reported gone with a process left (exit %+v, procs %q)", ev.st, b)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("cgroup removed with a process left: %v", err)
	}
	if err := p.KillTree(int(unix.SIGKILL)); err != nil {
		t.Fatal(err)
	}
	r.next(t, "empty")
	s.Release(d)
	s.rm.flush()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cgroup %s still there after Release: %v", dir, err)
	}
}

// TestCgroupEventsKeptAcrossRestarts: a service's cgroup.events is opened
// at its first exit and kept for the next (a restart keeps the cgroup),
// and read again it gives the present state: populated while a straggler
// is left, empty once it is gone. Its cgroup directory is kept from the
// restart on (TestCgroupKeptAcrossRestart covers one removed meanwhile).
// Release closes both.
func TestCgroupEventsKeptAcrossRestarts(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	d := desc("keptevents")
	kept := func() int32 {
		s.mu.Lock()
		defer s.mu.Unlock()
		if u := s.units[d.Name]; u != nil {
			return u.eventsFD
		}
		return 0
	}
	r := newRecorder()
	spawn(t, s, d, r, "true")
	r.next(t, "exited")
	r.next(t, "empty")
	first := kept()
	if first == 0 {
		t.Fatal("cgroup.events not kept after the first exit")
	}
	// A restart whose main process leaves a straggler in the cgroup.
	marker := filepath.Join(t.TempDir(), "left")
	r = newRecorder()
	p := spawn(t, s, d, r, "sh", "-c", "sleep 100 & echo $! > "+marker)
	r.next(t, "exited")
	if !p.(*proc).Populated() {
		t.Fatal("Populated = false with a straggler in the cgroup")
	}
	if kept() != first {
		t.Fatalf("cgroup.events fd %d after the restart's exit, want the kept %d", kept()-1, first-1)
	}
	s.mu.Lock()
	dirKept := s.units[d.Name].dirFD
	s.mu.Unlock()
	if dirKept == 0 {
		t.Fatal("the cgroup directory is not kept after a restart")
	}
	pid := straggler(t, marker)
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.next(t, "empty") // the kept file, read again, says empty now
	if p.(*proc).Populated() {
		t.Fatal("Populated = true once the straggler is gone")
	}
	// A third start forks into the kept directory (a dup of it).
	r = newRecorder()
	spawn(t, s, d, r, "true")
	r.next(t, "exited")
	r.next(t, "empty")
	s.Release(d)
	if kept() != 0 {
		t.Fatal("Release left cgroup.events open")
	}
	s.mu.Lock()
	u := s.units[d.Name]
	s.mu.Unlock()
	if u != nil && u.dirFD != 0 {
		t.Fatal("Release left the cgroup directory open")
	}
}
