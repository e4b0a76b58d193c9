package boot

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// console collects what the guest writes on ttyS0 and lets the test wait for
// patterns in it, from a moving cursor (so each expectation consumes output).
type console struct {
	conn net.Conn
	mu   sync.Mutex // guards buf, cur, done
	buf  bytes.Buffer
	cur  int
	done bool
	ch   chan struct{} // poked on every read
	log  *os.File
}

func dialConsole(ctx context.Context, path string, logf *os.File) (*console, error) {
	var conn net.Conn
	var err error
	for ctx.Err() == nil {
		if conn, err = net.Dial("unix", path); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if conn == nil {
		return nil, fmt.Errorf("serial socket %s: %w", path, err)
	}
	c := &console{conn: conn, ch: make(chan struct{}, 1), log: logf}
	go c.read()
	return c, nil
}

func (c *console) read() {
	b := make([]byte, 4096)
	for {
		n, err := c.conn.Read(b)
		c.mu.Lock()
		c.buf.Write(b[:n])
		if c.log != nil {
			c.log.Write(b[:n])
		}
		if err != nil {
			c.done = true
		}
		c.mu.Unlock()
		select {
		case c.ch <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// expect waits for re after the cursor and moves the cursor past it.
func (c *console) expect(t *testing.T, re string, d time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(d)
	for {
		c.mu.Lock()
		data := c.buf.Bytes()[c.cur:]
		if loc := rx.FindIndex(data); loc != nil {
			m := string(data[loc[0]:loc[1]])
			c.cur += loc[1]
			c.mu.Unlock()
			return m
		}
		done := c.done
		c.mu.Unlock()
		if done {
			t.Fatalf("console closed while waiting for %q", re)
		}
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %q on the console", d, re)
		}
	}
}

func (c *console) send(t *testing.T, s string) {
	t.Helper()
	// A short pause lets agetty/login switch terminal modes before input.
	time.Sleep(300 * time.Millisecond)
	if _, err := c.conn.Write([]byte(s)); err != nil {
		t.Fatalf("write to console: %v", err)
	}
}

func (c *console) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

func need(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("boot test needs %s (apt: qemu-system-x86 debootstrap e2fsprogs util-linux)", c)
		}
	}
}

func run(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// overlay writes the files to install into the image with debugfs -w: far
// faster than rebuilding the ext4 image.
func overlay(t *testing.T, ctx context.Context, img string, files map[string]string, modes map[string]string) {
	var cmds strings.Builder
	dirs := map[string]bool{}
	for dst, src := range files {
		for d := filepath.Dir(dst); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		fmt.Fprintf(&cmds, "rm %s\nwrite %s %s\nsif %s mode %s\n", dst, src, dst, dst, modes[dst])
	}
	var mk strings.Builder
	for d := range dirs {
		fmt.Fprintf(&mk, "mkdir %s\n", d)
	}
	// mkdir of a parent must come first; sort by depth.
	ds := strings.Split(strings.TrimSpace(mk.String()), "\n")
	sortByDepth(ds)
	script := filepath.Join(t.TempDir(), "debugfs.cmds")
	if err := os.WriteFile(script, []byte(strings.Join(ds, "\n")+"\n"+cmds.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "debugfs", "-w", "-f", script, img)
}

func sortByDepth(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && strings.Count(s[j], "/") < strings.Count(s[j-1], "/"); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// vm is one booted guest.
type vm struct {
	con   *console
	img   string
	work  string
	qdone chan error
	qout  *bytes.Buffer
}

// gate skips unless the boot test is enabled and possible, and returns the
// base image directory (built or cached by build-image.sh).
func gate(t *testing.T, ctx context.Context) (root, dir string) {
	t.Helper()
	if os.Getenv("GINIT_BOOT_TEST") != "1" {
		t.Skip("boot test runs only with GINIT_BOOT_TEST=1 (make boot-test)")
	}
	if os.Geteuid() != 0 {
		t.Skip("boot test needs root (debootstrap)")
	}
	need(t, "qemu-system-x86_64", "debootstrap", "debugfs", "e2fsck", "utmpdump")
	root = repoRoot(t)
	cache := os.Getenv("GINIT_BOOT_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache", "boot")
	}
	bctx, bcancel := context.WithTimeout(ctx, 30*time.Minute)
	defer bcancel()
	dir = strings.TrimSpace(lastLine(run(t, bctx, filepath.Join(root, "test/boot/build-image.sh"), cache)))
	return root, dir
}

// boot copies the base image, installs files (image path -> host path, with
// debugfs modes) and starts qemu; qemu is killed by pid at cleanup.
func boot(t *testing.T, ctx context.Context, dir string, files, modes map[string]string) *vm {
	t.Helper()
	v := &vm{work: t.TempDir(), qout: &bytes.Buffer{}, qdone: make(chan error, 1)}
	v.img = filepath.Join(v.work, "disk.img")
	run(t, ctx, "cp", "--sparse=always", filepath.Join(dir, "base.img"), v.img)
	overlay(t, ctx, v.img, files, modes)

	logf, err := os.Create(filepath.Join(v.work, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	sock := filepath.Join(v.work, "serial.sock")
	qctx, qcancel := context.WithTimeout(ctx, 10*time.Minute)
	t.Cleanup(qcancel)
	q := exec.CommandContext(qctx, "qemu-system-x86_64", qemuArgs(dir, v.img, sock, "")...)
	q.Stdout, q.Stderr = v.qout, v.qout
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { v.qdone <- q.Wait() }()
	t.Cleanup(func() {
		q.Process.Kill() // by pid; a no-op once it exited
		v.qdone <- <-v.qdone
	})
	if v.con, err = dialConsole(qctx, sock, logf); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s\nqemu:\n%s", tail(v.con.all(), 6000), v.qout.String())
		}
	})
	return v
}

// waitExit waits for the guest to power qemu off by itself.
func (v *vm) waitExit(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case err := <-v.qdone:
		v.qdone <- err
		if err != nil {
			t.Fatalf("qemu: %v\n%s", err, v.qout.String())
		}
	case <-time.After(d):
		t.Fatalf("the guest did not power off within %v", d)
	}
}

// fsck checks the image is clean after the guest ended.
func (v *vm) fsck(t *testing.T, ctx context.Context) {
	t.Helper()
	if out, err := exec.CommandContext(ctx, "e2fsck", "-fn", v.img).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn: %v\n%s", err, out)
	}
}

