package initns

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// listPID is the pid `ginitctl list` shows for a started service.
func (in *instance) listPID(name string) string {
	in.t.Helper()
	m := regexp.MustCompile(`\] ` + regexp.QuoteMeta(name) + ` \(pid: (\d+)\)`).FindStringSubmatch(in.mustCtl("list").out)
	if m == nil {
		in.t.Fatalf("no pid of %s in the list", name)
	}
	return m[1]
}

// reload-command from a native description: the lines run in order, as
// processes of the service (its working directory, environment and
// cgroup) with $MAINPID its main pid; a failing line is reported with its
// exit status and the service keeps running; the refusals say why.
func TestReloadCommand(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"svc": `type = process
restart = no
command = /bin/sh -c "trap 'echo hup >> hups' HUP; while :; do sleep 0.1; done"
working-dir = ../out
env-file = env
reload-command = /bin/kill -HUP $MAINPID
reload-command = /bin/sh -c "echo \"$$PWD ${MAINPID} $$FOO\" > reload; test \"$$(cat /proc/self/cgroup)\" = \"$$(cat /proc/$$MAINPID/cgroup)\" && echo same-cgroup >> reload"
`,
		"env":     "FOO=from-env-file\n",
		"failing": "type = process\nrestart = no\nworking-dir = ../out\ncommand = /bin/sleep 100000\nreload-command = /bin/true\nreload-command = /bin/sh -c \"exit 3\"\nreload-command = /bin/touch never\n",
		"slow":    "type = process\nrestart = no\nstart-timeout = 1\ncommand = /bin/sleep 100000\nreload-command = /bin/sleep 100000\n",
		"user":    "type = process\nrestart = no\nrun-as = nobody\nworking-dir = /\ncommand = /bin/sleep 100000\nreload-command = /bin/sh -c \"echo reload as $$(id -u):$$(id -g)\"\n",
		"plain":   "type = process\nrestart = no\ncommand = /bin/sleep 100000\n",
	})
	in.mustCtl("start", "svc")
	pid := in.listPID("svc")
	if r := in.mustCtl("reload-service", "svc"); r.out != "Service 'svc' ran its reload command.\n" {
		t.Errorf("reload-service: %s", r)
	}
	got := in.waitOut("reload", func(s string) bool { return strings.Contains(s, "same-cgroup") })
	if want := in.out + " " + pid + " from-env-file\nsame-cgroup\n"; got != want {
		t.Errorf("reload command saw %q, want %q", got, want)
	}
	in.waitOut("hups", func(s string) bool { return s == "hup\n" })
	if in.state("svc") != "started" || in.listPID("svc") != pid {
		t.Errorf("after reload: %s, pid %s (was %s)", in.state("svc"), in.listPID("svc"), pid)
	}

	in.mustCtl("start", "failing")
	r := in.ctl("reload-service", "failing")
	want := "ginitctl: reload of service 'failing' failed: reload command 2 of 3 (/bin/sh -c exit 3) exited 3; the service keeps running\n"
	if r.code != 1 || r.err != want || r.out != "" {
		t.Errorf("failing reload: %s; want exit 1 and %q", r, want)
	}
	if in.state("failing") != "started" {
		t.Errorf("failing: %s after a failed reload", in.state("failing"))
	}
	if _, err := os.Stat(filepath.Join(in.out, "never")); err == nil {
		t.Error("the command after the failing one ran")
	}

	// A hanging reload command is killed after start-timeout; the daemon
	// beside it in the cgroup is not.
	in.mustCtl("start", "slow")
	slow := in.listPID("slow")
	r = in.ctl("reload-service", "slow")
	want = "ginitctl: reload of service 'slow' failed: reload command (/bin/sleep 100000) timed out after 1s (signal 9 (killed)); the service keeps running\n"
	if r.code != 1 || r.err != want {
		t.Errorf("hanging reload: %s; want exit 1 and %q", r, want)
	}
	if in.state("slow") != "started" || in.listPID("slow") != slow {
		t.Errorf("slow: %s, pid %s (was %s) after a timed-out reload", in.state("slow"), in.listPID("slow"), slow)
	}

	// run-as applies; the output goes where the service's does.
	in.mustCtl("start", "user")
	in.mustCtl("reload-service", "user")
	if out := in.mustCtl("catlog", "user").out; out != "reload as 65534:65534\n" {
		t.Errorf("reload command of a run-as service said %q", out)
	}

	in.mustCtl("start", "plain")
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"reload-service", "plain"}, "ginitctl: cannot reload service 'plain': service has no reload-command\n"},
		{[]string{"reload-service", "nosuch"}, "ginitctl: service 'nosuch': service not loaded\n"},
	} {
		if r := in.ctl(c.args...); r.code != 1 || r.err != c.err {
			t.Errorf("%q: %s; want exit 1 and %q", c.args, r, c.err)
		}
	}
	in.mustCtl("stop", "svc")
	in.waitState("svc", "stopped")
	if r, want := in.ctl("reload-service", "svc"), "ginitctl: cannot reload service 'svc' (stopped): service is not started\n"; r.code != 1 || r.err != want {
		t.Errorf("reload of a stopped service: %s; want %q", r, want)
	}
}

