package boot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

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

// vm is one booted guest.
type vm struct {
	con   *Console
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
	dir = strings.TrimSpace(LastLine(Run(t, bctx, filepath.Join(root, "test/boot/build-image.sh"), cache)))
	return root, dir
}

// boot copies the base image, installs files (image path -> host path, with
// debugfs modes) and starts qemu; qemu is killed by pid at cleanup.
func boot(t *testing.T, ctx context.Context, dir string, files, modes map[string]string) *vm {
	t.Helper()
	return bootWith(t, ctx, dir, files, modes, nil, nil)
}

// bootWith is boot with symbolic links too (image path -> target) and
// more disks (raw images: /dev/vdb, …).
func bootWith(t *testing.T, ctx context.Context, dir string, files, modes, links map[string]string, disks []string) *vm {
	t.Helper()
	v := &vm{work: t.TempDir(), qout: &bytes.Buffer{}, qdone: make(chan error, 1)}
	v.img = filepath.Join(v.work, "disk.img")
	Run(t, ctx, "cp", "--sparse=always", filepath.Join(dir, "base.img"), v.img)
	OverlayLinks(t, ctx, v.img, files, modes, links)

	logf, err := os.Create(filepath.Join(v.work, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	sock := filepath.Join(v.work, "serial.sock")
	qctx, qcancel := context.WithTimeout(ctx, 10*time.Minute)
	t.Cleanup(qcancel)
	args := qemuArgs(dir, v.img, sock, "")
	for _, d := range disks {
		args = append(args, "-drive", "file="+d+",format=raw,if=virtio")
	}
	q := exec.CommandContext(qctx, "qemu-system-x86_64", args...)
	q.Stdout, q.Stderr = v.qout, v.qout
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { v.qdone <- q.Wait() }()
	t.Cleanup(func() {
		q.Process.Kill() // by pid; a no-op once it exited
		v.qdone <- <-v.qdone
	})
	if v.con, err = DialConsole(qctx, sock, logf); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s\nqemu:\n%s", Tail(v.con.All(), 6000), v.qout.String())
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
	links := map[string]string{}
	add := func(dst, src, mode string) {
		if _, err := os.Stat(src); err != nil {
			t.Fatalf("missing %s (run make build): %v", src, err)
		}
		files[dst], modes[dst] = src, mode
	}
	install := os.Getenv("GINIT_BOOT_INSTALL")
	switch {
	case standin:
		add("/usr/sbin/init", filepath.Join(root, "test/boot/standin/init"), "0100755")
		add("/usr/sbin/ginitctl", filepath.Join(root, "test/boot/standin/ginitctl"), "0100755")
	case install == "copy":
		// The hand-made list of earlier releases.
		add("/usr/sbin/init", filepath.Join(bin, "ginit"), "0100755")
		add("/usr/sbin/ginit", filepath.Join(bin, "ginit"), "0100755")
		add("/usr/sbin/ginitctl", filepath.Join(bin, "ginitctl"), "0100755")
		add("/usr/sbin/ginit-automount", filepath.Join(bin, "ginit-automount"), "0100755")
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
	default:
		// What users install: `make install DESTDIR=` (default), or the
		// Debian package `make deb` built (GINIT_BOOT_INSTALL=deb),
		// unpacked. ginit becomes init by a link, as init=/usr/sbin/ginit
		// on the kernel command line would make it.
		tree := installedTree(t, ctx, root, bin, install)
		walkTree(t, tree, files, modes, links)
		links["/usr/sbin/init"] = "ginit"
	}
	extra := ""
	if !standin {
		// The image's fstab plus a lazily mounted tmpfs and a second disk
		// with a pass number (issue 16): units/fsck checks it (fsck -A),
		// rootfs-rw mounts it, and its mount service, ordered after
		// rootfs-rw, finds it mounted and checks it no second time.
		extra = filepath.Join(t.TempDir(), "extra.img")
		Run(t, ctx, "mkfs.ext4", "-q", "-F", "-L", "ginit-extra", extra, "8M")
		fstab := filepath.Join(t.TempDir(), "fstab")
		if err := os.WriteFile(fstab, []byte("/dev/vda / ext4 defaults 0 1\n"+
			"LABEL=ginit-extra /srv/extra ext4 defaults 0 2\n"+
			"tmpfs /srv/lazy tmpfs noauto,x-systemd.automount,x-systemd.idle-timeout=3,size=1m 0 0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A file under the mount point makes the directory (mount -a does not).
		add("/srv/extra/README", fstab, "0100644")
		add("/etc/fstab", fstab, "0100644")
		// Two Debian-style init.d scripts with no unit, enabled as
		// update-rc.d would (S links in rc2.d): demo-web needs demo-db by
		// its Provides name, both need facilities. Each records which of
		// the services its header orders it after were already up when
		// ginit ran it.
		initd := t.TempDir()
		for name, hdr := range map[string]string{
			"demo-db":  "# Provides: demodb\n# Required-Start: $local_fs $remote_fs\n",
			"demo-web": "# Provides: demo-web\n# Required-Start: $network $syslog demodb\n",
		} {
			script := "#!/bin/sh\n### BEGIN INIT INFO\n" + hdr + "# Required-Stop:\n# Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n### END INIT INFO\n" +
				"case \"$1\" in\nstart) printf '" + name + ":' >>/run/initd-order\n" +
				"\tfor s in rootfs-rw fstab networking demo-db; do ginitctl is-started $s >/dev/null && printf ' %s' $s >>/run/initd-order; done\n" +
				"\techo >>/run/initd-order ;;\nstop) ;;\nesac\n"
			p := filepath.Join(initd, name)
			if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			add("/etc/init.d/"+name, p, "0100755")
			links["/etc/rc2.d/S01"+name] = "../init.d/" + name
		}
	}
	var disks []string
	if !standin {
		disks = []string{extra}
	}
	v := bootWith(t, ctx, dir, files, modes, links, disks)
	con := v.con

	const slow = 6 * time.Minute // TCG is slow; KVM takes seconds
	con.Expect(t, `ginit-test login: `, slow)
	con.Send(t, "tester\n")
	con.Expect(t, `Password: `, time.Minute)
	con.Send(t, "tester-pw\n")
	con.Expect(t, `tester@ginit-test:~\$ `, 2*time.Minute)
	con.Send(t, "echo LOGGED-IN-$((6*7)); tty\n")
	con.Expect(t, `LOGGED-IN-42`, time.Minute)
	if !standin {
		// The login's first commands find the session bus of the user's
		// manager (user@1000, started by sessiond through ginit before
		// CreateSession returned): its address from PAM, busctl and
		// dbus-send over it.
		con.Send(t, "echo \"BUS=[$DBUS_SESSION_BUS_ADDRESS]\"; busctl --user --no-pager list | grep -c org.freedesktop.DBus && dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames >/dev/null && echo SESSION-BUS-OK-$((6*7))\n")
		con.Expect(t, `BUS=\[unix:path=/run/user/\d+/bus\]`, time.Minute)
		con.Expect(t, `SESSION-BUS-OK-42`, time.Minute)
	}
	con.Send(t, "exit\n")
	con.Expect(t, `ginit-test login: `, 2*time.Minute)
	con.Send(t, "root\n")
	con.Expect(t, `Password: `, time.Minute)
	con.Send(t, "root\n")
	con.Expect(t, `root@ginit-test:~# `, 2*time.Minute)
	if !standin && os.Getenv("GINIT_BOOT_INSTALL") != "copy" {
		// The shipped boot services ran and none failed (each is only
		// waited for by boot, so a failure would not stop the login), and
		// the random seed was saved.
		con.Send(t, "echo \"BOOTSVC:$(for s in hwclock fsck swap networking random-seed tmp-cleanup; do ginitctl is-started $s >/dev/null || printf '%s,' $s; done):$(test -s /var/lib/ginit/random-seed && echo seed):END\"\n")
		if got := con.Expect(t, `BOOTSVC:[a-z,-]*:(seed)?:END`, time.Minute); got != "BOOTSVC::seed:END" {
			t.Errorf("boot services not started (before the colon) or no seed: %s", got)
		}
	}
	if !standin {
		// One fsck of the second disk, by units/fsck; mounted at boot.
		if n := strings.Count(con.All(), "ginit-extra: clean"); n != 1 {
			t.Errorf("the second disk was checked %d times at boot, want 1 (by units/fsck)", n)
		}
		con.Send(t, "ginitctl is-started srv-extra.mount >/dev/null && grep -c ' /srv/extra ext4' /proc/mounts; echo EXTRA-$((6*7))\n")
		con.Expect(t, `1\s+EXTRA-42`, time.Minute)
		// fstab with x-systemd.automount: the automount daemon holds the
		// mount point (autofs only, nothing mounted), the first ls mounts
		// the tmpfs, and 3 s idle unmount it.
		con.Send(t, "ginitctl start fstab && sleep 1; grep -c ' /srv/lazy tmpfs' /proc/mounts; grep -c ' /srv/lazy autofs' /proc/mounts; echo LAZY-BEFORE-$((6*7))\n")
		con.Expect(t, `0\s+1\s+LAZY-BEFORE-42`, time.Minute)
		con.Send(t, "ls -a /srv/lazy >/dev/null && grep -c ' /srv/lazy tmpfs' /proc/mounts; echo LAZY-MOUNTED-$((6*7))\n")
		con.Expect(t, `1\s+LAZY-MOUNTED-42`, time.Minute)
		con.Send(t, "sleep 9; grep -c ' /srv/lazy tmpfs' /proc/mounts; echo LAZY-EXPIRED-$((6*7))\n")
		con.Expect(t, `0\s+LAZY-EXPIRED-42`, time.Minute)

		// ginit restarts a killed automount daemon, and the new one takes
		// over the autofs mount (no second autofs over it): the tmpfs the
		// dead one mounted (kept busy by a shell in it meanwhile) stays,
		// the new one expires it once idle and mounts again on the next ls.
		con.Send(t, "(cd /srv/lazy && sleep 5) & sleep 1; old=$(pidof ginit-automount); kill -9 $old; sleep 2; new=$(pidof ginit-automount); [ -n \"$new\" ] && [ \"$new\" != \"$old\" ] && echo RESTARTED; grep -c ' /srv/lazy autofs' /proc/mounts; grep -c ' /srv/lazy tmpfs' /proc/mounts; echo LAZY-TAKEOVER-$((6*7))\n")
		con.Expect(t, `RESTARTED\s+1\s+1\s+LAZY-TAKEOVER-42`, time.Minute)
		con.Send(t, "wait; sleep 9; grep -c ' /srv/lazy tmpfs' /proc/mounts; ls -a /srv/lazy >/dev/null && grep -c ' /srv/lazy tmpfs' /proc/mounts; sleep 9; grep -c ' /srv/lazy tmpfs' /proc/mounts; echo LAZY-AGAIN-$((6*7))\n")
		con.Expect(t, `0\s+1\s+0\s+LAZY-AGAIN-42`, time.Minute)
		// The init.d scripts ran at boot, each after what its LSB
		// header names (ginit's order), demo-web after demo-db.
		con.Send(t, "ginitctl is-started initscripts && cat /run/initd-order; echo INITD-$((6*7))\n")
		got := con.Expect(t, `(?s)started.*INITD-42`, time.Minute)
		t.Logf("init.d order at boot:\n%s", got)
		for script, after := range map[string][]string{
			"demo-db":  {"rootfs-rw", "fstab"},
			"demo-web": {"rootfs-rw", "fstab", "networking", "demo-db"},
		} {
			m := regexp.MustCompile(`(?m)^` + script + `:([a-z -]*)`).FindStringSubmatch(got)
			if m == nil {
				t.Errorf("init.d: %s did not run at boot", script)
				continue
			}
			for _, a := range after {
				if !slices.Contains(strings.Fields(m[1]), a) {
					t.Errorf("init.d: %s ran before %s was up (up: %s)", script, a, m[1])
				}
			}
		}
	}
	if standin {
		con.Send(t, "ginitctl shutdown poweroff\n")
	} else {
		// Power off the way a desktop does: logind's PowerOff over the
		// system bus; sessiond asks ginit on its control socket.
		con.Send(t, "dbus-send --system --print-reply --dest=org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager.PowerOff boolean:true\n")
		con.Expect(t, `method return`, time.Minute)
	}
	v.waitExit(t, 3*time.Minute)
	if !standin && !strings.Contains(con.All(), "shutdown (poweroff): stopping all services") {
		t.Errorf("ginit never started a poweroff")
	}

	// The disk must be clean: every filesystem was read-only or unmounted.
	v.fsck(t, ctx)
	wtmp := filepath.Join(v.work, "wtmp")
	Run(t, ctx, "debugfs", "-R", "dump /var/log/wtmp "+wtmp, v.img)
	dump := Run(t, ctx, "utmpdump", wtmp)
	t.Logf("wtmp:\n%s", dump)
	if standin {
		return // the stand-in writes no boot/shutdown records
	}
	checkOrder(t, con.All())
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
	m := v.con.Expect(t, `PID1CHECK mounts [^\r\n]*\r?\n`, 6*time.Minute)
	for _, want := range []string{"err=<nil>", "proc=proc", "sys=sysfs", "dev=devtmpfs", "pts=devpts", "shm=tmpfs", "run=tmpfs", "cgroup=cgroup2"} {
		if !strings.Contains(m, want) {
			t.Errorf("mounts line %q lacks %s", m, want)
		}
	}
	v.con.Expect(t, `PID1CHECK cad err=<nil>`, time.Minute)
	v.con.Expect(t, `PID1CHECK sigint=reboot`, time.Minute)
	v.con.Expect(t, `sending SIGKILL`, 2*time.Minute) // the stubborn process outlived SIGTERM
	v.con.Expect(t, `reboot\(2\): poweroff`, 2*time.Minute)
	v.waitExit(t, 2*time.Minute)
	v.fsck(t, ctx)
	got := Run(t, ctx, "debugfs", "-R", "cat /var/tmp/pid1check", v.img)
	if !strings.Contains(got, "written before shutdown") {
		t.Errorf("file written before the shutdown is not on disk: %q", got)
	}
}

// qemuArgs boots the image's kernel and initramfs on img with the serial
// console on the unix socket sock. KVM when /dev/kvm opens, TCG otherwise.
func qemuArgs(dir, img, sock, extra string) []string {
	accel := []string{"-accel", Accelerator()}
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

// installedTree returns a directory holding what a user installs: `make
// install DESTDIR=` of this tree with the programs built into bin (how
// "make" or ""), or the package `make deb` left in bin, unpacked (how
// "deb"; the maintainer scripts do not run: pam-auth-update's profile is
// not needed by the image, whose PAM stack has pam_systemd).
func installedTree(t *testing.T, ctx context.Context, root, bin, how string) string {
	t.Helper()
	tree := filepath.Join(t.TempDir(), "tree")
	switch how {
	case "", "make":
		Run(t, ctx, "make", "-C", root, "--no-print-directory", "install", "DESTDIR="+tree, "BIN="+bin)
	case "deb":
		debs, _ := filepath.Glob(filepath.Join(bin, "ginit_*.deb"))
		if len(debs) != 1 {
			t.Fatalf("GINIT_BOOT_INSTALL=deb: want one ginit_*.deb in %s (make deb), have %v", bin, debs)
		}
		Run(t, ctx, "dpkg-deb", "-x", debs[0], tree)
	default:
		t.Fatalf("GINIT_BOOT_INSTALL=%q: want make, deb or copy", how)
	}
	return tree
}

// walkTree adds every file and symbolic link below tree to the overlay,
// at its path in the image, with its mode.
func walkTree(t *testing.T, tree string, files, modes, links map[string]string) {
	t.Helper()
	err := filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dst := "/" + strings.TrimPrefix(p, tree+"/")
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			links[dst] = target
		case info.Mode().IsRegular():
			files[dst], modes[dst] = p, fmt.Sprintf("0100%o", info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("nothing installed in %s", tree)
	}
}
