package loader

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"ginit/init/service"
)

// write creates files (name -> content) under dir; names may hold '/'.
func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDefaultLogType: without log-type the output is kept (tail); an explicit
// none still discards it, and logfile alone means file.
func TestDefaultLogType(t *testing.T) {
	tests := []struct {
		body string
		want service.LogType
	}{
		{"", service.LogTail},
		{"log-type = none\n", service.LogNone},
		{"log-type = buffer\n", service.LogBuffer},
		{"logfile = /tmp/x.log\n", service.LogFile},
	}
	for _, tt := range tests {
		l, _ := newLoader(t, map[string]string{"sd/s": "type = process\ncommand = /bin/true\n" + tt.body})
		d, err := l.Load("s")
		if err != nil || d.LogType != tt.want {
			t.Errorf("%q: log type %v, %v; want %v", tt.body, d.LogType, err, tt.want)
		}
	}
}

// TestDefaultDirs: the admin's /etc comes before the shipped lib
// directories (the first holding a name wins).
func TestDefaultDirs(t *testing.T) {
	env := func(k string) string { return map[string]string{"HOME": "/home/a", "XDG_CONFIG_HOME": "/x"}[k] }
	tests := []struct {
		user          bool
		first, before string // first is dirs[0]; before comes earlier than ...
		after         string
	}{
		{false, "/etc/ginit.d", "/etc/ginit.d", "/usr/lib/ginit.d"},
		{false, "/etc/ginit.d", "/usr/local/lib/ginit.d", "/usr/lib/ginit.d"},
		{false, "/etc/ginit.d", "/run/dinit.d", "/lib/dinit.d"},
		{true, "/x/ginit.d", "/x/dinit.d", "/usr/lib/dinit.d/user"},
		{true, "/x/ginit.d", "/etc/ginit.d/user", "/usr/lib/ginit.d/user"},
		{true, "/x/ginit.d", "/usr/local/lib/ginit.d/user", "/usr/lib/ginit.d/user"},
	}
	// Without XDG_CONFIG_HOME the user's directory is ~/.config/ginit.d.
	noXDG := func(k string) string { return map[string]string{"HOME": "/home/a"}[k] }
	if dirs := DefaultDirs(true, noXDG); dirs[0] != "/home/a/.config/ginit.d" || dirs[1] != "/home/a/.config/dinit.d" {
		t.Errorf("user without XDG_CONFIG_HOME: %v", dirs)
	}
	for _, tt := range tests {
		dirs := DefaultDirs(tt.user, env)
		if dirs[0] != tt.first || !slices.Contains(dirs, tt.after) ||
			slices.Index(dirs, tt.before) < 0 || slices.Index(dirs, tt.before) > slices.Index(dirs, tt.after) {
			t.Errorf("user %v: %v; want %s first and %s before %s", tt.user, dirs, tt.first, tt.before, tt.after)
		}
	}
}

func newLoader(t *testing.T, files map[string]string) (*Loader, string) {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, files)
	write(t, dir, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1001:Alice:/home/alice:/bin/bash\n",
		"etc/group":  "root:x:0:\nstaff:x:50:\nalice:x:1001:\n",
	})
	return &Loader{
		Dirs:       []string{filepath.Join(dir, "sd")},
		Env:        EnvMap(map[string]string{"GREETING": "hello world", "EMPTY": ""}),
		PasswdFile: filepath.Join(dir, "etc/passwd"),
		GroupFile:  filepath.Join(dir, "etc/group"),
	}, dir
}

