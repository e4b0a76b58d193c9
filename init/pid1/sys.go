package pid1

import (
	"os"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/mountinfo"
)

// realSys is the live implementation of Mounter and System.
type realSys struct{}

func (realSys) Mountinfo() ([]MountEntry, error) { return mountinfo.Read() }

func (realSys) Mkdir(path string, mode os.FileMode) error { return os.Mkdir(path, mode) }

func (realSys) Mount(source, target, fstype string, flags uintptr, data string) error {
	return unix.Mount(source, target, fstype, flags, data)
}

func (realSys) Unmount(target string, flags int) error { return unix.Unmount(target, flags) }

func (realSys) Kill(pid int, sig unix.Signal) error { return unix.Kill(pid, sig) }

func (realSys) Sync() { unix.Sync() }

func (realSys) Reboot(cmd int) error { return unix.Reboot(cmd) }

func (realSys) Sleep(d time.Duration) { time.Sleep(d) }

func (realSys) Now() time.Time { return time.Now() }

// Reap collects any exited children so that kill(-1, 0) stops seeing
// zombies we own.
func (realSys) Reap() {
	var ws unix.WaitStatus
	for {
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// OthersAlive reports whether any process other than us (and kernel
// threads, which have an empty cmdline) still exists.
func (realSys) OthersAlive() bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	self := os.Getpid()
	for _, e := range ents {
		pid := atoi(e.Name())
		if pid <= 0 || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue // gone, or a kernel thread
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && zombie(st) {
			continue
		}
		return true
	}
	return false
}

func atoi(s string) int {
	n := 0
	if s == "" {
		return -1
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// zombie reads the state letter after the ")" of /proc/PID/stat.
func zombie(stat []byte) bool {
	for i := len(stat) - 1; i >= 0; i-- {
		if stat[i] == ')' {
			return i+2 < len(stat) && stat[i+2] == 'Z'
		}
	}
	return false
}

// OthersAlive reports whether any process besides this one (and kernel
// threads) is alive, in our PID namespace.
func OthersAlive() bool { return realSys{}.OthersAlive() }

// KillAll sends SIGTERM to every other process, waits up to grace for them
// to go, then SIGKILLs the rest (options kill-all-on-stop). Only PID 1 may
// do it: elsewhere kill(-1) would reach processes outside its namespace,
// so it refuses.
func KillAll(grace time.Duration, log Logger) {
	if os.Getpid() != 1 {
		log.Printf("kill-all-on-stop: not PID 1 (of a namespace); no process was signalled")
		return
	}
	_ = unix.Kill(-1, unix.SIGTERM)
	deadline := time.Now().Add(grace)
	for OthersAlive() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if OthersAlive() {
		_ = unix.Kill(-1, unix.SIGKILL)
	}
}
