package sdunit

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzUnit feeds arbitrary text through the unit parser and translator: no
// panic, and an error or a description.
func FuzzUnit(f *testing.F) {
	f.Add("[Service]\nExecStart=/bin/a 'b c' $X ${Y}\nEnvironment=X=1\n")
	f.Add("[Unit]\nRequires=a.socket\nConditionPathExists=|!/x\n[Service]\nType=oneshot\nExecStart=-+/bin/a %i %%\nRuntimeDirectory=a b\n")
	f.Add("[Service]\nExecStart=/bin/a \\\n  b\nLimitNOFILE=1:2\nCapabilityBoundingSet=~CAP_SYS_ADMIN\n")
	f.Add("[Service]\nUser=alice\nExecStartPre=/bin/p\nExecStart=/bin/a\nExecReload=-/bin/kill -HUP $MAINPID\nExecReload=+/bin/r ${MAINPID}x\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "f@i.service")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		s := New(Config{Dirs: []string{dir}, PasswdFile: "/nonexistent", Hostname: func() (string, error) { return "h", nil }})
		d, err := s.Load("f@i", nil)
		if err == nil && d == nil {
			t.Fatal("no description and no error")
		}
	})
}

// FuzzEnvFile: environment files and Exec words never panic.
func FuzzEnvFile(f *testing.F) {
	f.Add("A=1\nB=\"x\\\"y\"\nC='z'\n")
	f.Add("D=a\\\nb # c\n")
	f.Fuzz(func(t *testing.T, text string) {
		var e envList
		_ = parseEnvFile(text, &e)
		ws, err := splitWords(text)
		if err == nil {
			_, _, _ = substEnv(ws, e.get, runtimeVars)
		}
	})
}
