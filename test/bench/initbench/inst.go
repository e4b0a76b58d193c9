package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// impl is one service manager under test: its daemon and its ctl program.
// Both take the same flags for everything the bench uses (ginit's are
// dinit's), so only the paths differ.
type impl struct {
	name   string
	daemon string
	ctl    string
	// floor marks the Go floor (floor/daemon, floor/client): it runs only
	// the idle figures, and its client is also timed against ginit.
	floor bool
	// linkedCtl is the floor client linking ginitctl's packages.
	linkedCtl string
}

func findImpls(ginitDir, dinitDir string) ([]*impl, error) {
	var out []*impl
	add := func(name, dir, d, c string) error {
		dir, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		im := &impl{name: name, daemon: filepath.Join(dir, d), ctl: filepath.Join(dir, c)}
		for _, p := range []string{im.daemon, im.ctl} {
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		out = append(out, im)
		return nil
	}
	if err := add("ginit", ginitDir, "ginit", "ginitctl"); err != nil {
		return nil, err
	}
	if dinitDir != "" {
		if err := add("dinit", dinitDir, "dinit", "dinitctl"); err != nil {
			return nil, err
		}
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return nil, fmt.Errorf("needs unshare (util-linux): %w", err)
	}
	return out, nil
}

// inst is one daemon running as PID 1 of its namespace.
type inst struct {
	im    *impl
	dir   string
	sock  string
	cmd   *exec.Cmd
	done  chan struct{}
	pid   int // the daemon, as the host sees it
	t0    time.Time
	ready time.Duration // launch until it wrote its -F line
	out   bytes.Buffer
}

// launch writes files into a fresh service directory and starts the daemon
// on it with the named services, returning once it says (through -F) that
// its control socket accepts commands.
func launch(im *impl, files map[string]string, services ...string) (*inst, error) {
	dir, err := os.MkdirTemp("", "initbench-")
	if err != nil {
		return nil, err
	}
	in := &inst{im: im, dir: dir, sock: filepath.Join(dir, "ctl.sock"), done: make(chan struct{})}
	sd := filepath.Join(dir, "sd")
	if err := os.Mkdir(sd, 0o755); err != nil {
		return nil, err
	}
	for name, body := range files {
		body = strings.ReplaceAll(body, "@DIR@", dir)
		if err := os.WriteFile(filepath.Join(sd, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	args := []string{"--pid", "--fork", "--mount", "--mount-proc", "--kill-child", "--",
		im.daemon, "--container", "-q", "-d", sd, "-p", in.sock, "-F", "3", "-l", filepath.Join(dir, "log")}
	in.cmd = exec.Command("unshare", append(args, services...)...)
	in.cmd.Dir = dir
	in.cmd.Stdout, in.cmd.Stderr = &in.out, &in.out
	in.cmd.ExtraFiles = []*os.File{w}
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in.t0 = time.Now()
	if err := in.cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("%s: %w", im.name, err)
	}
	w.Close()
	go func() { _ = in.cmd.Wait(); close(in.done) }()
	line := make(chan error, 1)
	go func() {
		// The socket path, ended by a newline (ginit) or a NUL (dinit).
		br := bufio.NewReader(r)
		for {
			c, err := br.ReadByte()
			if err != nil || c == '\n' || c == 0 {
				line <- err
				return
			}
		}
	}()
	select {
	case err := <-line:
		in.ready = time.Since(in.t0)
		if err != nil {
			in.kill()
			return nil, fmt.Errorf("%s: no ready line (%v): %s", im.name, err, in.out.String())
		}
	case <-time.After(30 * time.Second):
		in.kill()
		return nil, fmt.Errorf("%s: not ready after 30s: %s", im.name, in.out.String())
	}
	in.pid, err = childOf(in.cmd.Process.Pid)
	if err != nil {
		in.kill()
		return nil, err
	}
	return in, nil
}

// childOf is the only child of unshare: the daemon.
func childOf(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0, fmt.Errorf("unshare %d has no child", pid)
	}
	return strconv.Atoi(f[0])
}

// ctl runs the ctl program against the instance.
func (in *inst) ctl(args ...string) error { return in.ctlWith(in.im.ctl, args...) }

// ctlWith runs the ctl program ctl (the instance's own or another speaking
// its protocol) against the instance.
func (in *inst) ctlWith(ctl string, args ...string) error {
	cmd := exec.Command(ctl, append([]string{"-p", in.sock}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(ctl), strings.Join(args, " "), err, out.String())
	}
	return nil
}

// timeCtlWith is how long one run of ctlWith took.
func (in *inst) timeCtlWith(ctl string, args ...string) (time.Duration, error) {
	t0 := time.Now()
	err := in.ctlWith(ctl, args...)
	return time.Since(t0), err
}

// waitExit waits for the daemon (and so its namespace) to end.
func (in *inst) waitExit(d time.Duration) error {
	select {
	case <-in.done:
		return nil
	case <-time.After(d):
		return fmt.Errorf("%s did not exit within %v", in.im.name, d)
	}
}

// close shuts the daemon down (killing it if it will not go) and removes
// its directory.
func (in *inst) close() {
	select {
	case <-in.done:
	default:
		_ = in.ctl("shutdown")
		if in.waitExit(20*time.Second) != nil {
			in.kill()
		}
	}
	os.RemoveAll(in.dir)
}

// kill ends the namespace at once (--kill-child takes the daemon along).
func (in *inst) kill() {
	_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL)
	<-in.done
}

// privateDirtyKB is the daemon's Private_Dirty (smaps_rollup) and thread count.
func (in *inst) privateDirtyKB() (kb, threads int, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", in.pid))
	if err != nil {
		return 0, 0, err
	}
	kb = -1
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "Private_Dirty:"); ok {
			kb, err = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				return 0, 0, err
			}
		}
	}
	if kb < 0 {
		return 0, 0, errors.New("no Private_Dirty in smaps_rollup")
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", in.pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			threads, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return kb, threads, nil
}

// goHeapKB is the Private_Dirty of a Go daemon's heap arena: the
// anonymous read-write mappings that start on a 4 MiB boundary and span
// whole 4 MiB (the runtime maps its heap in chunks of that size; its
// metadata, data and bss lie elsewhere). It is what the program's own
// objects, goroutine stacks and the free slots between them cost; the
// rest of Private_Dirty is the runtime's and the binary's.
func (in *inst) goHeapKB() (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", in.pid))
	if err != nil {
		return 0, err
	}
	const chunk = 4 << 20
	kb, heap := 0, false
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && strings.Contains(f[0], "-") && len(f[1]) == 4 {
			// A mapping's first line: range, perms, offset, dev, inode[, path].
			lo, hi, _ := strings.Cut(f[0], "-")
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			heap = err1 == nil && err2 == nil && len(f) == 5 && f[1] == "rw-p" && f[4] == "0" &&
				a%chunk == 0 && (b-a)%chunk == 0
			continue
		}
		if v, ok := strings.CutPrefix(l, "Private_Dirty:"); ok && heap {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				return 0, err
			}
			kb += n
		}
	}
	return kb, nil
}

// cpuTicks is the daemon's utime+stime in clock ticks (children not counted).
func (in *inst) cpuTicks() (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", in.pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command: state is field 3; utime 14, stime 15.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short stat")
	}
	u, err1 := strconv.Atoi(f[11])
	st, err2 := strconv.Atoi(f[12])
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed stat times")
	}
	return u + st, nil
}
