package loader

import (
	"strings"
	"testing"

	"ginit/init/service"
)

func TestTerminalSetting(t *testing.T) {
	for _, tt := range []struct {
		body string
		kind service.TerminalKind
		vt   int32
		err  string
	}{
		{"type = process\ncommand = /bin/sh\nterminal = pty\n", service.TerminalPTY, 0, ""},
		{"type = process\ncommand = /sbin/agetty tty3\nterminal = vt:3\n", service.TerminalVT, 3, ""},
		{"type = scripted\ncommand = /bin/true\nrun-on-vt = 63\n", service.TerminalVT, 63, ""},
		{"type = process\ncommand = /bin/sh\nterminal = vt:0\n", 0, 0, "s:3: setting 'terminal'"},
		{"type = process\ncommand = /bin/sh\nterminal = vt:64\n", 0, 0, "1..63"},
		{"type = process\ncommand = /bin/sh\nterminal = tty\n", 0, 0, "pty or vt:N"},
		{"type = internal\nterminal = pty\n", 0, 0, "only for type process, scripted or bgprocess"},
		{"type = process\ncommand = /bin/sh\nterminal = pty\noptions: runs-on-console\n", 0, 0, "cannot be combined with runs-on-console"},
		{"type = process\ncommand = /bin/sh\nterminal = pty\nlog-type = pipe\n", 0, 0, "log-type pipe"},
	} {
		l, _ := newLoader(t, map[string]string{"sd/s": tt.body})
		d, err := l.Load("s")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.body, err, tt.err)
			}
			continue
		}
		if err != nil || d.Terminal != tt.kind || d.Ext().VT != tt.vt {
			t.Errorf("%q: %v %d, %v", tt.body, d.Terminal, d.Ext().VT, err)
		}
	}
}

func TestStartClassSetting(t *testing.T) {
	for body, want := range map[string]string{
		"type = scripted\ncommand = /bin/true\nstart-class = disk-io_2\n": "disk-io_2",
		"type = scripted\ncommand = /bin/true\nstart-class = a/b\n":       "error",
		"type = scripted\ncommand = /bin/true\nstart-class = a b\n":       "error",
	} {
		l, _ := newLoader(t, map[string]string{"sd/s": body})
		d, err := l.Load("s")
		switch {
		case want == "error" && (err == nil || !strings.Contains(err.Error(), "s:3: setting 'start-class'")):
			t.Errorf("%q: %v", body, err)
		case want != "error" && (err != nil || d.Ext().StartClass != want):
			t.Errorf("%q: %v", body, err)
		}
	}
}
