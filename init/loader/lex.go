package loader

import (
	"errors"
	"fmt"
	"strings"
)

// rawLine is one logical line of a description: a setting or a meta command.
type rawLine struct {
	file string // fragment path
	line int    // line number of its first physical line
	key  string // setting name, or "@include", "@include-opt", "@meta"
	op   string // "=", ":", "+=" ("" for meta commands)
	val  string // the value, unprocessed
}

// splitLines joins continuation lines and drops blank and comment lines;
// it takes each logical line from b.
func splitLines(file string, data string, b *budget) ([]rawLine, error) {
	phys := strings.Split(data, "\n")
	// At most one per line and within the budget: grown, a target's
	// thousand lines were copied ten times.
	out := make([]rawLine, 0, min(len(phys), b.lines))
	for i := 0; i < len(phys); i++ {
		start := i + 1
		text := strings.TrimSuffix(phys[i], "\r")
		trimmed := strings.TrimLeft(text, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if endsWithBackslash(text) {
			// Joined in a builder: concatenating would copy the value so
			// far once per continuation line.
			var joined strings.Builder
			for endsWithBackslash(text) {
				if i+1 >= len(phys) || phys[i+1] == "" || (phys[i+1][0] != ' ' && phys[i+1][0] != '\t') {
					return nil, &Error{File: file, Line: i + 1, Err: errors.New("backslash at end of line, but the next line does not continue it (it must start with whitespace)")}
				}
				joined.WriteString(text[:len(text)-1])
				joined.WriteByte(' ')
				i++
				text = strings.TrimLeft(strings.TrimSuffix(phys[i], "\r"), " \t")
			}
			joined.WriteString(text)
			text = joined.String()
		}
		line := strings.TrimLeft(text, " \t")
		if line == "" { // a lone backslash continued by blanks
			continue
		}
		if err := b.line(); err != nil {
			return nil, &Error{File: file, Line: start, Err: err}
		}
		rl, err := parseLine(line)
		if err != nil {
			return nil, &Error{File: file, Line: start, Err: err}
		}
		rl.file, rl.line = file, start
		out = append(out, rl)
	}
	return out, nil
}

func endsWithBackslash(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// parseLine splits `key = value`, `key: value`, `key += value` or `@cmd args`.
func parseLine(s string) (rawLine, error) {
	if s[0] == '@' {
		j := 1
		for j < len(s) && isKeyByte(s[j]) {
			j++
		}
		cmd := s[:j]
		switch cmd {
		case "@include", "@include-opt", "@meta":
		default:
			return rawLine{}, fmt.Errorf("unknown meta command %q", cmd)
		}
		if j < len(s) && s[j] != ' ' && s[j] != '\t' {
			return rawLine{}, fmt.Errorf("unknown meta command %q", strings.Fields(s)[0])
		}
		return rawLine{key: cmd, val: strings.TrimLeft(s[j:], " \t")}, nil
	}
	j := 0
	for j < len(s) && isKeyByte(s[j]) {
		j++
	}
	if j == 0 {
		return rawLine{}, fmt.Errorf("expected a setting name at %q", clip(s))
	}
	key := s[:j]
	rest := strings.TrimLeft(s[j:], " \t")
	var op string
	switch {
	case strings.HasPrefix(rest, "+="):
		op = "+="
	case strings.HasPrefix(rest, "="):
		op = "="
	case strings.HasPrefix(rest, ":"):
		op = ":"
	default:
		return rawLine{}, fmt.Errorf("setting '%s': expected '=', ':' or '+=' after the name", key)
	}
	return rawLine{key: key, op: op, val: strings.TrimLeft(rest[len(op):], " \t")}, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// lookupFunc looks a variable up for substitution.
type lookupFunc func(name string) (string, bool)

// words splits a value into words: quotes group, backslash escapes, `#`
// after whitespace starts a comment, and variables are substituted.
// A plain $X yields part of one word (possibly an empty word); $/X splits
// its value into words and vanishes when empty. What substitution produces
// is taken from b before it is copied, so a value referenced many times
// cannot multiply into gigabytes.
func words(val string, env lookupFunc, b *budget) ([]string, error) {
	var out []string
	// A word is built in buf (on the stack unless long) and made a
	// string once, through b's table of the words already read.
	var buf [128]byte
	cur := buf[:0]
	started, inQuote := false, false
	flush := func() {
		if started {
			out = append(out, b.str(cur))
		}
		cur = cur[:0]
		started = false
	}
	for i := 0; i < len(val); i++ {
		c := val[i]
		switch {
		case !inQuote && (c == ' ' || c == '\t'):
			flush()
		case !inQuote && c == '#' && !started && (i == 0 || val[i-1] == ' ' || val[i-1] == '\t'):
			flush()
			return out, nil
		case c == '"':
			inQuote = !inQuote
			started = true
		case c == '\\':
			if i+1 >= len(val) {
				return nil, errors.New("backslash at end of value")
			}
			i++
			cur = append(cur, val[i])
			started = true
		case c == '$':
			if i+1 < len(val) && val[i+1] == '$' {
				cur = append(cur, '$')
				started = true
				i++
				continue
			}
			split := false
			j := i + 1
			if j < len(val) && val[j] == '/' {
				if inQuote {
					return nil, errors.New("$/ word splitting inside double quotes")
				}
				split = true
				j++
			}
			v, n, err := expand(val[j:], env)
			if err != nil {
				return nil, err
			}
			i = j + n - 1
			if err := b.subst(len(v), 0); err != nil {
				return nil, err
			}
			if !split {
				cur = append(cur, v...)
				started = true
				continue
			}
			first := true
			for p := range strings.FieldsSeq(v) {
				if err := b.subst(0, 1); err != nil {
					return nil, err
				}
				if !first {
					flush()
				}
				first = false
				cur = append(cur, p...)
				started = true
			}
		default:
			cur = append(cur, c)
			started = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated double quote")
	}
	flush()
	return out, nil
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isNameByte(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

// expand reads a variable reference after '$' (and after '/'), returning
// its value and how many bytes of s it used.
func expand(s string, env lookupFunc) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("'$' at end of value (use $$ for a dollar sign)")
	}
	if s[0] >= '0' && s[0] <= '9' {
		v, _ := env(s[:1])
		return v, 1, nil
	}
	if isNameStart(s[0]) {
		j := 1
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		v, _ := env(s[:j])
		return v, j, nil
	}
	if s[0] != '{' {
		return "", 0, fmt.Errorf("invalid variable reference at %q (use $$ for a dollar sign)", clip("$"+s))
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return "", 0, fmt.Errorf("unterminated variable reference %q", clip("$"+s))
	}
	body := s[1:end]
	j := 0
	if j < len(body) && body[j] >= '0' && body[j] <= '9' {
		j = 1
	} else {
		for j < len(body) && isNameByte(body[j]) {
			j++
		}
		if j == 0 || !isNameStart(body[0]) {
			return "", 0, fmt.Errorf("invalid variable name in %q", "${"+body+"}")
		}
	}
	name, rest := body[:j], body[j:]
	v, set := env(name)
	var op, word string
	for _, o := range []string{":-", ":+", "-", "+"} {
		if strings.HasPrefix(rest, o) {
			op, word = o, rest[len(o):]
			break
		}
	}
	if op == "" && rest != "" {
		return "", 0, fmt.Errorf("invalid variable reference %q", "${"+body+"}")
	}
	switch op {
	case ":-":
		if v == "" {
			v = word
		}
	case "-":
		if !set {
			v = word
		}
	case ":+":
		if v != "" {
			v = word
		}
	case "+":
		if set {
			v = word
		} else {
			v = ""
		}
	}
	return v, end + 1, nil
}
