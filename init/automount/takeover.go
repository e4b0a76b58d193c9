package automount

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"ginit/internal/mountinfo"
)

// The /dev/autofs misc device's ioctls (linux/auto_dev-ioctl.h):
// _IOWR(0x93, nr, struct autofs_dev_ioctl), the struct being 24 bytes.
const (
	devIocOpenMount = 0xC0189374
	devIocSetPipeFD = 0xC0189378
	devIocCatatonic = 0xC0189379
	devIoctlSize    = 24
)

// mountsAt lists the file system types mounted on dir, bottom first, with
// the autofs mount's device ("major:minor") if there is one.
func mountsAt(dir string) (types []string, autofsDev string, err error) {
	ents, err := mountinfo.Read()
	if err != nil {
		return nil, "", err
	}
	types, autofsDev = stackAt(ents, dir)
	return types, autofsDev, nil
}

// stackAt is mountsAt over parsed entries.
func stackAt(ents []mountinfo.Entry, dir string) (types []string, autofsDev string) {
	for _, e := range ents {
		if e.MountPoint != dir {
			continue
		}
		types = append(types, e.FSType)
		if e.FSType == "autofs" {
			autofsDev = e.Dev
		}
	}
	return types, autofsDev
}

// devIoctl is one call on /dev/autofs: arg fills the union, path (may be
// "") follows the struct; it returns the struct's ioctlfd field.
func devIoctl(ctl int, req uintptr, ioctlfd int32, arg uint64, path string) (int32, error) {
	// The kernel takes a size past the struct as a path, which must be
	// absolute and terminated: without one the size is the struct's.
	n := devIoctlSize
	if path != "" {
		n += len(path) + 1
	}
	buf := make([]byte, n)
	le := binary.NativeEndian
	le.PutUint32(buf[0:], 1) // AUTOFS_DEV_IOCTL_VERSION_MAJOR
	le.PutUint32(buf[4:], 1) // AUTOFS_DEV_IOCTL_VERSION_MINOR
	le.PutUint32(buf[8:], uint32(len(buf)))
	le.PutUint32(buf[12:], uint32(ioctlfd))
	le.PutUint64(buf[16:], arg)
	copy(buf[devIoctlSize:], path)
	if err := ioctl(ctl, req, uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return -1, err
	}
	return int32(le.Uint32(buf[12:])), nil
}

// takeOver attaches to the autofs mount a previous daemon left on dir
// (dev is its "major:minor"): the kernel is told to stop asking the dead
// daemon's pipe (catatonic), then given the write end of ours, which also
// makes our process group the one whose walks pass through. It returns a
// descriptor for the autofs mount's ioctls.
func takeOver(dir, dev string, pipeW int) (int, error) {
	maj, min, ok := strings.Cut(dev, ":")
	ma, err1 := strconv.ParseUint(maj, 10, 32)
	mi, err2 := strconv.ParseUint(min, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return -1, fmt.Errorf("autofs device %q of %s: not major:minor", dev, dir)
	}
	ctl, err := unix.Open("/dev/autofs", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("take over %s: %w", dir, err)
	}
	defer unix.Close(ctl)
	devid := uint64(uint32(unix.Mkdev(uint32(ma), uint32(mi))))
	fd, err := devIoctl(ctl, devIocOpenMount, -1, devid, dir)
	if err != nil {
		return -1, fmt.Errorf("take over %s: open the autofs mount: %w", dir, err)
	}
	unix.CloseOnExec(int(fd))
	if _, err := devIoctl(ctl, devIocCatatonic, fd, 0, ""); err != nil {
		unix.Close(int(fd))
		return -1, fmt.Errorf("take over %s: catatonic: %w", dir, err)
	}
	if _, err := devIoctl(ctl, devIocSetPipeFD, fd, uint64(uint32(pipeW)), ""); err != nil {
		unix.Close(int(fd))
		return -1, fmt.Errorf("take over %s: set the pipe: %w", dir, err)
	}
	return int(fd), nil
}
