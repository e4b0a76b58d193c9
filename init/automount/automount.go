// Package automount is ginit-automount: one lazily mounted file system
// through the kernel's autofs protocol (version 5, a direct mount). The
// mount point answers at once; the first access blocks while the daemon
// runs the mount command, and an idle mount is unmounted after the timeout.
//
// The daemon mounts autofs on the directory with a pipe; the kernel writes
// a packet to the pipe when a process outside the daemon's process group
// walks into the directory ("missing"), and when asked to expire an idle
// mount. The daemon answers each packet's token with AUTOFS_IOC_READY or
// AUTOFS_IOC_FAIL on a descriptor of the mount point. Processes of the
// daemon's own process group (the mount command it runs) pass through
// without triggering.
package automount

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The autofs ioctls (linux/auto_fs.h: _IO*(0x93, nr)).
const (
	iocReady       = 0x9360
	iocFail        = 0x9361
	iocCatatonic   = 0x9362
	iocProtover    = 0x80049363
	iocSetTimeout  = 0xC0089364
	iocExpireMulti = 0x40049366
)

// Packet types of protocol 5.
const (
	ptypeMissingIndirect = 3
	ptypeExpireIndirect  = 4
	ptypeMissingDirect   = 5
	ptypeExpireDirect    = 6
)

// packetSize is sizeof(struct autofs_v5_packet) on 64-bit Linux: header
// (8), token (4), dev (4), ino (8), uid gid pid tgid len (20), name (256),
// padded to 8.
const packetSize = 304

// Config is one automount.
type Config struct {
	Dir     string        // the mount point
	Timeout time.Duration // unmount after this long unused; 0 = never
	Mount   []string      // the command that mounts the file system on Dir
	Logf    func(format string, a ...any)
}

// Packet is what the kernel asks.
type Packet struct {
	Type  int32
	Token uint32
	Name  string
}

// ParsePacket decodes a protocol 5 packet.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < 44 {
		return Packet{}, fmt.Errorf("autofs packet of %d bytes, want at least 44", len(b))
	}
	le := binary.NativeEndian
	if v := le.Uint32(b[0:]); v != 5 {
		return Packet{}, fmt.Errorf("autofs protocol %d, want 5", v)
	}
	p := Packet{Type: int32(le.Uint32(b[4:])), Token: le.Uint32(b[8:])}
	n := int(le.Uint32(b[40:]))
	if n > 255 || 44+n > len(b) {
		return Packet{}, fmt.Errorf("autofs packet name length %d out of range", n)
	}
	p.Name = string(b[44 : 44+n])
	return p, nil
}

func ioctl(fd int, req uintptr, arg uintptr) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg); e != 0 {
		return e
	}
	return nil
}

// Run mounts autofs on cfg.Dir and serves it until ctx ends; then it
// unmounts the file system (if mounted) and the autofs mount.
func Run(ctx context.Context, cfg Config) error {
	if len(cfg.Mount) == 0 {
		return errors.New("no mount command")
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	types, autofsDev, err := mountsAt(cfg.Dir)
	if err != nil {
		return fmt.Errorf("read the mount table: %w", err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	r := os.NewFile(uintptr(p[0]), "autofs pipe")
	defer r.Close()
	var fd int
	mounted := false
	if autofsDev != "" {
		// A daemon before us died (ginit restarts it): re-attach to its
		// autofs mount rather than mount a second one over it, which
		// would hide the file system it may have mounted.
		fd, err = takeOver(cfg.Dir, autofsDev, p[1])
		unix.Close(p[1])
		if err != nil {
			return err
		}
		mounted = types[len(types)-1] != "autofs"
		logf("took over the autofs mount on %s (file system mounted: %v)", cfg.Dir, mounted)
	} else {
		if fd, err = mountAutofs(cfg.Dir, p[1]); err != nil {
			return err
		}
	}
	var proto int32
	if err := ioctl(fd, iocProtover, uintptr(unsafe.Pointer(&proto))); err != nil || proto < 5 {
		unix.Close(fd)
		if autofsDev == "" {
			_ = unix.Unmount(cfg.Dir, unix.MNT_DETACH)
		}
		return fmt.Errorf("autofs protocol %d (%v): need 5", proto, err)
	}
	secs := uint64(cfg.Timeout / time.Second)
	if err := ioctl(fd, iocSetTimeout, uintptr(unsafe.Pointer(&secs))); err != nil {
		logf("set timeout: %v", err)
	}
	logf("automount %s ready (timeout %s)", cfg.Dir, cfg.Timeout)

	d := &daemon{cfg: cfg, fd: fd, logf: logf, mounted: mounted}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if cfg.Timeout > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); d.expireLoop(ctx) }()
	}
	readErr := make(chan error, 1)
	go func() { readErr <- d.readLoop(r) }()
	select {
	case <-ctx.Done():
	case err = <-readErr:
	}
	cancel()
	// Catatonic: the kernel stops asking and lets walks through; then the
	// mounts go.
	_ = ioctl(fd, iocCatatonic, 0)
	wg.Wait()
	d.mu.Lock()
	if d.mounted {
		if e := unix.Unmount(cfg.Dir, 0); e != nil {
			logf("unmount %s: %v; detaching", cfg.Dir, e)
			_ = unix.Unmount(cfg.Dir, unix.MNT_DETACH)
		}
	}
	d.mu.Unlock()
	unix.Close(fd)
	if e := unix.Unmount(cfg.Dir, 0); e != nil {
		_ = unix.Unmount(cfg.Dir, unix.MNT_DETACH)
	}
	return err
}

