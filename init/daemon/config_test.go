package daemon

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"ginit/init/service"
	"ginit/internal/version"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    Config
		wantErr bool
	}{
		{[]string{"-d", "a", "--services-dir=b", "-p", "/s", "-q", "x", "y"},
			Config{ServicesDirs: []string{"a", "b"}, SocketPath: "/s", Quiet: true, Services: []string{"x", "y"}, ReadyFD: -1}, false},
		{[]string{"--container", "-l", "log", "-e", "env", "--user"},
			Config{Container: true, LogFile: "log", EnvFile: "env", User: true, ReadyFD: -1, Forced: true}, false},
		{[]string{"-o", "-m", "-s", "-F", "3"}, Config{Container: true, SystemMgr: true, System: true, ReadyFD: 3, Forced: true}, false},
		// GNU style: clustered short options, attached arguments, "--".
		{[]string{"-qsF3", "-dDIR", "-tfoo", "--", "-x"}, Config{Quiet: true, System: true, ReadyFD: 3, ServicesDirs: []string{"DIR"}, Services: []string{"foo", "-x"}, Forced: true}, false},
		// dinit: -t names a service; -o is --container.
		{[]string{"-t", "a", "--service=b", "c"}, Config{Services: []string{"a", "b", "c"}, Forced: true, ReadyFD: -1}, false},
		{[]string{"--container"}, Config{Container: true, Forced: true, ReadyFD: -1}, false},
		{[]string{"-t"}, Config{}, true},
		{[]string{"-Z"}, Config{}, true},
		{[]string{"--ready-fd=x"}, Config{}, true},
		{[]string{"-d"}, Config{}, true},
		{[]string{"--bogus"}, Config{}, true},
		{[]string{"-s", "-u"}, Config{}, true},
		// -b: below the cgroup2 root, with or without the leading slash.
		{[]string{"-b", "ginit.slice/x"}, Config{CgroupPath: "/ginit.slice/x", ReadyFD: -1}, false},
		{[]string{"--cgroup-path=/a/b/"}, Config{CgroupPath: "/a/b", ReadyFD: -1}, false},
		{[]string{"--cgroup-path", "/"}, Config{CgroupPath: "/", ReadyFD: -1}, false},
		{[]string{"-b"}, Config{}, true},
		{[]string{"-b", ""}, Config{}, true},
		{[]string{"-b", "a/../../etc"}, Config{}, true},
		{[]string{"-b", "a//b"}, Config{}, true},
		{[]string{"-b", "./a"}, Config{}, true},
		{[]string{"--version"}, Config{Version: true, ReadyFD: -1}, false},
		// The soft limit on parallel starts.
		{[]string{"--max-starting", "8", "--starting-grace=10s", "--start-pressure-cpu", "40", "--start-pressure-io=12.5"},
			Config{ReadyFD: -1, StartLimit: service.StartLimit{Max: 8, Grace: 10 * time.Second, CPU: 40, IO: 12.5}}, false},
		{[]string{"--starting-grace", "2.5"}, Config{ReadyFD: -1, StartLimit: service.StartLimit{Grace: 2500 * time.Millisecond}}, false},
		{[]string{"--max-starting", "-1"}, Config{}, true},
		{[]string{"--max-starting", "x"}, Config{}, true},
		{[]string{"--max-starting"}, Config{}, true},
		{[]string{"--starting-grace", "soon"}, Config{}, true},
		{[]string{"--starting-grace", "-1s"}, Config{}, true},
		{[]string{"--start-pressure-cpu", "101"}, Config{}, true},
		{[]string{"--start-pressure-io", "NaN"}, Config{}, true},
	}
	for _, tc := range tests {
		got, err := ParseArgs(tc.args)
		if (err != nil) != tc.wantErr {
			t.Errorf("%v: err %v", tc.args, err)
			continue
		}
		if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: got %+v want %+v", tc.args, got, tc.want)
		}
	}
}

func TestFinishPID1IgnoresKernelWords(t *testing.T) {
	c := Config{Services: []string{"quiet", "splash"}, PID1: true}
	c.Finish(func(string) string { return "" }, 0)
	if !reflect.DeepEqual(c.Services, []string{"boot"}) || !c.SystemMgr || !c.System {
		t.Fatalf("%+v", c)
	}
	c = Config{Services: []string{"single"}, PID1: true}
	c.Finish(func(string) string { return "" }, 0)
	if !reflect.DeepEqual(c.Services, []string{"single"}) {
		t.Fatalf("%+v", c)
	}
}

// --help and --version print and end ginit, except as process 1, whose
// exit would panic the kernel.
func TestPrintInfo(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		pid1     bool
		done     bool
		wantText string
	}{
		{"help", Config{Help: true}, false, true, HelpText(nil)},
		{"version", Config{Version: true}, false, true, version.Line("ginit") + "\n"},
		{"help wins", Config{Help: true, Version: true}, false, true, HelpText(nil)},
		{"neither", Config{}, false, false, ""},
		{"pid 1 help", Config{Help: true}, true, false, ""},
		{"pid 1 version", Config{Version: true}, true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if done := printInfo(tc.cfg, tc.pid1, &out, nil); done != tc.done || out.String() != tc.wantText {
				t.Errorf("printInfo = %v, %q; want %v, %q", done, out.String(), tc.done, tc.wantText)
			}
		})
	}
}
