package dbus

import (
	"strings"
)

// EscapeLabel encodes s as one object path element the way sd-bus's
// sd_bus_path_encode does: bytes outside [A-Za-z0-9], and a digit in first
// position, become "_xx" (lower-case hex); the empty string becomes "_".
func EscapeLabel(s string) string {
	if s == "" {
		return "_"
	}
	if plainLabel(s) {
		return s // the usual case (ids like c12, seat0): no copy
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		digit := c >= '0' && c <= '9'
		if alpha || (digit && i > 0) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// UnescapeLabel reverses EscapeLabel. It reports false for a label that
// EscapeLabel could not have produced.
func UnescapeLabel(l string) (string, bool) {
	if l == "_" {
		return "", true
	}
	if l == "" {
		return "", false
	}
	if !strings.Contains(l, "_") {
		return l, true
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c != '_' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(l) {
			return "", false
		}
		hi, ok1 := unhex(l[i+1])
		lo, ok2 := unhex(l[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), true
}

// plainLabel: s is its own encoding (alphanumerics, no leading digit).
func plainLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && i > 0)) {
			return false
		}
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