// mountAutofs mounts a new autofs on dir with the pipe's write end (the
// kernel keeps its own reference: the caller closes pipeW) and opens the
// mount point for the ioctls.
func mountAutofs(dir string, pipeW int) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		unix.Close(pipeW)
		return -1, err
	}
	opts := fmt.Sprintf("fd=%d,pgrp=%d,minproto=5,maxproto=5,direct", pipeW, unix.Getpgrp())
	err := unix.Mount("ginit-automount", dir, "autofs", 0, opts)
	unix.Close(pipeW)
	if err != nil {
		return -1, fmt.Errorf("mount autofs on %s: %w", dir, err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		return -1, fmt.Errorf("open %s: %w", dir, err)
	}
	return fd, nil
}

type daemon struct {
	cfg     Config
	fd      int
	logf    func(string, ...any)
	mu      sync.Mutex // guards mounted: the reader and the expirer
	mounted bool
}

// readLoop answers packets until the pipe ends.
func (d *daemon) readLoop(r *os.File) error {
	buf := make([]byte, packetSize)
	for {
		n, err := r.Read(buf)
		if err != nil {
			return fmt.Errorf("autofs pipe: %w", err)
		}
		pk, err := ParsePacket(buf[:n])
		if err != nil {
			d.logf("%v", err)
			continue
		}
		switch pk.Type {
		case ptypeMissingDirect, ptypeMissingIndirect:
			d.answer(pk.Token, d.mount())
		case ptypeExpireDirect, ptypeExpireIndirect:
			d.answer(pk.Token, d.unmount())
		default:
			d.logf("autofs packet type %d ignored", pk.Type)
			d.answer(pk.Token, fmt.Errorf("unknown packet type %d", pk.Type))
		}
	}
}

func (d *daemon) answer(token uint32, err error) {
	req := uintptr(iocReady)
	if err != nil {
		req = iocFail
	}
	if e := ioctl(d.fd, req, uintptr(token)); e != nil {
		d.logf("answer token %d: %v", token, e)
	}
}

// mount runs the mount command (in our process group, so its walk into
// the directory does not trigger us again).
func (d *daemon) mount() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mounted {
		return nil
	}
	out, err := exec.Command(d.cfg.Mount[0], d.cfg.Mount[1:]...).CombinedOutput()
	if err != nil {
		d.logf("mount %s: %v: %s", d.cfg.Dir, err, strings.TrimSpace(string(out)))
		return err
	}
	d.mounted = true
	d.logf("mounted %s", d.cfg.Dir)
	return nil
}

func (d *daemon) unmount() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.mounted {
		return nil
	}
	if err := unix.Unmount(d.cfg.Dir, 0); err != nil {
		d.logf("expire %s: %v", d.cfg.Dir, err)
		return err
	}
	d.mounted = false
	d.logf("unmounted %s (idle)", d.cfg.Dir)
	return nil
}

// expireLoop asks the kernel, a few times per timeout, to expire the mount
// if it has been unused for the timeout; the kernel then sends an expire
// packet, which readLoop answers, and the ioctl returns.
func (d *daemon) expireLoop(ctx context.Context) {
	every := d.cfg.Timeout / 4
	if every < time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Each successful call expired one mount; EAGAIN says none is idle.
		how := int32(0)
		for {
			if err := ioctl(d.fd, iocExpireMulti, uintptr(unsafe.Pointer(&how))); err != nil {
				break
			}
		}
	}
}
