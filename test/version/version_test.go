// Package version_test checks that every built program answers --version
// with the release and the commit the Makefile linked in.
package version_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ginit/internal/version"
)

func TestEveryProgramPrintsVersion(t *testing.T) {
	bin := os.Getenv("GINIT_BIN")
	if bin == "" {
		t.Skip("GINIT_BIN is not set (make build, then GINIT_BIN=$PWD/bin)")
	}
	links := t.TempDir()
	for _, tc := range []struct{ prog, file string }{
		{"ginit", "ginit"},
		{"ginitctl", "ginitctl"},
		{"ginit-check", "ginit-check"},
		{"sessiond", "sessiond"},
		// The shutdown front-ends are ginitctl under another name.
		{"shutdown", "ginitctl"},
		{"reboot", "ginitctl"},
		{"poweroff", "ginitctl"},
		{"halt", "ginitctl"},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			path := filepath.Join(bin, tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("not built: %v", err)
			}
			if tc.prog != tc.file {
				link := filepath.Join(links, tc.prog)
				if err := os.Symlink(path, link); err != nil {
					t.Fatal(err)
				}
				path = link
			}
			out, err := exec.Command(path, "--version").CombinedOutput()
			if err != nil {
				t.Fatalf("%s --version: %v\n%s", tc.prog, err, out)
			}
			first, _, _ := strings.Cut(string(out), "\n")
			prefix := tc.prog + " (ginit) " + version.Release + ", commit "
			commit, ok := strings.CutPrefix(first, prefix)
			if !ok || commit == "" || strings.ContainsAny(commit, " \t") {
				t.Errorf("%s --version: first line %q, want %q and a commit", tc.prog, first, prefix)
			}
		})
	}
}
