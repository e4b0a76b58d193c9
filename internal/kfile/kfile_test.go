package kfile

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRead: a /proc file longer than the first read's buffer comes back
// whole, relative to a directory as by path, and a missing one is an
// fs.ErrNotExist naming the path asked for.
func TestRead(t *testing.T) {
	want, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) <= 512 {
		t.Skipf("mountinfo is only %d bytes: nothing past the first buffer", len(want))
	}
	dir, err := unix.Open("/proc/self", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dir)
	for _, tc := range []struct {
		name string
		read func() ([]byte, error)
	}{
		{"path", func() ([]byte, error) { return Read("/proc/self/mountinfo") }},
		{"at", func() ([]byte, error) { return ReadAt(dir, "mountinfo", "/proc/self/mountinfo") }},
	} {
		got, err := tc.read()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != string(want) {
			t.Fatalf("%s: read %d bytes, os.ReadFile %d", tc.name, len(got), len(want))
		}
	}
	for _, tc := range []struct {
		name string
		read func() ([]byte, error)
	}{
		{"path", func() ([]byte, error) { return Read("/proc/self/nonexistent") }},
		{"at", func() ([]byte, error) { return ReadAt(dir, "nonexistent", "/proc/self/nonexistent") }},
	} {
		_, err := tc.read()
		var pe *fs.PathError
		if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != "/proc/self/nonexistent" {
			t.Fatalf("%s: missing file: %v", tc.name, err)
		}
	}
}
