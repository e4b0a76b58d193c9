package daemon

import (
	"reflect"
	"testing"
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
			Config{Container: true, LogFile: "log", EnvFile: "env", User: true, ReadyFD: -1}, false},
		{[]string{"-t", "-m", "-s", "-F", "3"}, Config{Container: true, SystemMgr: true, System: true, ReadyFD: 3}, false},
		{[]string{"--ready-fd=x"}, Config{}, true},
		{[]string{"-d"}, Config{}, true},
		{[]string{"--bogus"}, Config{}, true},
		{[]string{"-s", "-u"}, Config{}, true},
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
