package sys

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// UdevEvent is one message of udev's monitor: the device's properties
// after udev processed it (ACTION, DEVPATH, SUBSYSTEM, DEVNAME, MAJOR,
// MINOR, ID_SEAT, TAGS, CURRENT_TAGS, …).
type UdevEvent map[string]string

// HasTag reports whether the event's device carries tag (TAGS is
// ":a:b:"; CURRENT_TAGS, when present, says what still applies).
func (e UdevEvent) HasTag(tag string) bool {
	list, ok := e["CURRENT_TAGS"]
	if !ok {
		list = e["TAGS"]
	}
	return strings.Contains(list, ":"+tag+":")
}

// The libudev monitor header (libudev's struct monitor_netlink_header):
// an 8-byte "libudev\0" prefix, the magic in network byte order, then
// header size, properties offset and length, and filter hashes, in the
// sender's byte order (which is ours: udev's monitor is machine-local).
const (
	udevPrefix     = "libudev\x00"
	udevMagic      = 0xfeedcafe
	udevHeaderSize = 40
	// udevMonitorGroup is the netlink group udevd sends processed events
	// to (group 1 is the kernel's raw uevents).
	udevMonitorGroup = 2
)

// ParseUdevMessage decodes a udev monitor datagram: the libudev header,
// then NUL-separated KEY=VALUE properties. Anything else (the kernel's
// raw "add@/devices/…" format included) is an error.
func ParseUdevMessage(b []byte) (UdevEvent, error) {
	if len(b) < udevHeaderSize || string(b[:8]) != udevPrefix {
		return nil, errors.New("udev message: no libudev header")
	}
	if binary.BigEndian.Uint32(b[8:12]) != udevMagic {
		return nil, fmt.Errorf("udev message: bad magic %#x", binary.BigEndian.Uint32(b[8:12]))
	}
	hdr := binary.NativeEndian.Uint32(b[12:16])
	off := binary.NativeEndian.Uint32(b[16:20])
	n := binary.NativeEndian.Uint32(b[20:24])
	if hdr < udevHeaderSize || uint64(hdr) > uint64(len(b)) {
		return nil, fmt.Errorf("udev message: header size %d of a %d-byte message", hdr, len(b))
	}
	if uint64(off) < uint64(hdr) || uint64(off)+uint64(n) > uint64(len(b)) {
		return nil, fmt.Errorf("udev message: properties at %d+%d outside a %d-byte message", off, n, len(b))
	}
	ev := UdevEvent{}
	for _, kv := range bytes.Split(b[off:off+n], []byte{0}) {
		if len(kv) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(kv, []byte("="))
		if !ok || len(k) == 0 {
			return nil, fmt.Errorf("udev message: property %q has no KEY=", trunc(kv))
		}
		ev[string(k)] = string(v)
	}
	if ev["ACTION"] == "" || ev["DEVPATH"] == "" {
		return nil, errors.New("udev message: no ACTION or DEVPATH")
	}
	return ev, nil
}

// EncodeUdevMessage is ParseUdevMessage's inverse (for tests and for
// replaying events); properties are written in sorted key order.
func EncodeUdevMessage(ev UdevEvent) []byte {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var props []byte
	for _, k := range keys {
		props = append(props, k...)
		props = append(props, '=')
		props = append(props, ev[k]...)
		props = append(props, 0)
	}
	b := make([]byte, udevHeaderSize, udevHeaderSize+len(props))
	copy(b, udevPrefix)
	binary.BigEndian.PutUint32(b[8:], udevMagic)
	binary.NativeEndian.PutUint32(b[12:], udevHeaderSize)
	binary.NativeEndian.PutUint32(b[16:], udevHeaderSize)
	binary.NativeEndian.PutUint32(b[20:], uint32(len(props)))
	return append(b, props...)
}

// UdevMonitor receives udevd's processed events on the netlink monitor
// group. Only messages from a userspace sender (udevd, never the kernel's
// raw events) running as root are taken.
type UdevMonitor struct {
	f *os.File
}

// OpenUdevMonitor opens the netlink socket and joins udev's group.
func OpenUdevMonitor() (*UdevMonitor, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("udev monitor socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: udevMonitorGroup}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("udev monitor bind: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("udev monitor SO_PASSCRED: %w", err)
	}
	// A trigger at boot sends thousands of events at once: a large buffer
	// (forced, as root) keeps them from overflowing it; an overflow is
	// still handled (ENOBUFS means "rescan").
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	}
	return &UdevMonitor{f: os.NewFile(uintptr(fd), "udev-monitor")}, nil
}

// errOverflow says events were lost: the receiver must rescan.
var errOverflow = errors.New("udev monitor: receive buffer overflowed")

// Receive waits for the next valid message. Messages that fail the
// sender checks or do not parse are skipped. It returns errOverflow
// (events were lost) or the error that ended it (Close: os.ErrClosed).
func (m *UdevMonitor) Receive() (UdevEvent, error) {
	rc, err := m.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 16<<10)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		var n, oobn int
		var from unix.Sockaddr
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, oob, 0)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return nil, err
		}
		if rerr == unix.ENOBUFS {
			return nil, errOverflow
		}
		if rerr != nil {
			return nil, fmt.Errorf("udev monitor: %w", rerr)
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid == 0 {
			continue // the kernel's raw event, or not netlink at all
		}
		if !fromRoot(oob[:oobn]) {
			continue
		}
		ev, err := ParseUdevMessage(buf[:n])
		if err != nil {
			continue
		}
		return ev, nil
	}
}

// fromRoot reports whether the control messages carry uid 0 credentials.
func fromRoot(oob []byte) bool {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if cred, err := unix.ParseUnixCredentials(&m); err == nil {
			return cred.Uid == 0
		}
	}
	return false
}

// Close ends a Receive in progress.
func (m *UdevMonitor) Close() error { return m.f.Close() }

// Watch calls changed (on a goroutine of its own) after udev events that
// may change the seats' devices: any event of a device node or tagged
// for seats. Bursts are coalesced: changed runs at most once per settle
// interval, after the burst. stop ends the watch.
func (u *Udev) Watch(changed func()) (stop func(), err error) {
	m, err := OpenUdevMonitor()
	if err != nil {
		return nil, err
	}
	const settle = 100 * time.Millisecond
	var (
		mu      sync.Mutex // guards pending
		pending bool
	)
	kick := func() {
		mu.Lock()
		defer mu.Unlock()
		if pending {
			return
		}
		pending = true
		time.AfterFunc(settle, func() {
			mu.Lock()
			pending = false
			mu.Unlock()
			changed()
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := m.Receive()
			if errors.Is(err, errOverflow) {
				kick()
				continue
			}
			if err != nil {
				return
			}
			if relevant(ev) {
				kick()
			}
		}
	}()
	return func() { _ = m.Close(); <-done }, nil
}

// relevant: the device has a node, or is tagged for seats (a parent
// whose ID_SEAT its nodes inherit).
func relevant(ev UdevEvent) bool {
	if ev["MAJOR"] != "" || ev["DEVNAME"] != "" {
		return true
	}
	return ev.HasTag("seat") || ev.HasTag("uaccess") || ev.HasTag("master-of-seat")
}
