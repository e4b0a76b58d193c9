// Package initns holds ginit's integration tests: ginit runs as PID 1 of a
// private PID and mount namespace on temporary service directories and is
// driven only through ginitctl.
package initns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"ginit/internal/cgroup2"
	"ginit/internal/testenv"
)

// binDir finds the built binaries: $GINIT_BIN, else ../../bin.
func binDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("GINIT_BIN")
	if dir == "" {
		abs, err := filepath.Abs("../../bin")
		if err != nil {
			t.Fatal(err)
		}
		dir = abs
	}
	for _, b := range []string{"ginit", "ginitctl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			t.Skipf("needs the built %s (run `make build` or set GINIT_BIN): %v", b, err)
		}
	}
	return dir
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: ginit runs as PID 1 of a private PID namespace (unshare)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
}

// instance is one ginit running as PID 1 of its own namespace.
type instance struct {
	t    testing.TB
	bin  string
	dir  string // temp root: sd/ service dir, out/ files services write, sock
	sd   string
	out  string
	sock string
	cmd  *exec.Cmd
	logf string
	done chan error
	// cgroup is the subtree this ginit made (ginit-XXXXXXXX), "" if none:
	// only it must be gone at the end, whatever other runs on the
	// machine have made meanwhile.
	cgroup string
}

// newInstance writes the service files (name -> content; "@OUT@" becomes
// the output directory, "@DIR@" the temp root) and starts ginit on them.
func newInstance(t testing.TB, files map[string]string, extraArgs ...string) *instance {
	t.Helper()
	return newInstanceLog(t, files, true, extraArgs...)
}

// newInstanceLog is newInstance; withLogFile false leaves out -l (ginit's
// log then goes only to its console and, with starts-log, to syslog).
func newInstanceLog(t testing.TB, files map[string]string, withLogFile bool, extraArgs ...string) *instance {
	t.Helper()
	in := newDirs(t)
	in.write(files)
	args := append([]string{"--pid", "--fork", "--mount", "--mount-proc", "--kill-child", "--",
		filepath.Join(in.bin, "ginit"), "--container", "-d", in.sd, "-p", in.sock}, extraArgs...)
	if withLogFile {
		args = append(args, "-l", in.logf)
	}
	args = append(args, "boot")
	in.launch(exec.Command("unshare", args...), launchOpts{stopWait: 5 * time.Second, listenWait: 5 * time.Second, ownCgroup: true})
	return in
}

