package session

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// X11SocketDir is where local X servers listen.
const X11SocketDir = "/tmp/.X11-unix"

// x11Socket maps a local display name (":N" or ":N.S") to its socket
// X11SocketDir/XN; remote displays (host:N) have none.
func x11Socket(dir, display string) (string, bool) {
	rest, ok := strings.CutPrefix(display, ":")
	if !ok {
		return "", false
	}
	num, _, _ := strings.Cut(rest, ".")
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return "", false
	}
	return filepath.Join(dir, "X"+num), true
}

// DisplayVT finds the virtual console of a local X display the way
// pam_systemd does: the X server is the peer of the display's socket,
// and its controlling terminal, if it is a VT ttyN, gives N. It returns 0
// with an error when any step does not apply.
func DisplayVT(dir, display string) (uint32, error) {
	path, ok := x11Socket(dir, display)
	if !ok {
		return 0, fmt.Errorf("display %q is not local", display)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return 0, fmt.Errorf("display %s: %w", display, err)
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("display %s: %w", display, err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return 0, fmt.Errorf("display %s: peer credentials: %w", display, errors.Join(err, credErr))
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cred.Pid))
	if err != nil {
		return 0, fmt.Errorf("display %s: X server: %w", display, err)
	}
	vt, err := vtOfStat(stat)
	if err != nil {
		return 0, fmt.Errorf("display %s: X server pid %d: %w", display, cred.Pid, err)
	}
	return vt, nil
}

// vtOfStat reads the controlling terminal (tty_nr, the 7th field) from a
// /proc/PID/stat line and returns N if it is the VT ttyN (major 4, minor
// 1..63).
func vtOfStat(stat []byte) (uint32, error) {
	i := bytes.LastIndexByte(stat, ')') // the command name may contain anything
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// After the name: state ppid pgrp session tty_nr.
	if len(f) < 5 {
		return 0, errors.New("malformed stat")
	}
	nr, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("tty_nr %q: %w", f[4], err)
	}
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	if major != 4 || minor < 1 || minor > 63 {
		return 0, fmt.Errorf("controlling terminal %d:%d is no virtual console", major, minor)
	}
	return uint32(minor), nil
}
