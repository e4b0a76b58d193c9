package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ginit/internal/mountinfo"
)

func TestOSConditions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	exe := filepath.Join(dir, "x")
	empty := filepath.Join(dir, "e")
	link := filepath.Join(dir, "l")
	sub := filepath.Join(dir, "sub")
	for p, data := range map[string]string{file: "data", exe: "#!/bin/sh\n", empty: ""} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind, arg string
		want      bool
	}{
		{"PathExists", file, true},
		{"PathExists", filepath.Join(dir, "missing"), false},
		{"PathExistsGlob", filepath.Join(dir, "*"), true},
		{"PathExistsGlob", filepath.Join(dir, "nope*"), false},
		{"PathIsDirectory", sub, true},
		{"PathIsDirectory", file, false},
		{"PathIsSymbolicLink", link, true},
		{"PathIsSymbolicLink", file, false},
		{"FileNotEmpty", file, true},
		{"FileNotEmpty", empty, false},
		{"DirectoryNotEmpty", dir, true},
		{"DirectoryNotEmpty", sub, false},
		{"FileIsExecutable", exe, true},
		{"FileIsExecutable", file, false},
		{"PathIsMountPoint", "/", true},
		{"PathIsMountPoint", sub, false},
		{"PathIsReadWrite", dir, true},
	}
	for _, tc := range tests {
		got, _ := OSConditions{}.Check(Condition{Kind: tc.kind, Arg: tc.arg})
		if got != tc.want {
			t.Errorf("%s=%s: %v, want %v", tc.kind, tc.arg, got, tc.want)
		}
	}
	if _, err := (OSConditions{}).Check(Condition{Kind: "Memory", Arg: "1G"}); err == nil {
		t.Error("an unknown kind should be an error")
	}
}

func TestCmdlineAndVirt(t *testing.T) {
	cmd := "root=/dev/sda1 quiet ginit.debug=1"
	for _, tc := range []struct {
		word string
		want bool
	}{{"quiet", true}, {"root", true}, {"root=/dev/sda1", true}, {"root=/dev/sdb", false}, {"ginit.debug", true}, {"debug", false}} {
		if got := cmdlineHas(cmd, tc.word); got != tc.want {
			t.Errorf("cmdlineHas(%q) = %v", tc.word, got)
		}
	}
	for _, tc := range []struct {
		ctr, want string
		ok        bool
	}{{"", "none", true}, {"", "container", false}, {"lxc", "container", true}, {"lxc", "lxc", true}, {"lxc", "docker", false}, {"docker", "no", false}, {"", "yes", false}} {
		if got := virtMatches(tc.ctr, tc.want); got != tc.ok {
			t.Errorf("virtMatches(%q, %q) = %v", tc.ctr, tc.want, got)
		}
	}
}

func TestListedMount(t *testing.T) {
	ents, err := mountinfo.Parse(strings.NewReader(`22 1 8:1 / / rw - ext4 /dev/vda rw
24 22 0:6 / /mnt/my\040disk rw - ext4 /dev/vdb rw
`))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"/":               true,
		"/mnt/my disk":    true,
		"/mnt/my disk/":   true,
		`/mnt/my\040disk`: false,
		"/mnt":            false,
	} {
		if got := listedMount(ents, p); got != want {
			t.Errorf("listedMount(%q) = %v, want %v", p, got, want)
		}
	}
}
