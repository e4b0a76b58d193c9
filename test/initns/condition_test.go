package initns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A unit whose condition is not met is skipped at its start (status says
// why, its dependent starts); once the path exists a second start runs it.
// The path is under the test's own directory, not the host's /run.
func TestConditionAtEachStart(t *testing.T) {
	in := newInstance(t, map[string]string{
		"cond.service": "[Unit]\nConditionPathExists=@DIR@/x\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/touch @OUT@/ran\n",
		"boot":         "type = internal\n",
		"dep.service":  "[Unit]\nRequires=cond.service\nAfter=cond.service\n[Service]\nExecStart=/bin/sleep 1000\n",
	})
	in.mustCtl("start", "dep")
	in.waitState("dep", "started")
	if st := in.state("cond"); st != "stopped" {
		t.Fatalf("cond is %s, want stopped", st)
	}
	want := "condition failed: ConditionPathExists=" + filepath.Join(in.dir, "x")
	if r := in.ctl("status", "cond"); !strings.Contains(r.out, want) {
		t.Fatalf("status of cond lacks %q: %s", want, r)
	}
	if _, err := os.Stat(filepath.Join(in.out, "ran")); err == nil {
		t.Fatal("cond ran although its condition was not met")
	}

	if err := os.WriteFile(filepath.Join(in.dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	in.mustCtl("start", "cond")
	in.waitState("cond", "started")
	if _, err := os.Stat(filepath.Join(in.out, "ran")); err != nil {
		t.Fatalf("cond did not run once its path existed: %v", err)
	}
}
