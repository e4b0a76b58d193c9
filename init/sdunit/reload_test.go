package sdunit

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"ginit/init/loader"
)

// ExecReload lines become reload-command, one command each, in order.
func TestExecReload(t *testing.T) {
	setpriv := []string{"/usr/bin/setpriv", "--reuid=1000", "--regid=1000", "--init-groups", "--"}
	cases := []struct {
		name string
		text string
		want [][]string
		warn string // a warning naming the line; "" = none about ExecReload
		err  string // refused with this; "" = loads
	}{
		{"kill HUP", "[Service]\nExecStart=/bin/d\nExecReload=/bin/kill -HUP $MAINPID\n",
			[][]string{{"/bin/kill", "-HUP", "$MAINPID"}}, "", ""},
		{"several, in order, variables from Environment=", "[Service]\nEnvironment=CONF=/etc/d.conf\nExecStart=/bin/d\nExecReload=/bin/d -t -c ${CONF}\nExecReload=/bin/kill -USR1 ${MAINPID}\n",
			[][]string{{"/bin/d", "-t", "-c", "/etc/d.conf"}, {"/bin/kill", "-USR1", "${MAINPID}"}}, "", ""},
		{"reset by an empty line", "[Service]\nExecStart=/bin/d\nExecReload=/bin/old\nExecReload=\nExecReload=/bin/new\n",
			[][]string{{"/bin/new"}}, "", ""},
		{"- ignores a failure", "[Service]\nExecStart=/bin/d\nExecReload=-/bin/check\nExecReload=/bin/kill -HUP $MAINPID\n",
			[][]string{{"/bin/sh", "-c", `"$@" || exit 0`, "u.service", "/bin/check"}, {"/bin/kill", "-HUP", "$MAINPID"}}, "", ""},
		{"User= with a start script: setpriv unless +", "[Service]\nUser=alice\nExecStartPre=/bin/prep\nExecStart=/bin/d\nExecReload=/bin/r $MAINPID\nExecReload=+/bin/root-r\n",
			[][]string{append(append([]string(nil), setpriv...), "/bin/r", "$MAINPID"), {"/bin/root-r"}}, "", ""},
		{"User= without a script: + runs as the user, said", "[Service]\nUser=alice\nExecStart=/bin/d\nExecReload=+/bin/root-r\n",
			[][]string{{"/bin/root-r"}}, "u.service:4: setting 'ExecReload': runs as User=alice", ""},
		{"no ExecReload", "[Service]\nExecStart=/bin/d\n", nil, "", ""},
		{"notify-reload: SIGHUP", "[Service]\nType=notify-reload\nExecStart=/bin/d\n",
			[][]string{{"/bin/kill", "-s", "HUP", "$MAINPID"}}, "", ""},
		{"notify-reload: ReloadSignal=", "[Service]\nType=notify-reload\nReloadSignal=SIGUSR2\nExecStart=/bin/d\n",
			[][]string{{"/bin/kill", "-s", "USR2", "$MAINPID"}}, "", ""},
		{"notify-reload: ExecReload= wins", "[Service]\nType=notify-reload\nExecStart=/bin/d\nExecReload=/bin/r\n",
			[][]string{{"/bin/r"}}, "", ""},
		{"ReloadSignal= alone does nothing, said", "[Service]\nReloadSignal=USR1\nExecStart=/bin/d\n", nil,
			"u.service:2: setting 'ReloadSignal': ignored: only Type=notify-reload", ""},
		{"bad ReloadSignal=", "[Service]\nType=notify-reload\nReloadSignal=SIGNOPE\nExecStart=/bin/d\n", nil, "",
			":3: setting 'ReloadSignal': unknown signal \"SIGNOPE\""},
		{"other runtime variable", "[Service]\nExecStart=/bin/d\nExecReload=/bin/r $SERVICE_RESULT\n", nil, "",
			":3: setting 'ExecReload': $SERVICE_RESULT is only known when the command runs"},
		{"@ prefix", "[Service]\nExecStart=/bin/d\nExecReload=@/bin/r r\n", nil, "", ":3: setting 'ExecReload': the '@' prefix"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, dir := fixture(t, map[string]string{"u.service": c.text})
			var log logBuf
			d, err := s.Load("u", &log)
			if c.err != "" {
				var le *loader.Error
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &le) || !strings.HasPrefix(le.File, dir) {
					t.Fatalf("got %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Ext().ReloadCommand, c.want) {
				t.Errorf("reload-command %q, want %q", d.Ext().ReloadCommand, c.want)
			}
			all := strings.Join(log.lines, "\n")
			if c.warn == "" && strings.Contains(all, "ExecReload") || c.warn != "" && !strings.Contains(all, c.warn) {
				t.Errorf("warnings %q, want %q", all, c.warn)
			}
		})
	}
}
