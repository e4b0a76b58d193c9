// Package install checks that `make install` produces a tree that loads:
// ginit-check finds every service boot needs among the installed
// descriptions, and the binaries and the PAM module land where a
// distribution expects them.
package install

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// installTree runs make install into a fresh DESTDIR, building into a
// private bin directory so binaries other tests use are left alone.
func installTree(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	tree := filepath.Join(tmp, "root")
	cmd := exec.Command("make", "-C", root, "--no-print-directory", "install", "DESTDIR="+tree, "BIN="+filepath.Join(tmp, "bin"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	return tree
}

// cannotStat is the one warning an installed tree may draw: a command named
// by its final path, which exists inside DESTDIR, not yet on this host.
var cannotStat = regexp.MustCompile(`setting 'command': cannot stat (\S+): no such file`)

func TestInstalledTreeLoads(t *testing.T) {
	tree := installTree(t)
	check := exec.Command(filepath.Join(tree, "usr/bin/ginit-check"),
		"-d", filepath.Join(tree, "etc/ginit.d"), "-d", filepath.Join(tree, "usr/lib/ginit.d"), "boot")
	out, _ := check.CombinedOutput() // exit 1 on warnings: judged line by line below
	if !strings.Contains(string(out), " 0 error(s)") {
		t.Fatalf("ginit-check boot on the installed tree:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(line, "warning: ") {
			continue
		}
		m := cannotStat.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unexpected warning: %s", line)
			continue
		}
		ours := map[string]bool{"ginit": true, "ginitctl": true, "sessiond": true}[filepath.Base(m[1])]
		if _, err := os.Stat(filepath.Join(tree, m[1])); ours && err != nil {
			t.Errorf("%s names %s, which make install did not install", line, m[1])
		}
	}
	if ents, err := os.ReadDir(filepath.Join(tree, "etc/ginit.d")); err != nil || len(ents) != 0 {
		t.Errorf("/etc/ginit.d should exist and be the admin's (empty): %v, %v", ents, err)
	}
}

func TestInstalledFiles(t *testing.T) {
	tree := installTree(t)
	stripped := []string{"usr/sbin/ginit", "usr/bin/ginitctl", "usr/bin/ginit-check", "usr/sbin/sessiond"}
	if _, err := os.Stat("/usr/include/security/pam_appl.h"); err == nil {
		pam, _ := filepath.Glob(filepath.Join(tree, "usr/lib/*/security/pam_sessiond.so"))
		if len(pam) == 0 {
			pam, _ = filepath.Glob(filepath.Join(tree, "usr/lib/security/pam_sessiond.so"))
		}
		if len(pam) != 1 {
			t.Fatalf("pam_sessiond.so not under usr/lib/MULTIARCH/security: %v", pam)
		}
		rel, _ := filepath.Rel(tree, pam[0])
		stripped = append(stripped, rel)
	}
	for _, rel := range stripped {
		f, err := elf.Open(filepath.Join(tree, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s is not stripped", rel)
		}
		f.Close()
	}
	for _, rel := range []string{
		"usr/lib/ginit.d/boot", "usr/lib/ginit.d/sessiond",
		"usr/lib/ginit.d/user@", "usr/lib/ginit.d/user/boot", "usr/lib/ginit.d/user/dbus",
		"usr/share/doc/ginit/pam.d-sessiond.sample", "usr/share/doc/ginit/logind.conf.sample",
		"usr/share/dbus-1/system.d/org.freedesktop.login1.conf",
	} {
		if _, err := os.Stat(filepath.Join(tree, rel)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(tree, "usr/lib/ginit.d/ticker")); err == nil {
		t.Error("the sandbox samples (units/sample) were installed")
	}
}
