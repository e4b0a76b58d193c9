package pid1

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// SetupConsole reopens stdin, stdout and stderr on /dev/console when we are
// PID 1: the kernel may have started us with them closed or on a
// half-initialised device. It is a no-op otherwise.
func SetupConsole() error {
	if os.Getpid() != 1 {
		return nil
	}
	fd, err := unix.Open("/dev/console", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/console: %w", err)
	}
	for _, target := range []int{0, 1, 2} {
		if err := unix.Dup3(fd, target, 0); err != nil {
			unix.Close(fd)
			return fmt.Errorf("dup /dev/console to fd %d: %w", target, err)
		}
	}
	if fd > 2 {
		unix.Close(fd)
	}
	return nil
}

// WriteCadPid routes ctrl-alt-del to us. As PID 1 it switches the kernel's
// immediate reboot off (LINUX_REBOOT_CMD_CAD_OFF), after which the kernel
// sends SIGINT to PID 1. Otherwise (a system manager that is not PID 1) it
// names our pid in /proc/sys/kernel/cad_pid so the SIGINT comes to us.
func WriteCadPid() error {
	if os.Getpid() == 1 {
		if err := unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF); err != nil {
			return fmt.Errorf("reboot(CAD_OFF): %w", err)
		}
		return nil
	}
	const path = "/proc/sys/kernel/cad_pid"
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
