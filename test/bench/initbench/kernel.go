package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
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

// fdFloor is the kernel's part of a launch that grows with the fds ginit
// holds: each running service keeps its output pipe's read end open in
// ginit (dinit holds ~10 fds in all), and each later spawn's vfork copies
// every open fd into the child's table and its exec closes each again.
// It spawns /bin/true n times from the bench's own process, once as it is
// and once holding one more pipe read end after each spawn (as ginit does
// while starting n services), and gives the difference in milliseconds:
// what holding those fds adds to starting n services.
func fdFloor(n int) (map[string]float64, error) {
	argv := []string{"/bin/true"}
	attr := &syscall.ProcAttr{Files: []uintptr{^uintptr(0), ^uintptr(0), ^uintptr(0)}}
	spawnAll := func(hold bool) (time.Duration, error) {
		var held []int
		defer func() {
			for _, fd := range held {
				unix.Close(fd)
			}
		}()
		var total time.Duration
		for i := 0; i < n; i++ {
			t0 := time.Now()
			pid, err := syscall.ForkExec(argv[0], argv, attr)
			total += time.Since(t0)
			if err != nil {
				return 0, fmt.Errorf("spawn %s: %w", argv[0], err)
			}
			var ws unix.WaitStatus
			if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
				return 0, fmt.Errorf("wait %d: %w", pid, err)
			}
			if hold {
				var p [2]int
				if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
					return 0, fmt.Errorf("pipe: %w", err)
				}
				unix.Close(p[1])
				held = append(held, p[0])
			}
		}
		return total, nil
	}
	bare, err := spawnAll(false)
	if err != nil {
		return nil, err
	}
	holding, err := spawnAll(true)
	if err != nil {
		return nil, err
	}
	return map[string]float64{fmt.Sprintf("fds%d", n): float64((holding - bare).Microseconds()) / 1000}, nil
}
