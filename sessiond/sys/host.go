package sys

import (
	"strconv"
	"strings"
	"sync"
	"syscall"

	"ginit/internal/cgroup2"
)

// Host is what sessiond does to the machine (its Host interface): session
// scopes, runtime directories, the user database, signals, devices.
type Host struct {
	Roots CgroupRoots
	// RuntimeSize and RuntimeInodes are the size= (bytes) and nr_inodes=
	// of runtime directories' tmpfs (0: the kernel's defaults).
	RuntimeSize, RuntimeInodes uint64

	mu     sync.Mutex // guards ino and inoErr
	ino    *cgroup2.Watcher
	inoErr error
}

// AuditSessionID returns pid's audit session id when it has one.
func (h *Host) AuditSessionID(pid int) (uint32, bool) {
	data, err := readProcFile("/proc/" + strconv.Itoa(pid) + "/sessionid")
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32)
	if err != nil || n == 0 || n == 0xffffffff {
		return 0, false
	}
	return uint32(n), true
}

// Kill sends sig to one process.
func (h *Host) Kill(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }
