package supervise

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/logging"
	"ginit/init/service"
)

// wait bounds how long a test waits for an event that must come; it is a
// failure deadline, not a speed assertion.
const wait = 20 * time.Second

type event struct {
	kind string // exited, ready, status, empty
	p    service.Proc
	st   service.ExitStatus
	text string
	// treeGone: at Exited, the proc already knew its tree empty.
	treeGone bool
}

// recorder is a Notifier that queues every fact.
type recorder struct{ ch chan event }

func newRecorder() *recorder { return &recorder{ch: make(chan event, 64)} }

func (r *recorder) Exited(p service.Proc, st service.ExitStatus) {
	e := event{kind: "exited", p: p, st: st}
	if pp, ok := p.(*proc); ok {
		pp.mu.Lock()
		e.treeGone = pp.treeGone
		pp.mu.Unlock()
	}
	r.ch <- e
}
func (r *recorder) Ready(p service.Proc)                { r.ch <- event{kind: "ready", p: p} }
func (r *recorder) StatusText(p service.Proc, t string) { r.ch <- event{kind: "status", p: p, text: t} }
func (r *recorder) TreeEmpty(p service.Proc)            { r.ch <- event{kind: "empty", p: p} }

// next returns the next event of kind, skipping others.
func (r *recorder) next(t testing.TB, kind string) event {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e := <-r.ch:
			if e.kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

type testLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLogger) Printf(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(f, a...))
}

// newSup starts a Supervisor whose reaper stops at the end of the test.
// Tests in this package must not run in parallel: each reaper takes every
// child of the test process.
func newSup(t testing.TB, cgroupRoot string) *Supervisor {
	t.Helper()
	return newSupConfig(t, Config{CgroupRoot: cgroupRoot})
}

// newSupConfig is newSup with more settings; Logger and TreePoll are
// filled in when unset.
func newSupConfig(t testing.TB, cfg Config) *Supervisor {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = &testLogger{}
	}
	if cfg.TreePoll == 0 {
		cfg.TreePoll = 50 * time.Millisecond
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() {
		// Signalling takes s.mu itself (lockSignal).
		s.mu.Lock()
		var live []*proc
		for _, p := range s.procs {
			live = append(live, p)
		}
		s.mu.Unlock()
		for _, p := range live {
			_ = p.KillTree(int(unix.SIGKILL))
		}
		cancel()
		<-done
	})
	return s
}

func desc(name string) *service.Description {
	return &service.Description{Name: name, Type: service.TypeProcess, LogFileUID: -1, LogFileGID: -1,
		LogFilePermissions: 0o600, LogBufferSize: 4096}
}

func spawn(t testing.TB, s *Supervisor, d *service.Description, r *recorder, argv ...string) service.Proc {
	t.Helper()
	p, err := s.Spawn(service.SpawnRequest{Desc: d, Argv: argv, Env: []string{"PATH=/usr/bin:/bin"}}, r)
	if err != nil {
		t.Fatalf("spawn %v: %v", argv, err)
	}
	return p
}

// killPid kills a stray process at cleanup (grandchildren of tests).
func killPid(t testing.TB, pid int) {
	t.Cleanup(func() { _ = unix.Kill(pid, unix.SIGKILL) })
}

// straggler reads the pid a test's child wrote to file and has it killed
// at cleanup.
func straggler(t testing.TB, file string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	killPid(t, pid)
	return pid
}

