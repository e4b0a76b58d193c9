package initns

import (
	"strings"
	"testing"
)

// bgprocess: a daemon that forks away is adopted from its pid file and
// stopped with its tree; a pid file others could have written is refused.
func TestBgprocessPidFile(t *testing.T) {
	launcher := func(mode string) string {
		return "type = bgprocess\nrestart = no\npid-file = @OUT@/%s.pid\n" +
			`command = /bin/sh -c "sleep 100000 </dev/null >/dev/null 2>&1 & echo $$! > @OUT@/%s.pid; chmod ` + mode + ` @OUT@/%s.pid"` + "\n"
	}
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"good": strings.ReplaceAll(launcher("0644"), "%s", "good"),
		"open": strings.ReplaceAll(launcher("0666"), "%s", "open"),
	})
	in.mustCtl("start", "good")
	status := in.mustCtl("status", "good").out
	if !strings.Contains(status, "Process ID:") {
		t.Errorf("adopted daemon has no pid in status:\n%s", status)
	}
	in.mustCtl("stop", "good")
	if st := in.state("good"); st != "stopped" {
		t.Errorf("good is %s after stop", st)
	}
	r := in.ctl("start", "open")
	if r.code == 0 || !strings.Contains(r.out+r.err, "open") {
		t.Errorf("world-writable pid file accepted: %s", r)
	}
	log := in.logText()
	if !strings.Contains(log, "writable") {
		t.Errorf("log does not say why the pid file was refused:\n%s", log)
	}
}
