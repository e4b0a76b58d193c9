package lsb

import (
	"fmt"
	"strings"
)

// maxHeaderScan is how much of a script is searched for its header: the
// header is a comment block near the top; a script is not read to its end.
const maxHeaderScan = 64 << 10

// Header is the dependency information of one init script.
type Header struct {
	Kind        string   // "lsb" or "rc.d"
	Provides    []string // names the script answers to (the file name too)
	Requires    []string // LSB Required-Start, rc.d REQUIRE
	Should      []string // LSB Should-Start
	Before      []string // LSB X-Start-Before, rc.d BEFORE
	DefaultOn   []string // LSB Default-Start runlevels
	Keywords    []string // rc.d KEYWORD
	Interactive bool     // LSB X-Interactive: true
	Description string
}

// HeaderError is a malformed header line.
type HeaderError struct {
	Line int
	Err  error
}

func (e *HeaderError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *HeaderError) Unwrap() error { return e.Err }

// ParseHeader finds the LSB block (### BEGIN INIT INFO … ### END INIT INFO)
// or, failing that, the rc.d rcorder lines (# PROVIDE: …) in a script. ok
// is false when the script has neither. Unknown LSB fields are ignored (the
// LSB allows X- extensions); a field outside `# Name: value` form, an
// unterminated block or a second block is an error.
func ParseHeader(script []byte) (h Header, ok bool, err error) {
	if len(script) > maxHeaderScan {
		script = script[:maxHeaderScan]
	}
	lines := strings.Split(string(script), "\n")
	begin := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "### BEGIN INIT INFO" {
			begin = i
			break
		}
	}
	if begin >= 0 {
		h, err := parseLSB(lines, begin)
		return h, err == nil, err
	}
	return parseRCOrder(lines)
}

func parseLSB(lines []string, begin int) (Header, error) {
	h := Header{Kind: "lsb"}
	last := ""
	for i := begin + 1; i < len(lines); i++ {
		raw := strings.TrimRight(lines[i], "\r")
		t := strings.TrimSpace(raw)
		if t == "### END INIT INFO" {
			for _, l := range lines[i+1:] {
				if strings.TrimSpace(l) == "### BEGIN INIT INFO" {
					return h, &HeaderError{Line: i + 2, Err: fmt.Errorf("a second INIT INFO block")}
				}
			}
			return h, nil
		}
		if t == "" {
			continue // blank lines (and the end of the file) are no field
		}
		if !strings.HasPrefix(raw, "#") {
			return h, &HeaderError{Line: i + 1, Err: fmt.Errorf("not a comment inside INIT INFO: %q", clip(raw))}
		}
		body := raw[1:]
		// "#<tab>" or "#  " continues the previous field (Description).
		if (strings.HasPrefix(body, "\t") || strings.HasPrefix(body, "  ")) && last != "" {
			if last == "description" {
				h.Description += " " + strings.TrimSpace(body)
			}
			continue
		}
		body = strings.TrimSpace(body)
		if body == "" {
			continue
		}
		k, v, found := strings.Cut(body, ":")
		if !found || strings.ContainsAny(k, " \t") {
			return h, &HeaderError{Line: i + 1, Err: fmt.Errorf("expected '# Field: value', got %q", clip(raw))}
		}
		last = strings.ToLower(k)
		words := strings.Fields(v)
		switch last {
		case "provides":
			h.Provides = append(h.Provides, words...)
		case "required-start":
			h.Requires = append(h.Requires, words...)
		case "should-start":
			h.Should = append(h.Should, words...)
		case "x-start-before":
			h.Before = append(h.Before, words...)
		case "default-start":
			h.DefaultOn = append(h.DefaultOn, words...)
		case "x-interactive":
			h.Interactive = strings.EqualFold(strings.TrimSpace(v), "true")
		case "description", "short-description":
			if h.Description == "" || last == "description" {
				h.Description = strings.TrimSpace(v)
			}
		}
	}
	return h, &HeaderError{Line: begin + 1, Err: fmt.Errorf("BEGIN INIT INFO without END INIT INFO")}
}

// parseRCOrder reads FreeBSD/NetBSD rcorder lines: "# PROVIDE: a b",
// "# REQUIRE: …", "# BEFORE: …", "# KEYWORD: …", each may repeat.
func parseRCOrder(lines []string) (Header, bool, error) {
	h := Header{Kind: "rc.d"}
	found := false
	for i, raw := range lines {
		t := strings.TrimSpace(raw)
		if !strings.HasPrefix(t, "#") {
			continue
		}
		body := strings.TrimSpace(t[1:])
		k, v, ok := strings.Cut(body, ":")
		if !ok {
			continue
		}
		words := strings.Fields(v)
		switch k {
		case "PROVIDE":
			if len(words) == 0 {
				return h, false, &HeaderError{Line: i + 1, Err: fmt.Errorf("PROVIDE names nothing")}
			}
			h.Provides = append(h.Provides, words...)
			found = true
		case "REQUIRE":
			h.Requires = append(h.Requires, words...)
		case "BEFORE":
			h.Before = append(h.Before, words...)
		case "KEYWORD":
			h.Keywords = append(h.Keywords, words...)
		}
	}
	if !found && (len(h.Requires) > 0 || len(h.Before) > 0) {
		return h, false, fmt.Errorf("REQUIRE or BEFORE without PROVIDE")
	}
	return h, found, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