func gone(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// A zombie (state Z) counts as gone.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

func waitGone(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExitStatus(t *testing.T) {
	s := newSup(t, "")
	tests := []struct {
		name string
		cmd  string
		want service.ExitStatus
	}{
		{"code3", "exit 3", service.ExitStatus{Code: 3}},
		{"ok", "true", service.ExitStatus{}},
		{"term", "kill -TERM $$", service.ExitStatus{Signaled: true, Signal: int(unix.SIGTERM)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			p := spawn(t, s, desc(tc.name), r, "sh", "-c", tc.cmd)
			e := r.next(t, "exited")
			if e.p != p || e.st != tc.want {
				t.Fatalf("exit = %+v of %v, want %+v of %v", e.st, e.p, tc.want, p)
			}
			if e := r.next(t, "empty"); e.p != p {
				t.Fatalf("TreeEmpty for %v, want %v", e.p, p)
			}
		})
	}
}

func TestExecFailure(t *testing.T) {
	s := newSup(t, "")
	tests := []struct {
		argv []string
		dir  string
		want string
	}{
		{[]string{"/bin/nope-ginit"}, "", "exec /bin/nope-ginit: no such file or directory"},
		{[]string{"nope-ginit"}, "", "exec nope-ginit: executable file not found in $PATH"},
		{[]string{"/etc/passwd"}, "", "exec /etc/passwd: permission denied"},
		{[]string{"true"}, "/nonexistent-ginit", "chdir /nonexistent-ginit: no such file or directory"},
	}
	for _, tc := range tests {
		d := desc("bad")
		d.ExtMut().WorkingDir = tc.dir
		_, err := s.Spawn(service.SpawnRequest{Desc: d, Argv: tc.argv, Env: []string{"PATH=/usr/bin:/bin"}}, newRecorder())
		if err == nil || err.Error() != tc.want {
			t.Errorf("Spawn(%v) error = %v, want %q", tc.argv, err, tc.want)
		}
	}
}

func TestEnvAndWorkingDir(t *testing.T) {
	s := newSup(t, "")
	dir := t.TempDir()
	d := desc("env")
	d.File = filepath.Join(dir, "env")
	d.LogType = service.LogBuffer
	d.ExtMut().Env = []string{"B=service"}
	r := newRecorder()
	p, err := s.Spawn(service.SpawnRequest{Desc: d, Argv: []string{"sh", "-c", `echo "$A $B"; pwd`},
		Env: []string{"PATH=/usr/bin:/bin", "A=global", "B=global"}}, r)
	if err != nil {
		t.Fatal(err)
	}
	r.next(t, "exited")
	got := catLogWhen(t, s, "env", func(b []byte) bool { return strings.Count(string(b), "\n") >= 2 })
	want := "global service\n" + dir + "\n"
	if got != want {
		t.Fatalf("output of %v = %q, want %q", p, got, want)
	}
}

// catLogWhen polls CatLog until ok: the pump goroutine may still be copying.
func catLogWhen(t testing.TB, s *Supervisor, name string, ok func([]byte) bool) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		b, _, err := s.CatLog(name, false)
		if err != nil {
			t.Fatal(err)
		}
		if ok(b) || time.Now().After(deadline) {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLogTail: a service without log-type keeps its newest output, so the
// error printed last before a failure is what catlog shows.
func TestLogTail(t *testing.T) {
	s := newSup(t, "")
	d := desc("tail")
	d.LogType = service.LogTail
	r := newRecorder()
	spawn(t, s, d, r, "sh", "-c", "i=0; while [ $i -lt 1000 ]; do echo line $i; i=$((i+1)); done; echo 'fatal: no config' >&2; exit 3")
	r.next(t, "exited")
	got := catLogWhen(t, s, "tail", func(b []byte) bool { return strings.HasSuffix(string(b), "fatal: no config\n") })
	if !strings.HasPrefix(got, "line ") || len(got) > logging.TailSize {
		t.Fatalf("tail = %d bytes starting %.20q, want whole lines within %d", len(got), got, logging.TailSize)
	}
	if _, tr, _ := s.CatLog("tail", false); !tr {
		t.Error("dropped lines not reported as truncated")
	}
}

func TestLogBuffer(t *testing.T) {
	s := newSup(t, "")
	d := desc("buf")
	d.LogType = service.LogBuffer
	d.LogBufferSize = 16
	r := newRecorder()
	spawn(t, s, d, r, "sh", "-c", "echo 0123456789; echo abcdefghij >&2")
	r.next(t, "exited")
	got := catLogWhen(t, s, "buf", func(b []byte) bool { return len(b) == 16 })
	if got != "0123456789\nabcde" {
		t.Fatalf("buffer = %q", got)
	}
	// The pipe is drained past the limit, so truncation is known once the
	// writer is done; poll for it.
	deadline := time.Now().Add(wait)
	for {
		_, tr, _ := s.CatLog("buf", false)
		if tr {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("truncated not reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, tr, _ := s.CatLog("buf", true)
	if len(b) != 16 || !tr {
		t.Fatalf("CatLog clear = %q, %v", b, tr)
	}
	b, tr, _ = s.CatLog("buf", false)
	if len(b) != 0 || tr {
		t.Fatalf("after clear = %q, %v", b, tr)
	}
	if _, _, err := s.CatLog("unknown", false); err == nil {
		t.Fatal("CatLog of an unknown service succeeded")
	}
}

func TestLogFile(t *testing.T) {
	s := newSup(t, "")
	d := desc("file")
	d.LogType = service.LogFile
	d.ExtMut().LogFile = filepath.Join(t.TempDir(), "out.log")
	d.LogFilePermissions = 0o640
	r := newRecorder()
	for i := 0; i < 2; i++ {
		spawn(t, s, d, r, "sh", "-c", "echo run; echo err >&2")
		r.next(t, "exited")
	}
	data, err := os.ReadFile(d.Ext().LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "run\nerr\nrun\nerr\n" {
		t.Fatalf("log file = %q", data)
	}
	fi, _ := os.Stat(d.Ext().LogFile)
	if fi.Mode().Perm() != 0o640&^currentUmask() {
		t.Fatalf("log file mode = %v", fi.Mode().Perm())
	}
}

func currentUmask() os.FileMode {
	m := unix.Umask(0)
	unix.Umask(m)
	return os.FileMode(m)
}

// TestDoubleFork: the main process leaves a child behind in its process
// group; the tree stays populated until KillTree kills it, and the
// supervisor (a subreaper) reaps it and reports TreeEmpty.
func TestDoubleFork(t *testing.T) {
	s := newSup(t, "")
	testOrphan(t, s, "sleep 300 </dev/null >/dev/null 2>&1 & echo $!")
}

func testOrphan(t *testing.T, s *Supervisor, script string) {
	t.Helper()
	d := desc("daemon")
	d.LogType = service.LogBuffer
	r := newRecorder()
	p := spawn(t, s, d, r, "sh", "-c", script)
	if e := r.next(t, "exited"); !e.st.Success() {
		t.Fatalf("launcher exit %+v", e.st)
	}
	out := catLogWhen(t, s, "daemon", func(b []byte) bool { return strings.HasSuffix(string(b), "\n") })
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("daemon pid %q: %v", out, err)
	}
	killPid(t, pid)
	if gone(pid) {
		t.Fatalf("daemon %d is not running", pid)
	}
	pop := p.(interface{ Populated() bool })
	if !pop.Populated() {
		t.Fatal("tree not populated while the daemon runs")
	}
	select {
	case e := <-r.ch:
		if e.kind == "empty" {
			t.Fatal("TreeEmpty while the daemon runs")
		}
	case <-time.After(200 * time.Millisecond):
	}
	if err := p.KillTree(int(unix.SIGKILL)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	r.next(t, "empty")
	if pop.Populated() {
		t.Fatal("tree populated after TreeEmpty")
	}
}

func TestSignal(t *testing.T) {
	s := newSup(t, "")
	r := newRecorder()
	p := spawn(t, s, desc("sig"), r, "sleep", "300")
	if err := p.Signal(int(unix.SIGTERM)); err != nil {
		t.Fatal(err)
	}
	if e := r.next(t, "exited"); !e.st.Signaled || e.st.Signal != int(unix.SIGTERM) {
		t.Fatalf("exit %+v", e.st)
	}
	r.next(t, "empty")
	if err := p.Signal(int(unix.SIGTERM)); err == nil {
		t.Fatal("Signal after exit succeeded")
	}
}

func TestReadiness(t *testing.T) {
	s := newSup(t, "")
	tests := []struct {
		rn, script string
		ready      bool
	}{
		{"pipefd:3", "echo >&3; exec 3>&-; sleep 300", true},
		{"pipevar:RDY", `echo >&$RDY; sleep 300`, true},
		{"pipefd:5", "exec 5>&-; sleep 300", false},
	}
	for _, tc := range tests {
		t.Run(tc.rn, func(t *testing.T) {
			d := desc("ready")
			d.ExtMut().ReadyNotification = tc.rn
			r := newRecorder()
			p := spawn(t, s, d, r, "sh", "-c", tc.script)
			t.Cleanup(func() { _ = p.KillTree(int(unix.SIGKILL)) })
			e := <-r.ch
			if tc.ready {
				if e.kind != "ready" || e.p != p {
					t.Fatalf("first event %+v, want ready", e)
				}
				return
			}
			// Closing the pipe without a byte: the process is stopped.
			if e.kind != "exited" || !e.st.Signaled {
				t.Fatalf("first event %+v, want exit by signal", e)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	var big, bigOver, bigWant []string
	for i := 0; i < envScanMax; i++ {
		big = append(big, fmt.Sprintf("K%d=%d", i, i))
		bigWant = append(bigWant, fmt.Sprintf("K%d=%d", i, i))
	}
	bigOver = []string{"K3=x", "NEW=y"}
	bigWant[3] = "K3=x"
	bigWant = append(bigWant, "NEW=y")
	for _, c := range []struct {
		name             string
		base, over, want []string
	}{
		{"overlay", []string{"A=1", "B=2"}, []string{"B=3", "C=4"}, []string{"A=1", "B=3", "C=4"}},
		{"no over", []string{"A=1", "B=2"}, nil, []string{"A=1", "B=2"}},
		{"no base", nil, []string{"A=1"}, []string{"A=1"}},
		{"duplicate in base", []string{"A=1", "B=2", "A=3"}, nil, []string{"A=3", "B=2"}},
		{"key without value", []string{"A", "AB=1"}, []string{"A=2"}, []string{"A=2", "AB=1"}},
		{"prefix is another key", []string{"A=1"}, []string{"AB=2"}, []string{"A=1", "AB=2"}},
		{"indexed when long", big, bigOver, bigWant},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := mergeEnv(c.base, c.over)
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("mergeEnv = %v, want %v", got, c.want)
			}
		})
	}
}

// TestConcurrentSpawnsOfShortLivedChildren: forks run without the registry
// lock, so the reaper can see a child's exit before Spawn registers it;
// every child must still get exactly one Exited, with its status.
func TestConcurrentSpawnsOfShortLivedChildren(t *testing.T) {
	s := newSup(t, "")
	const workers, each = 4, 25
	type res struct {
		r *recorder
		d *service.Description
	}
	results := make(chan res, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				d := desc(fmt.Sprintf("quick-%d-%d", w, i))
				r := newRecorder()
				spawn(t, s, d, r, "/bin/sh", "-c", "exit 3")
				results <- res{r, d}
			}
		}(w)
	}
	wg.Wait()
	close(results)
	for x := range results {
		ev := x.r.next(t, "exited")
		if ev.st.Code != 3 || ev.st.Signaled {
			t.Errorf("%s: exit %+v, want code 3", x.d.Name, ev.st)
		}
		x.r.next(t, "empty")
		select {
		case extra := <-x.r.ch:
			t.Errorf("%s: extra event %s", x.d.Name, extra.kind)
		default:
		}
		s.Release(x.d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != 0 || len(s.early) != 0 {
		t.Errorf("inflight %d, early %v after all spawns", s.inflight, s.early)
	}
}

// TestUnitRecordAfterRelease: Release frees everything of a service's
// record; a record holding nothing else is forgotten, one with a log
// buffer keeps only that (for catlog).
func TestUnitRecordAfterRelease(t *testing.T) {
	tests := []struct {
		name    string
		logType service.LogType
		kept    bool
	}{
		{"plain", service.LogNone, false},
		{"buffered", service.LogBuffer, true},
		{"default", service.LogTail, true},
	}
	s := newSup(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := desc(tt.name)
			d.LogType = tt.logType
			r := newRecorder()
			spawn(t, s, d, r, "true")
			r.next(t, "exited")
			r.next(t, "empty")
			s.Release(d)
			s.mu.Lock()
			u, ok := s.units[d.Name]
			s.mu.Unlock()
			if ok != tt.kept {
				t.Fatalf("record kept = %v, want %v", ok, tt.kept)
			}
			if ok && (u.log == nil || u.cgroup != "" || u.unwatch != nil || len(u.release) != 0 || u.startPG != 0) {
				t.Errorf("record after Release = %+v, want only its log", u)
			}
		})
	}
}

// TestOrphansReaped: with no SIGCHLD, the reaper still reaps children it
// never spawned: processes reparented to us (the subreaper) when their
// parent, a service, exited, two levels down, including one that exits
// after every spawned child is gone (the reaper must not be parked for
// want of children while an orphan lives).
func TestOrphansReaped(t *testing.T) {
	s := newSup(t, "")
	dir := t.TempDir()
	r := newRecorder()
	// The service leaves a child and a grandchild (whose parent exits at
	// once), each exiting on its own a moment later.
	spawn(t, s, desc("orphans"), r, "sh", "-c",
		"(sleep 0.3; exit 3) & echo $! > "+dir+"/a; sh -c '(sleep 0.5) & echo $! > "+dir+"/b' ; exit 0")
	r.next(t, "exited")
	var pids []int
	for _, f := range []string{"a", "b"} {
		pids = append(pids, straggler(t, filepath.Join(dir, f)))
	}
	for _, pid := range pids {
		// Reaped, not only exited: no /proc entry at all once the
		// reaper has taken it (a zombie would still have one).
		deadline := time.Now().Add(wait)
		for {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
				t.Fatalf("orphan %d not reaped: %s", pid, data)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
