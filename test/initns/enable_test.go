package initns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ginitctl enable, as dinitctl's: the link in boot's waits-for.d is made
// and the service starts at once, boot being up (not marked active: it
// stops when boot's link goes); a source without waits-for.d is refused
// with the line to add; status then tells since when the service runs.
func TestEnableStartsAndExplains(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":         "type = internal\nwaits-for.d = boot.d\n",
		"boot.d/.keep": "",
		"plain":        "type = internal\n",
		"svc":          "type = process\ncommand = /bin/sleep 1000\n",
	})
	in.waitState("boot", "started")
	r := in.mustCtl("enable", "svc")
	if r.out != "Service 'svc' enabled.\n" {
		t.Errorf("enable: %s", r)
	}
	in.waitState("svc", "started")
	if target, err := os.Readlink(filepath.Join(in.sd, "boot.d", "svc")); err != nil || target != "../svc" {
		t.Errorf("link: %q, %v", target, err)
	}
	st := in.mustCtl("status", "svc").out
	if !strings.Contains(st, "State: STARTED since ") || !strings.Contains(st, " ago)") || strings.Contains(st, "explicitly started") {
		t.Errorf("status:\n%s", st)
	}
	r = in.ctl("enable", "--from", "plain", "svc")
	if r.code != 1 || !strings.Contains(r.err, "service 'plain' has no waits-for.d directory") ||
		!strings.Contains(r.err, `add a line "waits-for.d = plain.d" to `+filepath.Join(in.sd, "plain")) || strings.Contains(r.err, "invalid argument") {
		t.Errorf("enable from plain: %s", r)
	}
	in.mustCtl("disable", "svc")
	in.waitState("svc", "stopped")
	if st := in.mustCtl("status", "svc").out; !strings.Contains(st, "Stop reason: normal") {
		t.Errorf("status after disable:\n%s", st)
	}
	// An unknown service: is-started says so and prints no state.
	if r := in.ctl("is-started", "nosuch"); r.code != 1 || r.out != "" || !strings.Contains(r.err, "nosuch") {
		t.Errorf("is-started nosuch: %s", r)
	}
}

// A service whose process ignores SIGTERM is killed after stop-timeout:
// status does not call that a normal stop.
func TestStopKilledAfterTimeout(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":  "type = internal\n",
		"stuck": "type = process\ncommand = /bin/sh -c \"trap '' TERM; while :; do sleep 1; done\"\nstop-timeout = 1\n",
	})
	in.mustCtl("start", "stuck")
	in.mustCtl("stop", "stuck")
	in.waitState("stuck", "stopped")
	if st := in.mustCtl("status", "stuck").out; !strings.Contains(st, "Stop reason: killed after the stop timeout") {
		t.Errorf("status:\n%s", st)
	}
}
