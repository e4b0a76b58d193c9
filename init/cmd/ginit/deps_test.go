package main

import (
	"os/exec"
	"strings"
	"testing"
)

// PID 1 must be a static binary that a broken /usr cannot take down: no
// cgo, and nothing of the D-Bus or PAM stacks.
func TestNoCgoNoBusInPID1(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{if .CgoFiles}}cgo{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pkg := f[0]
		if strings.Contains(pkg, "godbus") || strings.Contains(pkg, "msteinert/pam") || pkg == "ginit/sessiond" {
			t.Errorf("ginit depends on %s", pkg)
		}
		if len(f) > 1 && f[1] == "cgo" && pkg != "runtime/cgo" && pkg != "net" && pkg != "os/user" {
			t.Errorf("ginit depends on cgo package %s", pkg)
		}
	}
}
