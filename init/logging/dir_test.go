package logging

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// fuzzTree makes a small tree of directories, links of root's (relative,
// absolute, up, a loop) and, as root, a link owned by another user; no
// link leads out of the tree.
func fuzzTree(f *testing.F) string {
	root := f.TempDir()
	for _, d := range []string{"a/b/c", "d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		f.Fatal(err)
	}
	links := map[string]string{
		"a/up":     "..",
		"abs":      filepath.Join(root, "a/b"),
		"a/b/loop": "loop",
		"a/b/back": "../../a",
		"d/tofile": "../file",
		"d/gone":   "missing",
		"slash":    "a//b/./",
	}
	for l, target := range links {
		if err := os.Symlink(target, filepath.Join(root, l)); err != nil {
			f.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		if err := os.Symlink("a", filepath.Join(root, "bad")); err != nil {
			f.Fatal(err)
		}
		if err := os.Lchown(filepath.Join(root, "bad"), nobody, nobody); err != nil {
			f.Fatal(err)
		}
	}
	return root
}

// FuzzOpenDir: a directory OpenDir opens is the one the kernel resolves
// for the same path; where the kernel reaches a directory and OpenDir does
// not, the reason is a link of another user's on the way.
func FuzzOpenDir(f *testing.F) {
	root := fuzzTree(f)
	for _, s := range []string{"a", "a/b/c", "abs/c", "a/up/a/up/d", "a/b/back/b/back/b", "a/b/loop",
		"slash/c", "d/tofile", "d/gone", "bad/b", "abs//./c/", "file", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		if strings.Contains(rel, "..") || strings.ContainsRune(rel, 0) || len(rel) > 256 {
			return // ".." could leave the tree; NUL is no path
		}
		path := root + "/" + rel
		d, err := OpenDir(path)
		var want syscall.Stat_t
		kerr := syscall.Stat(path, &want)
		kdir := kerr == nil && want.Mode&syscall.S_IFMT == syscall.S_IFDIR
		if err == nil {
			defer d.Close()
			var got unix.Stat_t
			if err := unix.Fstat(d.Fd(), &got); err != nil {
				t.Fatal(err)
			}
			if !kdir || got.Dev != want.Dev || got.Ino != want.Ino {
				t.Fatalf("OpenDir(%q) opened %d:%d; the kernel finds %d:%d (%v)", rel, got.Dev, got.Ino, want.Dev, want.Ino, kerr)
			}
			return
		}
		if kdir && !strings.Contains(err.Error(), "only root's are followed") {
			t.Fatalf("OpenDir(%q): %v; the kernel finds a directory", rel, err)
		}
		if !strings.HasPrefix(err.Error(), root) && !strings.HasPrefix(err.Error(), "/") {
			t.Fatalf("OpenDir(%q): error %q names no path", rel, err)
		}
	})
}

// TestOpenDirErrors: each refusal names the component.
func TestOpenDirErrors(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop", filepath.Join(root, "loop")); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ rel, want string }{
		{"missing/x", "ROOT/missing: no such file or directory"},
		{"file/x", "ROOT/file: not a directory"},
		{"loop/x", "ROOT/loop: too many levels of symbolic links"},
	}
	for _, tc := range tests {
		_, err := OpenDir(filepath.Join(root, tc.rel))
		if want := strings.ReplaceAll(tc.want, "ROOT", root); err == nil || err.Error() != want {
			t.Errorf("OpenDir(%s) = %v, want %q", tc.rel, err, want)
		}
	}
}
