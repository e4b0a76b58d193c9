package sessiond

import (
	"os"
	"path/filepath"
	"testing"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// Inhibitors survive a restart of sessiond while their holders keep the
// fd; one whose holder closed it meanwhile is dropped.
func TestInhibitorRestore(t *testing.T) {
	run := t.TempDir()
	w, _, _ := powerWorld(t, run)
	kept := w.inhibit(inhibitShutdown|inhibitIdle, modeBlock, 1000)
	gone := w.inhibit(inhibitSleep, modeDelay, 1001)
	w.stop()
	gone.Close()

	w2, _, _ := powerWorld(t, run)
	w2.waitFor("the closed lock to go", func() bool {
		n := 0
		w2.state(func(s *state) { n = len(s.inhibitors) })
		return n == 1
	})
	w2.state(func(s *state) {
		l := s.inhibitorList()
		if len(l) != 1 || l[0].What != "shutdown:idle" || l[0].Mode != "block" || l[0].UID != 1000 || l[0].PID != 4242 || l[0].Who != "test" {
			t.Errorf("restored %+v", l)
		}
	})
	kept.Close()
	w2.waitFor("the restored lock to go with its fd", func() bool {
		n := 1
		w2.state(func(s *state) { n = len(s.inhibitors) })
		return n == 0
	})
	if ents, _ := os.ReadDir(filepath.Join(run, "systemd", "inhibit")); len(ents) != 0 {
		t.Errorf("inhibit directory not cleaned: %v", ents)
	}
}

func TestParseWhat(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		want string
	}{
		{"shutdown", true, "shutdown"},
		{"sleep:shutdown", true, "shutdown:sleep"},
		{"idle:sleep:shutdown", true, "shutdown:sleep:idle"},
		{"handle-lid-switch:handle-power-key", true, "handle-power-key:handle-lid-switch"},
		{"handle-reboot-key", true, "handle-reboot-key"},
		{"", false, ""},
		{"shutdown:", false, ""},
		{"reboot", false, ""},
	} {
		w, ok := parseWhat(c.in)
		if ok != c.ok || (ok && w.String() != c.want) {
			t.Errorf("parseWhat(%q) = %q, %v; want %q, %v", c.in, w, ok, c.want, c.ok)
		}
	}
}

// BlockInhibited/DelayInhibited announce their changes (powerdevil waits
// for PropertiesChanged), in logind's canonical order.
func TestInhibitedPropertiesChanged(t *testing.T) {
	w, _, _ := powerWorld(t, "")
	w.em.take()
	f := w.inhibit(inhibitIdle|inhibitShutdown, modeBlock, 1000)
	changed := func() map[string]godbus.Variant {
		for _, s := range w.em.take() {
			if s.name == bus.IfaceProperties+".PropertiesChanged" && s.path == ManagerPath {
				return s.args[1].(map[string]godbus.Variant)
			}
		}
		return nil
	}
	if c := changed(); c["BlockInhibited"].Value() != "shutdown:idle" {
		t.Errorf("PropertiesChanged after Inhibit: %v", c)
	}
	f.Close()
	w.waitFor("the release", func() bool {
		n := 1
		w.state(func(s *state) { n = len(s.inhibitors) })
		return n == 0
	})
	if c := changed(); c["BlockInhibited"].Value() != "" {
		t.Errorf("PropertiesChanged after release: %v", c)
	}
}
