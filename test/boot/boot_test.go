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

func TestBoot(t *testing.T) {
	if os.Getenv("GINIT_BOOT_TEST") != "1" {
		t.Skip("boot test runs only with GINIT_BOOT_TEST=1 (make boot-test)")
	}
	if os.Geteuid() != 0 {
		t.Skip("boot test needs root (debootstrap)")
	}
	need(t, "qemu-system-x86_64", "debootstrap", "debugfs", "e2fsck", "utmpdump")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	root := repoRoot(t)
	standin := os.Getenv("GINIT_BOOT_INIT") == "standin"

	cache := os.Getenv("GINIT_BOOT_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache", "boot")
	}
	bctx, bcancel := context.WithTimeout(ctx, 30*time.Minute)
	dir := strings.TrimSpace(lastLine(run(t, bctx, filepath.Join(root, "test/boot/build-image.sh"), cache)))
	bcancel()

	work := t.TempDir()
	img := filepath.Join(work, "disk.img")
	run(t, ctx, "cp", "--sparse=always", filepath.Join(dir, "base.img"), img)

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
		for _, u := range units {
			if st, err := os.Stat(u); err == nil && st.Mode().IsRegular() {
				add("/etc/ginit.d/"+filepath.Base(u), u, "0100644")
			}
		}
		pol, _ := filepath.Glob(filepath.Join(root, "units", "dbus-policy", "*.conf"))
		for _, p := range pol {
			add("/etc/dbus-1/system.d/"+filepath.Base(p), p, "0100644")
		}
	}
	overlay(t, ctx, img, files, modes)

	logf, err := os.Create(filepath.Join(work, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	sock := filepath.Join(work, "serial.sock")
	args := qemuArgs(dir, img, sock, "")
	qctx, qcancel := context.WithTimeout(ctx, 10*time.Minute)
	defer qcancel()
	q := exec.CommandContext(qctx, "qemu-system-x86_64", args...)
	var qout bytes.Buffer
	q.Stdout, q.Stderr = &qout, &qout
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	qdone := make(chan error, 1)
	go func() { qdone <- q.Wait() }()
	t.Cleanup(func() {
		q.Process.Kill() // by pid; a no-op once it exited
		<-qdone
	})
	con, err := dialConsole(qctx, sock, logf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s\nqemu:\n%s", tail(con.all(), 6000), qout.String())
		}
	}()

	const slow = 6 * time.Minute // TCG is slow; KVM takes seconds
	con.expect(t, `ginit-test login: `, slow)
	con.send(t, "tester\n")
	con.expect(t, `Password: `, time.Minute)
	con.send(t, "tester-pw\n")
	con.expect(t, `tester@ginit-test:~\$ `, 2*time.Minute)
	con.send(t, "echo LOGGED-IN-$((6*7)); tty\n")
	con.expect(t, `LOGGED-IN-42`, time.Minute)
	con.send(t, "exit\n")
	con.expect(t, `ginit-test login: `, 2*time.Minute)
	con.send(t, "root\n")
	con.expect(t, `Password: `, time.Minute)
	con.send(t, "root\n")
	con.expect(t, `root@ginit-test:~# `, 2*time.Minute)
	con.send(t, "ginitctl shutdown poweroff\n")
	select {
	case err := <-qdone:
		qdone <- err
		if err != nil {
			t.Fatalf("qemu: %v\n%s", err, qout.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the guest did not power off within 3 minutes")
	}

	// The disk must be clean: every filesystem was read-only or unmounted.
	if out, err := exec.CommandContext(ctx, "e2fsck", "-fn", img).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn: %v\n%s", err, out)
	}
	wtmp := filepath.Join(work, "wtmp")
	run(t, ctx, "debugfs", "-R", "dump /var/log/wtmp "+wtmp, img)
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
