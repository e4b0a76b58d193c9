package sdunit

import (
	"strings"
	"testing"
	"time"

	"ginit/init/service"
)

// TestSocketUnitMapping: what a .socket unit becomes, and the load errors
// (with the unit's line) for what ginit cannot make.
func TestSocketUnitMapping(t *testing.T) {
	tests := []struct {
		name, text string
		err        string // substring of the load error; "" = loads
		check      func(t *testing.T, sp *service.SocketSpec)
	}{
		{"unix stream with owner", "[Socket]\nListenStream=/run/x/s\nSocketMode=0600\nSocketUser=sshd\nSocketGroup=messagebus\nDirectoryMode=0750\nRemoveOnStop=yes\n", "",
			func(t *testing.T, sp *service.SocketSpec) {
				l := sp.Listen[0]
				if l.Kind != service.ListenStream || l.Mode != 0o600 || l.UID != 105 || l.GID != 106 || l.DirMode != 0o750 || !sp.RemoveOnStop {
					t.Errorf("%+v %+v", l, sp)
				}
			}},
		{"several kinds in file order", "[Socket]\nListenDatagram=/run/d\nListenStream=127.0.0.1:8080\nListenStream=[::1]:8080\nListenFIFO=/run/f\nListenSequentialPacket=/run/q\nListenStream=9000\nBacklog=16\nBindIPv6Only=both\nReusePort=yes\nFileDescriptorName=web\n", "",
			func(t *testing.T, sp *service.SocketSpec) {
				want := []struct {
					k service.ListenKind
					a string
				}{{service.ListenDatagram, "/run/d"}, {service.ListenStream, "127.0.0.1:8080"}, {service.ListenStream, "[::1]:8080"},
					{service.ListenFIFO, "/run/f"}, {service.ListenSeqPacket, "/run/q"}, {service.ListenStream, "9000"}}
				if len(sp.Listen) != len(want) {
					t.Fatalf("%+v", sp.Listen)
				}
				for i, w := range want {
					l := sp.Listen[i]
					if l.Kind != w.k || l.Addr != w.a || l.Backlog != 16 || l.IPv6Only != "both" || !l.ReusePort || l.Name != "web" {
						t.Errorf("listen %d: %+v", i, l)
					}
				}
			}},
		{"Service= names the target", "[Socket]\nListenStream=/run/s\nService=other.service\n", "",
			func(t *testing.T, sp *service.SocketSpec) {
				if sp.Target != "other" {
					t.Errorf("target %q", sp.Target)
				}
			}},
		{"empty assignment resets", "[Socket]\nListenStream=/run/a\nListenStream=\nListenStream=/run/b\n", "",
			func(t *testing.T, sp *service.SocketSpec) {
				if len(sp.Listen) != 1 || sp.Listen[0].Addr != "/run/b" {
					t.Errorf("%+v", sp.Listen)
				}
			}},
		{"trigger limit", "[Socket]\nListenStream=/run/s\nTriggerLimitIntervalSec=5s\nTriggerLimitBurst=10\n", "",
			func(t *testing.T, sp *service.SocketSpec) {
				if sp.TriggerInterval != 5*time.Second || sp.TriggerBurst != 10 {
					t.Errorf("%+v", sp)
				}
			}},
		{"bad address", "[Socket]\nListenStream=/run/a\nListenStream=not an address\n", "x.socket:3", nil},
		{"port 0", "[Socket]\nListenStream=0\n", "port 0", nil},
		{"netlink refused", "[Socket]\nListenNetlink=kobject-uevent 1\n", "x.socket:2", nil},
		{"relative FIFO", "[Socket]\nListenFIFO=run/f\n", "absolute path", nil},
		{"bad mode", "[Socket]\nListenStream=/run/a\nSocketMode=999\n", "x.socket:3", nil},
		{"unknown user", "[Socket]\nListenStream=/run/a\nSocketUser=nosuch\n", "unknown user", nil},
		{"bad BindIPv6Only", "[Socket]\nListenStream=80\nBindIPv6Only=maybe\n", "x.socket:3", nil},
		{"Accept=yes without a template", "[Socket]\nListenStream=22\nAccept=yes\n", "needs the template x@.service", nil},
		{"Accept=yes with Service=", "[Socket]\nListenStream=22\nAccept=yes\nService=y.service\n", "x.socket:4", nil},
		{"bad MaxConnections", "[Socket]\nListenStream=22\nMaxConnections=none\n", "x.socket:3", nil},
		{"nothing to listen on", "[Socket]\nBacklog=3\n", "listens on nothing", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := fixture(t, map[string]string{"x.socket": tc.text})
			d, err := s.Load("x.socket", nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Type != service.TypeSocket || d.Socket == nil {
				t.Fatalf("%+v", d)
			}
			if tc.name != "Service= names the target" && d.Socket.Target != "x" {
				t.Errorf("target %q", d.Socket.Target)
			}
			tc.check(t, d.Socket)
		})
	}
}

// TestSocketUnitAccept: Accept=yes starts instances of NAME@.service,
// whose StandardInput=socket makes the connection stdin and stdout.
func TestSocketUnitAccept(t *testing.T) {
	s, _ := fixture(t, map[string]string{
		"x.socket":   "[Socket]\nListenStream=2222\nAccept=yes\nMaxConnections=5\n",
		"x@.service": "[Service]\nExecStart=-/usr/sbin/sshd -i\nStandardInput=socket\n",
	})
	d, err := s.Load("x.socket", nil)
	if err != nil {
		t.Fatal(err)
	}
	if sp := d.Socket; !sp.Accept || sp.Target != "x" || sp.MaxConnections != 5 {
		t.Fatalf("%+v", sp)
	}
	inst, err := s.Load("x@1-127.0.0.1_2222-127.0.0.1_4000", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !inst.SocketStdio {
		t.Errorf("StandardInput=socket: %+v", inst)
	}
}

// TestSocketUnitIgnoredOptions: tuning ginit does not apply is reported
// with its line and the unit still loads.
func TestSocketUnitIgnoredOptions(t *testing.T) {
	s, _ := fixture(t, map[string]string{"x.socket": "[Socket]\nListenStream=/run/a\nPassCredentials=yes\nKeepAlive=yes\n"})
	var log logBuf
	if _, err := s.Load("x.socket", &log); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(log.lines, "\n")
	if !strings.Contains(all, "PassCredentials (line 3)") || !strings.Contains(all, "KeepAlive (line 4)") {
		t.Errorf("warnings %q", log.lines)
	}
}
