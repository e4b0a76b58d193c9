package desktop

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ginit/test/boot"
)

// Colours the test looks for on the screen: the greeters' backgrounds
// (units/greetd-config/ginit-foot.ini, guest/lightdm-gtk-greeter.conf) and
// the session's (guest/sway-config, guest/xsession).
var (
	greeterBlue   = color.RGBA{0x1d, 0x35, 0x57, 0xff}
	sessionOrange = color.RGBA{0xe0, 0x70, 0x00, 0xff}
)

// Timeouts sized for TCG on a loaded 2-core host.
const (
	bootLimit   = 8 * time.Minute // kernel start to the greeter
	screenLimit = 4 * time.Minute // a login or a VT switch to its picture
	shellLimit  = 2 * time.Minute // one command on the serial root shell
)

// guest is one booted desktop VM.
type guest struct {
	con       *boot.Console
	qmp       *QMP
	img       string
	work      string
	artifacts string
	qdone     chan error
	qout      *bytes.Buffer
	n         int // serial shell commands sent, for their end markers
	start     time.Time
	shell     bool // root is logged in on the serial console
	diagnosed bool
}

func repoRoot(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

// bootDesktop builds or reuses the desktop image, installs the project and
// the test's guest files into a copy, and boots it with ginit starting
// the boot target named (desktop or desktop-lightdm); target "systemd"
// boots the same image with Debian's systemd as init and greetd with the
// same graphical greeter as its display manager (for the benchmark).
func bootDesktop(t testing.TB, ctx context.Context, target string) *guest {
	t.Helper()
	if os.Getenv("GINIT_DESKTOP_TEST") != "1" {
		t.Skip("desktop test runs only with GINIT_DESKTOP_TEST=1 (make desktop-test)")
	}
	if os.Geteuid() != 0 {
		t.Skip("desktop test needs root (debootstrap, apt-get in a chroot)")
	}
	for _, c := range []string{"qemu-system-x86_64", "debootstrap", "debugfs", "e2fsck", "resize2fs", "utmpdump", "unshare", "losetup"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("desktop test needs %s (apt: qemu-system-x86 debootstrap e2fsprogs util-linux)", c)
		}
	}
	root := repoRoot(t)
	cache := os.Getenv("GINIT_BOOT_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache", "boot")
	}
	bctx, bcancel := context.WithTimeout(ctx, 30*time.Minute)
	defer bcancel()
	dir := strings.TrimSpace(boot.LastLine(boot.Run(t, bctx, filepath.Join(root, "test/desktop/build-image.sh"), cache)))

	g := &guest{work: t.TempDir(), qout: &bytes.Buffer{}, qdone: make(chan error, 1)}
	g.artifacts = os.Getenv("GINIT_DESKTOP_ARTIFACTS")
	if g.artifacts == "" {
		g.artifacts = filepath.Join(root, ".cache", "desktop-artifacts")
	}
	g.artifacts = filepath.Join(g.artifacts, t.Name())
	if err := os.RemoveAll(g.artifacts); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(g.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots and logs: %s", g.artifacts)

	g.img = filepath.Join(g.work, "disk.img")
	boot.Run(t, ctx, "cp", "--sparse=always", filepath.Join(dir, "desktop.img"), g.img)
	files, modes := projectFiles(t, root)
	boot.Overlay(t, ctx, g.img, files, modes)
	initArgs := "init=/sbin/init panic=-1 -- --service " + target
	if target == "systemd" {
		systemdGreetd(t, ctx, g)
		initArgs = "init=/lib/systemd/systemd panic=-1"
	}

	logf, err := os.Create(filepath.Join(g.artifacts, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	serial := filepath.Join(g.work, "serial.sock")
	qmpSock := filepath.Join(g.work, "qmp.sock")
	qctx, qcancel := context.WithTimeout(ctx, 25*time.Minute)
	t.Cleanup(qcancel)
	cmdline := "console=ttyS0 root=/dev/vda ro " + initArgs
	q := exec.CommandContext(qctx, "qemu-system-x86_64",
		"-accel", boot.Accelerator(), "-m", "2048", "-smp", "2", "-no-reboot",
		// wlroots 0.15 cannot use bochs-drm (-vga std: "PRIME import not
		// supported"); virtio-gpu works, 2D only.
		"-display", "none", "-vga", "none", "-device", "virtio-vga",
		"-serial", "unix:"+serial+",server=on,wait=on",
		"-qmp", "unix:"+qmpSock+",server=on,wait=off",
		"-kernel", filepath.Join(dir, "vmlinuz"), "-initrd", filepath.Join(dir, "initrd.img"),
		"-append", cmdline,
		"-drive", "file="+g.img+",format=raw,if=virtio",
		"-nic", "none")
	q.Stdout, q.Stderr = g.qout, g.qout
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.qdone <- q.Wait() }()
	t.Cleanup(func() {
		q.Process.Kill() // by pid; a no-op once it exited
		g.qdone <- <-g.qdone
	})
	if g.con, err = boot.DialConsole(qctx, serial, logf); err != nil {
		t.Fatal(err)
	}
	if g.qmp, err = DialQMP(qctx, qmpSock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.qmp.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s\nqemu:\n%s", boot.Tail(g.con.All(), 6000), g.qout.String())
		}
	})
	// SeaBIOS and the kernel's first line take long under TCG on a busy host.
	g.con.Expect(t, `Linux version`, 4*time.Minute)
	g.start = time.Now()
	return g
}

