package sys

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// PidOfPidfd reads the pid a pidfd refers to from its fdinfo, and closes
// the pidfd (a descriptor received with a call, needed for nothing else).
func PidOfPidfd(fd int) (uint32, error) {
	defer unix.Close(fd)
	data, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "Pid:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil || n == 0 || n > 0x7fffffff {
				return 0, fmt.Errorf("process gone")
			}
			return uint32(n), nil
		}
	}
	return 0, fmt.Errorf("not a pidfd")
}

// Monotonic reads CLOCK_MONOTONIC (0 if it cannot be read).
func Monotonic() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// PhysicalMemory is the machine's RAM in bytes (0 if unknown).
func PhysicalMemory() uint64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}
