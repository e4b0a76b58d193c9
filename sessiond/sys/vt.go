package sys

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

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

// Console ioctls (linux/kd.h, linux/vt.h).
const (
	kdSetMode   = 0x4B3A // KDSETMODE
	kdText      = 0x00
	kdGraphics  = 0x01
	kdSetKbMode = 0x4B45 // KDSKBMODE
	kXlate      = 0x01
	kUnicode    = 0x03
	kOff        = 0x04
	vtSetMode   = 0x5602 // VT_SETMODE
	vtAuto      = 0x00
	vtProcess   = 0x01
	vtRelDisp   = 0x5605 // VT_RELDISP
	vtAckAcq    = 0x02
)

// The signals the kernel sends sessiond for a VT in VT_PROCESS mode: a
// switch away waits for VT_RELDISP 1 (relSig); a switch to it is done
// and only acknowledged (acqSig).
const (
	relSig = unix.SIGUSR1
	acqSig = unix.SIGUSR2
)

// VTHandle is a VT handed to a session controller's graphics (TakeVT).
type VTHandle interface {
	// Release lets a pending switch away from the VT go on (VT_RELDISP 1).
	Release() error
	// Acknowledge completes a switch to the VT (VT_RELDISP VT_ACKACQ).
	Acknowledge() error
	// Restore gives the VT back to the kernel's text console: KD_TEXT,
	// the default keyboard mode, VT_AUTO, owned by root; then closes it.
	Restore() error
	// Close closes it as it is (another session's controller holds the
	// same VT now).
	Close() error
}

// vtMode is struct vt_mode.
type vtMode struct {
	Mode   int8
	Waitv  int8
	Relsig int16
	Acqsig int16
	Frsig  int16
}

// vtHandle is an open /dev/ttyN in graphics mode.
type vtHandle struct {
	path string
	fd   int
}

// ttyPath is VT n's device, beside the Console (/dev/tty0 → /dev/ttyN).
func (v VTs) ttyPath(n uint32) string {
	return filepath.Join(filepath.Dir(v.Console), fmt.Sprintf("tty%d", n))
}

// TakeVT prepares VT n for a graphical session of uid, as logind does for
// a session controller: the tty is the user's, its keyboard off (keys
// reach only the compositor's evdev devices, not the tty behind it), the
// console in graphics mode (fbcon stops drawing) and switches under
// sessiond's control (VT_PROCESS: a switch away waits for it to pause the
// session's devices).
func (v VTs) TakeVT(n, uid uint32) (VTHandle, error) {
	if n < 1 || n > 63 {
		return nil, fmt.Errorf("VT %d: %w", n, unix.EINVAL)
	}
	h := &vtHandle{path: v.ttyPath(n)}
	fd, err := unix.Open(h.path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", h.path, err)
	}
	h.fd = fd
	fail := func(what string, err error) (VTHandle, error) {
		_ = h.restore(fd)
		_ = unix.Close(fd)
		return nil, fmt.Errorf("%s %s: %w", h.path, what, err)
	}
	if err := unix.Fchown(fd, int(uid), -1); err != nil {
		return fail("chown", err)
	}
	if err := unix.IoctlSetInt(fd, kdSetKbMode, kOff); err != nil {
		return fail("KDSKBMODE K_OFF", err)
	}
	if err := unix.IoctlSetInt(fd, kdSetMode, kdGraphics); err != nil {
		return fail("KDSETMODE KD_GRAPHICS", err)
	}
	if err := setVTMode(fd, vtMode{Mode: vtProcess, Relsig: int16(relSig), Acqsig: int16(acqSig)}); err != nil {
		return fail("VT_SETMODE VT_PROCESS", err)
	}
	return h, nil
}

func setVTMode(fd int, m vtMode) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), vtSetMode, uintptr(unsafe.Pointer(&m)))
	if errno != 0 {
		return errno
	}
	return nil
}

func (h *vtHandle) Release() error {
	if err := unix.IoctlSetInt(h.fd, vtRelDisp, 1); err != nil {
		return fmt.Errorf("%s VT_RELDISP 1: %w", h.path, err)
	}
	return nil
}

func (h *vtHandle) Acknowledge() error {
	if err := unix.IoctlSetInt(h.fd, vtRelDisp, vtAckAcq); err != nil {
		return fmt.Errorf("%s VT_RELDISP VT_ACKACQ: %w", h.path, err)
	}
	return nil
}

func (h *vtHandle) Close() error {
	if h.fd < 0 {
		return nil
	}
	err := unix.Close(h.fd)
	h.fd = -1
	return err
}

// Restore resets the VT; a descriptor hung up by the controller's exit
// (EIO) is replaced by a fresh one, as logind does.
func (h *vtHandle) Restore() error {
	if h.fd < 0 {
		return nil
	}
	err := h.restore(h.fd)
	_ = unix.Close(h.fd)
	h.fd = -1
	if errors.Is(err, unix.EIO) {
		fd, oerr := unix.Open(h.path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if oerr != nil {
			return fmt.Errorf("reopen %s: %w", h.path, oerr)
		}
		err = h.restore(fd)
		_ = unix.Close(fd)
	}
	return err
}

// restore does every step even when one fails (a half-restored VT is
// worse than a partly restored one) and reports the first failure.
func (h *vtHandle) restore(fd int) error {
	var first error
	note := func(what string, err error) {
		if err != nil && first == nil {
			first = fmt.Errorf("%s %s: %w", h.path, what, err)
		}
	}
	note("KDSETMODE KD_TEXT", unix.IoctlSetInt(fd, kdSetMode, kdText))
	note("KDSKBMODE", unix.IoctlSetInt(fd, kdSetKbMode, defaultKbMode()))
	note("VT_SETMODE VT_AUTO", setVTMode(fd, vtMode{Mode: vtAuto}))
	note("chown", unix.Fchown(fd, 0, -1))
	return first
}

// defaultKbMode is the kernel console's keyboard mode: Unicode unless
// the vt module was told otherwise (vt.default_utf8=0).
func defaultKbMode() int {
	if b, err := os.ReadFile("/sys/module/vt/parameters/default_utf8"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return kXlate
	}
	return kUnicode
}

// ReleaseActive lets a pending switch away from the foreground VT go on
// when no session of sessiond holds that VT (a controller that vanished
// mid-switch): otherwise the console would stay stuck on it.
func (v VTs) ReleaseActive() error {
	fd, err := unix.Open(v.Console, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", v.Console, err)
	}
	defer unix.Close(fd)
	if err := unix.IoctlSetInt(fd, vtRelDisp, 1); err != nil {
		return fmt.Errorf("%s VT_RELDISP 1: %w", v.Console, err)
	}
	return nil
}

// WatchSwitches calls release or acquire (on a goroutine of its own) when
// the kernel signals a switch away from or to a VT in VT_PROCESS mode,
// until stop is called.
func (v VTs) WatchSwitches(release, acquire func()) (stop func(), err error) {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, relSig, acqSig)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case sg := <-ch:
				if sg == relSig {
					release()
				} else {
					acquire()
				}
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }, nil
}
