package loader

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReloadCommand(t *testing.T) {
	cases := []struct {
		name string
		file string
		want [][]string
		line int    // error line; 0 = no error
		msg  string // part of the error
	}{
		{"none", "type = process\ncommand = /bin/d\n", nil, 0, ""},
		{"one, $MAINPID kept for the manager", "type = process\ncommand = /bin/d\nreload-command = /bin/kill -HUP $MAINPID\n",
			[][]string{{"/bin/kill", "-HUP", "$MAINPID"}}, 0, ""},
		{"several in order, += adds to the last, other variables substituted",
			"type = process\ncommand = /bin/d\nreload-command = /bin/check --pid=${MAINPID} $1\nreload-command: /bin/kill -USR1 $MAINPID\nreload-command += ${NOPE:-x}\n",
			[][]string{{"/bin/check", "--pid=$MAINPID", "arg"}, {"/bin/kill", "-USR1", "$MAINPID", "x"}}, 0, ""},
		{"scripted", "type = scripted\ncommand = /bin/up\nreload-command = /bin/again\n", [][]string{{"/bin/again"}}, 0, ""},
		{"internal drops it", "type = internal\nreload-command = /bin/again\n", nil, 0, ""},
		{"empty", "type = process\ncommand = /bin/d\nreload-command =\n", nil, 3, "setting 'reload-command': empty command"},
		{"+= first", "type = process\ncommand = /bin/d\nreload-command += -x\n", nil, 3, "'+=' with no reload-command before it"},
		{"too many", "type = process\ncommand = /bin/d\n" + strings.Repeat("reload-command = /bin/r\n", maxReloadCommands+1), nil,
			maxReloadCommands + 3, "more than 64 reload-command lines"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, dir := newLoader(t, map[string]string{"sd/s@": c.file})
			d, err := l.Load("s@arg")
			if c.line == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(d.Ext().ReloadCommand, c.want) {
					t.Fatalf("reload-command %q, want %q", d.Ext().ReloadCommand, c.want)
				}
				return
			}
			var le *Error
			if !errors.As(err, &le) || le.Line != c.line || le.File != filepath.Join(dir, "sd/s@") || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %v, want line %d with %q", err, c.line, c.msg)
			}
		})
	}
}
