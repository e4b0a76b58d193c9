package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ginitctl lives for one request: no ginit package it links may do work
// at program start (a map literal, a table built), since every run pays for
// it whatever the command. The runtime's inittrace lists each package
// initialiser that ran.
func TestNoGinitPackageInitialisers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ginitctl")
	}
	bin := filepath.Join(t.TempDir(), "ginitctl")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("go build: %v: %s", err, out)
	}
	cmd := exec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ginitctl --version: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "init runtime") {
		t.Fatalf("no inittrace lines in:\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "init ginit/") {
			t.Errorf("package initialiser runs at every start: %s", line)
		}
	}
}
