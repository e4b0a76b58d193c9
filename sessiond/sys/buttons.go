package sys

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// InputKind names a power-relevant key or switch.
type InputKind string

// The keys and switches sessiond reacts to (logind's button.c mapping:
// KEY_SLEEP is the suspend key, KEY_SUSPEND the hibernate key).
const (
	InputPowerKey     InputKind = "power-key"
	InputRebootKey    InputKind = "reboot-key"
	InputSuspendKey   InputKind = "suspend-key"
	InputHibernateKey InputKind = "hibernate-key"
	InputLid          InputKind = "lid"
	InputDock         InputKind = "dock"
)

// InputEvent is a key press or a switch change. On is true for a press,
// a closed lid, a docked machine. Initial events report a switch's state
// when its device is opened: they set LidClosed/Docked but act on nothing.
type InputEvent struct {
	Kind    InputKind
	On      bool
	Initial bool
}

// Linux input constants (linux/input-event-codes.h).
const (
	evKey       = 0x01
	evSw        = 0x05
	keyPower    = 116
	keySleep    = 142
	keySuspend  = 205
	keyPower2   = 0x164
	keyRestart  = 0x198
	swLid       = 0x00
	swDock      = 0x05
	inputEvSize = 24 // struct input_event on 64-bit Linux
)

var keyKinds = map[uint16]InputKind{
	keyPower: InputPowerKey, keyPower2: InputPowerKey, keyRestart: InputRebootKey,
	keySleep: InputSuspendKey, keySuspend: InputHibernateKey,
}

var switchKinds = map[uint16]InputKind{swLid: InputLid, swDock: InputDock}

// Buttons reads the power keys and lid/dock switches from evdev devices
// (Dir is normally /dev/input), those there when Watch starts and those
// created later.
type Buttons struct {
	Dir string
	Log *slog.Logger
}

func eviocgbit(ev, n uintptr) uintptr { return 2<<30 | n<<16 | 'E'<<8 | (0x20 + ev) }

func eviocgsw(n uintptr) uintptr { return 2<<30 | n<<16 | 'E'<<8 | 0x1b }

func ioctlBits(fd uintptr, req uintptr, buf []byte) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(&buf[0])))
	if e != 0 {
		return e
	}
	return nil
}

func bit(b []byte, n uint16) bool { return int(n/8) < len(b) && b[n/8]&(1<<(n%8)) != 0 }

// Watch opens every event device that has a power-relevant key or switch
// and reads it on a goroutine of its own, calling ev for every event
// until stop is called. Devices created in Dir later are opened too
// (inotify): the ACPI power button appears only once udev has loaded its
// driver, which on a normal boot is after sessiond started.
func (b *Buttons) Watch(ev func(InputEvent)) (func(), error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("input devices: inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, b.Dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("input devices %s: %w", b.Dir, err)
	}
	// Non-blocking, so the runtime poller owns it and Close ends a Read.
	notify := os.NewFile(uintptr(fd), "inotify:"+b.Dir)
	ents, err := os.ReadDir(b.Dir)
	if err != nil {
		notify.Close()
		return nil, fmt.Errorf("input devices: %w", err)
	}
	w := &buttonWatch{b: b, ev: ev, files: map[string]*os.File{}}
	for _, e := range ents {
		w.add(e.Name())
	}
	go w.follow(notify)
	return func() {
		notify.Close()
		w.close()
	}, nil
}

// buttonWatch is one Watch: the devices it opened, by name.
type buttonWatch struct {
	b      *Buttons
	ev     func(InputEvent)
	mu     sync.Mutex // guards files and closed (Watch's caller, follow, readers)
	files  map[string]*os.File
	closed bool
}

