package daemon

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"ginit/init/service"
)

func TestLoadConf(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		want       service.StartLimit
		wantErr    string // in the error, which names file:line
	}{
		{"all settings", "# limits\nmax-starting = 8\nstarting-grace=10s  # slow disks\n\nstart-pressure-cpu = 40\nstart-pressure-io = 20\n", nil,
			service.StartLimit{Max: 8, Grace: 10 * time.Second, CPU: 40, IO: 20}, ""},
		{"the command line wins", "max-starting = 8\nstarting-grace = 5\n", []string{"--max-starting", "0"},
			service.StartLimit{Grace: 5 * time.Second}, ""},
		{"empty", "", nil, service.StartLimit{}, ""},
		{"unknown setting", "max-starting = 2\nsocket-path = /x\n", nil, service.StartLimit{}, ":2: \"socket-path = /x\" is not a setting"},
		{"no value", "max-starting\n", nil, service.StartLimit{}, ":1: "},
		{"bad value", "\nstart-pressure-io = 300\n", nil, service.StartLimit{}, ":2: option --start-pressure-io: \"300\" is not a percentage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ginit.conf")
			if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := ParseArgs(append([]string{"--config", path}, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			err = c.loadConf(append([]string{"--config", path}, tc.args...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), path+tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, path+tc.wantErr)
				}
				return
			}
			if err != nil || c.StartLimit != tc.want {
				t.Fatalf("StartLimit %+v, %v; want %+v", c.StartLimit, err, tc.want)
			}
		})
	}
	var c Config
	if err := c.loadConf(nil); err != nil || c.StartLimit != (service.StartLimit{}) {
		t.Errorf("no file: %+v, %v", c.StartLimit, err)
	}
	c.ConfFile = filepath.Join(t.TempDir(), "missing")
	if err := c.loadConf(nil); err == nil {
		t.Error("a missing --config file is no error")
	}
}

// --max-starting-class and its ginit.conf line: repeatable, the command
// line's value for a class wins, a bad value names the line.
func TestClassLimits(t *testing.T) {
	c, err := ParseArgs([]string{"--max-starting-class", "disk=2", "--max-starting-class=net=1", "--max-starting-class", "disk=3"})
	if err != nil || !reflect.DeepEqual(c.ClassLimits, map[string]int{"disk": 3, "net": 1}) {
		t.Fatalf("%v, %v", c.ClassLimits, err)
	}
	for _, bad := range []string{"disk", "=2", "disk=-1", "disk=x"} {
		if _, err := ParseArgs([]string{"--max-starting-class", bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "ginit.conf")
	if err := os.WriteFile(p, []byte("max-starting-class = disk=2\nmax-starting-class = net=5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", p, "--max-starting-class", "net=1"}
	c, err = ParseArgs(args)
	if err == nil {
		err = c.loadConf(args)
	}
	if err != nil || !reflect.DeepEqual(c.ClassLimits, map[string]int{"disk": 2, "net": 1}) {
		t.Fatalf("with the file: %v, %v", c.ClassLimits, err)
	}
	if err := os.WriteFile(p, []byte("\nmax-starting-class = disk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readConf(p); err == nil || !strings.Contains(err.Error(), ":2: ") {
		t.Fatalf("bad line: %v", err)
	}
}
