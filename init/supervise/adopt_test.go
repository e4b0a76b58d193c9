package supervise

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/service"
	"ginit/internal/testenv"
)

// treeModes returns the ways a service tree can be kept: a process group
// always, and a cgroup when the test may make one.
func treeModes(t *testing.T) map[string]func(*testing.T) string {
	t.Helper()
	return map[string]func(*testing.T) string{
		"pgroup": func(*testing.T) string { return "" },
		"cgroup": func(t *testing.T) string { return testCgroupRoot(t) },
	}
}

func bgDesc(name, pidFile string) *service.Description {
	d := desc(name)
	d.Type = service.TypeBGProcess
	d.ExtMut().PIDFile = pidFile
	return d
}

// launch runs a bgprocess launcher through the supervisor and waits for its
// successful exit, as the manager does before it calls Adopt.
//
// The script gets the pid file's path as $0.
func launch(t *testing.T, s *Supervisor, d *service.Description, script string) {
	t.Helper()
	r := newRecorder()
	p := spawn(t, s, d, r, "sh", "-c", script, d.Ext().PIDFile)
	// What stays in the launcher's process group if the test fails early.
	t.Cleanup(func() { _ = unix.Kill(-p.Pid(), unix.SIGKILL) })
	if e := r.next(t, "exited"); !e.st.Success() {
		t.Fatalf("launcher of %s: %+v", d.Name, e.st)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}

// childrenOf lists the pids whose parent is ppid.
func childrenOf(ppid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, err := parentOf(pid); err == nil && pp == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// TestAdoptDoubleFork: a launcher double-forks a daemon (setsid) that
// writes its pid file and starts two children of its own, then exits 0.
// The daemon is reparented to us, so Adopt registers it with the reaper:
// its death is reported with its real status while its children keep the
// tree populated, and KillTree kills all of them.
func TestAdoptDoubleFork(t *testing.T) {
	for mode, root := range treeModes(t) {
		t.Run(mode, func(t *testing.T) {
			s := newSup(t, root(t))
			pf := filepath.Join(t.TempDir(), "daemon.pid")
			d := bgDesc("bgdaemon", pf)
			launch(t, s, d, `(setsid sh -c 'sleep 300 & sleep 300 & echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; wait' "$0" </dev/null >/dev/null 2>&1 &)
				while [ ! -s "$0" ]; do sleep 0.01; done`)
			daemon := readPid(t, pf)
			killPid(t, daemon)
			// The mv that wrote the pid file may not have been reaped yet.
			kids := childrenOf(daemon)
			for deadline := time.Now().Add(2 * time.Second); len(kids) > 2 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
				kids = childrenOf(daemon)
			}
			for _, k := range kids {
				killPid(t, k)
			}
			if len(kids) != 2 {
				t.Fatalf("daemon %d has children %v, want 2 sleeps", daemon, kids)
			}
			r := newRecorder()
			p, err := s.Adopt(d, r)
			if err != nil {
				t.Fatal(err)
			}
			if p.Pid() != daemon {
				t.Fatalf("adopted pid %d, want %d", p.Pid(), daemon)
			}
			pop := p.(interface{ Populated() bool })
			if !pop.Populated() {
				t.Fatal("tree not populated")
			}
			// The daemon alone dies: Exited, with its status, as it is our child.
			if err := unix.Kill(daemon, unix.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if e := r.next(t, "exited"); e.p != p || !e.st.Signaled || e.st.Signal != int(unix.SIGKILL) {
				t.Fatalf("exit %+v of %v, want SIGKILL of %v", e.st, e.p, p)
			}
			if !pop.Populated() {
				t.Fatal("tree empty while the daemon's children run")
			}
			if err := p.KillTree(int(unix.SIGKILL)); err != nil {
				t.Fatal(err)
			}
			for _, k := range kids {
				waitGone(t, k)
			}
			if e := r.next(t, "empty"); e.p != p {
				t.Fatalf("TreeEmpty for %v", e.p)
			}
			s.Release(d)
		})
	}
}

// TestAdoptNonChild: the pid in the file is a grandchild whose parent
// stays alive, so it is never ours to reap; its pidfd tells us when it
// dies, and that is reported as a normal exit.
func TestAdoptNonChild(t *testing.T) {
	for mode, root := range treeModes(t) {
		t.Run(mode, func(t *testing.T) {
			log := &testLogger{}
			s := newSupConfig(t, Config{Logger: log, CgroupRoot: root(t)})
			pf := filepath.Join(t.TempDir(), "daemon.pid")
			d := bgDesc("nonchild", pf)
			d.Options.SignalProcessOnly = true
			launch(t, s, d, `(sh -c 'sleep 300 & echo $! > "$0.tmp"; mv "$0.tmp" "$0"; wait' "$0" </dev/null >/dev/null 2>&1 &)
				while [ ! -s "$0" ]; do sleep 0.01; done`)
			daemon := readPid(t, pf)
			killPid(t, daemon)
			parent, err := parentOf(daemon)
			if err != nil || parent == os.Getpid() {
				t.Fatalf("daemon %d has parent %d (%v); want a process other than us", daemon, parent, err)
			}
			killPid(t, parent)
			r := newRecorder()
			p, err := s.Adopt(d, r)
			if err != nil {
				t.Fatal(err)
			}
			pr := p.(*proc)
			pr.mu.Lock()
			child := pr.child
			pr.mu.Unlock()
			if child {
				t.Fatal("a grandchild was taken for our child")
			}
			// Signal goes through the pidfd to the daemon only.
			if err := p.Signal(int(unix.SIGTERM)); err != nil {
				t.Fatal(err)
			}
			if e := r.next(t, "exited"); e.p != p || e.st != (service.ExitStatus{}) {
				t.Fatalf("exit %+v of %v, want a normal exit of %v", e.st, e.p, p)
			}
			// Its parent's wait returns, it exits, and the tree is empty.
			waitGone(t, parent)
			if e := r.next(t, "empty"); e.p != p {
				t.Fatalf("TreeEmpty for %v", e.p)
			}
			if err := p.Signal(int(unix.SIGTERM)); err == nil {
				t.Fatal("Signal after exit succeeded")
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			for _, l := range log.lines {
				if strings.Contains(l, "cannot watch") {
					t.Errorf("pidfd not watched by the poller: %s", l)
				}
			}
			s.Release(d)
		})
	}
}

// TestAdoptRefused: pid files that anyone but root or the service user
// could have written, or that name no process of the service, are refused
// with an error naming the file.
func TestAdoptRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown pid files")
	}
	s := newSup(t, "")
	// A live process of the service, for the files to point at.
	r := newRecorder()
	live := spawn(t, s, desc("sec"), r, "sleep", "300")
	t.Cleanup(func() { _ = live.KillTree(int(unix.SIGKILL)) })
	other := spawn(t, s, desc("other"), newRecorder(), "sleep", "300")
	t.Cleanup(func() { _ = other.KillTree(int(unix.SIGKILL)) })
	dead := spawn(t, s, desc("dead"), r, "true")
	r.next(t, "exited")

	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	pidText := strconv.Itoa(live.Pid()) + "\n"
	// A link to dir that the service user made: the pid file seen through
	// it could be any root-owned one.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		make func(path string) error
		dir  string
		want string // after "pid-file PATH: "
	}{
		{"world-writable", func(p string) error { return writeMode(p, pidText, 0o666) }, dir,
			"writable by group or others (mode 0666)"},
		{"group-writable", func(p string) error { return writeMode(p, pidText, 0o620) }, dir,
			"writable by group or others (mode 0620)"},
		{"symlink", func(p string) error {
			if err := writeMode(p+".real", pidText, 0o644); err != nil {
				return err
			}
			return os.Symlink(p+".real", p)
		}, dir, "is a symbolic link"},
		{"other-owner", func(p string) error {
			if err := writeMode(p, pidText, 0o644); err != nil {
				return err
			}
			return os.Chown(p, 65534, 65534)
		}, dir, "owned by uid 65534, not by root or the service's user"},
		{"open-directory", func(p string) error { return writeMode(p, pidText, 0o644) }, open,
			"directory " + open + " is writable by others and not sticky"},
		{"fifo", func(p string) error { return unix.Mkfifo(p, 0o600) }, dir, "not a regular file"},
		{"user-link-directory", func(p string) error { return writeMode(p, pidText, 0o644) }, link,
			link + " is a symbolic link owned by uid 65534 (only root's are followed)"},
		{"missing", func(string) error { return nil }, dir, "no such file or directory"},
		{"garbage", func(p string) error { return writeMode(p, "12ab\n", 0o644) }, dir, `no valid pid in "12ab"`},
		{"negative", func(p string) error { return writeMode(p, "-5", 0o644) }, dir, `no valid pid in "-5"`},
		{"init", func(p string) error { return writeMode(p, "1\n", 0o644) }, dir, "names pid 1, which cannot be a service's"},
		{"long", func(p string) error { return writeMode(p, strings.Repeat(" ", 80)+"7", 0o644) }, dir, "longer than 64 bytes"},
		{"dead", func(p string) error { return writeMode(p, strconv.Itoa(dead.Pid()), 0o644) }, dir,
			"process " + strconv.Itoa(dead.Pid()) + " is not running"},
		{"other-service", func(p string) error { return writeMode(p, strconv.Itoa(other.Pid()), 0o644) }, dir,
			"process " + strconv.Itoa(other.Pid()) + " belongs to service 'other'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(tc.dir, tc.name+".pid")
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			_, err := s.Adopt(bgDesc("sec", path), newRecorder())
			want := "pid-file " + path + ": " + tc.want
			if err == nil || err.Error() != want {
				t.Fatalf("Adopt error = %v, want %q", err, want)
			}
		})
	}
}

