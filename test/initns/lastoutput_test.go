package initns

import (
	"strings"
	"testing"
	"time"
)

// TestFailedStartExplained: a service with no log setting fails; its last
// output is in `ginitctl status` and `catlog` all the same, while
// log-type = none still discards it.
func TestFailedStartExplained(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"broken": "type = process\nrestart = no\n" +
			"command = /bin/sh -c \"echo starting; echo 'broken: cannot open /etc/broken.conf' >&2; exit 78\"\n",
		"quiet": "type = scripted\nlog-type = none\ncommand = /bin/sh -c \"echo secret; exit 1\"\n",
	})
	in.ctl("start", "broken")
	in.ctl("start", "quiet")
	in.waitState("quiet", "stopped")
	deadline := time.Now().Add(10 * time.Second)
	var st result
	for {
		st = in.ctl("status", "broken")
		if strings.Contains(st.out, "cannot open /etc/broken.conf") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"STOPPED", "Last exit status: exited 78", "Last output:", "      starting\n", "      broken: cannot open /etc/broken.conf\n"} {
		if !strings.Contains(st.out, want) {
			t.Errorf("status broken lacks %q: %s", want, st)
		}
	}
	if r := in.mustCtl("catlog", "broken"); r.out != "starting\nbroken: cannot open /etc/broken.conf\n" {
		t.Errorf("catlog broken: %s", r)
	}
	if r := in.ctl("status", "quiet"); strings.Contains(r.out, "secret") || strings.Contains(r.out, "Last output") {
		t.Errorf("log-type = none kept output: %s", r)
	}
	if r := in.ctl("catlog", "quiet"); r.code == 0 || strings.Contains(r.out, "secret") {
		t.Errorf("catlog of a log-type = none service: %s", r)
	}
}
