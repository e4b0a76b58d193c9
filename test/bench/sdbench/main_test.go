// Package sdbench measures sessiond side by side with elogind, the
// anchor: each daemon in turn on the same private world (testenv: own
// /run, private system bus, own cgroup subtree, PAM services of its
// own), driven by the same in-process godbus client, pamtester and
// sleep processes as session leaders. Rounds interleave the two daemons;
// the table gives each figure's median per daemon and the median of the
// per-round ratios, so that a noisy machine moves both sides of a pair.
// elogind comes from test/bench/elogind.sh (Debian's packages unpacked
// into .cache/, never installed); without it only sessiond's column is
// printed. It needs root. Nothing here asserts on time.
package sdbench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"ginit/internal/testenv"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(floorEnv); addr != "" {
		floorServer(addr)
	}
	testenv.Main(m, func() string { return testenv.Prerequisites([]string{"sleep"}, nil) }, "sessiond", "pam_sessiond.so")
}

// elogindRoot is the unpacked anchor, "" when it is not there: the
// script (which may download it) runs only when SDBENCH_FETCH=1 or the
// root already exists.
func elogindRoot(tb testing.TB) string {
	script, err := filepath.Abs("../elogind.sh")
	if err != nil {
		tb.Fatal(err)
	}
	root, err := filepath.Abs("../../../.cache/elogind/root")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "lib/elogind/elogind")); err != nil && os.Getenv("SDBENCH_FETCH") != "1" {
		return ""
	}
	out, err := exec.Command(script).Output()
	if err != nil {
		tb.Logf("elogind anchor unavailable: %v", err)
		return ""
	}
	_ = out
	return root
}
