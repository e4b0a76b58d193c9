package sys

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteFileAtomic: the file gets the data and the mode whatever the
// umask, replaces an older one, leaves no temporary file, and a missing
// directory is an error naming it; a failed rename (over a non-empty
// directory) leaves no temporary file.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c1")
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, data := range []string{"A=1\n", "A=2\nB=3\n", ""} {
		if err := WriteFileAtomic(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != data {
			t.Fatalf("read back %q, %v; want %q", got, err, data)
		}
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("mode %v, %v; want 0644", fi.Mode(), err)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("directory holds %d entries, want 1: %v", len(ents), ents)
		}
	}
	if err := WriteFileAtomic(filepath.Join(dir, "none", "c1"), []byte("x"), 0o644); err == nil {
		t.Fatal("missing directory: no error")
	}
	busy := filepath.Join(dir, "busy")
	if err := os.MkdirAll(filepath.Join(busy, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(busy, []byte("x"), 0o644); err == nil {
		t.Fatal("rename over a directory: no error")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("after a failed rename the directory holds %v, want c1 and busy", ents)
	}
}
