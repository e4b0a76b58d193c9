package initns

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A Type=dbus unit is started only once its BusName= has an owner on the
// bus (ginit-busname beside the daemon), and one whose bus never comes
// fails at its start timeout with that reason instead of hanging.
func TestTypeDBusReady(t *testing.T) {
	requireRoot(t)
	for _, p := range []string{"dbus-daemon", "dbus-send", "go"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	in := newDirs(t)
	owner := filepath.Join(in.dir, "busowner")
	if b, err := exec.Command("go", "build", "-o", owner, "./testdata/busowner").CombinedOutput(); err != nil {
		t.Fatalf("go build busowner: %v: %s", err, b)
	}
	bus := "unix:path=" + filepath.Join(in.dir, "bus")
	// The private bus stands in for the system bus: its address reaches
	// the service (and so ginit-busname) through Environment=.
	daemon := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address", "--address="+bus)
	out, err := daemon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = daemon.Process.Kill(); _ = daemon.Wait() })
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	in.write(map[string]string{
		// Owns the name only after a while: a start that did not wait
		// for it would be seen started with the name unowned.
		"late.service": "[Service]\nType=dbus\nBusName=org.example.Late\nEnvironment=DBUS_SYSTEM_BUS_ADDRESS=" + bus +
			"\nExecStart=@DIR@/busowner 2s org.example.Late\nTimeoutStartSec=30\n",
		"boot": "type = internal\n",
		"nobus.service": "[Service]\nType=dbus\nBusName=org.example.Never\nEnvironment=DBUS_SYSTEM_BUS_ADDRESS=unix:path=@DIR@/nobus" +
			"\nExecStart=/bin/sleep 3600\nTimeoutStartSec=2\n",
	})
	in.launch(exec.Command("unshare", "--pid", "--fork", "--mount", "--mount-proc", "--kill-child", "--",
		filepath.Join(in.bin, "ginit"), "--container", "-d", in.sd, "-p", in.sock, "-l", in.logf, "boot"),
		launchOpts{stopWait: 5 * time.Second, listenWait: 5 * time.Second, ownCgroup: true})

	in.mustCtl("start", "late")
	if st := in.state("late"); st != "started" {
		t.Fatalf("late: %s after start", st)
	}
	r, err := exec.Command("dbus-send", "--bus="+bus, "--print-reply", "--dest=org.freedesktop.DBus",
		"/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.example.Late").CombinedOutput()
	if err != nil || !strings.Contains(string(r), "boolean true") {
		t.Fatalf("late is started but its name has no owner: %v: %s", err, r)
	}

	res := in.ctl("start", "nobus")
	if res.code == 0 {
		t.Fatalf("nobus started without its bus: %s", res)
	}
	in.waitState("nobus", "stopped")
	// The reason: the start timed out, and the helper's last words say why.
	if s := in.ctl("status", "nobus").out; !strings.Contains(s, "Stop reason: timed out") ||
		!strings.Contains(s, "ginit-busname: org.example.Never: dial unix") {
		t.Errorf("status of nobus does not give the timeout and the missing bus:\n%s", s)
	}
	in.mustCtl("stop", "late")
}
