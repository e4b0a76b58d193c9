package initns

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/testenv"
)

// The host-mount tests run ginit as PID 1 of a PID namespace (sharing the
// mount namespace of its parent, or with one of its own) inside a sandbox:
// a private mount namespace chrooted into a tmpfs that the test mounted on
// the host, with a second host tmpfs (the "volume") inside it. Every mount
// ginit can see is then either the test's own tmpfs, whose superblock the
// host shares, or a sandbox tmpfs; a ginit that remounted a superblock
// read-only shows it on the host and damages nothing else.
//
// The test binary itself is the sandbox: stage 1 makes the private mount
// namespace and the sandbox's API mounts, stage 2 is PID 1 of the new PID
// namespace, mounts its /proc, chroots and execs ginit.
const (
	sandboxStage = "INITNS_SANDBOX_STAGE"
	sandboxRoot  = "INITNS_SANDBOX_ROOT"
	sandboxMntNS = "INITNS_SANDBOX_MOUNTNS" // "1": ginit gets a mount namespace too
	sandboxArgs  = "INITNS_SANDBOX_ARGS"    // ginit's arguments, separated by \x1f
)

func TestMain(m *testing.M) {
	switch os.Getenv(sandboxStage) {
	case "1":
		os.Exit(sandboxOuter())
	case "2":
		sandboxPID1() // execs ginit or exits
	}
	os.Exit(m.Run())
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "sandbox: "+format+"\n", args...)
	return 111
}

// sandboxOuter runs in a new mount namespace made private first, so that
// nothing done below propagates to the host's mount table.
func sandboxOuter() int {
	root := os.Getenv(sandboxRoot)
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail("make / private: %v", err)
	}
	// What a container runtime would have mounted, so that a ginit that
	// thinks it is the machine's init finds its early mounts done.
	for _, d := range []string{"sys", "sys/fs/cgroup", "dev", "dev/pts", "dev/shm", "run"} {
		p := filepath.Join(root, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fail("%v", err)
		}
		if err := unix.Mount("tmpfs", p, "tmpfs", 0, "size=1m"); err != nil {
			return fail("mount tmpfs on %s: %v", p, err)
		}
	}
	if err := unix.Mknod(filepath.Join(root, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		return fail("mknod /dev/null: %v", err)
	}
	var flags uintptr = unix.CLONE_NEWPID
	if os.Getenv(sandboxMntNS) == "1" {
		flags |= unix.CLONE_NEWNS
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), sandboxStage+"=2")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	if err := cmd.Start(); err != nil {
		return fail("start PID 1: %v", err)
	}
	_ = os.WriteFile(filepath.Join(root, "ginit.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	err := cmd.Wait()
	fmt.Fprintf(os.Stderr, "sandbox: PID 1 ended: %v\n", cmd.ProcessState)
	if err != nil {
		return 1
	}
	return 0
}

// sandboxPID1 is PID 1 of the new PID namespace: it becomes ginit.
func sandboxPID1() {
	root := os.Getenv(sandboxRoot)
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		os.Exit(fail("mount proc: %v", err))
	}
	if err := unix.Chroot(root); err != nil {
		os.Exit(fail("chroot: %v", err))
	}
	if err := os.Chdir("/"); err != nil {
		os.Exit(fail("chdir: %v", err))
	}
	args := append([]string{"/ginit"}, strings.Split(os.Getenv(sandboxArgs), "\x1f")...)
	err := unix.Exec("/ginit", args, []string{"PATH=/"})
	os.Exit(fail("exec ginit: %v", err))
}

// hostMount returns the options of the mount at dir in the test's (the
// host's) mount table, this mount's and its superblock's, or "" when
// nothing is mounted there.
func hostMount(t *testing.T, dir string) (opts string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		// id parent dev root mountpoint opts [tags] - fstype source superopts
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == dir {
			opts = f[5] + " " + f[len(f)-1] // the last mount on dir is the visible one
		}
	}
	return opts
}