// systemdGreetd makes greetd with ginit-graphical.toml systemd's display
// manager in g's image (debconf picked one of greetd and lightdm).
func systemdGreetd(t testing.TB, ctx context.Context, g *guest) {
	dropin := filepath.Join(g.work, "greetd-dropin.conf")
	if err := os.WriteFile(dropin, []byte("[Service]\nExecStart=\nExecStart=/usr/sbin/greetd --config /etc/greetd/ginit-graphical.toml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(g.work, "systemd.cmds")
	cmds := "rm /etc/systemd/system/display-manager.service\n" +
		"symlink /etc/systemd/system/display-manager.service /lib/systemd/system/greetd.service\n" +
		"mkdir /etc/systemd/system/greetd.service.d\n" +
		"write " + dropin + " /etc/systemd/system/greetd.service.d/ginit.conf\n"
	if err := os.WriteFile(script, []byte(cmds), 0o644); err != nil {
		t.Fatal(err)
	}
	boot.Run(t, ctx, "debugfs", "-w", "-f", script, g.img)
}

// projectFiles maps image paths to host files (with debugfs modes): the
// built binaries, units/ and the greetd configuration, and the guest/
// files of this test.
func projectFiles(t testing.TB, root string) (files, modes map[string]string) {
	bin := os.Getenv("GINIT_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin")
	}
	files, modes = map[string]string{}, map[string]string{}
	add := func(dst, src, mode string) {
		if _, err := os.Stat(src); err != nil {
			t.Fatalf("missing %s (run make build): %v", src, err)
		}
		files[dst], modes[dst] = src, mode
	}
	add("/usr/sbin/init", filepath.Join(bin, "ginit"), "0100755")
	add("/usr/sbin/ginit", filepath.Join(bin, "ginit"), "0100755")
	add("/usr/sbin/ginitctl", filepath.Join(bin, "ginitctl"), "0100755")
	add("/usr/sbin/sessiond", filepath.Join(bin, "sessiond"), "0100755")
	units, _ := filepath.Glob(filepath.Join(root, "units", "*"))
	more, _ := filepath.Glob(filepath.Join(root, "units", "sessiond", "*"))
	for _, u := range append(units, more...) {
		if st, err := os.Stat(u); err == nil && st.Mode().IsRegular() {
			add("/etc/ginit.d/"+filepath.Base(u), u, "0100644")
		}
	}
	// The user manager's units (sessiond starts user@UID through ginit).
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
	greetd, _ := filepath.Glob(filepath.Join(root, "units", "greetd-config", "*"))
	for _, c := range greetd {
		add("/etc/greetd/"+filepath.Base(c), c, "0100644")
	}
	guest := filepath.Join(root, "test", "desktop", "guest")
	for dst, src := range map[string]string{
		"/usr/local/bin/session-check":                   "session-check",
		"/usr/local/bin/ginit-test-xsession":             "xsession",
		"/etc/sway/config":                               "sway-config",
		"/usr/share/xsessions/ginit-test.desktop":        "ginit-test.desktop",
		"/etc/lightdm/lightdm.conf.d/50-ginit-test.conf": "lightdm.conf",
		"/etc/lightdm/lightdm-gtk-greeter.conf":          "lightdm-gtk-greeter.conf",
		"/etc/environment":                               "environment",
	} {
		mode := "0100644"
		if strings.HasPrefix(dst, "/usr/local/bin/") {
			mode = "0100755"
		}
		add(dst, filepath.Join(guest, src), mode)
	}
	return files, modes
}

// shot takes a screendump, keeps it as NAME.png and returns it.
func (g *guest) shot(t testing.TB, name string) *image.RGBA {
	t.Helper()
	ppm := filepath.Join(g.work, name+".ppm")
	if err := g.qmp.Screendump(ppm); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ppm)
	if err != nil {
		t.Fatal(err)
	}
	img, err := ParsePPM(b)
	if err != nil {
		t.Fatalf("screendump %s: %v", ppm, err)
	}
	if err := SavePNG(filepath.Join(g.artifacts, name+".png"), img); err != nil {
		t.Fatal(err)
	}
	return img
}

