// Package testenv is the machinery shared by the privileged end-to-end
// suites that run sessiond on a private bus (test/sessiond, test/pam):
// re-executing the test binary in a private mount namespace, finding or
// building the binaries under test, and one private world per test (a
// tmpfs on /run, an own /etc/pam.d, a private dbus-daemon, an own cgroup
// subtree, sessiond started with a readiness pipe) whose every process is
// stopped by pid in cleanup.
//
// It is only for tests: no non-test package may import it (a test in this
// package checks that), since it mounts over /run and /etc/pam.d.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ginit/sessiond/sys"
)

// The variables TestMain hands from the outer run to the re-executed
// test binary inside the namespace.
const (
	innerEnv = "GINIT_TESTENV_INNER" // set in the re-executed test binary
	skipEnv  = "GINIT_TESTENV_SKIP"  // why the tests cannot run here
	binEnv   = "GINIT_TESTENV_BIN"   // directory with the binaries under test
)

// Main is a suite's TestMain. Outside the namespace it checks
// prerequisites (which returns why the suite cannot run, "" when it
// can), finds or builds the binaries named (see Binaries) and re-executes
// the test binary under `unshare --mount --propagation private`, so that
// the suite's mounts on /run, /etc/pam.d and /dev never reach the host;
// it exits with the inner run's code. When anything is missing the
// tests run here instead and New skips each with the reason.
func Main(m *testing.M, prerequisites func() string, binaries ...string) {
	if os.Getenv(innerEnv) == "" {
		reason := prerequisites()
		if reason == "" {
			code, err := reexec(binaries)
			if err == nil {
				os.Exit(code)
			}
			reason = err.Error()
		}
		os.Setenv(skipEnv, reason)
	}
	os.Exit(m.Run())
}

// SkipReason is why the suite's tests cannot run here, "" inside the
// namespace with everything present.
func SkipReason() string { return os.Getenv(skipEnv) }

// BinDir is the directory with the binaries under test inside the
// namespace, "" when the suite is skipped.
func BinDir() string { return os.Getenv(binEnv) }

func reexec(binaries []string) (int, error) {
	dir, cleanup, err := Binaries(binaries...)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), innerEnv+"=1", binEnv+"="+dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// Binaries returns a directory holding the named binaries ("sessiond",
// "pam_sessiond.so", "ginit", "ginitctl"): the build's ($GINIT_BIN, as make test sets it) if
// it has them all, else a temporary one they are freshly built into,
// which cleanup removes.
func Binaries(names ...string) (dir string, cleanup func(), err error) {
	if d := os.Getenv("GINIT_BIN"); d != "" {
		all := true
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(d, n)); err != nil {
				all = false
			}
		}
		if all {
			abs, err := filepath.Abs(d)
			return abs, func() {}, err
		}
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", nil, fmt.Errorf("GINIT_BIN lacks one of %s, and there is no go to build them", strings.Join(names, ", "))
	}
	dir, err = os.MkdirTemp("", "ginit-testenv-bin")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	for _, n := range names {
		var args []string
		switch n {
		case "sessiond":
			args = []string{"build", "-o", filepath.Join(dir, n), "ginit/sessiond/cmd/sessiond"}
		case "pam_sessiond.so":
			// C, built by the Makefile's pam rule at the module's root.
			root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
			if err == nil {
				var out []byte
				out, err = exec.Command("make", "-C", strings.TrimSpace(string(root)), "--no-print-directory", "pam", "BIN="+dir).CombinedOutput()
				if err == nil {
					_, err = os.Stat(filepath.Join(dir, n))
				}
				if err != nil {
					err = fmt.Errorf("%w\n%s", err, out)
				}
			}
			if err != nil {
				cleanup()
				return "", nil, fmt.Errorf("make pam: %w", err)
			}
			continue
		case "ginit", "ginitctl":
			args = []string{"build", "-o", filepath.Join(dir, n), "ginit/init/cmd/" + n}
		default:
			cleanup()
			return "", nil, fmt.Errorf("testenv cannot build %q", n)
		}
		cmd := exec.Command("go", args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dir, cleanup, nil
}

// PAMModule returns the path of an installed PAM module, "" if there is
// none of that name.
func PAMModule(name string) string {
	for _, d := range []string{"/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
		"/lib/aarch64-linux-gnu/security", "/usr/lib/aarch64-linux-gnu/security", "/lib/security", "/usr/lib/security"} {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name)
		}
	}
	return ""
}

// Prerequisites returns why an Env cannot be made here ("" if it can):
// not root, a missing command or PAM module (beyond the ones every Env
// uses: unshare, dbus-daemon, pamtester, loginctl, pam_exec.so,
// pam_permit.so, pam_deny.so), no cgroup2 hierarchy, or no mount
// namespaces.
func Prerequisites(commands, pamModules []string) string {
	if os.Geteuid() != 0 {
		return "needs root (mount namespace, cgroups, tmpfs runtime dirs)"
	}
	for _, c := range append([]string{"unshare", "dbus-daemon", "pamtester", "loginctl"}, commands...) {
		if _, err := exec.LookPath(c); err != nil {
			return "missing command " + c
		}
	}
	for _, mod := range append([]string{"pam_exec.so", "pam_permit.so", "pam_deny.so"}, pamModules...) {
		if PAMModule(mod) == "" {
			return "missing PAM module " + mod
		}
	}
	if sys.DetectCgroupRoots().Unified == "" {
		return "no cgroup2 hierarchy (sessiond places sessions in scopes there, where sd-login looks)"
	}
	if err := exec.Command("unshare", "--mount", "--propagation", "private", "true").Run(); err != nil {
		return "cannot create a mount namespace: " + err.Error()
	}
	return ""
}
