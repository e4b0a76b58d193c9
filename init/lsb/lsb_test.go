package lsb

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ginit/init/loader"
	"ginit/init/service"
)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name, text string
		ok         bool
		want       Header
		err        string
	}{
		{"lsb", "#!/bin/sh\n### BEGIN INIT INFO\n# Provides:          web httpd\n# Required-Start:    $remote_fs db\n# Required-Stop:     $remote_fs\n" +
			"# Should-Start:      cache\n# X-Start-Before:    proxy\n# Default-Start:     2 3 4 5\n# Default-Stop:      0 1 6\n" +
			"# X-Interactive:     true\n# Short-Description: a web server\n# Description:       serves\n#  the web\n### END INIT INFO\necho\n",
			true, Header{Kind: "lsb", Provides: []string{"web", "httpd"}, Requires: []string{"$remote_fs", "db"}, Should: []string{"cache"},
				Before: []string{"proxy"}, DefaultOn: []string{"2", "3", "4", "5"}, Interactive: true, Description: "serves the web"}, ""},
		{"rc.d", "#!/bin/sh\n#\n# PROVIDE: sshd\n# REQUIRE: LOGIN FILESYSTEMS\n# BEFORE: securelevel\n# KEYWORD: shutdown nojail\n. /etc/rc.subr\n",
			true, Header{Kind: "rc.d", Provides: []string{"sshd"}, Requires: []string{"LOGIN", "FILESYSTEMS"}, Before: []string{"securelevel"},
				Keywords: []string{"shutdown", "nojail"}}, ""},
		{"none", "#!/bin/sh\necho hi\n", false, Header{Kind: "rc.d"}, ""},
		{"unterminated", "### BEGIN INIT INFO\n# Provides: a\n", false, Header{}, "line 1: BEGIN INIT INFO without END"},
		{"not a comment", "### BEGIN INIT INFO\n# Provides: a\nProvides: b\n### END INIT INFO\n", false, Header{}, "line 3: not a comment"},
		{"bad field", "### BEGIN INIT INFO\n# Provides a\n### END INIT INFO\n", false, Header{}, "line 2: expected '# Field: value'"},
		{"two blocks", "### BEGIN INIT INFO\n# Provides: a\n### END INIT INFO\n### BEGIN INIT INFO\n### END INIT INFO\n", false, Header{}, "a second INIT INFO block"},
		{"empty provide", "# PROVIDE:\n", false, Header{}, "line 1: PROVIDE names nothing"},
		{"require alone", "# REQUIRE: a\n", false, Header{}, "without PROVIDE"},
	}
	for _, tc := range tests {
		h, ok, err := ParseHeader([]byte(tc.text))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || ok != tc.ok || !reflect.DeepEqual(h, tc.want) {
			t.Errorf("%s: %+v %v %v\nwant %+v", tc.name, h, ok, err, tc.want)
		}
	}
}

