package calendar

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func checkSystemdCase(t *testing.T, c systemdCase) {
	t.Helper()
	s, err := Parse(c.expr)
	if c.norm == "" {
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %q, %v; systemd rejects it", c.expr, s, err)
		}
		return
	}
	if err != nil {
		t.Errorf("Parse(%q): %v", c.expr, err)
		return
	}
	if got := s.String(); got != c.norm {
		t.Errorf("Parse(%q).String() = %q, systemd says %q", c.expr, got, c.norm)
	}
	base, err := time.Parse("2006-01-02 15:04:05 MST", c.base)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	at := base
	for range 3 {
		next, ok := s.Next(at)
		if !ok {
			break
		}
		got = append(got, next.UTC().Format(time.DateTime))
		at = next
	}
	if strings.Join(got, ", ") != strings.Join(c.next, ", ") {
		t.Errorf("%q after %s: elapses %v, systemd says %v", c.expr, c.base, got, c.next)
	}
}

func TestSystemdCalendar(t *testing.T) {
	for _, table := range []struct {
		name  string
		cases []systemdCase
	}{
		{"plain", systemdCases},
		{"dst", systemdDSTCases},
		{"month ends", systemdMonthEndCases},
	} {
		t.Run(table.name, func(t *testing.T) {
			for _, c := range table.cases {
				checkSystemdCase(t, c)
			}
		})
	}
}

// Without a zone of its own an expression is read in the location of the
// instant it is given (the caller passes time.Local's now).
func TestNextInCallersZone(t *testing.T) {
	cases := []struct{ zone, expr, after, want string }{
		{"Europe/Berlin", "daily", "2026-12-02 10:00:00", "2026-12-02 23:00:00"},
		{"America/New_York", "daily", "2026-12-02 10:00:00", "2026-12-03 05:00:00"},
		{"America/New_York", "daily UTC", "2026-12-02 10:00:00", "2026-12-03 00:00:00"},
		{"America/New_York", "*-*-* 02:30", "2026-03-08 00:00:00", "2026-03-09 06:30:00"}, // 02:30 skipped on the 8th
	}
	for _, c := range cases {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := time.Parse(time.DateTime, c.after)
		next, ok := mustSpec(t, c.expr).Next(after.In(loc))
		if got := next.UTC().Format(time.DateTime); !ok || got != c.want || next.Location() != loc {
			t.Errorf("%q in %s after %s UTC = %s (%v, %v), want %s", c.expr, c.zone, c.after, got, ok, next.Location(), c.want)
		}
	}
}