// TestAdoptServiceUser: a pid file owned by the run-as user is accepted
// when the process runs as that user, and refused when it does not (the
// user could have written any pid into it).
func TestAdoptServiceUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run as nobody")
	}
	s := newSup(t, "")
	dir := t.TempDir()
	for _, tc := range []struct {
		name, runAs string
		ok          bool
	}{
		{"as-nobody", "nobody", true},
		{"as-root", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := bgDesc("user-"+tc.name, filepath.Join(dir, tc.name+".pid"))
			d.RunAs = "nobody"
			dp := *d
			dp.RunAs = tc.runAs
			p := spawn(t, s, &dp, newRecorder(), "sleep", "300")
			t.Cleanup(func() { _ = p.KillTree(int(unix.SIGKILL)) })
			if err := writeMode(d.Ext().PIDFile, strconv.Itoa(p.Pid()), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(d.Ext().PIDFile, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			got, err := s.Adopt(d, newRecorder())
			if tc.ok {
				if err != nil || got.Pid() != p.Pid() {
					t.Fatalf("Adopt = %v, %v; want pid %d", got, err, p.Pid())
				}
				return
			}
			want := "pid-file " + d.Ext().PIDFile + ": process " + strconv.Itoa(p.Pid()) + " runs as uid 0, not as the file's owner 65534"
			if err == nil || err.Error() != want {
				t.Fatalf("Adopt error = %v, want %q", err, want)
			}
		})
	}
}

