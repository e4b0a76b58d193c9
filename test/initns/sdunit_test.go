package initns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ginit/init/lsb"
	"ginit/init/sdunit"
	"ginit/init/service"
)

// The real Debian units these tests load, fetched at test time by
// test/debian-units.sh (nothing of them is in the repository).
var debianUnits = []string{"ssh", "ssh.socket", "cron", "rsyslog", "nginx", "dbus", "dbus.socket",
	"systemd-udevd", "systemd-timesyncd", "chrony", "getty@tty1", "multi-user.target"}

var (
	debOnce sync.Once
	debRoot string
	debErr  error
)

// debianRoot unpacks the packages once per test binary, into
// $GINIT_DEBIAN_UNITS or the repository's .cache, and skips without apt.
func debianRoot(t *testing.T) string {
	t.Helper()
	debOnce.Do(func() {
		dir := os.Getenv("GINIT_DEBIAN_UNITS")
		if dir == "" {
			dir, _ = filepath.Abs("../../.cache/debian-units")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "../debian-units.sh", dir)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			debErr = fmt.Errorf("%v: %s", err, stderr.String())
			return
		}
		debRoot = strings.TrimSpace(string(out))
	})
	if debErr != nil {
		t.Skipf("needs the Debian packages (test/debian-units.sh: apt-get download and dpkg -x): %v", debErr)
	}
	return debRoot
}

type tlog struct{ t *testing.T }

func (l tlog) Printf(format string, a ...any) { l.t.Logf("warning: "+format, a...) }

// Every named unit of the real packages loads (warnings are logged).
func TestDebianUnitsLoad(t *testing.T) {
	root := debianRoot(t)
	src := sdunit.New(sdunit.Config{Dirs: []string{filepath.Join(root, "usr/lib/systemd/system")}})
	for _, n := range debianUnits {
		d, err := src.Load(n, tlog{t})
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		t.Logf("%s: type %s, command %q, deps %v, socket %q", n, d.Type, d.Command, d.Deps, d.Ext().SocketListen)
	}
}

// newDebianInstance starts ginit as PID 1 of private PID, mount and
// network namespaces in which /usr shows the unpacked packages over the
// host's, /etc and /var are overlays whose writes go to a tmpfs, /run is a
// tmpfs and lo is up: the daemons run from their real paths and write
// nowhere outside the test. stage/etc and stage/var are copied into the
// overlays' upper layers first. No ginit description is written: every
// service comes from the unit paths.
func newDebianInstance(t *testing.T, root string, stage func(etc, varDir string)) *instance {
	t.Helper()
	in := newDirs(t, "stage/etc", "stage/var", "ovl")
	in.write(map[string]string{"boot": "type = internal\n"})
	// Daemons that drop to their user before they notify (dbus-daemon as
	// messagebus) must reach their notify socket below the test directory,
	// which the testing package makes 0700.
	if err := os.Chmod(filepath.Dir(in.dir), 0o711); err != nil {
		t.Fatal(err)
	}
	stage(filepath.Join(in.dir, "stage/etc"), filepath.Join(in.dir, "stage/var"))
	const setup = `set -e
mount -t tmpfs tmpfs "$D/ovl"
mkdir -p "$D/ovl/etc" "$D/ovl/etc.w" "$D/ovl/var" "$D/ovl/var.w"
cp -a "$D/stage/etc/." "$D/ovl/etc/"
cp -a "$D/stage/var/." "$D/ovl/var/"
mount -t overlay overlay -o "lowerdir=$ROOT/usr:/usr" /usr
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$D/ovl/etc,workdir=$D/ovl/etc.w" /etc
mount -t overlay overlay -o "lowerdir=/var,upperdir=$D/ovl/var,workdir=$D/ovl/var.w" /var
mount -t tmpfs tmpfs /run
ip link set lo up
exec "$@"`
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount", "--mount-proc", "--net", "--kill-child", "--",
		"/bin/sh", "-c", setup, "sh", filepath.Join(in.bin, "ginit"), "--container", "-d", in.sd, "-p", in.sock, "-l", in.logf, "boot")
	cmd.Env = append(os.Environ(), "D="+in.dir, "ROOT="+root)
	in.launch(cmd, launchOpts{stopWait: 15 * time.Second, listenWait: 10 * time.Second})
	return in
}

