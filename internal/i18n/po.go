package i18n

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Catalog maps a msgid to its msgstr.
type Catalog map[string]string

// maxPO bounds a catalog: the shipped ones are a few KiB.
const maxPO = 4 << 20

// ParsePO reads the subset of the gettext .po format the catalogs use:
// comments, msgctxt-free msgid/msgstr pairs whose strings may continue on
// following quoted lines, and the header entry (msgid ""), which is
// skipped. Plural forms and contexts are refused, as is an entry marked
// fuzzy's translation (gettext ignores it too). Errors name the line.
func ParsePO(data []byte) (Catalog, error) {
	if len(data) > maxPO {
		return nil, fmt.Errorf("catalog of %d bytes: more than %d", len(data), maxPO)
	}
	cat := Catalog{}
	var (
		id, str       strings.Builder
		cur           *strings.Builder // the string a continuation line extends
		haveID, fuzzy bool
		haveStr       bool
		idLine        int
	)
	flush := func() error {
		if !haveID {
			return nil
		}
		k := id.String()
		if k != "" && !fuzzy {
			if _, dup := cat[k]; dup {
				return fmt.Errorf("line %d: msgid %q appears twice", idLine, k)
			}
			cat[k] = str.String()
		}
		id.Reset()
		str.Reset()
		haveID, haveStr, fuzzy, cur = false, false, false, nil
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxPO)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			cur = nil
		case strings.HasPrefix(line, "#,"):
			if err := flush(); err != nil {
				return nil, err
			}
			fuzzy = strings.Contains(line, "fuzzy")
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "msgid_plural"), strings.HasPrefix(line, "msgctxt"), strings.HasPrefix(line, "msgstr["):
			return nil, fmt.Errorf("line %d: %s is not supported", n, strings.Fields(line)[0])
		case strings.HasPrefix(line, "msgid "):
			// A "#, fuzzy" line before this msgid marks it; one that
			// marked the previous entry ends with that entry.
			if haveID && !haveStr {
				return nil, fmt.Errorf("line %d: msgid without msgstr", idLine)
			}
			if haveID {
				if err := flush(); err != nil {
					return nil, err
				}
			}
			s, err := poString(line[len("msgid "):])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			id.WriteString(s)
			haveID, cur, idLine = true, &id, n
		case strings.HasPrefix(line, "msgstr "):
			if !haveID || haveStr {
				return nil, fmt.Errorf("line %d: msgstr without a msgid before it", n)
			}
			s, err := poString(line[len("msgstr "):])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			str.WriteString(s)
			cur, haveStr = &str, true
		case strings.HasPrefix(line, `"`):
			if cur == nil {
				return nil, fmt.Errorf("line %d: a string outside an entry", n)
			}
			s, err := poString(line)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			cur.WriteString(s)
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", n, firstWord(line))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if haveID && !haveStr {
		return nil, fmt.Errorf("line %d: msgid without msgstr", idLine)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return cat, nil
}

// poString decodes one C-quoted string ("..." with \n, \t, \", \\).
func poString(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("%q is not a quoted string", firstWord(s))
	}
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '"' {
			return "", fmt.Errorf("unescaped quote in %s", s)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(body) {
			return "", fmt.Errorf("backslash at the end of %s", s)
		}
		switch body[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '"', '\\':
			b.WriteByte(body[i])
		default:
			return "", fmt.Errorf("unknown escape \\%c in %s", body[i], s)
		}
	}
	return b.String(), nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		s = f[0]
	}
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)[1 : len(strconv.Quote(s))-1]
}
