package cgroup2

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReadWriteFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("populated 1\nfrozen 0\n")},
		{"past the first buffer", bytes.Repeat([]byte("12345\n"), 2000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := writeFile(p, tc.data); err != nil {
				t.Fatalf("writeFile: %v", err)
			}
			got, err := readFile(p)
			if err != nil {
				t.Fatalf("readFile: %v", err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Errorf("read %d bytes back, want %d", len(got), len(tc.data))
			}
		})
	}
	missing := filepath.Join(dir, "gone", "cgroup.events")
	if _, err := readFile(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("readFile of a missing file: %v, want ErrNotExist", err)
	}
	if err := writeFile(missing, []byte("1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("writeFile of a missing file: %v, want ErrNotExist", err)
	}
}