// add opens Dir/name if it is an event device not yet read.
func (w *buttonWatch) add(name string) {
	if !strings.HasPrefix(name, "event") {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.files[name] != nil {
		return
	}
	path := filepath.Join(w.b.Dir, name)
	f, initial, ok := w.b.open(path)
	if !ok {
		return
	}
	w.files[name] = f
	w.b.Log.Info("watching input device", "device", path)
	for _, ie := range initial {
		w.ev(ie)
	}
	go func() {
		// readInput only ends with an error; closing f on stop is one,
		// and so is the device going away (ENODEV): it may come back.
		err := readInput(f, w.ev)
		if !errors.Is(err, os.ErrClosed) {
			w.b.Log.Warn("input device", "device", path, "err", err)
		}
		w.mu.Lock()
		if w.files[name] == f {
			delete(w.files, name)
			f.Close()
		}
		w.mu.Unlock()
	}()
}

func (w *buttonWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for name, f := range w.files {
		f.Close()
		delete(w.files, name)
	}
}

// follow reads inotify events until notify is closed and adds the devices
// they name.
func (w *buttonWatch) follow(notify *os.File) {
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := notify.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.b.Log.Warn("input devices: inotify", "dir", w.b.Dir, "err", err)
			}
			return
		}
		for _, name := range inotifyNames(buf[:n]) {
			w.add(name)
		}
	}
}

// inotifyNames decodes the file names of a read of inotify events.
func inotifyNames(b []byte) []string {
	var names []string
	for len(b) >= unix.SizeofInotifyEvent {
		l := int(binary.NativeEndian.Uint32(b[12:16]))
		if unix.SizeofInotifyEvent+l > len(b) {
			break
		}
		name := b[unix.SizeofInotifyEvent : unix.SizeofInotifyEvent+l]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if len(name) > 0 {
			names = append(names, string(name))
		}
		b = b[unix.SizeofInotifyEvent+l:]
	}
	return names
}

// open keeps path if it is an evdev device with a key or switch we use,
// and reports its switches' current positions.
func (b *Buttons) open(path string) (*os.File, []InputEvent, bool) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Log.Debug("input device", "device", path, "err", err)
		return nil, nil, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, false
	}
	keys, sws, state := make([]byte, 96), make([]byte, 4), make([]byte, 4)
	var kerr, serr error
	_ = rc.Control(func(fd uintptr) {
		kerr = ioctlBits(fd, eviocgbit(evKey, uintptr(len(keys))), keys)
		serr = ioctlBits(fd, eviocgbit(evSw, uintptr(len(sws))), sws)
		if serr == nil {
			serr = ioctlBits(fd, eviocgsw(uintptr(len(state))), state)
		}
	})
	use := false
	if kerr == nil {
		for code := range keyKinds {
			use = use || bit(keys, code)
		}
	}
	var initial []InputEvent
	if serr == nil {
		for code, kind := range switchKinds {
			if bit(sws, code) {
				use = true
				initial = append(initial, InputEvent{Kind: kind, On: bit(state, code), Initial: true})
			}
		}
	}
	if !use {
		b.Log.Debug("input device without power keys or switches", "device", path)
		f.Close()
		return nil, nil, false
	}
	return f, initial, true
}

// readInput decodes struct input_event records from r until it fails.
func readInput(r io.Reader, ev func(InputEvent)) error {
	buf := make([]byte, inputEvSize*16)
	var rest []byte
	for {
		n, err := r.Read(buf)
		rest = append(rest, buf[:n]...)
		for len(rest) >= inputEvSize {
			rec := rest[:inputEvSize]
			rest = rest[inputEvSize:]
			typ := binary.NativeEndian.Uint16(rec[16:])
			code := binary.NativeEndian.Uint16(rec[18:])
			val := int32(binary.NativeEndian.Uint32(rec[20:]))
			switch {
			case typ == evKey && keyKinds[code] != "" && val == 1: // press; 0 release, 2 repeat
				ev(InputEvent{Kind: keyKinds[code], On: true})
			case typ == evSw && switchKinds[code] != "":
				ev(InputEvent{Kind: switchKinds[code], On: val != 0})
			}
		}
		if err != nil {
			return err
		}
	}
}
