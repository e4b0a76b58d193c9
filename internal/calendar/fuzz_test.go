package calendar

import (
	"testing"
	"time"
)

// FuzzParse holds any expression Parse accepts to three properties: its
// normalized form parses to itself, Next returns instants strictly after
// the one given, and asking again from just before an elapse finds it again.
func FuzzParse(f *testing.F) {
	for _, c := range systemdCases {
		f.Add(c.expr)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		norm := s.String()
		again, err := Parse(norm)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", expr, norm, err)
		}
		if again.String() != norm {
			t.Fatalf("Parse(%q) = %q, which normalizes to %q", expr, norm, again.String())
		}
		at := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)
		for range 3 {
			next, ok := s.Next(at)
			if !ok {
				return
			}
			if !next.After(at) {
				t.Fatalf("%q: Next(%v) = %v, not after it", norm, at, next)
			}
			if back, ok := s.Next(next.Add(-time.Microsecond)); !ok || !back.Equal(next) {
				t.Fatalf("%q: Next(%v - 1µs) = %v, want %v", norm, next, back, next)
			}
			at = next
		}
	})
}

// FuzzParseDuration: whatever parses is a span of whole microseconds, never
// negative.
func FuzzParseDuration(f *testing.F) {
	for _, c := range spanCases {
		f.Add(c.text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d, err := ParseDuration(text)
		if err == nil && (d < 0 || d%time.Microsecond != 0) {
			t.Fatalf("ParseDuration(%q) = %v", text, d)
		}
	})
}
