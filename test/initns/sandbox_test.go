package initns

import (
	"os"
	"strings"
	"testing"
	"time"
)

// A unit's PrivateTmp=, ProtectSystem=full and ProtectHome= run in the
// service's own mount namespace: its /tmp is empty and private, /etc and
// /usr are read-only to it, /root is an empty tmpfs, and nothing of it
// shows on the machine. (The service reports on its output: the test's
// own directory is under the /tmp it no longer sees.)
func TestUnitSandbox(t *testing.T) {
	before, _ := os.ReadFile("/proc/self/mountinfo")
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"boxed.service": "[Service]\nPrivateTmp=yes\nProtectSystem=full\nProtectHome=yes\n" +
			"ExecStart=/bin/sh -c 'echo private > /tmp/ginit-sandbox-test; echo tmp=$(ls -A /tmp | wc -l); " +
			"touch /etc/ginit-sandbox-test || echo etc=ro; touch /usr/ginit-sandbox-test || echo usr=ro; echo root=$(ls -A /root | wc -l); " +
			"echo done; exec sleep 60' 2>&1\n",
	})
	in.mustCtl("start", "boxed")
	var out string
	deadline := time.Now().Add(10 * time.Second)
	for {
		out = in.ctl("catlog", "boxed").out
		if strings.Contains(out, "done") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"tmp=1\n", "etc=ro\n", "usr=ro\n", "root=0\n", "done\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("service output lacks %q:\n%s", want, out)
		}
	}
	for _, p := range []string{"/tmp/ginit-sandbox-test", "/etc/ginit-sandbox-test", "/usr/ginit-sandbox-test"} {
		if _, err := os.Stat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s appeared on the machine", p)
		}
	}
	// No mount of the service propagated to the machine.
	if after, _ := os.ReadFile("/proc/self/mountinfo"); strings.Count(string(after), "\n") != strings.Count(string(before), "\n") {
		t.Errorf("the machine's mount table changed while the service ran:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	in.mustCtl("stop", "boxed")
	in.waitState("boxed", "stopped")
}