func TestParseSettings(t *testing.T) {
	l, dir := newLoader(t, map[string]string{
		"sd/web": `# a comment
type = process
command = /bin/web --flag "two words" \
    --more # trailing comment
depends-on: db
depends-ms: fs
waits-for: net
after: clock
before: ui
restart = on-failure
smooth-recovery = yes
restart-delay = 0.5
restart-limit-interval = 20
restart-limit-count = 0
start-timeout = 0
stop-timeout = 2.5
term-signal = HUP
ready-notification = pipefd:3
logfile = web.log
logfile-permissions = 640
log-buffer-size = 100
options: runs-on-console skippable
rlimit-nofile = 10:20
rlimit-core = -
nice = 5
ioprio = best-effort:3
oom-score-adj = -500
umask = 027
run-as = alice
socket-listen = /run/web.sock
socket-permissions = 600
socket-uid = alice
memory-max = 64M
chain-to = next
@meta enable-via multi
`,
	})
	d, err := l.Load("web")
	if err != nil {
		t.Fatal(err)
	}
	sd := filepath.Join(dir, "sd")
	want := &service.Description{
		Name: "web", File: filepath.Join(sd, "web"), Type: service.TypeProcess,
		Command: []string{"/bin/web", "--flag", "two words", "--more"},
		Deps: []service.Dep{
			{Name: "db", Kind: service.DepRegular}, {Name: "fs", Kind: service.DepMilestone},
			{Name: "net", Kind: service.DepWaitsFor}, {Name: "clock", Kind: service.DepAfter},
			{Name: "ui", Kind: service.DepBefore},
		},
		Restart: service.RestartOnFailure, SmoothRecovery: true,
		RestartDelay: 500 * time.Millisecond, RestartLimitInterval: 20 * time.Second,
		StartTimeout: 0, StopTimeout: 2500 * time.Millisecond,
		TermSignal: 1,
		LogType:    service.LogFile, LogFilePermissions: 0o640,
		LogFileUID: -1, LogFileGID: -1, LogBufferSize: 100,
		Options:           service.Options{RunsOnConsole: true, Skippable: true},
		RunAs:             "alice",
		SocketPermissions: 0o600, SocketUID: 1000, SocketGID: 1001,
		More: &service.Extra{
			ReadyNotification: "pipefd:3",
			LogFile:           filepath.Join(sd, "web.log"),
			Rlimits:           map[string]service.Rlimit{"nofile": {Soft: 10, Hard: 20}, "core": {Soft: service.RlimInfinity, Hard: service.RlimInfinity}},
			IOPrio:            "best-effort:3",
			SocketListen:      "/run/web.sock",
			MemoryMax:         64 << 20, ChainTo: "next", EnableVia: "multi",
		},
	}
	nice, oom, um := 5, -500, uint32(0o27)
	want.More.Nice, want.More.OOMScoreAdj, want.More.Umask = &nice, &oom, &um
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
}

func TestDefaults(t *testing.T) {
	l, _ := newLoader(t, map[string]string{"sd/a": "type = process\ncommand = /bin/true\n", "sd/empty": "",
		"sd/b": "type = process\ncommand = /bin/true\nstop-command = /bin/true\nworking-dir = /\n"})
	if d, err := l.Load("empty"); err != nil || d.Type != service.TypeInternal {
		t.Errorf("an empty description: %+v, %v (want type internal, as dinit)", d, err)
	}
	d, err := l.Load("a")
	if err != nil {
		t.Fatal(err)
	}
	if d.Type != service.TypeProcess || d.Restart != service.RestartYes || d.RestartDelay != 200*time.Millisecond ||
		d.RestartLimitInterval != 10*time.Second || d.RestartLimitCount != 3 || d.StartTimeout != 60*time.Second ||
		d.StopTimeout != 10*time.Second || d.TermSignal != 15 || d.SocketPermissions != 0o666 ||
		d.LogFilePermissions != 0o600 || d.LogBufferSize != 4096 || d.SocketUID != -1 || d.LogFileGID != -1 {
		t.Errorf("defaults wrong: %+v", d)
	}
	// What most services are costs no Extra (a record per loaded service).
	if d.More != nil {
		t.Errorf("a description setting none of Extra's settings has one: %+v", d.More)
	}
	d, err = l.Load("b")
	if err != nil {
		t.Fatal(err)
	}
	if d.Ext().StopCommand == nil || d.Ext().WorkingDir != "/" {
		t.Errorf("stop-command and working-dir: %+v", d.More)
	}
}

func TestSubstitutionTemplatesIncludes(t *testing.T) {
	l, dir := newLoader(t, map[string]string{
		"sd/getty@": `type = process
command = /sbin/agetty $1 ${TERMTYPE:-linux} $/EMPTY "$GREETING" $/GREETING $$HOME
@include common
@include-opt missing-is-fine
env-file = env
load-options = export-service-name
`,
		"sd/common":        "restart = no\nwaits-for.d = getty.d\n",
		"sd/env":           "# vars\nTERMTYPE=vt100\n!import GREETING\n",
		"sd/getty.d/x":     "",
		"sd/getty.d/.hide": "",
		"sd/x":             "type = internal\n",
	})
	d, err := l.Load("getty@tty1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/sbin/agetty", "tty1", "vt100", "hello world", "hello", "world", "$HOME"}
	if !reflect.DeepEqual(d.Command, want) {
		t.Errorf("command = %q, want %q", d.Command, want)
	}
	if d.Restart != service.RestartNo {
		t.Errorf("included restart = no not applied")
	}
	if !reflect.DeepEqual(d.Deps, []service.Dep{{Name: "x", Kind: service.DepWaitsFor}}) {
		t.Errorf("deps = %v", d.Deps)
	}
	if !reflect.DeepEqual(d.Ext().WaitsForDirs, []string{filepath.Join(dir, "sd/getty.d")}) {
		t.Errorf("waits-for dirs = %v", d.Ext().WaitsForDirs)
	}
	wantEnv := []string{"TERMTYPE=vt100", "GREETING=hello world", "DINIT_SERVICE=getty@tty1"}
	if !reflect.DeepEqual(d.Ext().Env, wantEnv) {
		t.Errorf("env = %q, want %q", d.Ext().Env, wantEnv)
	}
}