// readOnly reports whether hostMount's options make the mount read-only.
func readOnly(opts string) bool {
	for _, o := range strings.FieldsFunc(opts, func(r rune) bool { return r == ' ' || r == ',' }) {
		if o == "ro" {
			return true
		}
	}
	return false
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

type sandboxRun struct {
	root, volume, sock string
	cmd                *exec.Cmd
	out                bytes.Buffer
	done               chan error
}

// startSandbox mounts the sandbox root and volume on the host and starts
// ginit in it; the cleanup stops whatever is left and unmounts both.
func startSandbox(t *testing.T, mountNS bool, ginitArgs ...string) *sandboxRun {
	t.Helper()
	requireRoot(t)
	bin := binDir(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("needs a static busybox for the services in the sandbox")
	}
	s := &sandboxRun{root: filepath.Join(t.TempDir(), "root"), done: make(chan error, 1)}
	s.volume = filepath.Join(s.root, "volume")
	s.sock = filepath.Join(s.root, "ginitctl")
	if err := os.Mkdir(s.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", s.root, "tmpfs", 0, "size=64m,mode=0755"); err != nil {
		t.Fatalf("mount the sandbox root: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(s.root, unix.MNT_DETACH) })
	for _, d := range []string{"volume", "proc", "sd"} {
		if err := os.Mkdir(filepath.Join(s.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount("tmpfs", s.volume, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount the volume: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(s.volume, unix.MNT_DETACH) })
	copyFile(t, filepath.Join(bin, "ginit"), filepath.Join(s.root, "ginit"), 0o755)
	copyFile(t, busybox, filepath.Join(s.root, "busybox"), 0o755)
	for name, body := range map[string]string{
		"boot": "type = internal\ndepends-on: svc\n",
		"svc":  "type = process\ncommand = /busybox sleep 100000\n",
		// Holds an orderly shutdown up until it is forced.
		"stubborn": "type = process\nstop-timeout = 60\ncommand = /busybox sh -c \"trap '' TERM; echo > /stubborn.ready; exec /busybox sleep 100000\"\n",
	} {
		if err := os.WriteFile(filepath.Join(s.root, "sd", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"-d", "/sd", "-p", "/ginitctl", "-l", "/ginit.log"}, ginitArgs...)
	args = append(args, "boot")
	s.cmd = exec.Command("/proc/self/exe")
	ns := "0"
	if mountNS {
		ns = "1"
	}
	s.cmd.Env = append(os.Environ(), sandboxStage+"=1", sandboxRoot+"="+s.root, sandboxMntNS+"="+ns,
		sandboxArgs+"="+strings.Join(args, "\x1f"))
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS, Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start the sandbox: %v", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(s.root, "ginit.log"))
			t.Logf("sandbox output:\n%s\nginit log:\n%s", s.out.String(), log)
		}
	})
	in := &instance{t: t, bin: bin, sock: s.sock, done: s.done}
	if !testenv.Listening(s.sock, 5*time.Second) {
		t.Fatalf("ginit did not open its control socket: %s", s.out.String())
	}
	in.waitState("svc", "started")
	return s
}

func (s *sandboxRun) ginitPid(t *testing.T) int {
	b, err := os.ReadFile(filepath.Join(s.root, "ginit.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	return pid
}

// A ginit that is PID 1 of a namespace must leave the host's mounts as
// they were, whatever ends it and whether or not it was told --container:
// it sees that its PID namespace is not the initial one.
func TestNamespacedShutdownLeavesHostMountsWritable(t *testing.T) {
	endings := []struct {
		name  string
		extra []string // ginit's options
		end   func(t *testing.T, s *sandboxRun, in *instance)
	}{
		{"poweroff", nil, func(t *testing.T, s *sandboxRun, in *instance) { in.ctl("shutdown", "poweroff") }},
		{"reboot", nil, func(t *testing.T, s *sandboxRun, in *instance) { in.ctl("shutdown", "reboot") }},
		{"halt", nil, func(t *testing.T, s *sandboxRun, in *instance) { in.ctl("shutdown", "halt") }},
		// As a system manager ctrl-alt-del reboots; the third, while a
		// service holds the orderly stop up, forces it.
		{"third ctrl-alt-del", []string{"-m"}, func(t *testing.T, s *sandboxRun, in *instance) {
			in.mustCtl("start", "stubborn")
			// Only once its shell ignores SIGTERM does it hold the stop up.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if _, err := os.Stat(filepath.Join(s.root, "stubborn.ready")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the stubborn service never got ready")
				}
			}
			pid := s.ginitPid(t)
			for i := range 3 {
				if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
					t.Fatalf("SIGINT %d: %v", i+1, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}},
	}
	for _, mountNS := range []bool{false, true} {
		for _, container := range []bool{false, true} {
			for _, e := range endings {
				name := fmt.Sprintf("pidns/container=%v/%s", container, e.name)
				if mountNS {
					name = fmt.Sprintf("pidns+mountns/container=%v/%s", container, e.name)
				}
				t.Run(name, func(t *testing.T) {
					extra := e.extra
					if container {
						extra = append(extra, "--container")
					}
					s := startSandbox(t, mountNS, extra...)
					in := &instance{t: t, bin: binDir(t), sock: s.sock}
					e.end(t, s, in)
					select {
					case <-s.done:
						s.done <- nil // for the cleanup
					case <-time.After(20 * time.Second):
						t.Fatalf("ginit did not end")
					}
					for _, dir := range []string{s.volume, s.root} {
						opts := hostMount(t, dir)
						if opts == "" {
							t.Errorf("%s is no longer mounted on the host", dir)
						} else if readOnly(opts) {
							t.Errorf("%s is %s on the host after the shutdown", dir, opts)
						}
					}
					if err := os.WriteFile(filepath.Join(s.volume, "after"), []byte("x"), 0o644); err != nil {
						t.Errorf("the host's volume is not writable: %v", err)
					}
					log, _ := os.ReadFile(filepath.Join(s.root, "ginit.log"))
					detected := strings.Contains(string(log), "container detected (PID namespace is not the initial one")
					if !container && !detected {
						t.Errorf("ginit without --container did not say it detected the namespace")
					}
					if container && detected {
						t.Errorf("with --container, ginit still ran the detection")
					}
					if e.extra != nil && !strings.Contains(string(log), "reboot now, without stopping services") {
						t.Errorf("the third SIGINT did not force the reboot")
					}
				})
			}
		}
	}
}
