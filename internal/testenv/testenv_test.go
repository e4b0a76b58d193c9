package testenv

import (
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestParseKV(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"A=1\nB=\nC=x=y", map[string]string{"A": "1", "B": "", "C": "x=y"}},
		{"no equals\nId=3\n", map[string]string{"Id": "3"}},
	} {
		if got := ParseKV(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseKV(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestSyncBuffer writes from several goroutines while reading (meant for
// -race) and checks nothing is lost.
func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if n := len(b.String()); n != 400 {
		t.Errorf("%d bytes written, want 400", n)
	}
}

// TestOnlyTestsImport: testenv mounts over /run and /etc/pam.d, so no
// package's non-test code may import it.
func TestOnlyTestsImport(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list the packages")
	}
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "ginit/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		t.Fatalf("go list listed too little to judge:\n%s", out)
	}
	for _, l := range lines {
		pkg, imports, _ := strings.Cut(l, ": ")
		for _, imp := range strings.Fields(imports) {
			if imp == "ginit/internal/testenv" {
				t.Errorf("%s imports ginit/internal/testenv outside its tests", pkg)
			}
		}
	}
}

// TestSlicePID: only MakeCgroups' own names for the given name yield a PID.
func TestSlicePID(t *testing.T) {
	for _, tc := range []struct {
		entry string
		pid   int
		ok    bool
	}{
		{"sdbench-20835-316322.slice", 20835, true},
		{"sdbench-1-0.slice", 1, true},
		{"sdbench-20835-316322.scope", 0, false},
		{"sdbench-20835.slice", 0, false},
		{"sdbench-x-1.slice", 0, false},
		{"sdbench-0-1.slice", 0, false},
		{"sdbench-12-y.slice", 0, false},
		{"sdbench-bare-12-1.slice", 0, false},
		{"other-12-1.slice", 0, false},
		{"sdbench", 0, false},
	} {
		pid, ok := slicePID(tc.entry, "sdbench")
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("slicePID(%q) = %d, %v; want %d, %v", tc.entry, pid, ok, tc.pid, tc.ok)
		}
	}
}