func TestErrorsNameFileLineSetting(t *testing.T) {
	tests := []struct {
		name, file string
		wantLine   int
		want       []string // substrings of the message
		notSupp    bool
	}{
		{"unknown setting", "type = process\ncommand = /bin/x\nfrobnicate = 1\n", 3, []string{"frobnicate", "unknown setting"}, false},
		{"bad restart", "command = /bin/x\nrestart = maybe\n", 2, []string{"'restart'", "maybe"}, false},
		{"bad type", "type = daemon\n", 1, []string{"'type'", "daemon"}, false},
		{"bad timeout", "command = /bin/x\n\nstop-timeout = -1\n", 3, []string{"stop-timeout", "-1"}, false},
		{"bad nice", "command = /bin/x\nnice = 99\n", 2, []string{"nice", "-20 to 19"}, false},
		{"bad signal", "command = /bin/x\nterm-signal = FOO\n", 2, []string{"term-signal", "FOO"}, false},
		{"capabilities", "command = /bin/x\ncapabilities = ^cap_net_raw\ncapabilities += cap_chown\n", 3, []string{"capabilities", "cap_chown"}, false},
		{"securebits", "command = /bin/x\nsecurebits = noroot sometimes\n", 2, []string{"securebits", "sometimes"}, false},
		{"consumes itself", "command = /bin/x\nconsumer-of = bad\n", 2, []string{"consumer-of", "its own output"}, false},
		{"option", "type = process\ncommand = /bin/x\noptions: fly-away\n", 3, []string{"fly-away", "an option such as"}, false},
		{"plus-equals", "command = /bin/x\nrestart += yes\n", 2, []string{"'+='"}, false},
		{"unterminated quote", "command = /bin/x \"oops\n", 1, []string{"unterminated"}, false},
		{"bad continuation", "command = /bin/x \\\nrestart = no\n", 1, []string{"backslash"}, false},
		{"bad dep name", "command = /bin/x\ndepends-on: ../etc\n", 2, []string{"depends-on", "invalid service name"}, false},
		{"no such user", "command = /bin/x\nrun-as = mallory\n", 2, []string{"run-as", "mallory"}, false},
		{"unknown meta", "@frob x\n", 1, []string{"@frob"}, false},
		{"missing include", "command = /bin/x\n@include nothere\n", 2, []string{"nothere"}, false},
		{"no command", "type = scripted\n", 0, []string{"'command' setting not specified"}, false},
		{"bgprocess no pidfile", "type = bgprocess\ncommand = /bin/x\n", 0, []string{"pid-file"}, false},
		{"self dep", "type = internal\ndepends-on: bad\n", 0, []string{"depends on itself"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := newLoader(t, map[string]string{"sd/bad": tc.file})
			_, err := l.Load("bad")
			if err == nil {
				t.Fatal("no error")
			}
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			if le.File != filepath.Join(dir, "sd/bad") || le.Line != tc.wantLine {
				t.Errorf("at %s:%d, want line %d: %v", le.File, le.Line, tc.wantLine, err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if errors.Is(err, ErrNotSupported) != tc.notSupp {
				t.Errorf("errors.Is(ErrNotSupported) = %v for %v", !tc.notSupp, err)
			}
			if tc.wantLine > 0 && !strings.HasPrefix(msg, filepath.Join(dir, "sd/bad")+":") {
				t.Errorf("message %q does not start with file:line", msg)
			}
		})
	}
}

func TestLoadAllClosureAndCycles(t *testing.T) {
	l, _ := newLoader(t, map[string]string{
		"sd/boot":         "type = internal\ndepends-on: a\nwaits-for.d: boot.d\n",
		"sd/boot.d/b":     "",
		"sd/boot.d/ghost": "", // names no service: dropped with a warning
		"sd/a":            "type = internal\ndepends-ms: b\n",
		"sd/b":            "type = internal\n",
		"sd/c1":           "type = internal\ndepends-on: c2\n",
		"sd/c2":           "type = internal\nwaits-for: c3\n",
		"sd/c3":           "type = internal\ndepends-ms: c1\n",
		"sd/o1":           "type = internal\ndepends-on: o2\n",
		"sd/o2":           "type = internal\nafter: o1\n",
		"sd/missing":      "type = internal\ndepends-on: nowhere\n",
	})
	descs, err := l.LoadAll("boot")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range descs {
		names = append(names, d.Name)
	}
	if !reflect.DeepEqual(names, []string{"boot", "a", "b"}) {
		t.Errorf("closure = %v", names)
	}
	if descs[0].DependsOn("ghost", service.DepWaitsFor) {
		t.Errorf("ghost from boot.d kept")
	}

	_, err = l.LoadAll("c1")
	var ce *CycleError
	if !errors.As(err, &ce) || ce.Ordering || !reflect.DeepEqual(ce.Path, []string{"c1", "c2", "c3", "c1"}) {
		t.Errorf("cycle error = %v", err)
	}
	_, err = l.LoadAll("o1")
	if !errors.As(err, &ce) || !ce.Ordering || !strings.Contains(err.Error(), "o1") || !strings.Contains(err.Error(), "o2") {
		t.Errorf("ordering cycle error = %v", err)
	}
	_, err = l.LoadAll("missing")
	if !IsNotFound(err) || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("missing dependency error = %v", err)
	}
}

func TestCheckCyclesDeepChain(t *testing.T) {
	all := map[string]*service.Description{}
	const n = 20000
	for i := 0; i < n; i++ {
		d := &service.Description{Name: name(i)}
		if i+1 < n {
			d.Deps = []service.Dep{{Name: name(i + 1), Kind: service.DepRegular}}
		}
		all[d.Name] = d
	}
	if err := CheckCycles(all); err != nil {
		t.Fatal(err)
	}
	all[name(n-1)].Deps = []service.Dep{{Name: name(0), Kind: service.DepRegular}}
	var ce *CycleError
	if err := CheckCycles(all); !errors.As(err, &ce) || len(ce.Path) != n+1 {
		t.Fatalf("want a cycle through all %d services, got %v", n, err)
	}
}

func name(i int) string { return "s" + strings.Repeat("0", 6-len(itoa(i))) + itoa(i) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		n  string
		ok bool
	}{
		{"boot", true}, {"getty@tty1", true}, {"a.b-c_d", true}, {"", false}, {".hidden", false},
		{"a/b", false}, {"x@a/b", false}, {"sp ace", false},
	} {
		if err := ValidName(tc.n); (err == nil) != tc.ok {
			t.Errorf("ValidName(%q) = %v", tc.n, err)
		}
	}
}

