package sessiond

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The files libsystemd's sd-login reads. Each is written to a temporary
// file in the same directory and renamed over the old one: readers may
// read at any moment, and sd_login_monitor only wakes on IN_MOVED_TO and
// IN_DELETE.
const envHeader = "# This is private data. Do not parse.\n"

type kv struct{ k, v string }

// formatEnv is the file writeEnvFile writes. It refuses what parseEnv
// could not give back unchanged, so every file sessiond writes can be
// restored: keys are letters, digits and '_', values have no newline.
func formatEnv(vals []kv) (string, error) {
	var b strings.Builder
	b.WriteString(envHeader)
	for _, p := range vals {
		if !validEnvKey(p.k) {
			return "", fmt.Errorf("invalid key %q", p.k)
		}
		if strings.IndexByte(p.v, '\n') >= 0 {
			return "", fmt.Errorf("value of %s contains a newline", p.k)
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func validEnvKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// parseEnv reads formatEnv's output. Lines have no length limit (a
// bufio.Scanner's 64 KiB limit made files with long values unreadable);
// what is written is bounded by the argument limits (maxArgLen).
func parseEnv(data string) (map[string]string, error) {
	m := map[string]string{}
	for n := 1; data != ""; n++ {
		line, rest, _ := strings.Cut(data, "\n")
		data = rest
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !validEnvKey(k) {
			return nil, fmt.Errorf("line %d: not KEY=value: %.80q", n, line)
		}
		m[k] = v
	}
	return m, nil
}

func writeEnvFile(path string, vals []kv) error {
	text, err := formatEnv(vals)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := tmp.WriteString(text)
	cerr := tmp.Chmod(0o644)
	if err := tmp.Close(); werr == nil && cerr == nil {
		werr = err
	}
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

// readEnvFile returns the file's keys; a missing file is an error
// satisfying errors.Is(err, os.ErrNotExist).
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := parseEnv(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// cescape escapes free-text values the way logind does (C escapes), so a
// value can never break the one-line-per-key format.
func cescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '"' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// cunescape reverses cescape.
func cunescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'x':
			if i+2 < len(s) {
				hi, ok1 := hexVal(s[i+1])
				lo, ok2 := hexVal(s[i+2])
				if ok1 && ok2 {
					b.WriteByte(hi<<4 | lo)
					i += 2
					continue
				}
			}
			b.WriteByte('x')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func hexVal(c byte) (byte, bool) {
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

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