func TestBoot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	root, dir := gate(t, ctx)
	standin := os.Getenv("GINIT_BOOT_INIT") == "standin"

	bin := os.Getenv("GINIT_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin")
	}
	files := map[string]string{}
	modes := map[string]string{}
	add := func(dst, src, mode string) {
		if _, err := os.Stat(src); err != nil {
			t.Fatalf("missing %s (run make build): %v", src, err)
		}
		files[dst], modes[dst] = src, mode
	}
	if standin {
		add("/usr/sbin/init", filepath.Join(root, "test/boot/standin/init"), "0100755")
		add("/usr/sbin/ginitctl", filepath.Join(root, "test/boot/standin/ginitctl"), "0100755")
	} else {
		add("/usr/sbin/init", filepath.Join(bin, "ginit"), "0100755")
		add("/usr/sbin/ginit", filepath.Join(bin, "ginit"), "0100755")
		add("/usr/sbin/ginitctl", filepath.Join(bin, "ginitctl"), "0100755")
		if _, err := os.Stat(filepath.Join(bin, "sessiond")); err == nil {
			add("/usr/sbin/sessiond", filepath.Join(bin, "sessiond"), "0100755")
		}
		if _, err := os.Stat(filepath.Join(bin, "pam_sessiond.so")); err == nil {
			add("/usr/lib/x86_64-linux-gnu/security/pam_sessiond.so", filepath.Join(bin, "pam_sessiond.so"), "0100644")
		}
		units, _ := filepath.Glob(filepath.Join(root, "units", "*"))
		// Services kept beside their component (units/sessiond/...).
		more, _ := filepath.Glob(filepath.Join(root, "units", "sessiond", "*"))
		units = append(units, more...)
		for _, u := range units {
			if st, err := os.Stat(u); err == nil && st.Mode().IsRegular() {
				add("/etc/ginit.d/"+filepath.Base(u), u, "0100644")
			}
		}
		// The user manager's units (user@ is with the system ones): the
		// admin's user directory, which ginit --user searches.
		user, _ := filepath.Glob(filepath.Join(root, "units", "user", "*"))
		for _, u := range user {
			if st, err := os.Stat(u); err == nil && st.Mode().IsRegular() {
				add("/etc/ginit.d/user/"+filepath.Base(u), u, "0100644")
			}
		}
		pol, _ := filepath.Glob(filepath.Join(root, "units", "dbus-policy", "*.conf"))
		for _, p := range pol {
			add("/etc/dbus-1/system.d/"+filepath.Base(p), p, "0100644")
		}
	}
	v := boot(t, ctx, dir, files, modes)
	con := v.con

	const slow = 6 * time.Minute // TCG is slow; KVM takes seconds
	con.expect(t, `ginit-test login: `, slow)
	con.send(t, "tester\n")
	con.expect(t, `Password: `, time.Minute)
	con.send(t, "tester-pw\n")
	con.expect(t, `tester@ginit-test:~\$ `, 2*time.Minute)
	con.send(t, "echo LOGGED-IN-$((6*7)); tty\n")
	con.expect(t, `LOGGED-IN-42`, time.Minute)
	if !standin {
		// The login's first commands find the session bus of the user's
		// manager (user@1000, started by sessiond through ginit before
		// CreateSession returned): its address from PAM, busctl and
		// dbus-send over it.
		con.send(t, "echo \"BUS=[$DBUS_SESSION_BUS_ADDRESS]\"; busctl --user --no-pager list | grep -c org.freedesktop.DBus && dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames >/dev/null && echo SESSION-BUS-OK-$((6*7))\n")
		con.expect(t, `BUS=\[unix:path=/run/user/\d+/bus\]`, time.Minute)
		con.expect(t, `SESSION-BUS-OK-42`, time.Minute)
	}
	con.send(t, "exit\n")
	con.expect(t, `ginit-test login: `, 2*time.Minute)
	con.send(t, "root\n")
	con.expect(t, `Password: `, time.Minute)
	con.send(t, "root\n")
	con.expect(t, `root@ginit-test:~# `, 2*time.Minute)
	if standin {
		con.send(t, "ginitctl shutdown poweroff\n")
	} else {
		// Power off the way a desktop does: logind's PowerOff over the
		// system bus; sessiond asks ginit on its control socket.
		con.send(t, "dbus-send --system --print-reply --dest=org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager.PowerOff boolean:true\n")
		con.expect(t, `method return`, time.Minute)
	}
	v.waitExit(t, 3*time.Minute)
	if !standin && !strings.Contains(con.all(), "shutdown (poweroff): stopping all services") {
		t.Errorf("ginit never started a poweroff")
	}

	// The disk must be clean: every filesystem was read-only or unmounted.
	v.fsck(t, ctx)
	wtmp := filepath.Join(v.work, "wtmp")
	run(t, ctx, "debugfs", "-R", "dump /var/log/wtmp "+wtmp, v.img)
	dump := run(t, ctx, "utmpdump", wtmp)
	t.Logf("wtmp:\n%s", dump)
	if standin {
		return // the stand-in writes no boot/shutdown records
	}
	checkOrder(t, con.all())
	for _, want := range []struct{ what, re string }{
		{"boot record", `^\[2\] .*\[reboot\s*\]`},
		{"login of tester", `^\[7\] .*\[tester\s*\].*\[ttyS0`},
		{"logout on ttyS0", `^\[8\] .*\[ttyS0`},
		{"shutdown record", `\[shutdown\s*\]`},
	} {
		if !regexp.MustCompile(`(?m)` + want.re).MatchString(dump) {
			t.Errorf("wtmp has no %s (%s)", want.what, want.re)
		}
	}
	if n := len(regexp.MustCompile(`\[shutdown\s*\]`).FindAllString(dump, -1)); n != 1 {
		t.Errorf("wtmp has %d shutdown records, want 1", n)
	}
}

