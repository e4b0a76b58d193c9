package sdunit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"ginit/init/loader"
	"ginit/init/service"
)

type logBuf struct{ lines []string }

func (l *logBuf) Printf(format string, a ...any) {
	l.lines = append(l.lines, fmt.Sprintf(format, a...))
}

// fixture writes files (path relative to a fresh unit dir → content; a
// content starting with "->" is a symbolic link) and returns a Source over
// the dir, with a passwd file naming one user.
func fixture(t *testing.T, files map[string]string) (*Source, string) {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(c, "->"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pw := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(pw, []byte("root:x:0:0:root:/root:/bin/sh\nsshd:x:105:65534::/run/sshd:/usr/sbin/nologin\nalice:x:1000:1000:A:/home/alice:/bin/bash\n"), 0o644)
	os.WriteFile(filepath.Join(filepath.Dir(pw), "group"), []byte("root:x:0:\nmessagebus:x:106:\n"), 0o644)
	return New(Config{Dirs: []string{dir}, PasswdFile: pw, Setpriv: "/usr/bin/setpriv",
		Hostname: func() (string, error) { return "host.example", nil }}), dir
}

func TestServiceMapping(t *testing.T) {
	tests := []struct {
		name, unit, text string
		check            func(t *testing.T, d *service.Description)
	}{
		{"simple", "a", "[Service]\nExecStart=/bin/a -x 'two words' \"q\\\"d\"\nRestart=always\nRestartSec=2s\nTimeoutStopSec=infinity\n",
			func(t *testing.T, d *service.Description) {
				want := []string{"/bin/a", "-x", "two words", `q"d`}
				if d.Type != service.TypeProcess || !reflect.DeepEqual(d.Command, want) || d.Restart != service.RestartYes ||
					d.RestartDelay != 2*time.Second || d.StopTimeout != 0 || d.StartTimeout != 90*time.Second {
					t.Errorf("%+v", d)
				}
			}},
		{"notify user env", "b", "[Service]\nType=notify\nUser=alice\nGroup=users\nEnvironment=\"A=one two\" B=x\nExecStart=/bin/b $A ${A}x $$ ${B}\n",
			func(t *testing.T, d *service.Description) {
				want := []string{"/bin/b", "one", "two", "one twox", "$", "x"}
				if d.Ext().ReadyNotification != "notify" || d.RunAs != "alice:users" || !reflect.DeepEqual(d.Command, want) {
					t.Errorf("%+v", d)
				}
				if !contains(d.Ext().Env, "A=one two") || !contains(d.Ext().Env, "HOME=/home/alice") {
					t.Errorf("env %q", d.Ext().Env)
				}
			}},
		{"dbus", "p", "[Service]\nType=dbus\nBusName=org.freedesktop.PolicyKit1\nExecStart=/usr/lib/polkit-1/polkitd --no-debug\n",
			func(t *testing.T, d *service.Description) {
				want := "/usr/sbin/ginit-busname --fd 9 org.freedesktop.PolicyKit1 &\nexec /usr/lib/polkit-1/polkitd --no-debug 9>&-\n"
				if d.Type != service.TypeProcess || d.Ext().ReadyNotification != "pipefd:9" || len(d.Command) != 4 ||
					d.Command[0] != "/bin/sh" || d.Command[2] != want {
					t.Errorf("%+v\nscript %q", d, d.Command)
				}
			}},
		{"forking", "c", "[Service]\nType=forking\nPIDFile=/run/c.pid\nExecStart=/bin/c\nExecStop=/bin/kill -QUIT $MAINPID\n",
			func(t *testing.T, d *service.Description) {
				if d.Type != service.TypeBGProcess || d.Ext().PIDFile != "/run/c.pid" || d.TermSignal != int32(syscall.SIGQUIT) || d.Ext().StopCommand != nil {
					t.Errorf("%+v", d)
				}
			}},
		{"oneshot chain", "d", "[Service]\nType=oneshot\nExecStart=/bin/one\nExecStart=-/bin/two 'x y'\nExecStop=/bin/down\n",
			func(t *testing.T, d *service.Description) {
				if d.Type != service.TypeScripted || len(d.Command) != 4 || d.Command[0] != "/bin/sh" {
					t.Fatalf("%+v", d)
				}
				if want := "/bin/one || exit $?\n/bin/two 'x y'\nexit 0\n"; d.Command[2] != want {
					t.Errorf("script %q, want %q", d.Command[2], want)
				}
				if !reflect.DeepEqual(d.Ext().StopCommand, []string{"/bin/down"}) || d.StartTimeout != 0 {
					t.Errorf("%+v", d)
				}
			}},
		{"pre and dirs as user", "ssh", "[Service]\nUser=sshd\nExecStartPre=/usr/sbin/sshd -t\nExecStartPre=+/bin/prep\nExecStart=/usr/sbin/sshd -D\nRuntimeDirectory=sshd\nRuntimeDirectoryMode=0750\nStateDirectory=s/t\n",
			func(t *testing.T, d *service.Description) {
				want := "mkdir -p /run/sshd || exit $?\nchmod 0750 /run/sshd || exit $?\nchown sshd /run/sshd || exit $?\n" +
					"mkdir -p /var/lib/s/t || exit $?\nchmod 0755 /var/lib/s/t || exit $?\nchown sshd /var/lib/s/t || exit $?\n" +
					"/usr/bin/setpriv --reuid=105 --regid=65534 --init-groups -- /usr/sbin/sshd -t || exit $?\n" +
					"/bin/prep || exit $?\n" +
					"exec /usr/bin/setpriv --reuid=105 --regid=65534 --init-groups -- /usr/sbin/sshd -D\n"
				if d.RunAs != "" || len(d.Command) != 4 || d.Command[2] != want {
					t.Errorf("command %q\nwant %q", d.Command, want)
				}
				if !contains(d.Ext().Env, "RUNTIME_DIRECTORY=/run/sshd") {
					t.Errorf("env %q", d.Ext().Env)
				}
			}},
		{"limits caps output", "e", "[Service]\nExecStart=/bin/e\nLimitNOFILE=1024:4096\nLimitCORE=infinity\nMemoryMax=1G\nTasksMax=50\n" +
			"CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_CHOWN\nCapabilityBoundingSet=~CAP_CHOWN\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n" +
			"NoNewPrivileges=yes\nStandardOutput=null\nStandardError=null\nKillMode=process\nKillSignal=SIGINT\nUMask=0027\nNice=5\nOOMScoreAdjust=-900\n",
			func(t *testing.T, d *service.Description) {
				if d.Ext().Rlimits["nofile"] != (service.Rlimit{Soft: 1024, Hard: 4096}) || d.Ext().Rlimits["core"].Soft != service.RlimInfinity ||
					d.Ext().MemoryMax != 1<<30 || d.Ext().PidsMax != 50 || !d.Options.NoNewPrivs || d.LogType != service.LogNone ||
					!d.Options.SignalProcessOnly || d.TermSignal != int32(syscall.SIGINT) || *d.Ext().Umask != 0o027 || *d.Ext().Nice != 5 || *d.Ext().OOMScoreAdj != -900 {
					t.Errorf("%+v", d)
				}
				c, err := service.ParseCapabilities(d.Ext().Capabilities)
				if err != nil || len(c.Ambient) != 1 || c.Ambient[0] != 10 || len(c.BoundDrop) != len(service.CapabilityNames())-1 {
					t.Errorf("capabilities %q: %+v %v", d.Ext().Capabilities, c, err)
				}
			}},
		{"deps", "f", "[Unit]\nRequires=g.service x.mount\nWants=h.service network-online.target\nAfter=g.service network.target\nBefore=i.service\nConflicts=shutdown.target\n[Service]\nExecStart=/bin/f\n",
			func(t *testing.T, d *service.Description) {
				// h.service does not exist: a Wants= on it is dropped, as systemd ignores it.
				want := []service.Dep{{Name: "g", Kind: service.DepRegular},
					{Name: "g", Kind: service.DepAfter}, {Name: "i", Kind: service.DepBefore}}
				if !reflect.DeepEqual(d.Deps, want) {
					t.Errorf("deps %+v", d.Deps)
				}
			}},
		{"conditions kept for each start", "g", "[Unit]\nConditionPathExists=/nonexistent/x\nConditionKernelCommandLine=|!quiet\nAssertPathIsDirectory=/run\nConditionPathIsMountPoint=\nConditionVirtualization=none\n[Service]\nExecStart=/bin/g\n",
			func(t *testing.T, d *service.Description) {
				if d.Type != service.TypeProcess || len(d.Command) == 0 {
					t.Errorf("type %s command %q: a condition no longer changes what runs", d.Type, d.Command)
				}
				var got []string
				for _, c := range d.Ext().Conditions {
					got = append(got, c.String())
				}
				want := []string{"AssertPathIsDirectory=/run", "ConditionPathExists=/nonexistent/x", "ConditionKernelCommandLine=|!quiet", "ConditionVirtualization=none"}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("conditions %q, want %q", got, want)
				}
				if len(d.Ext().Conditions) > 0 && !strings.HasSuffix(d.Ext().Conditions[0].Source, "g.service:4") {
					t.Errorf("source %q", d.Ext().Conditions[0].Source)
				}
			}},
		{"condition negated met", "g2", "[Unit]\nConditionPathExists=!/nonexistent/x\n[Service]\nExecStart=/bin/g\n",
			func(t *testing.T, d *service.Description) {
				if d.Type != service.TypeProcess {
					t.Errorf("%+v", d)
				}
			}},
		{"sandbox", "sb", "[Service]\nExecStart=/bin/sb\nPrivateTmp=yes\nProtectSystem=full\nProtectHome=read-only\n",
			func(t *testing.T, d *service.Description) {
				sc := d.Command[2]
				for _, want := range []string{"mount --make-rslave / || exit $?\n", "mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp ",
					"mount --bind /etc /etc && mount -o remount,bind,ro /etc", "mount --bind /home /home", "exec /bin/sb\n"} {
					if !strings.Contains(sc, want) {
						t.Errorf("script lacks %q:\n%s", want, sc)
					}
				}
				if !reflect.DeepEqual(d.Ext().Unshare, []string{"mount"}) || strings.Index(sc, "make-rslave") > strings.Index(sc, "tmpfs") {
					t.Errorf("unshare %q, script %s", d.Ext().Unshare, sc)
				}
			}},
		{"reset list", "h", "[Service]\nExecStart=/bin/old\nExecStart=\nExecStart=/bin/new\nEnvironment=A=1\n",
			func(t *testing.T, d *service.Description) {
				if !reflect.DeepEqual(d.Command, []string{"/bin/new"}) {
					t.Errorf("%q", d.Command)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := fixture(t, map[string]string{tc.unit + ".service": tc.text})
			d, err := s.Load(tc.unit, nil)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, d)
		})
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Refused keys and bad values fail with the file and line of the key.
func TestRefusedWithLine(t *testing.T) {
	tests := []struct{ text, want string }{
		{"[Service]\nExecStart=/bin/a\nDynamicUser=yes\n", ":3: setting 'DynamicUser': not supported"},
		{"[Service]\nExecStart=/bin/a\nFrobnicate=1\n", ":3: setting 'Frobnicate': unknown key in [Service]"},
		{"[Service]\n\nExecStart=@/bin/a a\n", ":3: setting 'ExecStart': the '@' prefix"},
		{"[Service]\nExecStart=/bin/a %z\n", ":2: setting 'ExecStart': unknown or unsupported specifier %z"},
		{"[Service]\nExecStart=/bin/a 'open\n", ":2: setting 'ExecStart': unterminated ' quote"},
		{"[Service]\nType=forking\nExecStart=/bin/a\n", ":2: setting 'Type': Type=forking without PIDFile="},
		{"[Service]\nType=spooky\nExecStart=/bin/a\n", "unknown Type \"spooky\""},
		{"[Service]\nType=dbus\nExecStart=/bin/a\n", ":2: setting 'Type': Type=dbus needs BusName="},
		{"[Service]\nType=dbus\nBusName=org..x\nExecStart=/bin/a\n", "not \"org..x\""},
		{"[Service]\nType=dbus\nBusName=$(reboot)\nExecStart=/bin/a\n", "well-known bus name"},
		{"[Service]\nExecStart=/bin/a\nExecStop=/bin/stop $MAINPID x\n", ":3: setting 'ExecStop': $MAINPID is only known"},
		{"[Service]\nExecStart=/bin/a\nRestartSec=soon\n", ":3: setting 'RestartSec': bad time span"},
		{"[Service]\nExecStart=/bin/a\nExecStartPost=/bin/b\n", ":3: setting 'ExecStartPost': ExecStartPost for Type=simple"},
		{"[Unit]\nOnFailure=x.service\n[Service]\nExecStart=/bin/a\n", ":2: setting 'OnFailure': OnFailure with x.service"},
		{"[Service]\nRuntimeDirectory=../etc\nExecStart=/bin/a\n", ":2: setting 'RuntimeDirectory'"},
		{"[Service]\nEnvironmentFile=/nonexistent/env\nExecStart=/bin/a\n", ":2: setting 'EnvironmentFile'"},
		{"[Service]\nType=simple\n", "no ExecStart"},
		{"[Service]\nExecStart=/bin/a\nLimitNOFILE=10:5\n", ":3: setting 'LimitNOFILE': bad limit"},
		{"[Service]\nExecStart=/bin/a\nno equals sign\n", "unit syntax"},
	}
	for _, tc := range tests {
		s, dir := fixture(t, map[string]string{"u.service": tc.text})
		_, err := s.Load("u", nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.text, err, tc.want)
			continue
		}
		var le *loader.Error
		if !errors.As(err, &le) || !strings.HasPrefix(le.File, dir) || le.Service != "u" {
			t.Errorf("%q: not a *loader.Error naming the file and service: %#v", tc.text, err)
		}
	}
}

// Safe keys load with one warning per reason, naming each key's line.
func TestIgnoredWarn(t *testing.T) {
	s, _ := fixture(t, map[string]string{"u.service": "[Unit]\nDocumentation=man:u\nConditionMemory=>1G\n[Service]\nExecStart=/bin/u\nProtectKernelTunables=yes\nLockPersonality=yes\nExecReload=/bin/kill -HUP $MAINPID\n[X-Fancy]\nA=b\n"})
	var log logBuf
	if _, err := s.Load("u", &log); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(log.lines, "\n")
	for _, want := range []string{"u.service:6: ignored (sandboxing", "ProtectKernelTunables (line 6), LockPersonality (line 7)",
		"u.service:3: ignored (condition not evaluated"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "ExecReload") {
		t.Errorf("ExecReload is mapped, not warned about:\n%s", all)
	}
	if strings.Contains(all, "Documentation") || strings.Contains(all, "X-Fancy") {
		t.Errorf("informational keys reported:\n%s", all)
	}
}

func TestTemplateDropInsSpecifiers(t *testing.T) {
	s, dir := fixture(t, map[string]string{
		"getty@.service":               "[Service]\nExecStart=-/sbin/agetty -o '-p -- \\\\u' --noclear - $TERM\nEnvironment=TERM=linux\nStandardInput=tty\nTTYPath=/dev/%I\n",
		"getty@.service.d/10-a.conf":   "[Service]\nEnvironment=TERM=vt220\n",
		"getty@tty2.service.d/20.conf": "[Service]\nEnvironment=X=%n:%i:%p:%H:%%\n",
		"service.d/00-all.conf":        "[Service]\nNice=3\n",
	})
	d, err := s.Load("getty@tty2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "getty@tty2" || *d.Ext().Nice != 3 || !contains(d.Ext().Env, "X=getty@tty2.service:tty2:getty:host.example:%") {
		t.Errorf("%+v %q", d, d.Ext().Env)
	}
	want := "exec /sbin/agetty -o '-p -- \\u' --noclear - vt220 </dev/tty2 >/dev/tty2 2>&1\n"
	if len(d.Command) != 4 || d.Command[2] != want {
		t.Errorf("command %q, want script %q", d.Command, want)
	}
	if !strings.HasPrefix(d.File, dir) {
		t.Errorf("file %s", d.File)
	}
}

func TestSocketTargetMaskAlias(t *testing.T) {
	s, _ := fixture(t, map[string]string{
		"dbus.service":                         "[Unit]\nRequires=dbus.socket\n[Service]\nExecStart=/usr/bin/dbus-daemon --system --address=systemd:\n",
		"dbus.socket":                          "[Socket]\nListenStream=/run/dbus/system_bus_socket\nSocketMode=0660\nSocketGroup=messagebus\n",
		"log.service":                          "[Unit]\nRequires=syslog.socket\n[Service]\nExecStart=/bin/log\n[Install]\nAlias=syslog.service\n",
		"syslog.socket":                        "[Socket]\nListenDatagram=/run/log\n",
		"ssh.socket":                           "[Socket]\nListenStream=22\nAccept=yes\n",
		"multi-user.target":                    "[Unit]\nRequires=basic.target\nWants=x.service\n",
		"multi-user.target.wants/dbus.service": "->../dbus.service",
		"sockets.target":                       "[Unit]\nDescription=Sockets\n",
		"sockets.target.wants/dbus.socket":     "->../dbus.socket",
		"sockets.target.wants/tmp.mount":       "->../tmp.mount",
		"gone.service":                         "->/dev/null",
		"sshd.service":                         "->dbus.service",
	})
	d, err := s.Load("dbus", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !d.DependsOn("dbus.socket", service.DepRegular) || d.Ext().SocketListen != "" {
		t.Errorf("a service activated by a socket depends on it: %+v", d.Deps)
	}
	d, err = s.Load("dbus.socket", nil)
	if err != nil || d.Type != service.TypeSocket || d.Socket.Target != "dbus" || len(d.Socket.Listen) != 1 {
		t.Fatalf("socket unit: %+v %v", d, err)
	}
	if l := d.Socket.Listen[0]; l.Addr != "/run/dbus/system_bus_socket" || l.Mode != 0o660 || l.GID != 106 || l.UID != -1 {
		t.Errorf("socket %+v", l)
	}
	var log logBuf
	d, err = s.Load("log", &log)
	if err != nil || len(d.Deps) != 0 || !strings.Contains(strings.Join(log.lines, "\n"), "runs without it") {
		t.Errorf("socket of an alias: %+v %v %q", d, err, log.lines)
	}
	if _, err := s.Load("ssh.socket", nil); err == nil || !strings.Contains(err.Error(), "Accept=yes") {
		t.Errorf("Accept=yes: %v", err)
	}
	d, err = s.Load("multi-user.target", nil)
	want := []service.Dep{{Name: "dbus", Kind: service.DepWaitsFor}} // x.service does not exist
	if err != nil || d.Type != service.TypeInternal || !reflect.DeepEqual(d.Deps, want) {
		t.Errorf("target: %+v %v", d, err)
	}
	d, err = s.Load("sockets.target", nil)
	want = []service.Dep{{Name: "dbus.socket", Kind: service.DepWaitsFor}} // a mount is not run
	if err != nil || !reflect.DeepEqual(d.Deps, want) {
		t.Errorf("sockets.target: %+v %v", d, err)
	}
	if _, err := s.Load("gone", nil); !errors.Is(err, errMasked) {
		t.Errorf("masked: %v", err)
	}
	if p, ok, _ := s.Find("gone"); !ok || !strings.HasSuffix(p, "gone.service") {
		t.Errorf("masked unit not found: %v", p)
	}
	if _, err := s.Load("sshd", nil); err != nil {
		t.Errorf("alias: %v", err)
	}
	if _, ok, _ := s.Find("nothing"); ok {
		t.Error("found a unit that does not exist")
	}
	if _, err := s.Load("nothing", nil); !loader.IsNotFound(err) {
		t.Errorf("missing: %v", err)
	}
	if got := s.Names(); !reflect.DeepEqual(got, []string{"dbus", "gone", "log", "sshd"}) {
		t.Errorf("names %q", got)
	}
}

// Hostile files: a fifo is refused without blocking, an oversized file
// and too many drop-ins are refused, a line over systemd's limit too.
func TestHostileFiles(t *testing.T) {
	s, dir := fixture(t, map[string]string{"big.service": "[Service]\nExecStart=/bin/a\n#" + strings.Repeat("x", maxUnitFile) + "\n"})
	if _, err := s.Load("big", nil); !errors.Is(err, loader.ErrTooLarge) {
		t.Errorf("big: %v", err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.service"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("fifo", nil); !errors.Is(err, loader.ErrNotRegular) {
		t.Errorf("fifo: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "many.service"), []byte("[Service]\nExecStart=/bin/a\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "many.service.d"), 0o755)
	for i := 0; i <= maxDropIns; i++ {
		os.WriteFile(filepath.Join(dir, "many.service.d", fmt.Sprintf("%03d.conf", i)), []byte("[Service]\nNice=1\n"), 0o644)
	}
	if _, err := s.Load("many", nil); !errors.Is(err, loader.ErrTooLarge) {
		t.Errorf("many drop-ins: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "long.service"), []byte("[Service]\nExecStart=/bin/a "+strings.Repeat("y", 5000)+"\n"), 0o644)
	if _, err := s.Load("long", nil); err == nil {
		t.Error("a line over systemd's limit loaded")
	}
	os.MkdirAll(filepath.Join(dir, "adir.service"), 0o755)
	if _, ok, _ := s.Find("adir"); ok {
		t.Error("a directory named like a unit was found")
	}
	os.WriteFile(filepath.Join(dir, "tmpl@.service"), []byte("[Service]\nExecStart=/bin/a %i\n"), 0o644)
	if _, err := s.Load("tmpl@", nil); err == nil || !strings.Contains(err.Error(), "is a template") {
		t.Errorf("a template without an instance: %v", err)
	}
	if _, err := s.Load("../etc/passwd", nil); err == nil {
		t.Error("a name with a slash loaded")
	}
}

func TestEnvFile(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"A=1\n# c\n; c\nexport B = \"two words\"\nC='lit $x'\nD=tail   # comment\nE=a\\\nb\n", []string{"A=1", "B=two words", "C=lit $x", "D=tail", "E=ab"}, ""},
		{"F=\"multi\nline\"\n", []string{"F=multi\nline"}, ""},
		{"G=\"esc \\\" \\$ \\\\\"\n", []string{`G=esc " $ \`}, ""},
		{"bad line\n", nil, "line 1"},
		{"1X=a\n", nil, "line 1"},
		{"H=\"open\n", nil, "unterminated"},
	}
	for _, tc := range tests {
		var e envList
		err := parseEnvFile(tc.in, &e)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(e.list(), tc.want) {
			t.Errorf("%q: %q %v, want %q", tc.in, e.list(), err, tc.want)
		}
	}
}

func TestLoaderFallback(t *testing.T) {
	s, _ := fixture(t, map[string]string{"ssh.service": "[Service]\nExecStart=/usr/sbin/sshd -D\n", "native.service": "[Service]\nExecStart=/bin/unit\n"})
	ginitDir := t.TempDir()
	os.WriteFile(filepath.Join(ginitDir, "native"), []byte("type = process\ncommand = /bin/native\n"), 0o644)
	l := &loader.Loader{Dirs: []string{ginitDir}, Units: s}
	d, err := l.Load("ssh")
	if err != nil || !reflect.DeepEqual(d.Command, []string{"/usr/sbin/sshd", "-D"}) {
		t.Errorf("fallback: %+v %v", d, err)
	}
	d, err = l.Load("native")
	if err != nil || !reflect.DeepEqual(d.Command, []string{"/bin/native"}) {
		t.Errorf("the native description must win: %+v %v", d, err)
	}
	if _, err := l.Load("neither"); !loader.IsNotFound(err) {
		t.Errorf("missing: %v", err)
	}
	l.Units = nil
	if _, err := l.Load("ssh"); !loader.IsNotFound(err) {
		t.Errorf("without units: %v", err)
	}
}

func TestTimerUnit(t *testing.T) {
	s, _ := fixture(t, map[string]string{
		"clean.timer":   "[Unit]\nDescription=x\n[Timer]\nOnCalendar=daily\nOnBootSec=15min\nRandomizedDelaySec=1h\nPersistent=true\nAccuracySec=1h\n",
		"clean.service": "[Service]\nType=oneshot\nExecStart=/bin/clean\n",
		"other.timer":   "[Timer]\nUnit=clean.service\nOnActiveSec=30\n",
		"bad.timer":     "[Timer]\nOnUnitActiveSec=1d\n",
		"cal.timer":     "[Timer]\nOnCalendar=Mon..Fri 25:00\n",
	})
	d, err := s.Load("clean.timer", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := d.Timer.Triggers
	if d.Type != service.TypeTimer || d.Timer.Target != "clean" || len(tr.Calendar) != 1 || !reflect.DeepEqual(tr.OnBoot, []time.Duration{15 * time.Minute}) ||
		tr.RandomizedDelay != time.Hour || !tr.Persistent {
		t.Errorf("%+v %+v", d, d.Timer)
	}
	if d, err := s.Load("other.timer", nil); err != nil || d.Timer.Target != "clean" || d.Timer.Triggers.OnActive[0] != 30*time.Second {
		t.Errorf("other: %+v %v", d, err)
	}
	if _, err := s.Load("bad.timer", nil); err == nil || !strings.Contains(err.Error(), ":2: setting 'OnUnitActiveSec'") {
		t.Errorf("bad: %v", err)
	}
	if _, err := s.Load("cal.timer", nil); err == nil || !strings.Contains(err.Error(), ":2: setting 'OnCalendar'") {
		t.Errorf("cal: %v", err)
	}
	l := &loader.Loader{Units: s}
	descs, err := l.LoadAll("clean.timer")
	if err != nil || len(descs) != 2 || descs[1].Name != "clean" {
		t.Errorf("the timer loads with its service: %v %v", descs, err)
	}
}