// Debian's nginx.service: its ExecReload= (nginx -s reload) is what
// `ginitctl reload-service nginx` runs; a changed site is then served by
// the same master process, and a broken one makes the reload fail with
// nginx's exit status while the old configuration goes on serving.
func TestDebianNginxReload(t *testing.T) {
	requireRoot(t)
	root := debianRoot(t)
	for _, p := range []string{"nsenter", "ip", "bash"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	if fi, err := os.Lstat("/lib"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Skip("needs a merged /usr (/lib a link to usr/lib): the packages are overlaid on /usr only")
	}
	site := func(answer string) string {
		return "server { listen 127.0.0.1:80; location / { return 200 \"" + answer + "\\n\"; } }\n"
	}
	in := newDebianInstance(t, root, func(etc, varDir string) {
		copyTree(t, filepath.Join(root, "etc/nginx"), filepath.Join(etc, "nginx"))
		must(t, os.WriteFile(filepath.Join(etc, "nginx/sites-enabled/default"), []byte(site("first answer")), 0o644))
		for _, d := range []string{"log/nginx", "lib/nginx"} {
			must(t, os.MkdirAll(filepath.Join(varDir, d), 0o755))
		}
	})
	get := []string{"bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET / HTTP/1.0\r\nHost: x\r\n\r\n' >&3 && cat <&3`}
	setSite := func(text string) {
		t.Helper()
		if out, err := in.inNS("sh", "-c", `printf '%s' "$1" > /etc/nginx/sites-enabled/default`, "sh", text); err != nil {
			t.Fatalf("writing the site: %v: %s", err, out)
		}
	}

	in.mustCtl("start", "nginx")
	in.waitState("nginx", "started")
	in.waitNS("first answer", get...)
	pid := in.listPID("nginx")

	setSite(site("second answer"))
	if r := in.mustCtl("reload-service", "nginx"); r.out != "Service 'nginx' ran its reload command.\n" {
		t.Errorf("reload-service: %s", r)
	}
	// nginx -s reload only signals the master, which then starts new workers.
	t.Logf("after reload: %q", in.waitNS("second answer", get...))
	if in.state("nginx") != "started" || in.listPID("nginx") != pid {
		t.Errorf("after reload: %s, pid %s (was %s)", in.state("nginx"), in.listPID("nginx"), pid)
	}

	setSite("server { this is not nginx syntax\n")
	r := in.ctl("reload-service", "nginx")
	want := "ginitctl: reload of service 'nginx' failed: reload command (/usr/sbin/nginx -g daemon on; master_process on; -s reload) exited 1; the service keeps running\n"
	if r.code != 1 || r.err != want {
		t.Errorf("reload with a broken site: %s; want exit 1 and %q", r, want)
	}
	if out, err := in.inNS(get...); err != nil || !strings.Contains(out, "second answer") {
		t.Errorf("after the failed reload nginx answers %q, %v", out, err)
	}
	if in.state("nginx") != "started" || in.listPID("nginx") != pid {
		t.Errorf("after the failed reload: %s, pid %s (was %s)", in.state("nginx"), in.listPID("nginx"), pid)
	}
	in.mustCtl("stop", "nginx")
	in.waitState("nginx", "stopped")
}
