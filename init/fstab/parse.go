package fstab

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits: an fstab is a short text file.
const (
	maxFile    = 256 << 10
	maxEntries = 4096
)

// Entry is one line of fstab.
type Entry struct {
	Spec, File, Type string
	Options          []string
	Freq, Pass       int
	Line             int
}

// LineError is a malformed fstab line.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Parse reads fstab(5): whitespace-separated fields, # comments, octal
// escapes (\040 for a space) in the first two fields, freq and pass
// optional (0). A line with fewer than three fields or a bad number is an
// error naming it; the mount point must be absolute (or "none" for swap).
func Parse(data []byte) ([]Entry, error) {
	if len(data) > maxFile {
		return nil, fmt.Errorf("larger than %d bytes", maxFile)
	}
	var out []Entry
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		t := strings.TrimSpace(raw)
		if t == "" || t[0] == '#' {
			continue
		}
		f := strings.Fields(t)
		if len(f) < 3 || len(f) > 6 {
			return nil, &LineError{n, fmt.Errorf("expected 3 to 6 fields, got %d", len(f))}
		}
		e := Entry{Line: n, Type: f[2], Options: []string{"defaults"}}
		var err error
		if e.Spec, err = unescape(f[0]); err != nil {
			return nil, &LineError{n, err}
		}
		if e.File, err = unescape(f[1]); err != nil {
			return nil, &LineError{n, err}
		}
		if e.File != "none" && !strings.HasPrefix(e.File, "/") {
			return nil, &LineError{n, fmt.Errorf("mount point %q is not absolute", e.File)}
		}
		if len(f) > 3 {
			e.Options = strings.Split(f[3], ",")
		}
		for j, dst := range []*int{&e.Freq, &e.Pass} {
			if len(f) > 4+j {
				v, err := strconv.Atoi(f[4+j])
				if err != nil || v < 0 {
					return nil, &LineError{n, fmt.Errorf("bad number %q", f[4+j])}
				}
				*dst = v
			}
		}
		out = append(out, e)
		if len(out) > maxEntries {
			return nil, &LineError{n, fmt.Errorf("more than %d entries", maxEntries)}
		}
	}
	return out, nil
}

// unescape decodes fstab's \NNN octal escapes.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("short escape in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil || v == 0 {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}

// Option gives the value of NAME=VALUE in the options, or whether a flag
// is present (value "").
func (e *Entry) Option(name string) (string, bool) {
	for _, o := range e.Options {
		k, v, _ := strings.Cut(o, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

// UnitName is systemd's name for a mount point (the path without its
// leading '/', '/' as '-', ".mount" added; "/" is "-.mount"), with the bytes
// systemd writes as \xNN written _xNN, as a ginit name allows no '\'.
func UnitName(path string) string {
	p := strings.Trim(path, "/")
	if p == "" {
		return "-.mount"
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_x%02x", c)
		}
	}
	return b.String() + ".mount"
}
