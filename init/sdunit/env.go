package sdunit

import (
	"fmt"
	"strings"
)

// envList is an ordered set of variables (later assignments win, the
// first position stays).
type envList struct {
	keys []string
	vals map[string]string
}

func (e *envList) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *envList) get(k string) (string, bool) { v, ok := e.vals[k]; return v, ok }

func (e *envList) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

// parseEnvironment reads an Environment= value: space-separated
// NAME=VALUE words, each may be quoted as a whole or in part.
func parseEnvironment(v string, env *envList) error {
	ws, err := splitWords(v)
	if err != nil {
		return err
	}
	for _, w := range ws {
		k, val, ok := strings.Cut(w, "=")
		if !ok || !validVar(k) {
			return fmt.Errorf("expected NAME=VALUE, got %q", w)
		}
		env.set(k, val)
	}
	return nil
}

// parseEnvFile reads an EnvironmentFile: NAME=VALUE lines, # and ;
// comments, an optional "export ", values in double quotes (with \ escapes
// for \ " $ ` and newline) or single quotes (literal), unquoted values with
// trailing whitespace dropped and backslash continuing a line. A bad line is
// an error with its number.
func parseEnvFile(data string, env *envList) error {
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		for strings.HasSuffix(line, "\\") && !strings.HasSuffix(line, "\\\\") && i+1 < len(lines) && !strings.ContainsAny(line, "\"'") {
			i++
			line = line[:len(line)-1] + strings.TrimSpace(lines[i])
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, rest, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !validVar(k) {
			return fmt.Errorf("line %d: expected NAME=VALUE, got %q", n, clip(line))
		}
		rest = strings.TrimLeft(rest, " \t")
		val, err := envValue(rest)
		for err == errOpenQuote && i+1 < len(lines) {
			i++
			rest += "\n" + strings.TrimRight(lines[i], "\r")
			val, err = envValue(rest)
		}
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", n, k, err)
		}
		env.set(k, val)
	}
	return nil
}

var errOpenQuote = fmt.Errorf("unterminated quote")

// envValue decodes the value part of an environment file line.
func envValue(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", errOpenQuote
			}
			b.WriteString(s[i+1 : i+1+end])
			i += 1 + end
		case '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\\\"$`\n", s[j+1]) >= 0 {
					if s[j+1] != '\n' {
						b.WriteByte(s[j+1])
					}
					j++
					continue
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return "", errOpenQuote
			}
			i = j
		case '\\':
			if i+1 < len(s) {
				b.WriteByte(s[i+1])
				i++
			}
		case '#':
			if i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
				return strings.TrimRight(b.String(), " \t"), nil
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimRight(b.String(), " \t"), nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