// waitScreen takes screendumps until at least share of the screen is c,
// and returns the time it took; the last picture is kept as NAME.png.
func (g *guest) waitScreen(t testing.TB, name string, c color.RGBA, share float64, d time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	last := 0.0
	for time.Since(t0) < d {
		if last = Share(g.shot(t, name), c, 6); last >= share {
			return time.Since(t0)
		}
		time.Sleep(time.Second)
	}
	t.Errorf("%s: after %v only %.1f%% of the screen is %v (want %.0f%%; see %s.png)", name, d, 100*last, c, 100*share, filepath.Join(g.artifacts, name))
	g.diagnose(t)
	t.FailNow()
	return 0
}

// diagnose prints what the guest runs and what its display manager and
// sessiond logged, from the serial root shell: a picture that never came
// says nothing of why, and CI keeps only the test's output.
func (g *guest) diagnose(t testing.TB) {
	t.Helper()
	if g.diagnosed {
		return
	}
	g.diagnosed = true
	if !g.shell {
		g.login(t)
	}
	for _, cmd := range []string{
		"ps -eo pid,ppid,user,stat,wchan:24,etime,args --forest | cut -c1-180",
		"ginitctl list; echo active VT: $(cat /sys/class/tty/tty0/active)",
		"loginctl list-sessions --no-legend; loginctl show-seat seat0",
		"tail -n 60 /var/log/sessiond.log",
		"for f in /var/log/lightdm/*.log /var/log/Xorg.0.log; do echo \"== $f\"; tail -n 40 \"$f\"; done 2>&1",
	} {
		out, rc := g.sh(t, cmd)
		t.Logf("diagnose: %s (rc %d)\n%s", cmd, rc, out)
	}
}

// login logs root in on the serial console.
func (g *guest) login(t testing.TB) {
	t.Helper()
	g.con.Expect(t, `ginit-test login: `, bootLimit)
	g.con.Send(t, "root\n")
	g.con.Expect(t, `Password: `, time.Minute)
	g.con.Send(t, "root\n")
	g.con.Expect(t, `root@ginit-test:~# `, shellLimit)
	// No pager, no colours, and loginctl runs only where this directory
	// exists (sessiond does not create it: other programs change
	// behaviour when it does).
	g.shell = true
	g.sh(t, "export SYSTEMD_PAGER=cat SYSTEMD_COLORS=0; stty cols 200; mkdir -p /run/systemd/system")
}

