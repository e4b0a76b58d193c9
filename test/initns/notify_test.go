package initns

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ginit/internal/testenv"
)

// dbus-daemon, built for systemd, reports readiness with sd_notify; under
// ginit (ready-notification = notify) `ginitctl start` returns only once
// the bus accepts connections.
func TestDbusDaemonReadyThroughNotifySocket(t *testing.T) {
	for _, p := range []string{"dbus-daemon", "dbus-send"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	in := newInstance(t, map[string]string{
		"boot":     "type = internal\n",
		"bus.conf": testenv.SessionBusConfig("@DIR@/bus"),
		"bus": "type = process\nrestart = no\nready-notification = notify\n" +
			"command = dbus-daemon --config-file=@DIR@/sd/bus.conf --nofork --nopidfile\n",
		"silent": "type = process\nrestart = no\nready-notification = notify\nstart-timeout = 1\n" +
			"command = /bin/sleep 100000\n",
	})
	in.mustCtl("start", "bus")
	// No polling: the bus must already answer.
	out, err := exec.Command("dbus-send", "--bus=unix:path="+filepath.Join(in.dir, "bus"), "--print-reply",
		"--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "org.freedesktop.DBus") {
		t.Fatalf("bus not answering right after start returned: %v\n%s", err, out)
	}
	// A process that never says READY=1 does not count as started.
	r := in.ctl("start", "silent")
	if r.code == 0 || !strings.Contains(r.out+r.err, "silent") {
		t.Errorf("start of a service that never reports ready: %s", r)
	}
	if st := in.state("silent"); st != "stopped" {
		t.Errorf("silent is %s, want stopped", st)
	}
	if _, err := os.Stat(filepath.Join(in.dir, "bus")); err != nil {
		t.Errorf("bus socket: %v", err)
	}
}
