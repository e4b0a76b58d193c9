package loader

import (
	"strings"
	"testing"

	"ginit/init/service"
)

// Socket service settings: what they read, and each wrong combination
// named at its file and line.
func TestSocketSettings(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(t *testing.T, sp *service.SocketSpec)
		err        string // substring of the error; "" = loads
	}{
		{"kinds and owner", "type = socket\nsocket-listen = /run/e.sock\nsocket-listen = datagram:/run/e.dgram\nsocket-listen = 127.0.0.1:7000\nsocket-listen = fifo:/run/e.fifo\nsocket-listen = [::1]:7001\nsocket-permissions = 600\nsocket-uid = 0\nsocket-gid = 0\nsocket-activates = echo\n",
			func(t *testing.T, sp *service.SocketSpec) {
				want := []service.Listen{
					{Kind: service.ListenStream, Addr: "/run/e.sock", Mode: 0o600, UID: 0, GID: 0},
					{Kind: service.ListenDatagram, Addr: "/run/e.dgram", Mode: 0o600, UID: 0, GID: 0},
					{Kind: service.ListenStream, Addr: "127.0.0.1:7000", Mode: 0o600, UID: 0, GID: 0},
					{Kind: service.ListenFIFO, Addr: "/run/e.fifo", Mode: 0o600, UID: 0, GID: 0},
					{Kind: service.ListenStream, Addr: "[::1]:7001", Mode: 0o600, UID: 0, GID: 0},
				}
				if sp.Target != "echo" || len(sp.Listen) != len(want) || !sp.RemoveOnStop {
					t.Fatalf("%+v", sp)
				}
				for i, w := range want {
					if sp.Listen[i] != w {
						t.Errorf("listen %d: %+v, want %+v", i, sp.Listen[i], w)
					}
				}
			}, ""},
		{"relative path", "type = socket\nsocket-listen = e.sock\nsocket-activates = echo\n",
			func(t *testing.T, sp *service.SocketSpec) {
				if !strings.HasSuffix(sp.Listen[0].Addr, "/sd/e.sock") {
					t.Errorf("%q", sp.Listen[0].Addr)
				}
			}, ""},
		{"bad address", "type = socket\nsocket-listen = 1.2.3.4:0\nsocket-activates = echo\n", nil, "s:2: setting 'socket-listen'"},
		{"no listen", "type = socket\nsocket-activates = echo\n", nil, "at least one socket-listen"},
		{"no target", "type = socket\nsocket-listen = /run/e\n", nil, "needs socket-activates"},
		{"itself", "type = socket\nsocket-listen = /run/e\nsocket-activates = s\n", nil, "names the socket service itself"},
		{"command", "type = socket\nsocket-listen = /run/e\nsocket-activates = echo\ncommand = /bin/true\n", nil, "runs no command"},
		{"activates without type", "type = process\ncommand = /bin/true\nsocket-activates = echo\n", nil, "s:3: setting 'socket-activates'"},
		{"two listens without type", "type = process\ncommand = /bin/true\nsocket-listen = /run/a\nsocket-listen = /run/b\n", nil, "s:4: setting 'socket-listen': several"},
		{"accept", "type = socket\nsocket-listen = 2222\nsocket-accept = yes\nsocket-max-connections = 8\nsocket-activates = echo\n",
			func(t *testing.T, sp *service.SocketSpec) {
				if !sp.Accept || sp.MaxConnections != 8 || sp.Target != "echo" {
					t.Errorf("%+v", sp)
				}
			}, ""},
		{"accept without type", "type = process\ncommand = /bin/true\nsocket-accept = yes\n", nil, "s:3: setting 'socket-accept': socket-accept is only for type socket"},
		{"bad max", "type = socket\nsocket-listen = 2222\nsocket-accept = yes\nsocket-max-connections = 0\nsocket-activates = echo\n", nil, "s:4: setting 'socket-max-connections'"},
		{"missing target", "type = socket\nsocket-listen = /run/e\nsocket-activates = nosuch\n", nil, "nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newLoader(t, map[string]string{"sd/s": tt.body, "sd/echo": "type = process\ncommand = /bin/cat\n"})
			descs, err := l.LoadAll("s")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := descs[0]
			if d.Type != service.TypeSocket || d.Socket == nil || d.Ext().SocketListen != "" {
				t.Fatalf("%+v", d)
			}
			tt.check(t, d.Socket)
		})
	}
}
