package sdunit

import (
	"fmt"
	"strconv"
	"strings"
)

// splitWords splits a value as systemd splits command lines and lists:
// whitespace separates words; "..." and '...' quote (the quotes go); C
// escapes (\n \t \\ \" \' \s \xHH \NNN …) are decoded.
func splitWords(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote, inWord = c, true
		case quote == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		case c == '\\':
			n, adv, err := unescape(s[i+1:])
			if err != nil {
				return nil, err
			}
			b.WriteString(n)
			i += adv
			inWord = true
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		out = append(out, b.String())
	}
	return out, nil
}

// unescape decodes one C escape (s follows the backslash); it returns the
// bytes and how many bytes of s it used.
func unescape(s string) (string, int, error) {
	if s == "" {
		return "", 0, fmt.Errorf("backslash at the end")
	}
	switch c := s[0]; c {
	case 'a':
		return "\a", 1, nil
	case 'b':
		return "\b", 1, nil
	case 'f':
		return "\f", 1, nil
	case 'n':
		return "\n", 1, nil
	case 'r':
		return "\r", 1, nil
	case 't':
		return "\t", 1, nil
	case 'v':
		return "\v", 1, nil
	case 's':
		return " ", 1, nil
	case '\\', '"', '\'', ' ', '$', ';':
		return string(c), 1, nil
	case 'x':
		if len(s) < 3 {
			return "", 0, fmt.Errorf("short \\x escape")
		}
		v, err := strconv.ParseUint(s[1:3], 16, 8)
		if err != nil || v == 0 {
			return "", 0, fmt.Errorf("bad \\x escape %q", s[:3])
		}
		return string(rune(byte(v))), 3, nil
	case '0', '1', '2', '3':
		if len(s) < 3 {
			return "", 0, fmt.Errorf("short octal escape")
		}
		v, err := strconv.ParseUint(s[:3], 8, 8)
		if err != nil || v == 0 {
			return "", 0, fmt.Errorf("bad octal escape %q", s[:3])
		}
		return string([]byte{byte(v)}), 3, nil
	default:
		return "", 0, fmt.Errorf("unknown escape \\%c", c)
	}
}

// specifiers are the values of %X in one unit.
type specifiers map[byte]string

// expand replaces %X specifiers; an unknown one is an error (systemd
// refuses those too), "%%" is a percent sign.
func (sp specifiers) expand(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("%% at the end of %q", s)
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := sp[s[i]]
		if !ok {
			return "", fmt.Errorf("unknown or unsupported specifier %%%c", s[i])
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// substEnv replaces environment references in an argv as systemd does for
// Exec lines: a word that is exactly $NAME becomes the variable's value
// split at whitespace (zero or more words); ${NAME} anywhere is replaced in
// place; $$ is a dollar. Unset variables are empty. runtime names
// ($MAINPID) are reported, not replaced.
func substEnv(argv []string, get func(string) (string, bool), runtime map[string]bool) ([]string, []string, error) {
	var out, used []string
	for _, w := range argv {
		if name, ok := strings.CutPrefix(w, "$"); ok && validVar(name) {
			if runtime[name] {
				used = append(used, name)
				out = append(out, w)
				continue
			}
			v, _ := get(name)
			out = append(out, strings.Fields(v)...)
			continue
		}
		var b strings.Builder
		for i := 0; i < len(w); i++ {
			if w[i] != '$' {
				b.WriteByte(w[i])
				continue
			}
			switch {
			case i+1 < len(w) && w[i+1] == '$':
				b.WriteByte('$')
				i++
			case i+1 < len(w) && w[i+1] == '{':
				end := strings.IndexByte(w[i+2:], '}')
				if end < 0 {
					return nil, nil, fmt.Errorf("unterminated ${ in %q", w)
				}
				name := w[i+2 : i+2+end]
				if !validVar(name) {
					return nil, nil, fmt.Errorf("bad variable name %q", name)
				}
				if runtime[name] {
					used = append(used, name)
					b.WriteString(w[i : i+3+end])
				} else {
					v, _ := get(name)
					b.WriteString(v)
				}
				i += 2 + end
			default:
				b.WriteByte('$')
			}
		}
		out = append(out, b.String())
	}
	return out, used, nil
}

func validVar(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// shQuote quotes a word for /bin/sh.
func shQuote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

func shJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, w := range argv {
		q[i] = shQuote(w)
	}
	return strings.Join(q, " ")
}
