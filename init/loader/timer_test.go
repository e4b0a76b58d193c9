package loader

import (
	"strings"
	"testing"
	"time"

	"ginit/init/service"
)

// Timer settings: what each reads, and every wrong combination named at
// its file and line.
func TestTimerSettings(t *testing.T) {
	const job = "type = scripted\ncommand = /bin/true\n"
	tests := []struct {
		name, body string
		check      func(*service.TimerSpec) bool
		err        string // substring of the error; "" = loads
	}{
		{"monotonic", "type = timer\ntimer-target = job\non-active = 5min\non-active = 1h 30s\non-unit-inactive = 90\non-boot = 2.5s\n",
			func(tm *service.TimerSpec) bool {
				tr := tm.Triggers
				return tm.Target == "job" && len(tr.OnActive) == 2 && tr.OnActive[0] == 5*time.Minute &&
					tr.OnActive[1] == time.Hour+30*time.Second && tr.OnUnitInactive[0] == 90*time.Second &&
					tr.OnBoot[0] == 2500*time.Millisecond
			}, ""},
		{"calendar", "type = timer\ntimer-target = job\non-calendar = Mon..Fri 08:00\non-calendar = daily\nrandomized-delay = 10min\npersistent = yes\n",
			func(tm *service.TimerSpec) bool {
				tr := tm.Triggers
				return len(tr.Calendar) == 2 && tr.Calendar[0].String() == "Mon..Fri *-*-* 08:00:00" &&
					tr.Calendar[1].String() == "*-*-* 00:00:00" && tr.RandomizedDelay == 10*time.Minute && tr.Persistent
			}, ""},
		{"empty clears", "type = timer\ntimer-target = job\non-active = 5\non-active =\non-boot = 1\n",
			func(tm *service.TimerSpec) bool {
				return len(tm.Triggers.OnActive) == 0 && len(tm.Triggers.OnBoot) == 1
			}, ""},
		{"bad calendar", "type = timer\ntimer-target = job\non-calendar = Mon..Fry 08:00\n", nil, "timer:3: setting 'on-calendar'"},
		{"bad span", "type = timer\ntimer-target = job\non-active = 5 parsecs\n", nil, "timer:3: setting 'on-active'"},
		{"no span", "type = timer\ntimer-target = job\non-active = 5\nrandomized-delay =\n", nil, "timer:4: setting 'randomized-delay'"},
		{"bad persistent", "type = timer\ntimer-target = job\non-boot = 1\npersistent = maybe\n", nil, "timer:4: setting 'persistent'"},
		{"bad target", "type = timer\ntimer-target = ../x\non-boot = 1\n", nil, "timer:2: setting 'timer-target'"},
		{"no target", "type = timer\non-boot = 1\n", nil, "type timer needs a timer-target or a command"},
		{"no trigger", "type = timer\ntimer-target = job\n", nil, "type timer needs on-calendar"},
		{"itself", "type = timer\ntimer-target = timer\non-boot = 1\n", nil, "timer-target names the timer itself"},
		{"command and target", "type = timer\ntimer-target = job\non-boot = 1\ncommand = /bin/true\n", nil, "its timer-target or its own command, not both"},
		{"stop-command alone", "type = timer\ntimer-target = job\non-boot = 1\nstop-command = /bin/true\n", nil, "stop-command of a timer without a command"},
		{"not a timer", "type = process\ncommand = /bin/true\non-active = 5\n", nil, "timer:3: setting 'on-active': timer settings are only for type timer"},
		{"missing target", "type = timer\ntimer-target = nosuch\non-boot = 1\n", nil, "nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newLoader(t, map[string]string{"sd/timer": tt.body, "sd/job": job})
			descs, err := l.LoadAll("timer")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(descs) != 2 || descs[1].Name != "job" {
				t.Fatalf("the target was not loaded with the timer: %d descriptions", len(descs))
			}
			if d := descs[0]; d.Type != service.TypeTimer || d.Timer == nil || !tt.check(d.Timer) {
				t.Fatalf("description %+v, timer %+v", d, d.Timer)
			}
		})
	}
}

// A file of endless trigger lines is refused, not kept.
func TestTimerTriggerLimit(t *testing.T) {
	body := "type = timer\ntimer-target = job\n" + strings.Repeat("on-active = 5\n", maxTriggers+1)
	l, _ := newLoader(t, map[string]string{"sd/timer": body, "sd/job": "type = internal\n"})
	if _, err := l.LoadAll("timer"); err == nil || !strings.Contains(err.Error(), "more than 64 values") {
		t.Fatalf("error %v", err)
	}
}

// ginit-check names a bad timer line and follows timer-target.
func TestCheckTimer(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"tick":  "type = timer\ntimer-target = job\non-calendar = *-*-32\n",
		"tock":  "type = timer\ntimer-target = gone\non-active = 1\n",
		"job":   "type = scripted\ncommand = /bin/true\n",
		"fine":  "type = timer\ntimer-target = job\non-calendar = hourly\npersistent = yes\n",
		"other": "type = internal\nrandomized-delay = 5\n",
	})
	code, out := runCheck(t, "-d", dir, "tick", "tock", "fine", "other")
	for _, want := range []string{"tick:3: setting 'on-calendar'", "gone", "other:2: setting 'randomized-delay': timer settings are only for type timer"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 || strings.Contains(out, "fine:") {
		t.Errorf("exit %d; output:\n%s", code, out)
	}
	if code, out := runCheck(t, "-d", dir, "fine"); code != 0 {
		t.Errorf("a good timer: exit %d\n%s", code, out)
	}
}

// A timer with a command of its own runs it as NAME.run, a scripted
// service with the timer's process settings, loaded with the timer.
func TestTimerOwnCommand(t *testing.T) {
	l, _ := newLoader(t, map[string]string{"sd/backup": "type = timer\non-calendar = daily\ncommand = /bin/echo $GREETING\nrun-as = alice\nstart-timeout = 0\ndepends-on: net\nstop-command = /bin/true\nworking-dir = /tmp\n", "sd/net": "type = internal\n"})
	descs, err := l.LoadAll("backup")
	if err != nil {
		t.Fatal(err)
	}
	var timer, run *service.Description
	for _, d := range descs {
		switch d.Name {
		case "backup":
			timer = d
		case "backup.run":
			run = d
		}
	}
	if timer == nil || run == nil || timer.Timer.Target != "backup.run" || len(timer.Command) != 0 || !timer.DependsOn("net", service.DepRegular) {
		t.Fatalf("timer %+v", timer)
	}
	if run.Type != service.TypeScripted || strings.Join(run.Command, " ") != "/bin/echo hello world" || run.RunAs != "alice" ||
		run.StartTimeout != 0 || run.Timer != nil || len(run.Deps) != 0 || run.File != timer.File {
		t.Fatalf("run %+v", run)
	}
	// The timer and its run each have their own Extra: the run keeps the
	// process settings the timer drops.
	if len(run.Ext().StopCommand) != 1 || run.Ext().WorkingDir != "/tmp" || timer.Ext().StopCommand != nil {
		t.Fatalf("run's extra %+v, timer's %+v", run.More, timer.More)
	}
}
