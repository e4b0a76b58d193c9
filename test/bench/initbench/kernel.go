package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
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
	top, err := benchCgroup("rmdir")
	if err != nil {
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

// benchCgroup makes a directory for a floor's cgroups in the bench's own
// cgroup (never outside it), named for the floor and the bench's pid.
func benchCgroup(floor string) (string, error) {
	mount, err := cgroup2.UnifiedMount()
	if err != nil {
		return "", err
	}
	self, err := cgroup2.Self(mount)
	if err != nil {
		return "", err
	}
	top := filepath.Join(self, fmt.Sprintf("initbench-%s-%d", floor, os.Getpid()))
	if err := os.Mkdir(top, 0o755); err != nil {
		return "", err
	}
	return top, nil
}

// stopFloor is the kernel's own cost of what a stop of n services asks of
// it, with the least user space around it: n /bin/sleep children of the
// bench are sent SIGTERM one after another and reaped, once as plain
// children (what dinit's stop asks) and once each in its own cgroup, whose
// directory is removed after its process is reaped (what ginit's asks).
// Figures in milliseconds from the first kill to the last reap (and
// rmdir); what separates them is the cgroups' part of the kernel's work.
func stopFloor(n int) (map[string]float64, error) {
	top, err := benchCgroup("stop")
	if err != nil {
		return nil, err
	}
	defer unix.Rmdir(top)
	run := func(cgroups bool) (time.Duration, error) {
		pids := make(map[int]string, n)
		defer func() {
			// A failure's leftovers: killed, reaped, removed.
			for pid, dir := range pids {
				killSleep(pid, dir)
			}
		}()
		order := make([]int, 0, n)
		for i := 0; i < n; i++ {
			pid, dir, err := spawnSleep(top, i, cgroups)
			if err != nil {
				return 0, err
			}
			pids[pid] = dir
			order = append(order, pid)
		}
		t0 := time.Now()
		for _, pid := range order {
			if err := unix.Kill(pid, unix.SIGTERM); err != nil {
				return 0, fmt.Errorf("kill %d: %w", pid, err)
			}
		}
		for len(pids) > 0 {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("wait: %w", err)
			}
			dir, ok := pids[pid]
			if !ok {
				continue
			}
			delete(pids, pid)
			if dir != "" {
				if err := unix.Rmdir(dir); err != nil {
					return 0, fmt.Errorf("rmdir %s: %w", dir, err)
				}
			}
		}
		return time.Since(t0), nil
	}
	return plainAndCgroups("stop", n, run)
}

// launchFloor is the kernel's own cost of what a launch of n services
// asks of it, with the least user space around it: n /bin/sleep spawned
// by the bench, one per CPU at a time (ginit spawns on as many
// goroutines; dinit forks from its one thread), each spawn returning
// once its exec succeeded, as a process service counts as started.
// Once as plain children (what dinit asks), once each into a cgroup of
// its own made just before (what ginit asks). Figures in milliseconds
// from the first spawn to the last; the processes are then killed,
// reaped and their cgroups removed, untimed.
func launchFloor(n int) (map[string]float64, error) {
	top, err := benchCgroup("launch")
	if err != nil {
		return nil, err
	}
	defer unix.Rmdir(top)
	run := func(cgroups bool) (time.Duration, error) {
		pids, dirs := make([]int, n), make([]string, n)
		defer func() {
			for i, pid := range pids {
				killSleep(pid, dirs[i])
			}
		}()
		spawn := func(i int) error {
			pid, dir, err := spawnSleep(top, i, cgroups)
			pids[i], dirs[i] = pid, dir
			return err
		}
		workers := runtime.NumCPU()
		errs := make([]error, workers)
		var wg sync.WaitGroup
		t0 := time.Now()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Worker w spawns every workers-th service.
				for i := w; i < n && errs[w] == nil; i += workers {
					errs[w] = spawn(i)
				}
			}()
		}
		wg.Wait()
		took := time.Since(t0)
		return took, errors.Join(errs...)
	}
	return plainAndCgroups("launch", n, run)
}

// spawnSleep starts /bin/sleep, as a plain child or into a new cgroup
// top/sNNNNN (made here, named by i; its path returned for removal).
// On an error nothing is left behind.
func spawnSleep(top string, i int, cgroups bool) (pid int, dir string, err error) {
	argv := []string{"/bin/sleep", "1000000"}
	attr := &syscall.ProcAttr{Files: []uintptr{^uintptr(0), ^uintptr(0), ^uintptr(0)}, Sys: &syscall.SysProcAttr{}}
	if cgroups {
		dir = filepath.Join(top, fmt.Sprintf("s%05d", i))
		if err := unix.Mkdir(dir, 0o755); err != nil {
			return 0, "", fmt.Errorf("mkdir %s: %w", dir, err)
		}
		fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			_ = unix.Rmdir(dir)
			return 0, "", err
		}
		defer unix.Close(fd)
		attr.Sys.UseCgroupFD, attr.Sys.CgroupFD = true, fd
	}
	pid, err = syscall.ForkExec(argv[0], argv, attr)
	if err != nil {
		if dir != "" {
			_ = unix.Rmdir(dir)
		}
		return 0, "", fmt.Errorf("spawn %s: %w", argv[0], err)
	}
	return pid, dir, nil
}

// killSleep undoes spawnSleep: the process (pid > 0) killed and reaped,
// then its cgroup (dir, if any) removed.
func killSleep(pid int, dir string) {
	if pid > 0 {
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
	}
	if dir != "" {
		_ = unix.Rmdir(dir)
	}
}

// plainAndCgroups runs a floor's two variants and names their figures
// (milliseconds) PREFIXplainN and PREFIXcgN.
func plainAndCgroups(prefix string, n int, run func(cgroups bool) (time.Duration, error)) (map[string]float64, error) {
	plain, err := run(false)
	if err != nil {
		return nil, err
	}
	cg, err := run(true)
	if err != nil {
		return nil, err
	}
	return map[string]float64{
		fmt.Sprintf("%splain%d", prefix, n): ms(plain),
		fmt.Sprintf("%scg%d", prefix, n):    ms(cg),
	}, nil
}