// sh runs cmd on the serial root shell and returns its output (without
// the echoed command line) and exit status.
func (g *guest) sh(t testing.TB, cmd string) (string, int) {
	t.Helper()
	g.n++
	// The marker is split in the typed line so that only its output matches.
	g.con.Send(t, fmt.Sprintf("%s; echo \"@@END\"\"-%d rc=$?\"\n", cmd, g.n))
	out := g.con.Expect(t, fmt.Sprintf(`(?s)^.*?@@END-%d rc=\d+`, g.n), shellLimit)
	m := regexp.MustCompile(fmt.Sprintf(`@@END-%d rc=(\d+)$`, g.n)).FindStringSubmatch(out)
	rc := 0
	fmt.Sscan(m[1], &rc)
	out = strings.TrimSuffix(out, m[0])
	// Drop the echo of the command (up to the line end after the marker).
	if i := strings.Index(out, fmt.Sprintf("\"-%d rc=$?\"", g.n)); i >= 0 {
		out = out[i:]
		if j := strings.IndexByte(out, '\n'); j >= 0 {
			out = out[j+1:]
		}
	}
	// bash's bracketed-paste switches and other terminal controls go.
	out = regexp.MustCompile(`\x1b\[[0-9;?]*[a-zA-Z]`).ReplaceAllString(out, "")
	return strings.ReplaceAll(out, "\r", ""), rc
}

// must runs cmd and fails the test unless it exits 0.
func (g *guest) must(t testing.TB, cmd string) string {
	t.Helper()
	out, rc := g.sh(t, cmd)
	if rc != 0 {
		t.Fatalf("guest: %s: exit %d\n%s", cmd, rc, out)
	}
	return out
}

// waitFile waits in the guest until path exists.
func (g *guest) waitFile(t testing.TB, path string, secs int) {
	t.Helper()
	if out, rc := g.sh(t, fmt.Sprintf("for i in $(seq %d); do [ -e %s ] && break; sleep 1; done; [ -e %s ]", secs, path, path)); rc != 0 {
		t.Fatalf("guest: %s did not appear within %d s\n%s", path, secs, out)
	}
}

// keep copies a guest file's content (read over the console) to artifacts.
func (g *guest) keep(t testing.TB, name, content string) {
	if err := os.WriteFile(filepath.Join(g.artifacts, name), []byte(content), 0o644); err != nil {
		t.Error(err)
	}
}