// inNS runs a command in the instance's mount and network namespaces.
func (in *instance) inNS(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", fmt.Sprint(in.ginitPid()), "-m", "-n", "--"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitNS polls a command in the namespaces until its output has want.
func (in *instance) waitNS(want string, args ...string) string {
	in.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := in.inNS(args...)
		if err == nil && strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("%q: %q, %v; want %q", args, out, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v: %s", src, err, out)
	}
}

// Debian's sshd, nginx, rsyslog, dbus-daemon and cron start from their own
// units under ginit (`ginitctl start NAME`, no description written), get
// ready, do their job and stop.
func TestDebianDaemons(t *testing.T) {
	requireRoot(t)
	root := debianRoot(t)
	for _, p := range []string{"ssh-keygen", "nsenter", "ip", "logger", "bash"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	if fi, err := os.Lstat("/lib"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Skip("needs a merged /usr (/lib a link to usr/lib): the packages are overlaid on /usr only")
	}
	in := newDebianInstance(t, root, func(etc, varDir string) {
		stageSSH(t, root, etc)
		must(t, os.WriteFile(filepath.Join(etc, "nginx/sites-enabled/default"),
			[]byte("server { listen 127.0.0.1:80; location / { return 200 \"served by nginx under ginit\\n\"; } }\n"), 0o644))
		must(t, os.WriteFile(filepath.Join(etc, "rsyslog.conf"), []byte(
			"module(load=\"imuxsock\" SysSock.Use=\"off\")\ninput(type=\"imuxsock\" Socket=\"/run/ginit-test-log\")\n*.* /var/log/ginit-test.log\n"), 0o644))
		for _, d := range []string{"log/nginx", "lib/nginx", "spool/rsyslog", "spool/cron/crontabs"} {
			must(t, os.MkdirAll(filepath.Join(varDir, d), 0o755))
		}
	})

	in.mustCtl("start", "ssh")
	in.waitState("ssh", "started")
	t.Logf("sshd: %q", in.waitNS("SSH-2.0-OpenSSH", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22 && head -c 32 <&3"))

	in.mustCtl("start", "nginx")
	in.waitState("nginx", "started")
	t.Logf("nginx: %q", in.waitNS("served by nginx under ginit", "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET / HTTP/1.0\r\nHost: x\r\n\r\n' >&3 && cat <&3`))

	in.mustCtl("start", "rsyslog")
	in.waitState("rsyslog", "started")
	if out, err := in.inNS("logger", "-u", "/run/ginit-test-log", "-t", "ginit-test", "hello from the ginit test"); err != nil {
		t.Fatalf("logger: %v: %s", err, out)
	}
	t.Logf("rsyslog: %q", in.waitNS("hello from the ginit test", "cat", "/var/log/ginit-test.log"))
	t.Logf("status:\n%s\n%s", in.ctl("status", "ssh").out, in.ctl("list").out)

	// dbus.service requires dbus.socket: ginit makes the socket and passes
	// it (LISTEN_FDS) to dbus-daemon --address=systemd:, which answers on it.
	in.mustCtl("start", "dbus")
	in.waitState("dbus", "started")
	t.Logf("dbus: %q", in.waitNS("org.freedesktop.DBus", "dbus-send", "--system", "--print-reply",
		"--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames"))

	in.mustCtl("start", "cron")
	in.waitState("cron", "started")

	for _, n := range []string{"ssh", "nginx", "rsyslog", "dbus", "cron"} {
		in.mustCtl("stop", n)
		in.waitState(n, "stopped")
	}
	if out, err := in.inNS("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22"); err == nil {
		t.Errorf("sshd still accepts after stop: %s", out)
	}
	if out, err := in.inNS("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/80"); err == nil {
		t.Errorf("nginx still accepts after stop: %s", out)
	}
	if out, _ := in.inNS("sh", "-c", "ps -eo comm= 2>/dev/null || ls /proc"); strings.Contains(out, "sshd") || strings.Contains(out, "nginx") ||
		strings.Contains(out, "rsyslogd") || strings.Contains(out, "dbus-daemon") || strings.Contains(out, "cron") {
		t.Errorf("daemons left running: %s", out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The packages' own /etc/init.d scripts load as scripted services with
// their LSB dependencies when no unit is read; with the units, the unit of
// the same name wins.
func TestDebianInitScripts(t *testing.T) {
	root := debianRoot(t)
	initd := filepath.Join(root, "etc/init.d")
	units := filepath.Join(root, "usr/lib/systemd/system")
	scripts := sdunit.Fallback(nil, nil, []string{initd}, "")
	both := sdunit.Fallback(nil, []string{units}, []string{initd}, "")
	ents, err := os.ReadDir(initd)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		d, err := scripts.Load(name, tlog{t})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		n++
		if d.Type.String() != "scripted" || len(d.Command) != 2 || d.Command[1] != "start" || d.Ext().StopCommand[1] != "stop" {
			t.Errorf("%s: %+v", name, d)
		}
		t.Logf("%s: deps %v", name, d.Deps)
		// The order ginit computed from the header: each facility the
		// script needs is an after on the boot service providing it.
		data, err := os.ReadFile(filepath.Join(initd, name))
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := lsb.ParseHeader(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, f := range append(h.Requires, h.Should...) {
			for _, svc := range lsb.BootFacilities()[f] {
				if !d.DependsOn(svc, service.DepAfter) {
					t.Errorf("%s: needs %s but is not after %s: %v", name, f, svc, d.Deps)
				}
			}
		}
		if _, err := os.Stat(filepath.Join(units, name+".service")); err == nil {
			u, err := both.Load(name, nil)
			if err != nil || u.File != filepath.Join(units, name+".service") {
				t.Errorf("%s: the unit must win over the script: %v %v", name, u, err)
			}
		}
	}
	if n < 5 {
		t.Errorf("only %d scripts loaded", n)
	}
}
