package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/cgroup2"
)

// cgroupFloor is the kernel's part of a stop that dinit does not pay: ginit
// removes each stopped service's cgroup (an rmdir under cgroup_mutex that
// takes its interface files down). It makes n empty cgroups side by side
// in a directory of the bench's own cgroup, as ginit makes its services',
// and times their removal alone, one after another as ginit's remover
// does. The figure is per cgroup, in microseconds.
func cgroupFloor(n int) (map[string]float64, error) {
	mount, err := cgroup2.UnifiedMount()
	if err != nil {
		return nil, err
	}
	self, err := cgroup2.Self(mount)
	if err != nil {
		return nil, err
	}
	top := filepath.Join(self, fmt.Sprintf("initbench-rmdir-%d", os.Getpid()))
	if err := os.Mkdir(top, 0o755); err != nil {
		return nil, err
	}
	dirs := make([]string, n)
	var errs []error
	defer func() {
		// Whatever a failure left behind goes before the error is told.
		for _, d := range dirs {
			if d != "" {
				_ = unix.Rmdir(d)
			}
		}
		_ = unix.Rmdir(top)
	}()
	for i := range dirs {
		d := filepath.Join(top, fmt.Sprintf("s%05d", i))
		if err := unix.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("mkdir %s: %w", d, err)
		}
		dirs[i] = d
	}
	t0 := time.Now()
	for i, d := range dirs {
		if err := unix.Rmdir(d); err != nil {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
			continue
		}
		dirs[i] = ""
	}
	rmdir := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return map[string]float64{fmt.Sprintf("rmdir%d", n): float64(rmdir.Nanoseconds()) / 1000 / float64(n)}, nil
}