func TestConsumerOf(t *testing.T) {
	l, _ := newLoader(t, map[string]string{
		"sd/prod":  "type = process\ncommand = /bin/x\nlog-type = pipe\n",
		"sd/cons":  "type = process\ncommand = /bin/y\nconsumer-of = prod\ndepends-on: prod\n",
		"sd/cons2": "type = process\ncommand = /bin/y\nconsumer-of = prod\ndepends-on: cons\n",
		"sd/plain": "type = process\ncommand = /bin/x\n",
		"sd/bad":   "type = process\ncommand = /bin/y\nconsumer-of = plain\ndepends-on: plain\n",
	})
	descs, err := l.LoadAll("cons")
	if err != nil {
		t.Fatal(err)
	}
	if descs[0].Ext().ConsumerOf != "prod" || descs[1].LogType != service.LogPipe {
		t.Errorf("consumer-of / log-type pipe not read: %+v %+v", descs[0], descs[1])
	}
	if _, err := l.LoadAll("bad"); err == nil || !strings.Contains(err.Error(), "log-type = pipe") {
		t.Errorf("consumer of a non-pipe service: %v", err)
	}
	if _, err := l.LoadAll("cons2"); err == nil || !strings.Contains(err.Error(), "already has a consumer") {
		t.Errorf("second consumer: %v", err)
	}
}

