package sys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
// (Dir is normally /dev/input). Devices are found when Watch starts;
// hot-plugged ones are not picked up.
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
// until stop is called.
func (b *Buttons) Watch(ev func(InputEvent)) (func(), error) {
	ents, err := os.ReadDir(b.Dir)
	if err != nil {
		return nil, fmt.Errorf("input devices: %w", err)
	}
	var files []*os.File
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "event") {
			continue
		}
		path := filepath.Join(b.Dir, e.Name())
		f, initial, ok := b.open(path)
		if !ok {
			continue
		}
		files = append(files, f)
		b.Log.Info("watching input device", "device", path)
		for _, ie := range initial {
			ev(ie)
		}
		go func() {
			// readInput only ends with an error; closing f on stop is one.
			if err := readInput(f, ev); !errors.Is(err, os.ErrClosed) {
				b.Log.Warn("input device", "device", path, "err", err)
			}
		}()
	}
	return func() {
		for _, f := range files {
			f.Close()
		}
	}, nil
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