// TestAdoptOutsideCgroup: with cgroups, the pid must be in the service's.
func TestAdoptOutsideCgroup(t *testing.T) {
	root := testCgroupRoot(t)
	s := newSup(t, root)
	pf := filepath.Join(t.TempDir(), "x.pid")
	d := bgDesc("inside", pf)
	launch(t, s, d, "true")
	if err := writeMode(pf, strconv.Itoa(os.Getppid()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.Adopt(d, newRecorder())
	want := "pid-file " + pf + ": process " + strconv.Itoa(os.Getppid()) + " is not in the service's cgroup " + filepath.Join(root, "inside")
	if err == nil || err.Error() != want {
		t.Fatalf("Adopt error = %v, want %q", err, want)
	}
	s.Release(d)
}

// writeMode writes a file with exactly mode perm (past the umask).
func writeMode(path, text string, perm os.FileMode) error {
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		return err
	}
	return os.Chmod(path, perm)
}

// waitLog waits until the logger has a line containing sub.
func (l *testLogger) waitFor(t testing.TB, sub string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if strings.Contains(line, sub) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q", sub)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAdoptDbusDaemonFork: a real double-forking daemon, dbus-daemon
// --fork, writes its pid file before its launcher exits; it is adopted,
// signalled through the adopted Proc, and its end and empty tree are seen.
func TestAdoptDbusDaemonFork(t *testing.T) {
	bin := needTool(t, "dbus-daemon")
	for mode, root := range treeModes(t) {
		t.Run(mode, func(t *testing.T) {
			s := newSup(t, root(t))
			dir := t.TempDir()
			pf := filepath.Join(dir, "bus.pid")
			conf := filepath.Join(dir, "bus.conf")
			cfg := testenv.SessionBusConfig(filepath.Join(dir, "bus"))
			cfg = strings.Replace(cfg, "<auth>", "<pidfile>"+pf+"</pidfile>\n  <auth>", 1)
			if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			d := bgDesc("dbus-fork", pf)
			r := newRecorder()
			launcher := spawn(t, s, d, r, bin, "--config-file="+conf, "--fork")
			t.Cleanup(func() { _ = unix.Kill(-launcher.Pid(), unix.SIGKILL) })
			if e := r.next(t, "exited"); !e.st.Success() {
				t.Fatalf("dbus-daemon --fork: %+v", e.st)
			}
			daemon := readPid(t, pf)
			killPid(t, daemon)
			p, err := s.Adopt(d, r)
			if err != nil {
				t.Fatal(err)
			}
			if p.Pid() != daemon || p.Pid() == launcher.Pid() {
				t.Fatalf("adopted %d, pid file says %d, launcher was %d", p.Pid(), daemon, launcher.Pid())
			}
			if err := p.Signal(int(unix.SIGTERM)); err != nil {
				t.Fatal(err)
			}
			for {
				e := r.next(t, "exited")
				if e.p == p {
					break
				}
			}
			waitGone(t, daemon)
			for {
				if e := r.next(t, "empty"); e.p == p {
					break
				}
			}
			s.Release(d)
		})
	}
}
