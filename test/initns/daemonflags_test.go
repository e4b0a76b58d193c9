package initns

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startUser runs ginit as a user instance (not PID 1) on dir with the
// given services and returns it with its combined output.
func startUser(t *testing.T, dir string, services ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t.Helper()
	bin := binDir(t)
	tmp := t.TempDir()
	args := append([]string{"--user", "-d", dir, "-p", filepath.Join(tmp, "sock")}, services...)
	cmd := exec.Command(filepath.Join(bin, "ginit"), args...)
	// Keep it off the host's runtime directory.
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		// SIGTERM first: killed, ginit would leave its cgroup subtree.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd, &out, done
}

// As dinit does, a user instance none of whose services could be loaded
// says so and exits with a failure; one that loaded something stays.
func TestUserInstanceExitsWhenNoServiceLoads(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"broken": "type = process\ncommand = /bin/sleep 1000\nrestart = sometimes\n",
		"fine":   "type = process\ncommand = /bin/sleep 1000\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		services []string
		exits    bool
	}{
		{"missing", []string{"nosuch"}, true},
		{"malformed", []string{"broken"}, true},
		{"both fail", []string{"nosuch", "broken"}, true},
		{"one loads", []string{"nosuch", "fine"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, out, done := startUser(t, dir, tc.services...)
			select {
			case err := <-done:
				done <- err
				var ee *exec.ExitError
				if !tc.exits {
					t.Fatalf("ginit exited (%v) although a service loaded:\n%s", err, out)
				}
				if !errors.As(err, &ee) || ee.ExitCode() == 0 {
					t.Errorf("exit: %v, want a failure status", err)
				}
				for _, s := range tc.services {
					if !strings.Contains(out.String(), s) {
						t.Errorf("output does not name %s:\n%s", s, out)
					}
				}
				if !strings.Contains(out.String(), "could be loaded") {
					t.Errorf("output does not say why it exits:\n%s", out)
				}
			case <-time.After(3 * time.Second):
				if tc.exits {
					t.Fatalf("ginit still runs with nothing loaded:\n%s", out)
				}
				_ = cmd.Process.Signal(syscall.SIGTERM)
				if err := <-done; err != nil {
					t.Errorf("after SIGTERM: %v\n%s", err, out)
				}
				done <- nil
			}
		})
	}
}

// unifiedRoot is where the cgroup2 hierarchy is mounted on the host.
func unifiedRoot(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(p, "cgroup.procs")); err == nil {
			if _, err := os.Stat(filepath.Join(p, "cgroup.controllers")); err == nil {
				return p
			}
		}
	}
	t.Skip("needs a cgroup2 hierarchy")
	return ""
}

// -b PATH (dinit's --cgroup-path) runs services in cgroups below PATH, a
// path from the root of the unified hierarchy with or without its leading
// "/"; ginit removes only what it made there.
func TestCgroupPathPlacesServices(t *testing.T) {
	requireRoot(t)
	root := unifiedRoot(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := "initns-b-" + hex.EncodeToString(b[:])
	tests := []struct {
		name, arg, rel string
		existing       bool // the test makes the cgroup (with a child) first
	}{
		{"relative, made by ginit", base + "/made/deeper", "/" + base + "/made/deeper", false},
		{"leading slash, existing", "/" + base + "/existing", "/" + base + "/existing", true},
	}
	if err := os.Mkdir(filepath.Join(root, base), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Depth first: cgroups are removed with rmdir only.
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(root, base), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(root, tc.rel)
			keep := filepath.Join(dir, "someone-elses")
			if tc.existing {
				if err := os.MkdirAll(keep, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// Registered before the instance, so run after its cleanup
			// has stopped ginit.
			t.Cleanup(func() {
				if tc.existing {
					if _, err := os.Stat(keep); err != nil {
						t.Errorf("ginit removed a cgroup it did not make: %v", err)
					}
					if _, err := os.Stat(filepath.Join(dir, "svc")); err == nil {
						t.Errorf("ginit left its service cgroup %s/svc", dir)
					}
				} else if _, err := os.Stat(filepath.Join(root, base, "made")); err == nil {
					t.Errorf("ginit left the cgroups it made for -b %s", tc.arg)
				}
			})
			in := newInstance(t, map[string]string{
				"boot": "type = internal\ndepends-on: svc\n",
				"svc":  "type = process\ncommand = /bin/sh -c \"cat /proc/self/cgroup > @OUT@/cg; exec sleep 1000\"\n",
			}, "-b", tc.arg)
			in.waitState("svc", "started")
			got := in.waitOut("cg", func(s string) bool { return strings.Contains(s, "0::") })
			want := "0::" + tc.rel + "/svc\n"
			if !strings.Contains(got, want) {
				t.Errorf("service's /proc/self/cgroup:\n%s\nwant the line %q", got, want)
			}
		})
	}
}
