package sys

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// VTs is the kernel's virtual terminals: the active VT is read from
// sysfs, switching uses VT_ACTIVATE on /dev/tty0.
type VTs struct {
	// ActiveFile is normally /sys/class/tty/tty0/active.
	ActiveFile string
	// Console is normally /dev/tty0.
	Console string
}

// HaveVTs reports whether this machine has virtual terminals.
func HaveVTs() bool {
	_, err1 := os.Stat("/sys/class/tty/tty0/active")
	_, err2 := os.Stat("/dev/tty0")
	return err1 == nil && err2 == nil
}

// Active returns the foreground VT number.
func (v VTs) Active() (uint32, error) {
	data, err := os.ReadFile(v.ActiveFile)
	if err != nil {
		return 0, err
	}
	n := VTNumber(strings.TrimSpace(string(data)))
	if n == 0 {
		return 0, fmt.Errorf("%s: unexpected %q", v.ActiveFile, data)
	}
	return n, nil
}

// Activate switches to VT n.
func (v VTs) Activate(n uint32) error {
	fd, err := unix.Open(v.Console, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", v.Console, err)
	}
	defer unix.Close(fd)
	const vtActivate = 0x5606
	if err := unix.IoctlSetInt(fd, vtActivate, int(n)); err != nil {
		return fmt.Errorf("VT_ACTIVATE %d: %w", n, err)
	}
	return nil
}

// Watch calls changed(n) on a goroutine of its own whenever the
// foreground VT changes, until stop is called. It polls the sysfs
// attribute for POLLPRI (sysfs notifies attribute changes that way), with
// a timeout as a safety net.
func (v VTs) Watch(changed func(n uint32)) (func(), error) {
	f, err := os.Open(v.ActiveFile)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer f.Close()
		last, _ := v.Active()
		buf := make([]byte, 32)
		for {
			select {
			case <-done:
				return
			default:
			}
			_, _ = f.ReadAt(buf, 0) // re-arm the notification
			fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLPRI | unix.POLLERR}}
			_, _ = unix.Poll(fds, int(time.Second/time.Millisecond))
			if n, err := v.Active(); err == nil && n != last {
				last = n
				changed(n)
			}
		}
	}()
	return func() { close(done) }, nil
}

// HaveGraphics reports whether seat0 has a DRM or framebuffer device.
func HaveGraphics() bool {
	for _, g := range []string{"/sys/class/drm/card[0-9]*", "/sys/class/graphics/fb[0-9]*"} {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return true
		}
	}
	return false
}

// VTNumber returns N for "ttyN" (a virtual console), else 0.
func VTNumber(tty string) uint32 {
	rest, ok := strings.CutPrefix(tty, "tty")
	if !ok || rest == "" || len(rest) > 2 {
		return 0
	}
	var n uint32
	for _, c := range rest {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint32(c-'0')
	}
	if n < 1 || n > 63 {
		return 0
	}
	return n
}