// TestPid1Real runs package pid1 for real as a guest's PID 1 (the
// pid1check program): early mounts, cad, then FinalShutdown with a process
// that ignores SIGTERM; the guest must power off and leave a clean disk
// holding the file written before the shutdown.
func TestPid1Real(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	root, dir := gate(t, ctx)
	exe := filepath.Join(t.TempDir(), "pid1check")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", exe, "./test/boot/pid1check")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build pid1check: %v\n%s", err, out)
	}
	v := boot(t, ctx, dir, map[string]string{"/usr/sbin/init": exe}, map[string]string{"/usr/sbin/init": "0100755"})
	m := v.con.expect(t, `PID1CHECK mounts [^\r\n]*\r?\n`, 6*time.Minute)
	for _, want := range []string{"err=<nil>", "proc=proc", "sys=sysfs", "dev=devtmpfs", "pts=devpts", "shm=tmpfs", "run=tmpfs", "cgroup=cgroup2"} {
		if !strings.Contains(m, want) {
			t.Errorf("mounts line %q lacks %s", m, want)
		}
	}
	v.con.expect(t, `PID1CHECK cad err=<nil>`, time.Minute)
	v.con.expect(t, `PID1CHECK sigint=reboot`, time.Minute)
	v.con.expect(t, `sending SIGKILL`, 2*time.Minute) // the stubborn process outlived SIGTERM
	v.con.expect(t, `reboot\(2\): poweroff`, 2*time.Minute)
	v.waitExit(t, 2*time.Minute)
	v.fsck(t, ctx)
	got := run(t, ctx, "debugfs", "-R", "cat /var/tmp/pid1check", v.img)
	if !strings.Contains(got, "written before shutdown") {
		t.Errorf("file written before the shutdown is not on disk: %q", got)
	}
}

