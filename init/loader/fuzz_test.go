package loader

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fuzzAllocBound is what one small input may make the loader allocate: the
// limits keep it far below; without them a few hundred bytes of $/VAR could
// take gigabytes.
const fuzzAllocBound = 64 << 20

// allocated runs f and returns how many bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// FuzzParse: any bytes as a service file give a description or an error
// that names a file (and is a load error), never a panic, within a bounded
// allocation.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"type = process\ncommand = /sbin/agetty --noclear tty1 linux\nrestart = yes\ninittab-id = 1\ninittab-line = tty1\ndepends-on: run-setup\nwaits-for: sessiond\n",
		"# dbus\ntype = process\ncommand = /usr/bin/dbus-daemon --system --nofork --nopidfile\ndepends-on: dbus-pre\nrestart = yes\nsmooth-recovery = yes\n",
		"type = internal\ndepends-on: rootfs-rw\nwaits-for: hostname\nwaits-for.d = boot.d\n",
		"type = process\ncommand = /bin/x $1 ${W:-linux} $/W \"$X\" $$HOME \\\n    --more # comment\n@include frag\n@include-opt missing\nenv-file = env\nload-options = export-service-name export-passwd-vars\nrun-as = alice:staff\n",
		"type = bgprocess\ncommand = /bin/d\npid-file = /run/d.pid\nlogfile = d.log\ncapabilities = ^cap_net_raw\ncapabilities += !cap_sys_admin\nsecurebits = noroot\nprepared-by: prep\nrlimit-nofile = 10:20\nioprio = best-effort:4\n",
		"command += $/W $/W $/W\n@meta enable-via boot\nsocket-listen = /run/s\nsocket-uid = alice\nready-notification = pipefd:3\n",
		"type = timer\ntimer-target = job\non-calendar = Mon..Fri *-*-01 08:00 Europe/Berlin\non-active = 1h 30s\non-unit-inactive = 90\non-boot =\nrandomized-delay = 5min\npersistent = yes\n",
		"type = socket\nsocket-listen = /run/a\nsocket-listen = datagram:[::1]:53\nsocket-listen = fifo:rel\nsocket-accept = yes\nsocket-max-connections = 3\nsocket-activates = job\n",
		"type = process\ncommand = /bin/d\nreload-command = /bin/kill -HUP $MAINPID\nreload-command = /bin/r ${MAINPID} $/W\nreload-command += --more\n",
		"@include /dev/zero\n",
		"@include frag\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	write(f, dir, map[string]string{
		"sd/frag":     "restart = no\n@include frag\n",
		"sd/env":      "A=1\n!import W\n",
		"sd/boot.d/x": "",
		"etc/passwd":  "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1001:Alice:/home/alice:/bin/bash\n",
		"etc/group":   "root:x:0:\nstaff:x:50:\n",
	})
	file := filepath.Join(dir, "sd/svc")
	l := &Loader{
		Dirs:       []string{filepath.Join(dir, "sd")},
		Env:        EnvMap(map[string]string{"W": "a b c d e f g h", "X": strings.Repeat("x", 4096)}),
		PasswdFile: filepath.Join(dir, "etc/passwd"),
		GroupFile:  filepath.Join(dir, "etc/group"),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		n := allocated(func() { _, err = l.Load("svc") })
		if n > fuzzAllocBound {
			t.Errorf("allocated %d MiB", n>>20)
		}
		if err == nil {
			return
		}
		if !IsLoadError(err) {
			t.Errorf("%v (%T) is not a load error", err, err)
		}
		var le *Error
		if !errors.As(err, &le) || le.File == "" {
			t.Errorf("%v names no file", err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, dir) {
			t.Errorf("%q does not start with the file", msg)
		}
	})
}

// FuzzReadEnvFile: any bytes as an env file (ginit -e) give KEY=VALUE
// entries or an error that starts with the file's name, never a panic.
func FuzzReadEnvFile(f *testing.F) {
	for _, seed := range []string{
		"# vars\nTERMTYPE=vt100\n!import GREETING\n",
		"A=1\nB = two words \n!unset A\n!clear\nC=3\n",
		"!frob\n",
		"=x\n",
		"PATH=/usr/bin:/bin\r\nLANG=C.UTF-8\r\n",
	} {
		f.Add([]byte(seed))
	}
	path := filepath.Join(f.TempDir(), "env")
	base := []string{"GREETING=hello world", "HOME=/root"}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var env []string
		var err error
		if n := allocated(func() { env, err = ReadEnvFile(path, base) }); n > fuzzAllocBound {
			t.Errorf("allocated %d MiB", n>>20)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), path+":") {
				t.Errorf("%q does not start with %s:", err, path)
			}
			return
		}
		for _, kv := range env {
			if k, _, ok := strings.Cut(kv, "="); !ok || !validVarName(k) && !strings.HasPrefix(kv, "GREETING=") && !strings.HasPrefix(kv, "HOME=") {
				t.Errorf("entry %q", kv)
			}
		}
	})
}
