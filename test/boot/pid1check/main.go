// Command pid1check exercises package pid1 for real as the PID 1 of a qemu
// guest (the boot test's TestPid1Real): early mounts, console, ctrl-alt-del,
// the signal policy, then the final shutdown with a process that ignores
// SIGTERM still running. It prints PID1CHECK lines the test looks for.
package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"ginit/init/pid1"
	"ginit/internal/mountinfo"
	"ginit/internal/power"
)

type stdLog struct{}

func (stdLog) Printf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }

func main() {
	log := stdLog{}
	err := pid1.Protect(func() error { return run(log) }, log)
	fmt.Fprintln(os.Stderr, "pid1check:", err)
	os.Exit(1)
}

func run(log stdLog) error {
	if err := pid1.SetupConsole(); err != nil {
		log.Printf("PID1CHECK console: %v", err)
	}
	mountErr := pid1.EarlyMounts(log)
	ents, err := mountinfo.Read()
	if err != nil {
		return err
	}
	seen := map[string]string{}
	for _, e := range ents {
		seen[e.MountPoint] = e.FSType
	}
	fmt.Printf("PID1CHECK mounts err=%v proc=%s sys=%s dev=%s pts=%s shm=%s run=%s cgroup=%s\n", mountErr,
		seen["/proc"], seen["/sys"], seen["/dev"], seen["/dev/pts"], seen["/dev/shm"], seen["/run"], seen["/sys/fs/cgroup"])
	fmt.Printf("PID1CHECK cad err=%v\n", pid1.WriteCadPid())
	// Root rw, write a file, so the final remount has something to flush.
	if err := syscall.Mount("", "/", "", syscall.MS_REMOUNT, ""); err != nil {
		return fmt.Errorf("remount / rw: %w", err)
	}
	if err := os.WriteFile("/var/tmp/pid1check", []byte("written before shutdown\n"), 0o644); err != nil {
		return err
	}
	// A stubborn process: ignores SIGTERM, so SIGKILL must take it.
	stubborn := exec.Command("/bin/sh", "-c", "trap '' TERM; echo ready; exec 1>&-; while :; do sleep 1; done")
	out, err := stubborn.StdoutPipe()
	if err != nil {
		return err
	}
	if err := stubborn.Start(); err != nil {
		return err
	}
	// Wait until the trap is set, or SIGTERM could win the race.
	if _, err := io.ReadAll(out); err != nil {
		return err
	}
	fmt.Printf("PID1CHECK stubborn pid=%d\n", stubborn.Process.Pid)
	p := &pid1.SignalPolicy{System: true}
	fmt.Printf("PID1CHECK sigint=%v\n", p.Decide(syscall.SIGINT))
	fmt.Println("PID1CHECK final shutdown")
	return pid1.FinalShutdown(power.Poweroff, log)
}
