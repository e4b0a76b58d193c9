package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// buildFloor builds floor/daemon and floor/client, the latter also with
// the tag linked (as make build builds ginit: static, no cgo), into a
// temporary directory, returned as the impl "floor" with a function that
// removes the directory.
func buildFloor() (*impl, func(), error) {
	dir, err := os.MkdirTemp("", "initbench-floor-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	im := &impl{name: "floor", daemon: filepath.Join(dir, "daemon"), ctl: filepath.Join(dir, "client"),
		linkedCtl: filepath.Join(dir, "client-linked"), floor: true}
	for _, b := range []struct{ out, tags, pkg string }{
		{im.daemon, "", "ginit/test/bench/initbench/floor/daemon"},
		{im.ctl, "", "ginit/test/bench/initbench/floor/client"},
		{im.linkedCtl, "linked", "ginit/test/bench/initbench/floor/client"},
	} {
		cmd := exec.Command("go", "build", "-tags", b.tags, "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("go build %s: %w: %s", b.pkg, err, out)
		}
	}
	return im, cleanup, nil
}
