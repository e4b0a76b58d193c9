package ctl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOfflineEnableDisable(t *testing.T) {
	dir := t.TempDir()
	for n, c := range map[string]string{
		"boot":  "type = internal\nwaits-for.d = boot.d\n",
		"multi": "type = internal\nwaits-for.d = m.d\n",
		"A":     "type = internal\n",
		"B":     "type = internal\n@meta enable-via multi\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"boot.d", "m.d"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := func(string) string { return "" }
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := RunCLI(t.Context(), append([]string{"--offline", "-d", dir}, args...), &out, &errb, env)
		return code, out.String(), errb.String()
	}
	if code, out, errs := run("enable", "A"); code != 0 || !strings.Contains(out, "has been enabled") {
		t.Fatalf("enable A: %d %q %q", code, out, errs)
	}
	if target, err := os.Readlink(filepath.Join(dir, "boot.d", "A")); err != nil || target != "../A" {
		t.Errorf("link boot.d/A -> %q, %v", target, err)
	}
	if code, _, errs := run("enable", "A"); code == 0 || !strings.Contains(errs, "already enabled") {
		t.Errorf("second enable: %d %q", code, errs)
	}
	if code, _, _ := run("enable", "B"); code != 0 {
		t.Errorf("enable B (via @meta enable-via multi): %d", code)
	}
	if _, err := os.Lstat(filepath.Join(dir, "m.d", "B")); err != nil {
		t.Errorf("B not enabled from multi: %v", err)
	}
	if code, out, _ := run("disable", "A"); code != 0 || !strings.Contains(out, "has been disabled") {
		t.Errorf("disable A: %d %q", code, out)
	}
	if _, err := os.Lstat(filepath.Join(dir, "boot.d", "A")); !os.IsNotExist(err) {
		t.Errorf("boot.d/A still there: %v", err)
	}
	if code, _, errs := run("disable", "A"); code == 0 || !strings.Contains(errs, "not enabled") {
		t.Errorf("disable again: %d %q", code, errs)
	}
	if code, _, errs := run("enable", "nope"); code == 0 || !strings.Contains(errs, "nope") {
		t.Errorf("enable of a missing service: %d %q", code, errs)
	}
	if code, _, _ := run("start", "A"); code != ExitUsage {
		t.Errorf("start --offline: exit %d, want usage error", code)
	}
}