// typeLogin types the user name and password into the greeter: shift taps
// first, since the first keys of a burst were seen to be lost.
func (g *guest) typeLogin(t testing.TB, user, pass string, pause time.Duration) {
	t.Helper()
	for i := 0; i < 3; i++ {
		if err := g.qmp.Keys("shift"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := g.qmp.Type(user + "\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(pause)
	if err := g.qmp.Type(pass + "\n"); err != nil {
		t.Fatal(err)
	}
}

// checkSession asserts the session's loginctl view written from inside it.
func checkSession(t testing.TB, show, typ string) {
	t.Helper()
	props := map[string]string{}
	for _, l := range strings.Split(show, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			props[k] = v
		}
	}
	for k, want := range map[string]string{"Type": typ, "Class": "user", "Active": "yes", "Seat": "seat0", "State": "active", "Name": "tester"} {
		if props[k] != want {
			t.Errorf("loginctl show-session in the session: %s=%q, want %q\n%s", k, props[k], want, show)
		}
	}
	if vt := props["VTNr"]; vt == "" || vt == "0" {
		t.Errorf("loginctl show-session in the session: VTNr=%q, want a VT\n%s", vt, show)
	}
}

// checkControl asserts the controller's TakeControl and TakeDevice calls
// of the DRM card (major 226) and of input devices (major 13), as the
// system bus carried them (dbus-monitor) and as sessiond logged them.
func checkControl(t testing.TB, monitor, sessiondLog string) {
	t.Helper()
	if !strings.Contains(monitor, "member=TakeControl") {
		t.Errorf("dbus-monitor saw no TakeControl call")
	}
	take := regexp.MustCompile(`member=TakeDevice\s*\n\s*uint32 (\d+)\s*\n\s*uint32 (\d+)`)
	majors := map[string]int{}
	for _, m := range take.FindAllStringSubmatch(monitor, -1) {
		majors[m[1]]++
	}
	if majors["226"] == 0 {
		t.Errorf("dbus-monitor saw no TakeDevice of a DRM device (major 226): %v", majors)
	}
	if majors["13"] == 0 {
		t.Errorf("dbus-monitor saw no TakeDevice of an input device (major 13): %v", majors)
	}
	for _, want := range []string{"TakeControl", "TakeDevice"} {
		if !strings.Contains(sessiondLog, want) {
			t.Errorf("sessiond's log (/var/log/sessiond.log) does not mention %s", want)
		}
	}
}

// powerButton: with the session's inhibitor held, the ACPI power button
// does nothing; after it ends the button powers the guest off.
func (g *guest) powerButton(t testing.TB, kind string) {
	t.Helper()
	d := "/var/tmp/desktop"
	g.must(t, "touch "+d+"/inhibit-go")
	g.waitFile(t, d+"/inhibiting."+kind, 60)
	list := g.must(t, "systemd-inhibit --list --no-pager")
	if !strings.Contains(list, "desktop-test") || !strings.Contains(list, "handle-power-key") {
		t.Fatalf("systemd-inhibit --list does not show the session's inhibitor:\n%s", list)
	}
	if err := g.qmp.Powerdown(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(15 * time.Second)
	select {
	case err := <-g.qdone:
		g.qdone <- err
		t.Fatalf("the power button powered the guest off although an inhibitor held it")
	default:
	}
	g.must(t, "grep -n 'inhibitor' /var/log/sessiond.log | tail -n 3")
	g.must(t, "touch "+d+"/inhibit-stop")
	g.waitFile(t, d+"/inhibit-done."+kind, 60)
	if list := g.must(t, "systemd-inhibit --list --no-pager"); strings.Contains(list, "desktop-test") {
		t.Fatalf("the session's inhibitor is still listed after it ended:\n%s", list)
	}
	// The user logs out (greetd's session worker writes the logout record
	// only when the session ends before greetd does: at a power-off it dies
	// with greetd, by its parent-death signal); the greeter comes back.
	g.must(t, "touch "+d+"/logout")
	g.waitScreen(t, "greeter-again", greeterBlue, 0.5, screenLimit)
	g.keep(t, "sessiond.log", g.must(t, "cat /var/log/sessiond.log"))
	g.con.Send(t, "exit\n")
	g.con.Expect(t, `ginit-test login: `, shellLimit)
	if err := g.qmp.Powerdown(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-g.qdone:
		g.qdone <- err
		if err != nil {
			t.Fatalf("qemu: %v\n%s", err, g.qout.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("the power button did not power the guest off within 3 min")
	}
}

// afterPowerOff checks the disk is clean and wtmp's records.
func (g *guest) afterPowerOff(t testing.TB, ctx context.Context, ttyLogin string) {
	t.Helper()
	if out, err := exec.CommandContext(ctx, "e2fsck", "-fn", g.img).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn: %v\n%s", err, out)
	}
	wtmp := filepath.Join(g.artifacts, "wtmp")
	boot.Run(t, ctx, "debugfs", "-R", "dump /var/log/wtmp "+wtmp, g.img)
	dump := boot.Run(t, ctx, "utmpdump", wtmp)
	g.keep(t, "wtmp.txt", dump)
	t.Logf("wtmp:\n%s", dump)
	// last(1) pairs a logout with the login before it on the same line
	// (greetd's logout repeats the pid, lightdm's has pid 0).
	login := regexp.MustCompile(`(?m)^\[7\] .*\[tester\s*\] \[` + ttyLogin + `\s*\].*$`).FindStringIndex(dump)
	if login == nil {
		t.Fatalf("wtmp has no login of tester on %s", ttyLogin)
	}
	for _, want := range []struct{ what, re, in string }{
		{"boot record", `^\[2\] .*\[reboot\s*\]`, dump},
		{"logout on " + ttyLogin + " after tester's login", `^\[8\] .*\[` + ttyLogin + `\s*\]`, dump[login[1]:]},
		{"shutdown record", `\[shutdown\s*\]`, dump},
	} {
		if !regexp.MustCompile(`(?m)` + want.re).MatchString(want.in) {
			t.Errorf("wtmp has no %s (%s)", want.what, want.re)
		}
	}
	if n := len(regexp.MustCompile(`\[shutdown\s*\]`).FindAllString(dump, -1)); n != 1 {
		t.Errorf("wtmp has %d shutdown records, want 1", n)
	}
	if !strings.Contains(g.con.All(), "shutdown (poweroff): stopping all services") {
		t.Errorf("ginit never started a poweroff")
	}
	// Nothing was left that outlived the final SIGTERM.
	if strings.Contains(g.con.All(), "sending SIGKILL") {
		t.Errorf("the final shutdown needed SIGKILL: a process outlived SIGTERM (see console.log)")
	}
}

// vtSwitch switches to the text VT 1 and back to the session's VT and
// checks the compositor's devices were paused and resumed (signals to it,
// seen by dbus-monitor) and that it draws again.
func (g *guest) vtSwitch(t testing.TB, vt string, controller bool) {
	t.Helper()
	g.must(t, "dbus-monitor --system \"type='signal',interface='org.freedesktop.login1.Session'\" >/var/tmp/vt-monitor.log 2>&1 & echo $! >/var/tmp/vt-monitor.pid; sleep 2")
	g.must(t, "chvt 1; sleep 3")
	// The text console: its black background, the session's colour gone.
	vt1 := g.shot(t, "vt1")
	if s := Share(vt1, sessionOrange, 6); s > 0.05 {
		t.Errorf("after chvt 1, %.0f%% of the screen still shows the session's colour (see vt1.png)", 100*s)
	}
	if s := Share(vt1, color.RGBA{0, 0, 0, 0xff}, 6); s < 0.8 {
		t.Errorf("after chvt 1, only %.0f%% of the screen is the text console's black (see vt1.png)", 100*s)
	}
	g.must(t, "chvt "+vt)
	took := g.waitScreen(t, "vt-back", sessionOrange, 0.5, screenLimit)
	t.Logf("the session drew again %v after chvt %s", took.Round(100*time.Millisecond), vt)
	g.must(t, "sleep 2; kill $(cat /var/tmp/vt-monitor.pid)")
	mon := g.must(t, "cat /var/tmp/vt-monitor.log")
	g.keep(t, "vt-monitor.log", mon)
	for _, sig := range []string{"member=PauseDevice", "member=ResumeDevice"} {
		if controller && !strings.Contains(mon, sig) {
			t.Errorf("dbus-monitor saw no %s signal during the VT switch", sig)
		}
	}
}

// TestGreetd: greetd's graphical greeter (cage, foot, agreety), a typed
// login, sway with swaybg, and the session's facts.
func TestGreetd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	g := bootDesktop(t, ctx, "desktop")
	g.waitScreen(t, "greeter", greeterBlue, 0.5, bootLimit)
	t.Logf("kernel start to the greeter on the screen: %v", time.Since(g.start).Round(100*time.Millisecond))
	g.login(t)
	// Everything the session's controller asks sessiond from now on.
	g.must(t, "dbus-monitor --system \"interface='org.freedesktop.login1.Session'\" >/var/tmp/monitor.log 2>&1 & echo $! >/var/tmp/monitor.pid; sleep 2")
	g.typeLogin(t, "tester", "tester-pw", 3*time.Second)
	took := g.waitScreen(t, "session", sessionOrange, 0.5, screenLimit)
	t.Logf("typed login to the session's colour on the screen: %v", took.Round(100*time.Millisecond))
	g.waitFile(t, "/var/tmp/desktop/marker.wayland", 120)
	show := g.must(t, "cat /var/tmp/desktop/show-session.wayland")
	g.keep(t, "show-session.wayland", show)
	checkSession(t, show, "wayland")
	g.keep(t, "env.wayland", g.must(t, "cat /var/tmp/desktop/env.wayland"))

	acl := g.must(t, "getfacl -p /dev/dri/renderD128")
	if !regexp.MustCompile(`(?m)^user:tester:rw`).MatchString(acl) {
		t.Errorf("getfacl /dev/dri/renderD128: no rw ACL for tester\n%s", acl)
	}
	g.must(t, "kill $(cat /var/tmp/monitor.pid)")
	mon := g.must(t, "cat /var/tmp/monitor.log")
	g.keep(t, "monitor.log", mon)
	checkControl(t, mon, g.must(t, "cat /var/log/sessiond.log"))

	g.vtSwitch(t, "7", true)
	g.powerButton(t, "wayland")
	g.afterPowerOff(t, ctx, "tty7")
}

// TestLightdm: lightdm, its GTK greeter and an Xorg session, the same flow.
func TestLightdm(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	g := bootDesktop(t, ctx, "desktop-lightdm")
	g.waitScreen(t, "greeter", greeterBlue, 0.5, bootLimit)
	t.Logf("kernel start to the greeter on the screen: %v", time.Since(g.start).Round(100*time.Millisecond))
	g.login(t)
	g.must(t, "dbus-monitor --system \"interface='org.freedesktop.login1.Session'\" >/var/tmp/monitor.log 2>&1 & echo $! >/var/tmp/monitor.pid; sleep 2")
	// The GTK greeter asks the name, then the password.
	g.typeLogin(t, "tester", "tester-pw", 5*time.Second)
	took := g.waitScreen(t, "session", sessionOrange, 0.5, screenLimit)
	t.Logf("typed login to the session's colour on the screen: %v", took.Round(100*time.Millisecond))
	g.waitFile(t, "/var/tmp/desktop/marker.x11", 120)
	show := g.must(t, "cat /var/tmp/desktop/show-session.x11")
	g.keep(t, "show-session.x11", show)
	checkSession(t, show, "x11")
	g.keep(t, "env.x11", g.must(t, "cat /var/tmp/desktop/env.x11"))
	acl := g.must(t, "getfacl -p /dev/dri/renderD128")
	if !regexp.MustCompile(`(?m)^user:tester:rw`).MatchString(acl) {
		t.Errorf("getfacl /dev/dri/renderD128: no rw ACL for tester\n%s", acl)
	}
	// Debian's lightdm runs Xorg as root, outside any session: Xorg then
	// opens its devices itself and switches VTs itself (VT_PROCESS), so
	// no TakeControl, TakeDevice or Pause/ResumeDevice is expected here.
	g.must(t, "kill $(cat /var/tmp/monitor.pid)")
	mon := g.must(t, "cat /var/tmp/monitor.log")
	g.keep(t, "monitor.log", mon)
	if x := g.must(t, "ps -o user=,args= -C Xorg"); !strings.HasPrefix(strings.TrimSpace(x), "root ") {
		t.Errorf("Xorg does not run as root; then it should take its devices from sessiond:\n%s", x)
	}
	g.vtSwitch(t, "7", false)
	g.powerButton(t, "x11")
	g.afterPowerOff(t, ctx, "tty7")
}
