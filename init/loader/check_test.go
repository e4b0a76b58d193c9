package loader

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ginit/internal/version"
)

// writeFiles creates files (relative name -> content) under dir; a name
// ending in '*' is made executable (the '*' dropped), one ending in '/' is
// a directory.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(n, "*") {
			n, mode = strings.TrimSuffix(n, "*"), 0o755
		}
		p := filepath.Join(dir, n)
		if strings.HasSuffix(n, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// runCheck runs ginit-check as a non-root user with PATH=/bin.
func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := CheckMain(args, &out, &errb, []string{"PATH=/bin"}, 1000)
	return code, out.String() + errb.String()
}

func TestCheckMainReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"boot":  "type = internal\ndepends-on: a\ndepends-on: b\nwaits-for: c1\n",
		"a":     "type = process\ncommand = /no/such/binary\n",
		"b":     "type = process\ncommand = /bin/true\nrestart = sometimes\n",
		"c1":    "type = internal\ndepends-on: c2\n",
		"c2":    "type = internal\ndepends-on: c1\n",
		"clean": "type = internal\n",
	})
	tests := []struct {
		args     []string
		code     int
		want     []string
		wantNone []string
	}{
		{[]string{"-d", dir}, 1, []string{
			"error: " + filepath.Join(dir, "b") + ":3: setting 'restart'",
			"error: cycle: c1 -> c2 -> c1",
			"warning: " + filepath.Join(dir, "a") + ":2: setting 'command': cannot stat /no/such/binary: no such file or directory",
			"5 service(s) loaded, 2 error(s), 1 warning(s)",
		}, nil},
		{[]string{"-d", dir, "clean"}, 0, []string{"1 service(s) loaded, 0 error(s), 0 warning(s)"}, []string{"error:", "warning:"}},
		{[]string{"-d", dir, "ghost"}, 1, []string{"error: service 'ghost' not found"}, nil},
		{[]string{"-o", "-d", dir, "clean"}, 0, nil, nil},
		{[]string{"-x"}, 2, []string{"unknown option -x", "Try 'ginit-check --help'"}, nil},
		{[]string{"-ad" + dir}, 1, []string{"6 service(s) loaded, 2 error(s), 1 warning(s)"}, nil},
		{[]string{"--services-dir=" + dir, "--", "clean"}, 0, []string{"1 service(s) loaded"}, nil},
		{[]string{"-d", ""}, 2, []string{"option --services-dir: an empty directory name"}, nil},
		{[]string{"--online"}, 2, []string{"no --online mode"}, nil},
		{[]string{"-s", "-u"}, 2, []string{"exclude each other"}, nil},
		{[]string{"-a", "boot"}, 2, []string{"exclude each other"}, nil},
		{[]string{"-d"}, 2, []string{"option -d needs an argument"}, nil},
		{[]string{"--help"}, 0, []string{"Usage: ginit-check", "-d, --services-dir DIR", "Exit status"}, []string{"--online", "[=true|false]"}},
		{[]string{"--version"}, 0, []string{"ginit-check (ginit) " + version.Release + ", commit "}, []string{"Usage:", "loaded"}},
	}
	for _, tc := range tests {
		code, out := runCheck(t, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, w := range tc.wantNone {
			if strings.Contains(out, w) {
				t.Errorf("%v: output has %q:\n%s", tc.args, w, out)
			}
		}
	}
}

