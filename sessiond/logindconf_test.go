package sessiond

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTimespan(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5", 5 * time.Second, true},
		{"5s", 5 * time.Second, true},
		{"30min", 30 * time.Minute, true},
		{"1h 30min", 90 * time.Minute, true},
		{"1min30s", 90 * time.Second, true},
		{"500ms", 500 * time.Millisecond, true},
		{"0", 0, true},
		{"infinity", time.Duration(1<<63 - 1), true},
		{"", 0, false},
		{"5 parsecs", 0, false},
		{"abc", 0, false},
	} {
		d, err := parseTimespan(c.in)
		if (err == nil) != c.ok || (c.ok && d != c.want) {
			t.Errorf("parseTimespan(%q) = %v, %v; want %v", c.in, d, err, c.want)
		}
	}
}

func TestLoadLoginConfig(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		check      func(c LoginConfig) bool
		bad        string // error must mention it
	}{
		{"missing", "", func(c LoginConfig) bool { return c == DefaultLoginConfig() }, ""},
		{"values", "[Login]\nHandlePowerKey=suspend\nInhibitDelayMaxSec=30\nHandleLidSwitch=ignore\nLidSwitchIgnoreInhibited=no\nInhibitorsMax=10\nKillUserProcesses=yes\n",
			func(c LoginConfig) bool {
				return c.HandlePowerKey == "suspend" && c.InhibitDelayMax == 30*time.Second && c.HandleLidSwitch == "ignore" &&
					!c.LidSwitchIgnoreInhibited && c.InhibitorsMax == 10 && c.HandleSuspendKey == "suspend"
			}, ""},
		{"comments and last wins", "# c\n[Login]\n#HandlePowerKey=reboot\nHandlePowerKey=halt\nHandlePowerKey=reboot\n",
			func(c LoginConfig) bool { return c.HandlePowerKey == "reboot" }, ""},
		{"bad action", "[Login]\nHandlePowerKey=explode\n", nil, "HandlePowerKey=explode"},
		{"bad span", "[Login]\nInhibitDelayMaxSec=soon\n", nil, "InhibitDelayMaxSec=soon"},
		{"bad bool", "[Login]\nPowerKeyIgnoreInhibited=maybe\n", nil, "PowerKeyIgnoreInhibited"},
	} {
		path := filepath.Join(dir, "missing.conf")
		if c.text != "" {
			path = filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".conf")
			if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := LoadLoginConfig(path)
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: error %v, want one naming %s and the file", c.name, err, c.bad)
			}
			continue
		}
		if err != nil || !c.check(got) {
			t.Errorf("%s: %+v, %v", c.name, got, err)
		}
	}
}

// docs/logind.conf.sample documents the defaults: uncommented, it loads
// to exactly DefaultLoginConfig.
func TestSampleConfigIsDefaults(t *testing.T) {
	data, err := os.ReadFile("../docs/logind.conf.sample")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if k, _, ok := strings.Cut(l, "="); ok && strings.HasPrefix(k, "#") && !strings.Contains(k, " ") {
			l = l[1:]
		}
		lines = append(lines, l)
	}
	path := filepath.Join(t.TempDir(), "logind.conf")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadLoginConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != DefaultLoginConfig() {
		t.Errorf("uncommented sample = %+v\nwant the defaults %+v", got, DefaultLoginConfig())
	}
}
