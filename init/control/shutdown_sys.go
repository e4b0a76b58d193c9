package control

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/utmp"
)

// RealShutdownSys is ShutdownSys with the real system calls: reboot(2),
// sync(2) and /var/log/wtmp.
func RealShutdownSys() ShutdownSys {
	return ShutdownSys{
		Sync: unix.Sync,
		Reboot: func(kind string) error {
			cmd := map[string]int{
				"poweroff": unix.LINUX_REBOOT_CMD_POWER_OFF,
				"reboot":   unix.LINUX_REBOOT_CMD_RESTART,
				"halt":     unix.LINUX_REBOOT_CMD_HALT,
			}[kind]
			if cmd == 0 {
				return fmt.Errorf("unknown kind %q", kind)
			}
			return unix.Reboot(cmd)
		},
		WtmpOnly: func() error {
			return utmp.AppendWtmp("/var/log/wtmp", utmp.ShutdownRecord(time.Now(), utmp.KernelRelease()))
		},
	}
}
