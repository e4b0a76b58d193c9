package dbus

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// dialAddress connects to the first unix transport of a D-Bus address
// list ("unix:path=/p;unix:abstract=n,guid=...").
func dialAddress(addr string) (*net.UnixConn, error) {
	var errs []error
	for _, a := range strings.Split(addr, ";") {
		if a == "" {
			continue
		}
		sa, err := parseUnixAddress(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uc, err := net.DialUnix("unix", nil, sa)
		if err != nil {
			errs = append(errs, fmt.Errorf("dbus: dial %s: %w", a, err))
			continue
		}
		return uc, nil
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("dbus: empty bus address %q", addr)
	}
	return nil, errors.Join(errs...)
}

// parseUnixAddress reads one "unix:key=value,..." address: path= or
// abstract=, values %-escaped as the specification says.
func parseUnixAddress(a string) (*net.UnixAddr, error) {
	rest, ok := strings.CutPrefix(a, "unix:")
	if !ok {
		return nil, fmt.Errorf("dbus: address %q: only unix transports are supported", a)
	}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("dbus: address %q: %q is not key=value", a, kv)
		}
		val, err := unescapeAddress(v)
		if err != nil {
			return nil, fmt.Errorf("dbus: address %q: %w", a, err)
		}
		switch k {
		case "path":
			return &net.UnixAddr{Name: val, Net: "unix"}, nil
		case "abstract":
			return &net.UnixAddr{Name: "@" + val, Net: "unix"}, nil
		}
	}
	return nil, fmt.Errorf("dbus: address %q names no path or abstract socket", a)
}

func unescapeAddress(v string) (string, error) {
	if !strings.Contains(v, "%") {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		if i+2 >= len(v) {
			return "", fmt.Errorf("truncated escape in %q", v)
		}
		x, err := strconv.ParseUint(v[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", v)
		}
		b.WriteByte(byte(x))
		i += 2
	}
	return b.String(), nil
}

// saslReply is one server line of the authentication conversation.
type saslReply struct {
	cmd string // OK, REJECTED, AGREE_UNIX_FD, ERROR, DATA
	arg string
}

// parseSASLLine reads one server line (without its CR LF).
func parseSASLLine(line []byte) (saslReply, error) {
	if len(line) == 0 || len(line) > 1024 {
		return saslReply{}, fmt.Errorf("dbus: auth: bad line of %d bytes", len(line))
	}
	for _, ch := range line {
		if ch < 0x20 || ch > 0x7e {
			return saslReply{}, fmt.Errorf("dbus: auth: non-ASCII byte in %q", line)
		}
	}
	cmd, arg, _ := strings.Cut(string(line), " ")
	switch cmd {
	case "OK":
		if _, err := hex.DecodeString(arg); err != nil || len(arg) != 32 {
			return saslReply{}, fmt.Errorf("dbus: auth: bad server guid %q", arg)
		}
	case "REJECTED", "AGREE_UNIX_FD", "ERROR", "DATA":
	default:
		return saslReply{}, fmt.Errorf("dbus: auth: unknown reply %q", cmd)
	}
	return saslReply{cmd: cmd, arg: arg}, nil
}

// auth runs SASL EXTERNAL with NEGOTIATE_UNIX_FD. It returns any bytes
// the server sent after the last line (the start of the message stream).
func (c *Conn) auth() ([]byte, error) {
	uid := strconv.Itoa(os.Getuid())
	if _, err := c.uc.Write([]byte("\x00AUTH EXTERNAL " + hex.EncodeToString([]byte(uid)) + "\r\n")); err != nil {
		return nil, err
	}
	var buf []byte
	next := func() (saslReply, error) {
		for {
			if i := bytes.Index(buf, []byte("\r\n")); i >= 0 {
				line := buf[:i]
				buf = buf[i+2:]
				return parseSASLLine(line)
			}
			if len(buf) > 4096 {
				return saslReply{}, errors.New("dbus: auth: line too long")
			}
			tmp := make([]byte, 512)
			n, err := c.uc.Read(tmp)
			if err != nil {
				return saslReply{}, err
			}
			buf = append(buf, tmp[:n]...)
		}
	}
	r, err := next()
	if err != nil {
		return nil, err
	}
	if r.cmd != "OK" {
		return nil, fmt.Errorf("dbus: auth: EXTERNAL refused: %s %s", r.cmd, r.arg)
	}
	c.guid = r.arg
	if _, err := c.uc.Write([]byte("NEGOTIATE_UNIX_FD\r\n")); err != nil {
		return nil, err
	}
	if r, err = next(); err != nil {
		return nil, err
	}
	if r.cmd != "AGREE_UNIX_FD" {
		return nil, fmt.Errorf("dbus: auth: bus refuses descriptor passing: %s %s", r.cmd, r.arg)
	}
	if _, err := c.uc.Write([]byte("BEGIN\r\n")); err != nil {
		return nil, err
	}
	return buf, nil
}
