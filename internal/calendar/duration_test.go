package calendar

import (
	"errors"
	"testing"
	"time"
)

// Expected values from systemd 252's `systemd-analyze timespan SPAN`
// (its "μs:" line); -1 is a span it rejects.
var spanCases = []struct {
	text string
	want time.Duration
}{
	{"5min", 300000000 * time.Microsecond},
	{"1h 30s", 3630000000 * time.Microsecond},
	{"1h30s", 3630000000 * time.Microsecond},
	{"2d", 172800000000 * time.Microsecond},
	{"90", 90000000 * time.Microsecond},
	{"1.5h", 5400000000 * time.Microsecond},
	{"1h 30", 3630000000 * time.Microsecond},
	{"5 min", 300000000 * time.Microsecond},
	{"1M", 2629800000000 * time.Microsecond},
	{"1y", 31557600000000 * time.Microsecond},
	{"1w", 604800000000 * time.Microsecond},
	{"10ms", 10000 * time.Microsecond},
	{"0", 0},
	{"1hour", 3600000000 * time.Microsecond},
	{"2 hours", 7200000000 * time.Microsecond},
	{"3weeks", 1814400000000 * time.Microsecond},
	{"1m", 60000000 * time.Microsecond},
	{"1 h 1 h", 7200000000 * time.Microsecond},
	{"1us", 1 * time.Microsecond},
	{".5s", 500000 * time.Microsecond},
	{"1.25min", 75000000 * time.Microsecond},
	{"2d 3h 4min 5s 6ms 7us", 183845006007 * time.Microsecond},
	{"1.123456789s", 1123456 * time.Microsecond},
	{"min", -1},
	{"5.s", -1},
	{"1e3", -1},
	{"1 x", -1},
	// Not from systemd: a sign is no number, and a span past time.Duration's
	// 292 years is refused rather than wrapped (systemd's would fit).
	{"-5s", -1},
	{"99999999999999999999s", -1},
	{"300y", -1},
	{"1..2s", -1},
	{"5sec", 5000000 * time.Microsecond},
	{"1min1", 61000000 * time.Microsecond},
	{"5 minutes", 300000000 * time.Microsecond},
	{"0.000001s", 1 * time.Microsecond},
	{"1.0000001s", 1000000 * time.Microsecond},
	{"  5min  ", 300000000 * time.Microsecond},
}

func TestParseDuration(t *testing.T) {
	for _, c := range spanCases {
		got, err := ParseDuration(c.text)
		switch {
		case c.want < 0 && !errors.Is(err, ErrSpan):
			t.Errorf("ParseDuration(%q) = %v, %v; systemd rejects it", c.text, got, err)
		case c.want >= 0 && err != nil:
			t.Errorf("ParseDuration(%q): %v", c.text, err)
		case c.want >= 0 && got != c.want:
			t.Errorf("ParseDuration(%q) = %v, systemd says %v", c.text, got, c.want)
		}
	}
}
