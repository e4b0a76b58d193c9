package ctl

import (
	"testing"
)

func TestParseEscape(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want byte
		ok   bool
	}{
		{"", 0x1d, true}, {"^]", 0x1d, true}, {"^a", 1, true}, {"^A", 1, true}, {"^@", 0, true},
		{"~", '~', true}, {"^", '^', true}, {"ab", 0, false}, {"^1", 0, false}, {"é", 0, false},
	} {
		got, err := parseEscape(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseEscape(%q) = %#x, %v; want %#x ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// The detach sequence is found across reads; the escape key twice is one
// escape key; followed by anything else both bytes pass.
func TestEscaper(t *testing.T) {
	const esc = "\x1d"
	for _, tt := range []struct {
		name   string
		reads  []string
		sent   string
		detach bool
	}{
		{"plain", []string{"ls\r"}, "ls\r", false},
		{"detach", []string{"ab" + esc + "dxyz"}, "ab", true},
		{"split", []string{"ab" + esc, "d"}, "ab", true},
		{"double", []string{esc + esc + "d"}, esc + "d", false},
		{"other", []string{esc + "x"}, esc + "x", false},
		{"pending at end", []string{"a" + esc}, "a", false},
		{"capital D", []string{esc + "D"}, esc + "D", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := escaper{key: 0x1d}
			var sent []byte
			detach := false
			for _, r := range tt.reads {
				out, d := e.feed([]byte(r))
				sent = append(sent, out...)
				if d {
					detach = true
					break
				}
			}
			if string(sent) != tt.sent || detach != tt.detach {
				t.Errorf("sent %q detach %v; want %q %v", sent, detach, tt.sent, tt.detach)
			}
		})
	}
}