// newDirs is an instance not started yet: its temp root with the service,
// output and (under the root) extra directories made.
func newDirs(t testing.TB, extra ...string) *instance {
	t.Helper()
	requireRoot(t)
	in := &instance{t: t, bin: binDir(t), dir: t.TempDir(), done: make(chan error, 1)}
	in.sd = filepath.Join(in.dir, "sd")
	in.out = filepath.Join(in.dir, "out")
	in.sock = filepath.Join(in.dir, "ginitctl")
	in.logf = filepath.Join(in.dir, "ginit.log")
	dirs := []string{in.sd, in.out}
	for _, e := range extra {
		dirs = append(dirs, filepath.Join(in.dir, e))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

// launchOpts: how long a halted ginit may take before its process group is
// killed, how long it may take to listen, and whether the ginit-XXXXXXXX
// cgroup subtree it makes is found and must be gone at the end.
type launchOpts struct {
	stopWait, listenWait time.Duration
	ownCgroup            bool
}

// launch starts cmd (ginit, under unshare) in its own process group, halts
// it at the test's cleanup (SIGKILL to the group after o.stopWait; its
// output and log shown when the test failed) and waits until it listens.
func (in *instance) launch(cmd *exec.Cmd, o launchOpts) {
	t := in.t
	t.Helper()
	var before []string
	if o.ownCgroup {
		before = ginitCgroups()
	}
	in.cmd = cmd
	in.cmd.Dir = in.dir
	var stderr bytes.Buffer
	in.cmd.Stdout, in.cmd.Stderr = &stderr, &stderr
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := in.cmd.Start(); err != nil {
		t.Fatalf("start ginit: %v", err)
	}
	go func() { in.done <- in.cmd.Wait() }()
	t.Cleanup(func() {
		in.ctl("shutdown", "halt")
		select {
		case <-in.done:
		case <-time.After(o.stopWait):
			_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL)
			<-in.done
		}
		// ginit removes the cgroup subtree it made, whatever it left running.
		if in.cgroup != "" {
			if _, err := os.Stat(in.cgroup); err == nil {
				t.Errorf("ginit left its cgroup %s behind", in.cgroup)
			}
		}
		if t.Failed() {
			log, _ := os.ReadFile(in.logf)
			t.Logf("ginit output:\n%s\nginit log:\n%s", stderr.String(), log)
		}
	})
	// Listening, not the socket file: that appears at bind(2), before
	// listen(2), and a ctl in between is refused.
	if !testenv.Listening(in.sock, o.listenWait) {
		t.Fatalf("ginit did not open its control socket: %s", stderr.String())
	}
	if o.ownCgroup {
		// ginit made its subtree, and moved into it, before its socket.
		in.cgroup = in.ownCgroup(before)
	}
}

// ownCgroup is the one of the ginit-XXXXXXXX subtrees made since before
// that holds this instance's ginit, "" if none does.
func (in *instance) ownCgroup(before []string) string {
	pid := in.ginitPid()
	for _, c := range ginitCgroups() {
		if !slices.Contains(before, c) && cgroup2.Contains(c, pid) {
			return c
		}
	}
	return ""
}

func (in *instance) write(files map[string]string) {
	for name, body := range files {
		body = strings.ReplaceAll(body, "@OUT@", in.out)
		body = strings.ReplaceAll(body, "@DIR@", in.dir)
		p := filepath.Join(in.sd, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			in.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			in.t.Fatal(err)
		}
	}
}

type result struct {
	out, err string
	code     int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
}

// ctl runs ginitctl against the instance (10 s at most).
func (in *instance) ctl(args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(in.bin, "ginitctl"), append([]string{"-p", in.sock}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		e.WriteString(err.Error())
	}
	return result{o.String(), e.String(), code}
}

// mustCtl runs ginitctl and fails the test on a non-zero exit.
func (in *instance) mustCtl(args ...string) result {
	in.t.Helper()
	r := in.ctl(args...)
	if r.code != 0 {
		in.t.Fatalf("ginitctl %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// state returns the state word of a service from `ginitctl status`.
func (in *instance) state(name string) string {
	in.t.Helper()
	r := in.ctl("status", name)
	for _, line := range strings.Split(r.out, "\n") {
		f := strings.Fields(strings.ToLower(line))
		if len(f) >= 2 && f[0] == "state:" {
			return f[1]
		}
	}
	in.t.Fatalf("no State: line in status %s: %s", name, r)
	return ""
}

// waitState polls until name reaches state (10 s at most).
func (in *instance) waitState(name, state string) {
	in.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := in.state(name)
		if st == state {
			return
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("service %s is %s, want %s; status: %s", name, st, state, in.ctl("status", name))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readOut reads a file written by services into the output directory.
func (in *instance) readOut(name string) string {
	b, _ := os.ReadFile(filepath.Join(in.out, name))
	return string(b)
}

// waitOut polls until the output file satisfies cond.
func (in *instance) waitOut(name string, cond func(string) bool) string {
	in.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := in.readOut(name)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("output %s never satisfied the condition; it holds %q", name, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil {
		return false
	}
	// A zombie still answers kill(0); check its state.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// ginitCgroups lists the per-instance cgroup subtrees (ginit-XXXXXXXX) at
// the top of the unified hierarchy, where a ginit in the root cgroup makes
// them.
func ginitCgroups() []string {
	var out []string
	for _, mount := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		ents, err := os.ReadDir(mount)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if n := e.Name(); e.IsDir() && len(n) == len("ginit-")+8 && strings.HasPrefix(n, "ginit-") {
				out = append(out, filepath.Join(mount, n))
			}
		}
	}
	return out
}