// TestCheckFindings: one description (plus helpers) per case, and the
// lines ginit-check must and must not print for it. FILE stands for the
// service file, DIR for the directory.
func TestCheckFindings(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // "s" is the service checked
		code  int
		want  []string
		none  []string
	}{
		{"clean process", map[string]string{"s": "type = process\ncommand = /bin/sh -c true\n"}, 0,
			[]string{"1 service(s) loaded, 0 error(s), 0 warning(s)"}, []string{"warning:", "error:"}},

		// Settings the type ignores (dinit's check-lint).
		{"internal command", map[string]string{"s": "type = internal\ncommand = /bin/sh\n"}, 1,
			[]string{"warning: FILE:2: setting 'command': ignored for type internal (it runs no process)"}, []string{"default type"}},
		{"default type command", map[string]string{"s": "command = /bin/sh\nstop-command = /bin/sh\n"}, 1,
			[]string{"FILE:1: setting 'command': ignored for type internal (it runs no process; it is the default type, set type = process?)",
				"FILE:2: setting 'stop-command': ignored"}, nil},
		{"internal command not found too", map[string]string{"s": "type = internal\ncommand = /no/such/cmd x\n"}, 1,
			[]string{"FILE:2: setting 'command': ignored", "FILE:2: setting 'command': cannot stat /no/such/cmd"}, nil},
		{"internal process settings", map[string]string{"s": "type = internal\nrun-as = 0\nworking-dir = /\nsocket-listen = /socket\n" +
			"nice = 5\nready-notification = notify\nlog-type = buffer\nmemory-max = 1M\nterm-signal = HUP\nchroot = /\n"}, 1,
			[]string{"FILE:2: setting 'run-as': ignored for type internal", "FILE:3: setting 'working-dir': ignored",
				"FILE:4: setting 'socket-listen': ignored", "FILE:5: setting 'nice': ignored",
				"FILE:6: setting 'ready-notification': ignored", "FILE:7: setting 'log-type': ignored",
				"FILE:8: setting 'memory-max': ignored", "FILE:9: setting 'term-signal': ignored",
				"FILE:10: setting 'chroot': ignored", "0 error(s), 9 warning(s)"}, nil},
		{"triggered options", map[string]string{"s": "type = triggered\noptions = skippable runs-on-console\noptions: no-new-privs\n"}, 1,
			[]string{"FILE:2: setting 'options': skippable ignored for type triggered", "FILE:3: setting 'options': no-new-privs ignored",
				"2 warning(s)"}, []string{"runs-on-console ignored"}},
		{"internal log-type none and console", map[string]string{"s": "type = internal\nlog-type = none\noptions = runs-on-console\n"}, 0,
			nil, []string{"warning:"}},
		{"repeated setting warned once", map[string]string{"s": "type = internal\ncommand = /bin/sh\ncommand += -c\n"}, 1,
			[]string{"1 warning(s)"}, nil},
		{"scripted readiness", map[string]string{"s": "type = scripted\ncommand = /bin/sh\nready-notification = pipefd:3\n"}, 1,
			[]string{"FILE:3: setting 'ready-notification': ignored for type scripted"}, nil},
		{"logfile with another log-type", map[string]string{"s": "type = process\ncommand = /bin/sh\nlog-type = buffer\nlogfile = /tmp/x.log\n"}, 1,
			[]string{"FILE:4: setting 'logfile': ignored: log-type is not file"}, nil},

		// Errors for combinations ginit refuses.
		{"bgprocess readiness", map[string]string{"s": "type = bgprocess\ncommand = /bin/sh\npid-file = /run/x.pid\nready-notification = notify\n"}, 1,
			[]string{"error: FILE: ready-notification is not supported for type bgprocess"}, nil},
		{"pid-file on process", map[string]string{"s": "type = process\ncommand = /bin/sh\npid-file = /run/x.pid\n"}, 1,
			[]string{"error: FILE: pid-file is only for type bgprocess"}, nil},
		{"no command", map[string]string{"s": "type = scripted\n"}, 1,
			[]string{"error: FILE: 'command' setting not specified (type scripted needs one)"}, nil},

		// Commands, as the supervisor will look for them.
		{"command missing", map[string]string{"s": "type = process\ncommand = /no/such/cmd\nstop-command = /no/stop\n"}, 1,
			[]string{"FILE:2: setting 'command': cannot stat /no/such/cmd: no such file or directory",
				"FILE:3: setting 'stop-command': cannot stat /no/stop"}, nil},
		{"reload command missing", map[string]string{"s": "type = process\ncommand = /bin/sh\nreload-command = /bin/sh -c true\nreload-command = /no/reload\n"}, 1,
			[]string{"FILE:4: setting 'reload-command': cannot stat /no/reload: no such file or directory"}, nil},
		{"command not executable", map[string]string{"s": "type = process\ncommand = DIR/plain\n", "plain": "x"}, 1,
			[]string{"FILE:2: setting 'command': DIR/plain is not executable (mode 0644)"}, nil},
		{"command is a directory", map[string]string{"s": "type = process\ncommand = DIR/sub\n", "sub/": ""}, 1,
			[]string{"DIR/sub is not a regular file"}, nil},
		{"bare command not in PATH", map[string]string{"s": "type = process\ncommand = no-such-tool-here\n"}, 1,
			[]string{"FILE:2: setting 'command': no-such-tool-here not found in PATH (/bin)"}, nil},
		{"bare command in the service's PATH", map[string]string{"s": "type = process\nenv-file = env\ncommand = tool\n",
			"env": "PATH=DIR/bin\n", "bin/tool*": "#!/bin/sh\n"}, 0, nil, []string{"warning:"}},
		{"bare command in PATH, not executable", map[string]string{"s": "type = process\nenv-file = env\ncommand = tool\n",
			"env": "PATH=DIR/bin\n", "bin/tool": "#!/bin/sh\n"}, 1, []string{"tool not found in PATH (DIR/bin)"}, nil},
		{"relative command from the working directory", map[string]string{"s": "type = process\nworking-dir = w\ncommand = ./run\n",
			"w/run*": "#!/bin/sh\n"}, 0, nil, []string{"warning:"}},
		{"relative command missing", map[string]string{"s": "type = process\ncommand = ./run\n"}, 1,
			[]string{"cannot stat DIR/run"}, nil},
		{"command inside the chroot", map[string]string{"s": "type = process\nchroot = root\ncommand = /bin/app\n",
			"root/bin/app*": "#!/bin/sh\n"}, 0, nil, []string{"warning:"}},
		{"command missing in the chroot", map[string]string{"s": "type = process\nchroot = root\ncommand = /bin/sh\n", "root/": ""}, 1,
			[]string{"cannot stat DIR/root/bin/sh"}, nil},

		// Directories.
		{"working-dir missing", map[string]string{"s": "type = process\ncommand = /bin/sh\nworking-dir = /no/such/dir\n"}, 1,
			[]string{"FILE:3: setting 'working-dir': cannot stat /no/such/dir"}, nil},
		{"working-dir is a file", map[string]string{"s": "type = process\ncommand = /bin/sh\nworking-dir = f\n", "f": ""}, 1,
			[]string{"DIR/f is not a directory"}, nil},
		{"logfile directory missing", map[string]string{"s": "type = process\ncommand = /bin/sh\nlogfile = /no/such/dir/x.log\n"}, 1,
			[]string{"FILE:3: setting 'logfile': directory of /no/such/dir/x.log: cannot stat /no/such/dir"}, nil},

		// Targets that need not exist, and consumer-of (dinit's check-consumer-of).
		{"consumer-of missing", map[string]string{"s": "type = process\ncommand = /bin/sh\n\nconsumer-of: non-existent\n"}, 1,
			[]string{"warning: FILE: setting 'consumer-of': service 'non-existent' not found", "1 service(s) loaded, 0 error(s), 1 warning(s)"}, nil},
		{"consumer-of without pipe", map[string]string{"s": "type = process\ncommand = /bin/sh\nconsumer-of = p\n",
			"p": "type = process\ncommand = /bin/sh\n"}, 1,
			[]string{"error: FILE: setting 'consumer-of': service 'p' does not have log-type = pipe"}, nil},
		{"consumer-of a service without a process", map[string]string{"s": "type = process\ncommand = /bin/sh\nconsumer-of = p\n",
			"p": "type = internal\nlog-type = pipe\n"}, 1,
			[]string{"error: FILE: setting 'consumer-of': service 'p' is of type internal and runs no process"}, nil},
		{"two consumers", map[string]string{"s": "type = internal\ndepends-on = c1\ndepends-on = c2\n",
			"c1": "type = process\ncommand = /bin/sh\nconsumer-of = p\n", "c2": "type = process\ncommand = /bin/sh\nconsumer-of = p\n",
			"p": "type = process\ncommand = /bin/sh\nlog-type = pipe\n"}, 1,
			[]string{"error: DIR/c2: setting 'consumer-of': service 'p' already has a consumer, 'c1'"}, nil},
		{"consumer that runs no process", map[string]string{"s": "type = internal\nconsumer-of = p\n",
			"p": "type = process\ncommand = /bin/sh\nlog-type = pipe\n"}, 1,
			[]string{"error: FILE: consumer-of is only for type process or bgprocess"}, nil},
		{"before, after and chain-to targets missing", map[string]string{"s": "type = process\ncommand = /bin/sh\nbefore = x\nafter = y\nchain-to = z\n"}, 1,
			[]string{"warning: FILE: setting 'before': service 'x' not found", "setting 'after': service 'y' not found",
				"setting 'chain-to': service 'z' not found", "0 error(s), 3 warning(s)"}, nil},
		{"before target loaded and checked", map[string]string{"s": "type = internal\nbefore = x\n", "x": "type = process\n"}, 1,
			[]string{"error: DIR/x: 'command' setting not specified", "2 service(s) loaded"}, nil},
		{"missing .d entry", map[string]string{"s": "type = internal\nwaits-for.d = s.d\n", "s.d/ghost": ""}, 1,
			[]string{"warning: service 's': dependency 'ghost' from a .d directory not found; ignored"}, []string{"error:"}},

		// dinit's check-basic: every bad line and the missing command, and
		// the dependency named before them is still followed.
		{"broken file still followed", map[string]string{"s": "type=process\ndepends-on=test1\ndepends-on=\"unterminated\nnot-valid=some value\nrun-as=9notanumber\n"}, 1,
			[]string{"error: FILE:3: setting 'depends-on'", "error: FILE:4: setting 'not-valid': unknown setting",
				"error: FILE:5: setting 'run-as'", "error: FILE: 'command' setting not specified",
				"error: service 'test1' not found", "5 error(s)"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			subst := strings.NewReplacer("FILE", filepath.Join(dir, "s"), "DIR", dir)
			files := map[string]string{}
			for n, c := range tc.files {
				files[n] = subst.Replace(c)
			}
			writeFiles(t, dir, files)
			code, out := runCheck(t, "-d", dir, "s")
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if w = subst.Replace(w); !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.none {
				if w = subst.Replace(w); strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCheckAllReportsEveryService: -a checks each file of the directories,
// broken or not, and names each problem.
func TestCheckAllReportsEveryService(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	writeFiles(t, d1, map[string]string{
		"a":       "type = process\n",
		"b":       "restart = maybe\n",
		"ok":      "type = internal\n",
		".hidden": "garbage\n",
		"boot.d/": "",
	})
	writeFiles(t, d2, map[string]string{
		"a": "type = internal\n", // shadowed by d1's a
		"c": "type = internal\ncommand = /bin/sh\n",
	})
	code, out := runCheck(t, "-d", d1, "-d", d2, "--all")
	for _, w := range []string{
		"error: " + filepath.Join(d1, "a") + ": 'command' setting not specified",
		"error: " + filepath.Join(d1, "b") + ":1: setting 'restart'",
		"warning: " + filepath.Join(d2, "c") + ":2: setting 'command': ignored",
		"4 service(s) loaded, 2 error(s), 1 warning(s)",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if code != 1 || strings.Contains(out, ".hidden") || strings.Contains(out, "boot.d") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestLoaderIgnoredSettings: ginit itself logs what its type ignores and
// still loads the service (it stats nothing: that is ginit-check's job);
// a broken description is refused whole even though ginit-check sees it.
func TestLoaderIgnoredSettings(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"i":   "type = internal\ncommand = /no/such/cmd\nworking-dir = /no/such/dir\n",
		"bad": "type = process\ndepends-on = i\nrestart = maybe\n",
	})
	var got []string
	l := &Loader{Dirs: []string{dir}, Log: loggerFunc(func(f string, a ...any) { got = append(got, fmt.Sprintf(f, a...)) })}
	d, err := l.Load("i")
	if err != nil || d.Command != nil {
		t.Fatalf("Load(i) = %+v, %v", d, err)
	}
	want := []string{
		filepath.Join(dir, "i") + ":2: setting 'command': ignored for type internal",
		filepath.Join(dir, "i") + ":3: setting 'working-dir': ignored for type internal",
	}
	if len(got) != len(want) {
		t.Fatalf("logged %q, want %d lines", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("log %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	if d, err := l.Load("bad"); err == nil || d != nil {
		t.Errorf("Load(bad) = %v, %v; want nil and an error", d, err)
	}
}

// FuzzCheck: whatever a description says, ginit-check does not panic, and
// its errors for the description are exactly the errors ginit's own load
// gives (ginit-check only adds warnings), so "ginit-check is clean" means
// "ginit loads it".
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"type=process\ndepends-on=test1\ndepends-on=\"unterminated\nnot-valid=some value\nrun-as=9notanumber\n",
		"type = internal\nrun-as = 0\noptions = runs-on-console\nworking-dir = /\nsocket-listen = /socket\ncommand = /this/command/does/not/exist this-is-ignored\n",
		"type = process\ncommand = /bin/sh\n\nconsumer-of: non-existent\n",
		"type = bgprocess\ncommand = /bin/sh\npid-file = x.pid\nready-notification = notify\nlog-type = buffer\nlogfile = l\n",
		"type = scripted\ncommand = sh -c true\nstop-command += x\nbefore = s\nchain-to = t\noptions = skippable run-once\n",
		"command = ./run $1 ${X:-y}\nworking-dir = w\nchroot = r\ntype = triggered\nnice = 3\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		// Reading other files (which may be pipes or huge) is the
		// parser's fuzzing; here only the one description.
		if strings.Contains(text, "@include") || strings.Contains(text, "env-file") {
			t.Skip()
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "s"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		reps, _ := (&Loader{Dirs: []string{dir}}).checkSet([]string{"s"})
		if len(reps) == 0 || reps[0].name != "s" {
			t.Fatalf("no report for s: %+v", reps)
		}
		var want []string
		if _, err := (&Loader{Dirs: []string{dir}}).Load("s"); err != nil {
			for _, e := range flatten(err) {
				want = append(want, e.Error())
			}
		}
		var got []string
		for _, e := range reps[0].errs {
			got = append(got, e.Error())
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("ginit-check errors:\n%s\nginit's load:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