func writeScripts(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, c := range files {
		mode := os.FileMode(0o755)
		if strings.HasPrefix(c, "noexec:") {
			c, mode = strings.TrimPrefix(c, "noexec:"), 0o644
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func lsbScript(provides, required, should string) string {
	return "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: " + provides + "\n# Required-Start: " + required +
		"\n# Should-Start: " + should + "\n# Default-Start: 2 3 4 5\n### END INIT INFO\ncase $1 in start) ;; stop) ;; esac\n"
}

// Debian scripts: Required-Start names another script's Provides (its
// file name differs), facilities are dropped, Should-Start orders only,
// a script is found by its Provides too.
func TestLSBOrder(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"mysql":           lsbScript("mysql mariadb", "$remote_fs $syslog", ""),
		"webapp":          lsbScript("webapp", "$network mariadb", "memcached ghost"),
		"memcached":       lsbScript("memcached", "", ""),
		"plain":           "#!/bin/sh\necho no header\n",
		"README":          "text\n",
		"notexec":         "noexec:" + lsbScript("notexec", "", ""),
		"webapp.dpkg-old": lsbScript("webapp", "", ""),
	})
	s := New(Config{Dirs: []string{dir}, Exists: func(n string) bool { return n == "native" }})
	var log []string
	d, err := s.Load("webapp", logf(func(f string, a ...any) { log = append(log, f) }))
	if err != nil {
		t.Fatal(err)
	}
	want := []service.Dep{{Name: "networking", Kind: service.DepAfter}, {Name: "mysql", Kind: service.DepRegular}, {Name: "memcached", Kind: service.DepAfter}}
	if d.Type != service.TypeScripted || !reflect.DeepEqual(d.Command, []string{filepath.Join(dir, "webapp"), "start"}) ||
		!reflect.DeepEqual(d.Ext().StopCommand, []string{filepath.Join(dir, "webapp"), "stop"}) || !reflect.DeepEqual(d.Deps, want) {
		t.Errorf("%+v", d)
	}
	// Facilities are ginit's boot services, in order only.
	want = []service.Dep{{Name: "rootfs-rw", Kind: service.DepAfter}, {Name: "fstab", Kind: service.DepAfter}, {Name: "syslog", Kind: service.DepAfter}}
	if d2, err := s.Load("mariadb", nil); err != nil || d2.File != filepath.Join(dir, "mysql") || d2.Name != "mariadb" || !reflect.DeepEqual(d2.Deps, want) {
		t.Errorf("by Provides: %+v %v", d2, err)
	}
	for _, n := range []string{"plain", "README", "notexec", "webapp.dpkg-old", "nothing"} {
		if _, ok, _ := s.Find(n); ok {
			t.Errorf("%s found", n)
		}
	}
	if got := s.Names(); !reflect.DeepEqual(got, []string{"initscripts", "memcached", "mysql", "webapp"}) {
		t.Errorf("names %q", got)
	}
	agg, err := s.Load(Aggregate, nil)
	want = []service.Dep{{Name: "memcached", Kind: service.DepWaitsFor}, {Name: "mysql", Kind: service.DepWaitsFor}, {Name: "webapp", Kind: service.DepWaitsFor}}
	if err != nil || agg.Type != service.TypeInternal || !reflect.DeepEqual(agg.Deps, want) {
		t.Errorf("initscripts: %+v %v", agg, err)
	}
	replaced := New(Config{Dirs: []string{dir}, Exists: func(n string) bool { return n == "mysql" }})
	agg, _ = replaced.Load(Aggregate, nil)
	if len(agg.Deps) != 2 || agg.DependsOn("mysql", service.DepWaitsFor) {
		t.Errorf("a script a unit replaces stays out: %+v", agg.Deps)
	}
	// So does one whose Provides a unit has (hwclock.sh provides hwclock).
	byProvides := New(Config{Dirs: []string{dir}, Exists: func(n string) bool { return n == "mariadb" }})
	if agg, _ = byProvides.Load(Aggregate, nil); agg.DependsOn("mysql", service.DepWaitsFor) || len(agg.Deps) != 2 {
		t.Errorf("replaced by a Provides: %+v", agg.Deps)
	}
	// With rcN.d beside init.d the start links decide, not the header:
	// S links in rc2.d enable, K links (update-rc.d disable) do not.
	etc := t.TempDir()
	initd := filepath.Join(etc, "init.d")
	os.Mkdir(initd, 0o755)
	for _, n := range []string{"on", "off", "rcs"} {
		os.WriteFile(filepath.Join(initd, n), []byte(lsbScript(n, "", "")), 0o755)
	}
	for l, links := range map[string][]string{"rc2.d": {"S01on", "K01off"}, "rcS.d": {"S05rcs"}, "rc3.d": {"README"}} {
		os.Mkdir(filepath.Join(etc, l), 0o755)
		for _, n := range links {
			os.Symlink("../init.d/"+n[3:], filepath.Join(etc, l, n))
		}
	}
	agg, _ = New(Config{Dirs: []string{initd}}).Load(Aggregate, nil)
	if want := []service.Dep{{Name: "on", Kind: service.DepWaitsFor}, {Name: "rcs", Kind: service.DepWaitsFor}}; !reflect.DeepEqual(agg.Deps, want) {
		t.Errorf("rc links: %+v", agg.Deps)
	}
	// An empty script directory still has the aggregate, starting nothing.
	empty := New(Config{Dirs: []string{t.TempDir()}})
	if agg, err := empty.Load(Aggregate, nil); err != nil || len(agg.Deps) != 0 {
		t.Errorf("empty initscripts: %+v %v", agg, err)
	}
	dir2 := writeScripts(t, map[string]string{"a": lsbScript("a", "native missing", ""), "bad": "### BEGIN INIT INFO\n# Provides: bad\n"})
	s = New(Config{Dirs: []string{dir2}, Exists: func(n string) bool { return n == "native" }})
	log = nil
	d, err = s.Load("a", logf(func(f string, a ...any) { log = append(log, f) }))
	if err != nil || !reflect.DeepEqual(d.Deps, []service.Dep{{Name: "native", Kind: service.DepRegular}}) || len(log) != 1 {
		t.Errorf("a: %+v %v %q", d, err, log)
	}
	_, err = s.Load("bad", nil)
	var le *loader.Error
	if !errors.As(err, &le) || le.Line != 1 || !strings.HasSuffix(le.File, "/bad") {
		t.Errorf("bad header: %#v", err)
	}
}

type logf func(string, ...any)

func (f logf) Printf(format string, a ...any) { f(format, a...) }

// A FreeBSD rc.d set in rcorder's conventions: REQUIRE starts and waits
// for the named scripts (milestones such as FILESYSTEMS are scripts too),
// BEFORE orders, KEYWORD nostart is reported.
func TestRCD(t *testing.T) {
	rc := func(provide, require, before, keyword string) string {
		s := "#!/bin/sh\n#\n# PROVIDE: " + provide + "\n"
		if require != "" {
			s += "# REQUIRE: " + require + "\n"
		}
		if before != "" {
			s += "# BEFORE: " + before + "\n"
		}
		if keyword != "" {
			s += "# KEYWORD: " + keyword + "\n"
		}
		return s + "\n. /etc/rc.subr\nname=x\nrun_rc_command \"$1\"\n"
	}
	base := writeScripts(t, map[string]string{
		"FILESYSTEMS": rc("FILESYSTEMS", "root", "", ""),
		"LOGIN":       rc("LOGIN", "DAEMON", "", ""),
		"DAEMON":      rc("DAEMON", "NETWORKING syslogd", "", ""),
		"sshd":        rc("sshd", "LOGIN FILESYSTEMS", "securelevel", "shutdown"),
		"securelevel": rc("securelevel", "", "", ""),
		"growfs":      rc("growfs", "", "", "firstboot nostart"),
	})
	ports := writeScripts(t, map[string]string{"nginx": rc("nginx", "LOGIN cleanvar", "", "shutdown")})
	s := New(Config{Dirs: []string{base, ports}})
	d, err := s.Load("sshd", nil)
	want := []service.Dep{{Name: "LOGIN", Kind: service.DepWaitsFor}, {Name: "FILESYSTEMS", Kind: service.DepWaitsFor},
		{Name: "securelevel", Kind: service.DepBefore}}
	if err != nil || !reflect.DeepEqual(d.Deps, want) {
		t.Errorf("sshd: %+v %v", d, err)
	}
	d, err = s.Load("nginx", nil)
	if err != nil || !reflect.DeepEqual(d.Deps, []service.Dep{{Name: "LOGIN", Kind: service.DepWaitsFor}}) ||
		d.Command[0] != filepath.Join(ports, "nginx") {
		t.Errorf("nginx: %+v %v", d, err)
	}
	if agg, err := s.Load(Aggregate, nil); err != nil || agg.DependsOn("growfs", service.DepWaitsFor) || !agg.DependsOn("sshd", service.DepWaitsFor) {
		t.Errorf("rc.d initscripts: %+v %v", agg, err)
	}
	var log []string
	if _, err := s.Load("growfs", logf(func(f string, a ...any) { log = append(log, f) })); err != nil || len(log) != 1 {
		t.Errorf("growfs: %v %q", err, log)
	}
	// Through the loader: the order is a real dependency graph.
	l := &loader.Loader{Units: s}
	descs, err := l.LoadAll("sshd")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range descs {
		names = append(names, d.Name)
	}
	if !reflect.DeepEqual(names, []string{"sshd", "LOGIN", "FILESYSTEMS", "DAEMON"}) {
		t.Errorf("closure %q", names)
	}
}

// A native description or a unit wins over a script of the same name.
func TestSourcesOrder(t *testing.T) {
	scripts := writeScripts(t, map[string]string{"svc": lsbScript("svc", "", "")})
	native := t.TempDir()
	os.WriteFile(filepath.Join(native, "svc"), []byte("type = process\ncommand = /bin/native\n"), 0o644)
	first := New(Config{Dirs: []string{writeScripts(t, map[string]string{"svc": lsbScript("svc", "", "")})}})
	l := &loader.Loader{Dirs: []string{native}, Units: loader.Sources{first, New(Config{Dirs: []string{scripts}})}}
	d, err := l.Load("svc")
	if err != nil || d.Command[0] != "/bin/native" {
		t.Errorf("native must win: %+v %v", d, err)
	}
	l.Dirs = nil
	d, err = l.Load("svc")
	if err != nil || !strings.HasPrefix(d.File, filepath.Dir(first.cfg.Dirs[0])) {
		t.Errorf("the first source must win: %+v %v", d, err)
	}
}
