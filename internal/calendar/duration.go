package calendar

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// spanUnit is a unit of systemd time spans. ParseDuration looks up a term's
// whole run of letters, so "ms" is never read as "m" and "s". A switch, not
// a map: a map literal is built at every start of each program that links
// the package (ginitctl, for one request), whether or not it parses a span.
func spanUnit(name string) (time.Duration, bool) {
	switch name {
	case "usec", "us", "µs", "μs":
		return time.Microsecond, true
	case "msec", "ms":
		return time.Millisecond, true
	case "seconds", "second", "sec", "s":
		return time.Second, true
	case "minutes", "minute", "min", "m":
		return time.Minute, true
	case "hours", "hour", "hr", "h":
		return time.Hour, true
	case "days", "day", "d":
		return 24 * time.Hour, true
	case "weeks", "week", "w":
		return 7 * 24 * time.Hour, true
	case "months", "month", "M":
		// systemd's month and year are averages: 30.44 and 365.25 days.
		return 2629800 * time.Second, true
	case "years", "year", "y":
		return 31557600 * time.Second, true
	}
	return 0, false
}

// ErrSpan is wrapped by every error of ParseDuration.
var ErrSpan = errors.New("invalid time span")

// ParseDuration reads a systemd time span (systemd.time(7)): terms of a
// number, optionally with decimals, and a unit, with or without spaces
// between them ("1h 30s", "1h30s", "1.5h"); a number without a unit is
// seconds ("90", "1h 30").
func ParseDuration(text string) (time.Duration, error) {
	rest := strings.TrimSpace(text)
	if rest == "" {
		return 0, fmt.Errorf("%w %q: empty", ErrSpan, text)
	}
	var total time.Duration
	for rest != "" {
		n := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if n < 0 {
			n = len(rest)
		}
		num := rest[:n]
		rest = strings.TrimLeft(rest[n:], " \t")
		u := strings.IndexFunc(rest, func(r rune) bool { return r == ' ' || r == '\t' || r == '.' || r >= '0' && r <= '9' })
		if u < 0 {
			u = len(rest)
		}
		name := rest[:u]
		rest = strings.TrimLeft(rest[u:], " \t")
		unit := time.Second
		if name != "" {
			var ok bool
			if unit, ok = spanUnit(name); !ok {
				return 0, fmt.Errorf("%w %q: unknown unit %q", ErrSpan, text, name)
			}
		}
		d, err := spanTerm(num, unit)
		if err != nil {
			return 0, fmt.Errorf("%w %q: %w", ErrSpan, text, err)
		}
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("%w %q: too long", ErrSpan, text)
		}
		total += d
	}
	return total, nil
}

// spanTerm is num (digits, or digits.digits, or .digits) units.
func spanTerm(num string, unit time.Duration) (time.Duration, error) {
	whole, frac, dotted := strings.Cut(num, ".")
	if num == "" || dotted && (frac == "" || strings.Contains(frac, ".")) {
		return 0, fmt.Errorf("%q is not a number", num)
	}
	var d time.Duration
	for _, c := range whole {
		if d > (math.MaxInt64-9)/10/unit {
			return 0, errors.New("too long")
		}
		d = d*10 + time.Duration(c-'0')
	}
	d *= unit
	scale := unit
	for _, c := range frac {
		scale /= 10
		d += time.Duration(c-'0') * scale
	}
	return d.Truncate(time.Microsecond), nil // systemd counts in microseconds
}
