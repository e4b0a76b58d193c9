package initns

import (
	"strings"
	"testing"
)

// dinit's "restart" test: restart of a started internal service stops and
// starts it and returns "Service restarted." (it used to hang: the waiter
// was registered after the stop had already completed).
func TestRestartInternalAndProcess(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\nwaits-for = int\nwaits-for = proc\n",
		"int":  "type = internal\n",
		"proc": "type = process\ncommand = /bin/sh -c \"echo x >> @OUT@/proc; exec sleep 1000\"\n",
	})
	in.waitState("int", "started")
	in.waitOut("proc", func(s string) bool { return s == "x\n" })
	for _, name := range []string{"int", "proc"} {
		r := in.ctl("restart", name)
		if r.code != 0 || r.out != "Service restarted.\n" {
			t.Fatalf("restart %s: %s", name, r)
		}
		in.waitState(name, "started")
	}
	in.waitOut("proc", func(s string) bool { return s == "x\nx\n" })
}

// No error says its own prefix twice: for every verb's error path against a
// real ginit, ginitctl prints one line that names the service once.
func TestErrorsSayTheirPrefixOnce(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":      "type = internal\n",
		"up":        "type = process\ncommand = /bin/sleep 1000\n",
		"dependent": "type = internal\ndepends-on = up\n",
		"fails":     "type = scripted\ncommand = /bin/false\n",
		"pinstop":   "type = internal\n",
		"bad":       "type = bogus\n",
		"idle":      "type = internal\n",
		"pinned":    "type = internal\n",
	})
	in.waitState("boot", "started")
	in.mustCtl("start", "dependent")
	in.mustCtl("start", "--pin", "pinned")
	in.mustCtl("status", "idle") // loaded, stopped
	tests := []struct {
		name  string
		setup []string // ginitctl commands run first
		args  []string
		svc   string // the service the message is about
	}{
		{name: "start fails", args: []string{"start", "fails"}},
		{name: "start not found", args: []string{"start", "nosuch"}},
		{name: "start bad file", args: []string{"start", "bad"}},
		{name: "start pinned stopped", setup: []string{"status pinstop", "stop --pin --ignore-unstarted pinstop"}, args: []string{"start", "pinstop"}},
		{name: "stop not started", args: []string{"stop", "idle"}},
		{name: "stop with dependents", args: []string{"stop", "up"}},
		{name: "stop pinned started", args: []string{"stop", "pinned"}},
		{name: "restart not started", args: []string{"restart", "idle"}},
		{name: "restart with dependents", args: []string{"restart", "up"}},
		{name: "restart pinned", args: []string{"restart", "pinned"}},
		{name: "wake without dependents", args: []string{"wake", "idle"}},
		{name: "release not started", args: []string{"release", "idle"}},
		{name: "unpin not loaded", args: []string{"unpin", "neverloaded"}},
		{name: "unload started", args: []string{"unload", "boot"}},
		{name: "reload new dependency not started", setup: []string{"@boot=type = internal\ndepends-on = idle\n"}, args: []string{"reload", "boot"}},
		{name: "reload type change while started", setup: []string{"@up=type = internal\n"}, args: []string{"reload", "up"}},
		{name: "add-dep cycle", args: []string{"add-dep", "need", "up", "dependent"}, svc: "up"},
		{name: "rm-dep absent", args: []string{"rm-dep", "need", "idle", "boot"}, svc: "idle"},
		{name: "enable not found", args: []string{"enable", "nosuch"}},
		{name: "disable not found", args: []string{"disable", "nosuch"}},
		{name: "trigger not triggered", args: []string{"trigger", "idle"}},
		{name: "untrigger not triggered", args: []string{"untrigger", "idle"}},
		{name: "signal without process", args: []string{"signal", "HUP", "idle"}},
		{name: "catlog not loaded", args: []string{"catlog", "neverloaded"}},
		{name: "setenv bad name", args: []string{"setenv", "=x"}, svc: "-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range tc.setup {
				if name, body, ok := strings.Cut(s, "="); ok && strings.HasPrefix(name, "@") {
					in.write(map[string]string{name[1:]: body})
					continue
				}
				in.ctl(strings.Fields(s)...)
			}
			r := in.ctl(tc.args...)
			if r.code == 0 {
				t.Fatalf("ginitctl %s succeeded: %s", strings.Join(tc.args, " "), r)
			}
			svc := tc.svc
			if svc == "" {
				svc = tc.args[len(tc.args)-1]
			}
			line := strings.TrimSuffix(r.err, "\n")
			t.Logf("ginitctl %s: %s", strings.Join(tc.args, " "), line)
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, "ginitctl: ") {
				t.Errorf("want one ginitctl: line, got %q", r.err)
			}
			seen := map[string]bool{}
			for _, p := range strings.Split(line, ": ") {
				if seen[p] {
					t.Errorf("%q says %q twice", line, p)
				}
				seen[p] = true
			}
			if n := strings.Count(line, "'"+svc+"'"); n > 1 {
				t.Errorf("%q names '%s' %d times", line, svc, n)
			}
			if n := strings.Count(line, "cannot "); n > 1 {
				t.Errorf("%q says \"cannot\" %d times", line, n)
			}
		})
	}
}
