package control

import (
	"os/exec"
	"strings"
	"testing"
)

// goListDeps lists the packages pkg links, itself included.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	return strings.Fields(string(out))
}

// A client of the control socket links the protocol and nothing of the
// service manager: the package imports no ginit package but internal/power,
// and sessiond, which only sends shutdown requests, links no package of
// init/ but this one (no state machine, loader, supervisor or server).
func TestClientsLinkOnlyTheProtocol(t *testing.T) {
	for _, tc := range []struct {
		pkg     string
		allowed func(dep string) bool
	}{
		{".", func(dep string) bool {
			return dep == "ginit/init/control" || dep == "ginit/internal/power"
		}},
		{"../../sessiond/cmd/sessiond", func(dep string) bool {
			return !strings.HasPrefix(dep, "ginit/init/") || dep == "ginit/init/control"
		}},
	} {
		for _, dep := range goListDeps(t, tc.pkg) {
			if strings.HasPrefix(dep, "ginit/") && !tc.allowed(dep) {
				t.Errorf("%s links %s", tc.pkg, dep)
			}
		}
	}
}