// accelerator picks kvm when /dev/kvm opens and the CPU shows hardware
// virtualization (vmx/svm): a /dev/kvm without them is a nested set-up
// where guests were seen to hang in the firmware. GINIT_BOOT_ACCEL overrides.
func accelerator() string {
	if a := os.Getenv("GINIT_BOOT_ACCEL"); a != "" {
		return a
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg"
	}
	f.Close()
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || !regexp.MustCompile(`(?m)^flags\s*:.*\b(vmx|svm)\b`).Match(info) {
		return "tcg"
	}
	return "kvm"
}

// qemuArgs boots the image's kernel and initramfs on img with the serial
// console on the unix socket sock. KVM when /dev/kvm opens, TCG otherwise.
func qemuArgs(dir, img, sock, extra string) []string {
	accel := []string{"-accel", accelerator()}
	cmdline := "console=ttyS0 root=/dev/vda ro init=/sbin/init panic=-1 " + extra
	args := append(accel,
		"-m", "1024", "-smp", "2", "-nographic", "-no-reboot",
		"-monitor", "none",
		"-serial", "unix:"+sock+",server=on,wait=on",
		"-kernel", filepath.Join(dir, "vmlinuz"),
		"-initrd", filepath.Join(dir, "initrd.img"),
		"-append", strings.TrimSpace(cmdline),
		"-drive", "file="+img+",format=raw,if=virtio",
		"-nic", "none",
	)
	return args
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// bootOrder lists pairs (a, b): a must be reported started before b.
var bootOrder = [][2]string{
	{"early-fs", "rootfs-rw"},
	{"rootfs-rw", "run-setup"},
	{"run-setup", "dbus-pre"},
	{"dbus-pre", "dbus"},
	{"dbus", "sessiond"},
	{"rootfs-rw", "getty-ttyS0"},
	{"run-setup", "boot"},
	{"rootfs-rw", "boot"},
}

// checkOrder reads ginit's "service 'NAME' started" lines from the console
// and checks the dependency order of the units in units/.
func checkOrder(t *testing.T, log string) {
	t.Helper()
	pos := map[string]int{}
	for i, m := range regexp.MustCompile(`service '([^']+)' started`).FindAllStringSubmatch(log, -1) {
		if _, seen := pos[m[1]]; !seen {
			pos[m[1]] = i
		}
	}
	if len(pos) == 0 {
		t.Errorf("no \"service '...' started\" lines on the console: cannot check the start order")
		return
	}
	for _, p := range bootOrder {
		a, aok := pos[p[0]]
		b, bok := pos[p[1]]
		switch {
		case !aok || !bok:
			t.Errorf("console does not report both %s and %s started", p[0], p[1])
		case a > b:
			t.Errorf("%s started before %s, which it depends on", p[1], p[0])
		}
	}
}
