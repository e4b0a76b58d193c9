package calendar

import (
	"strings"
	"testing"
	"time"
)

func checkSystemdCase(t *testing.T, c systemdCase) {
	t.Helper()
	s, err := Parse(c.expr)
	if c.norm == "" {
		if err == nil {
			t.Errorf("Parse(%q) = %q, systemd rejects it", c.expr, s)
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
