package initns

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// activatedHelper is the environment variable that makes the test binary
// the socket-activated service of TestNativeSocketActivation: it serves
// one connection on its first LISTEN_FDS socket and exits.
const activatedHelper = "INITNS_ACTIVATED_HELPER"

func init() {
	switch os.Getenv(activatedHelper) {
	case "1":
		os.Exit(activatedMain())
	case "hold":
		// Serves its client until the client hangs up.
		fmt.Println("served")
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	case "stdio":
		// An Accept instance: the connection is stdout (socket-stdio).
		fmt.Printf("%s fds=%s names=%s\n", os.Getenv("DINIT_SERVICE"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES"))
		os.Exit(0)
	}
}

// activatedMain checks sd_listen_fds(3)'s variables and answers the one
// client with what it got.
func activatedMain() int {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		fmt.Fprintf(os.Stderr, "LISTEN_FDS=%q\n", os.Getenv("LISTEN_FDS"))
		return 2
	}
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		fmt.Fprintf(os.Stderr, "LISTEN_PID=%q, pid %d\n", os.Getenv("LISTEN_PID"), os.Getpid())
		return 2
	}
	l, err := net.FileListener(os.NewFile(3, "listen"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c, err := l.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Fprintf(c, "pid=%d fds=%d names=%s\n", os.Getpid(), n, os.Getenv("LISTEN_FDNAMES"))
	c.Close()
	return 0
}

// dialLine connects to a unix socket and reads the one line answered.
func dialLine(t *testing.T, path string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", path, err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b bytes.Buffer
	buf := make([]byte, 256)
	for !bytes.Contains(b.Bytes(), []byte("\n")) {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// A native socket service (type socket) makes its sockets when it starts,
// starts nothing until a client connects, then starts its target with the
// sockets (LISTEN_FDS=2, the names, LISTEN_PID its own pid); once that has
// served and exited, the next client starts it again; stopping the socket
// service removes the paths.
func TestNativeSocketActivation(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, map[string]string{
		"echo.socket": "type = socket\nsocket-listen = @DIR@/run/echo.sock\nsocket-listen = datagram:@DIR@/run/echo.dgram\nsocket-permissions = 600\nsocket-activates = echo\n",
		"echo":        "type = process\nrestart = no\ncommand = " + self + "\nenv-file = @DIR@/echo.env\n",
		"boot":        "type = internal\n",
	})
	if err := os.WriteFile(filepath.Join(in.dir, "echo.env"), []byte(activatedHelper+"=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in.mustCtl("start", "echo.socket")
	in.waitState("echo.socket", "started")
	sock := filepath.Join(in.dir, "run/echo.sock")
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v %v", sock, fi, err)
	}
	if st := in.state("echo"); st != "stopped" {
		t.Fatalf("echo is %s before any client", st)
	}
	first := dialLine(t, sock)
	if !strings.Contains(first, "fds=2 names=echo.socket:echo.socket") {
		t.Fatalf("first client got %q", first)
	}
	in.waitState("echo", "stopped")
	second := dialLine(t, sock)
	if !strings.HasPrefix(second, "pid=") || second == first {
		t.Fatalf("second client got %q (first %q): not a new run", second, first)
	}
	t.Logf("runs: %q %q", first, second)
	in.waitState("echo", "stopped")
	in.mustCtl("stop", "echo.socket")
	in.waitState("echo.socket", "stopped")
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after stop: %v", err)
	}
}

// A native Accept socket (socket-accept = yes) starts one instance of its
// template per connection, named after the peer, with the connection as
// stdout (socket-stdio).
func TestNativeSocketAccept(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, map[string]string{
		"boot":       "type = internal\n",
		"acc.socket": "type = socket\nsocket-listen = @DIR@/run/acc.sock\nsocket-accept = yes\nsocket-max-connections = 2\nsocket-activates = acc\n",
		"acc":        "type = process\nrestart = no\ncommand = " + self + "\nenv-file = @DIR@/acc.env\nsocket-stdio = yes\nload-options = export-service-name\n",
	})
	if err := os.WriteFile(filepath.Join(in.dir, "acc.env"), []byte(activatedHelper+"=stdio\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in.mustCtl("start", "acc.socket")
	in.waitState("acc.socket", "started")
	sock := filepath.Join(in.dir, "run/acc.sock")
	uid := strconv.Itoa(os.Getuid())
	for i := 1; i <= 2; i++ {
		got := dialLine(t, sock)
		want := fmt.Sprintf("acc@%d-", i)
		if !strings.HasPrefix(got, want) || !strings.Contains(got, "-"+uid+" fds=1 names=connection") {
			t.Fatalf("client %d got %q, want %s…-%s fds=1 names=connection", i, got, want, uid)
		}
		t.Logf("client %d: %q", i, got)
	}
}

// A flood of clients on an Accept socket runs at most
// socket-max-connections instances at once: the rest wait in the backlog
// and are served, each by its own instance, as earlier ones end.
func TestNativeSocketAcceptLimit(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, map[string]string{
		"boot":       "type = internal\n",
		"acc.socket": "type = socket\nsocket-listen = @DIR@/run/acc.sock\nsocket-accept = yes\nsocket-max-connections = 3\nsocket-activates = acc\n",
		"acc":        "type = process\nrestart = no\ncommand = " + self + "\nenv-file = @DIR@/acc.env\nsocket-stdio = yes\n",
	})
	if err := os.WriteFile(filepath.Join(in.dir, "acc.env"), []byte(activatedHelper+"=hold\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in.mustCtl("start", "acc.socket")
	in.waitState("acc.socket", "started")
	sock := filepath.Join(in.dir, "run/acc.sock")
	const clients = 10
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.DialTimeout("unix", sock, 5*time.Second)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		defer c.Close()
		conns[i] = c
	}
	// instances counts the instances with a process (one that stopped
	// may still be listed until it is unloaded, without a pid).
	instances := func() int {
		n := 0
		for _, l := range strings.Split(in.ctl("list").out, "\n") {
			if strings.Contains(l, "acc@") && strings.Contains(l, "(pid:") {
				n++
			}
		}
		return n
	}
	waitCount := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for instances() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d instances, want %d:\n%s", instances(), n, in.ctl("list").out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	served := 0
	// Hang up on each served client in turn: the next waiting one is
	// taken only then, so never more than 3 run.
	for served < clients {
		waitCount(min(3, clients-served))
		// The instances running now are the three (or fewer) clients
		// the socket took; find one that has been served and hang up.
		for i, c := range conns {
			if c == nil {
				continue
			}
			_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			buf := make([]byte, 16)
			if n, _ := c.Read(buf); n > 0 {
				if string(buf[:n]) != "served\n" {
					t.Fatalf("client %d read %q", i, buf[:n])
				}
				c.Close()
				conns[i] = nil
				served++
				break
			}
		}
		if n := instances(); n > 3 {
			t.Fatalf("%d instances at once, MaxConnections is 3", n)
		}
	}
	waitCount(0)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(in.ctl("list").out, "acc@") {
		if time.Now().After(deadline) {
			t.Fatalf("instances still loaded:\n%s", in.ctl("list").out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(in.logf)
	if n := strings.Count(string(log), "connection: starting 'acc@"); n != clients {
		t.Errorf("%d instances started for %d clients", n, clients)
	}
}

// Debian's ssh.socket (ListenStream=22, Accept=no) and dbus.socket load
// and start under ginit without their daemons; the first connection
// starts sshd (its banner answers, and a second connection too) and the
// first D-Bus client starts dbus-daemon, which answers it.
func TestDebianSocketActivation(t *testing.T) {
	requireRoot(t)
	root := debianRoot(t)
	for _, p := range []string{"ssh-keygen", "nsenter", "ip", "bash", "dbus-send"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	if fi, err := os.Lstat("/lib"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Skip("needs a merged /usr (/lib a link to usr/lib): the packages are overlaid on /usr only")
	}
	in := newDebianInstance(t, root, func(etc, varDir string) { stageSSH(t, root, etc) })
	running := func(comm string) bool {
		out, _ := in.inNS("sh", "-c", "cat /proc/[0-9]*/comm 2>/dev/null")
		return strings.Contains(out, comm)
	}

	in.mustCtl("start", "ssh.socket")
	in.waitState("ssh.socket", "started")
	if st := in.state("ssh"); st != "stopped" || running("sshd") {
		t.Fatalf("sshd runs (ssh %s) before any connection", st)
	}
	banner := func() string {
		out, err := in.inNS("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22 && head -c 32 <&3")
		if err != nil || !strings.HasPrefix(out, "SSH-2.0-OpenSSH") {
			t.Fatalf("connection to 22: %q %v", out, err)
		}
		return out
	}
	t.Logf("first connection: %q", banner())
	in.waitState("ssh", "started")
	t.Logf("second connection: %q", banner())

	in.mustCtl("start", "dbus.socket")
	in.waitState("dbus.socket", "started")
	if st := in.state("dbus"); st != "stopped" || running("dbus-daemon") {
		t.Fatalf("dbus-daemon runs (dbus %s) before any client", st)
	}
	out, err := in.inNS("dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus",
		"/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames")
	if err != nil || !strings.Contains(out, "org.freedesktop.DBus") {
		t.Fatalf("first D-Bus client: %q %v", out, err)
	}
	in.waitState("dbus", "started")
	t.Logf("status:\n%s", in.ctl("list").out)

	// dbus depends on its socket (Requires=dbus.socket): --force stops
	// both. ssh does not, and keeps serving its inherited socket until it
	// is stopped itself, as under systemd.
	in.mustCtl("stop", "--force", "dbus.socket")
	in.mustCtl("stop", "ssh.socket")
	in.mustCtl("stop", "ssh")
	for _, n := range []string{"ssh.socket", "dbus.socket", "ssh", "dbus"} {
		in.waitState(n, "stopped")
	}
	if out, err := in.inNS("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22"); err == nil {
		t.Errorf("port 22 still accepts after ssh.socket stopped: %s", out)
	}
	if running("sshd") || running("dbus-daemon") {
		t.Error("daemons left running after their sockets stopped")
	}
}

// stageSSH prepares the overlay /etc for Debian's sshd: the package's
// files, an sshd user, a config with a fresh host key, and a drop-in for
// dbus.service, as an admin would write one: this machine may not lower
// oom_score_adj (a container without CAP_SYS_RESOURCE), and ginit fails a
// start whose OOMScoreAdjust= it cannot apply.
func stageSSH(t *testing.T, root, etc string) {
	copyTree(t, filepath.Join(root, "etc"), etc)
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(passwd, []byte("\nsshd:")) {
		passwd = append(passwd, "sshd:x:64991:65534::/run/sshd:/usr/sbin/nologin\n"...)
	}
	must(t, os.WriteFile(filepath.Join(etc, "passwd"), passwd, 0o644))
	cfg, err := os.ReadFile(filepath.Join(root, "usr/share/openssh/sshd_config"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = append([]byte("HostKey /etc/ssh/ssh_host_ed25519_key\n"), cfg...)
	must(t, os.WriteFile(filepath.Join(etc, "ssh/sshd_config"), cfg, 0o644))
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(etc, "ssh/ssh_host_ed25519_key")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	must(t, os.MkdirAll(filepath.Join(etc, "systemd/system/dbus.service.d"), 0o755))
	must(t, os.WriteFile(filepath.Join(etc, "systemd/system/dbus.service.d/ginit-test.conf"), []byte("[Service]\nOOMScoreAdjust=\n"), 0o644))
}

// An Accept=yes socket in the inetd style of the ssh.socket and
// ssh@.service pair older Debian releases shipped (written here: this
// release's ssh.socket is Accept=no): each connection starts its own
// `sshd -i` with the connection as stdin and stdout; two clients at once
// get two banners from two instances, which are unloaded once they end.
func TestSocketAcceptSSHD(t *testing.T) {
	requireRoot(t)
	root := debianRoot(t)
	for _, p := range []string{"ssh-keygen", "nsenter", "ip", "bash"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	if fi, err := os.Lstat("/lib"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Skip("needs a merged /usr (/lib a link to usr/lib): the packages are overlaid on /usr only")
	}
	in := newDebianInstance(t, root, func(etc, varDir string) {
		stageSSH(t, root, etc)
		must(t, os.WriteFile(filepath.Join(etc, "systemd/system/sshx.socket"),
			[]byte("[Socket]\nListenStream=2222\nAccept=yes\nMaxConnections=4\n"), 0o644))
		must(t, os.WriteFile(filepath.Join(etc, "systemd/system/sshx@.service"),
			[]byte("[Service]\nExecStartPre=/bin/mkdir -p /run/sshd\nExecStart=-/usr/sbin/sshd -i\nStandardInput=socket\n"), 0o644))
	})
	in.mustCtl("start", "sshx.socket")
	in.waitState("sshx.socket", "started")
	out, err := in.inNS("bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/2222 4<>/dev/tcp/127.0.0.1/2222
head -c 15 <&3; echo; head -c 15 <&4; echo`)
	if err != nil || strings.Count(out, "SSH-2.0-OpenSSH") != 2 {
		t.Fatalf("two clients: %q %v", out, err)
	}
	t.Logf("banners: %q", out)
	deadline := time.Now().Add(10 * time.Second)
	for {
		list := in.ctl("list").out
		if !strings.Contains(list, "sshx@") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances still loaded after their clients left:\n%s", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(in.logf)
	for _, n := range []string{"sshx@1-127.0.0.1_2222-127.0.0.1_", "sshx@2-127.0.0.1_2222-127.0.0.1_"} {
		if !strings.Contains(string(log), "starting '"+n) {
			t.Errorf("no instance %s… in the log:\n%s", n, log)
		}
	}
}
