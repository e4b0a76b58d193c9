package ctl

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/power"
	"ginit/internal/utmp"
)

// wtmpPath is the login record file the front-ends append to.
const wtmpPath = "/var/log/wtmp"

// RealShutdownSys is ShutdownSys with the real system calls: reboot(2),
// sync(2) and /var/log/wtmp.
func RealShutdownSys() ShutdownSys {
	return ShutdownSys{
		Sync: unix.Sync,
		Reboot: func(kind power.Kind) error {
			cmd, ok := kind.RebootCmd()
			if !ok {
				return fmt.Errorf("%s ends no machine", kind)
			}
			return unix.Reboot(cmd)
		},
		Record: func() error {
			return utmp.AppendWtmp(wtmpPath, utmp.ShutdownRecord(time.Now(), utmp.KernelRelease()))
		},
	}
}