func TestInstanceUsesBaseFile(t *testing.T) {
	l, _ := newLoader(t, map[string]string{
		"sd/greet":  "type = process\ncommand = /bin/echo $1\n",
		"sd/other@": "type = process\ncommand = /bin/echo other $1\n",
	})
	for name, want := range map[string][]string{
		"greet@world": {"/bin/echo", "world"},
		"other@x":     {"/bin/echo", "other", "x"},
	} {
		d, err := l.Load(name)
		if err != nil || !reflect.DeepEqual(d.Command, want) {
			t.Errorf("%s: %v, %v; want command %q", name, d, err, want)
		}
	}
}

func TestEveryBadLineReported(t *testing.T) {
	l, dir := newLoader(t, map[string]string{
		"sd/bad": "type = process\ncommand = /bin/x\nrestart = maybe\nfrobnicate = 1\nnice = 99\n",
	})
	_, err := l.Load("bad")
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
	f := filepath.Join(dir, "sd/bad")
	for i, line := range []int{3, 4, 5} {
		var le *Error
		if !errors.As(list[i], &le) || le.File != f || le.Line != line {
			t.Errorf("error %d = %v, want %s:%d", i, list[i], f, line)
		}
	}
	var first *Error
	if !errors.As(err, &first) || first.Line != 3 || !IsLoadError(err) {
		t.Errorf("errors.As on the list gives %v", first)
	}
}

func TestPreparedByParsed(t *testing.T) {
	l, _ := newLoader(t, map[string]string{
		"sd/app":  "type = process\ncommand = /bin/app\nprepared-by: prep\ndepends-on: db\n",
		"sd/prep": "type = scripted\ncommand = /bin/prep\n",
		"sd/db":   "type = internal\n",
	})
	d, err := l.Load("app")
	if err != nil {
		t.Fatal(err)
	}
	want := []service.Dep{{Name: "prep", Kind: service.DepRegular, Prepared: true}, {Name: "db", Kind: service.DepRegular}}
	if !reflect.DeepEqual(d.Deps, want) {
		t.Errorf("deps = %+v, want %+v", d.Deps, want)
	}
}

func TestEnableLink(t *testing.T) {
	sd := "/etc/ginit.d"
	boot := &service.Description{Name: "boot", File: sd + "/boot", More: &service.Extra{WaitsForDirs: []string{sd + "/boot.d"}}}
	beside := &service.Description{Name: "web", File: sd + "/web"}
	elsewhere := &service.Description{Name: "ext", File: "/opt/sd/ext", More: &service.Extra{EnableVia: "multi"}}
	for _, tc := range []struct {
		d            *service.Description
		link, target string
	}{
		{beside, sd + "/boot.d/web", "../web"},
		{elsewhere, sd + "/boot.d/ext", "/opt/sd/ext"},
		{&service.Description{Name: "builtin"}, sd + "/boot.d/builtin", "../builtin"},
	} {
		link, target, err := EnableLink(tc.d, boot)
		if err != nil || link != tc.link || target != tc.target {
			t.Errorf("%s: %q -> %q, %v; want %q -> %q", tc.d.Name, link, target, err, tc.link, tc.target)
		}
	}
	if _, _, err := EnableLink(beside, &service.Description{Name: "none"}); !errors.Is(err, service.ErrBadArgument) {
		t.Errorf("source without waits-for.d: %v", err)
	}
	if EnableSource("", beside) != "boot" || EnableSource("", elsewhere) != "multi" || EnableSource("x", elsewhere) != "x" {
		t.Error("EnableSource does not follow --from, then enable-via, then boot")
	}
}

// A load of many descriptions keeps one copy of each word they share: the
// same command in a thousand files is one string (a record per service).
func TestLoadAllSharesWords(t *testing.T) {
	svc := "type = process\ncommand = /bin/sleep \"1000\"\nworking-dir = /tmp\n"
	l, _ := newLoader(t, map[string]string{"sd/top": "depends-on = a\ndepends-on = b\n", "sd/a": svc, "sd/b": svc})
	descs, err := l.LoadAll("top")
	if err != nil {
		t.Fatal(err)
	}
	if len(descs) != 3 {
		t.Fatalf("loaded %d descriptions, want 3", len(descs))
	}
	a, b := descs[1], descs[2]
	for _, c := range []struct{ what, x, y string }{
		{"argv0", a.Command[0], b.Command[0]},
		{"quoted argument", a.Command[1], b.Command[1]},
		{"working-dir", a.Ext().WorkingDir, b.Ext().WorkingDir},
	} {
		if c.x != c.y || unsafe.StringData(c.x) != unsafe.StringData(c.y) {
			t.Errorf("%s: %q and %q are two copies", c.what, c.x, c.y)
		}
	}
}
