package calendar

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// usec is one second in the unit seconds are kept in (microseconds), so that
// fractional seconds need no second representation.
const usec = 1000000

// Year bounds systemd accepts in an expression.
const (
	minYear = 1970
	maxYear = 2199
)

// item is one element of a component's list: start, or start..stop stepping
// by rep. stop < 0 means open (a/rep repeats to the component's end); rep 0
// means the single value start.
type item struct{ start, stop, rep int }

// field is one component's list; nil is *.
type field []item

// Spec is a parsed calendar expression. Its zero value is not meaningful;
// use Parse.
type Spec struct {
	weekdays   uint8 // bit 0 = Monday .. bit 6 = Sunday; 0 = any day
	year       field
	month      field
	day        field
	endOfMonth bool // day counts back from the month's last day (~)
	hour       field
	minute     field
	second     field // in microseconds
	loc        *time.Location
	zone       string // as normalized: "UTC" or the zone's name; "" = caller's
}

// shorthand is the full expression of a shorthand such as daily (a switch,
// not a map literal built at every program start).
func shorthand(name string) (string, bool) {
	switch name {
	case "minutely":
		return "*-*-* *:*:00", true
	case "hourly":
		return "*-*-* *:00:00", true
	case "daily":
		return "*-*-* 00:00:00", true
	case "monthly":
		return "*-*-01 00:00:00", true
	case "weekly":
		return "Mon *-*-* 00:00:00", true
	case "yearly", "annually":
		return "*-01-01 00:00:00", true
	case "quarterly":
		return "*-01,04,07,10-01 00:00:00", true
	case "semiannually":
		return "*-01,07-01 00:00:00", true
	}
	return "", false
}

var dayNames = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

var longDayNames = [7]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// ErrSyntax is wrapped by every error of Parse, so that callers (a service
// loader) can tell a bad expression from anything else.
var ErrSyntax = errors.New("invalid calendar expression")

func syntaxErr(expr, why string) error {
	return fmt.Errorf("%w %q: %s", ErrSyntax, expr, why)
}

// Parse reads a calendar expression (see the package doc). Time zone names
// are looked up with time.LoadLocation.
func Parse(expr string) (*Spec, error) {
	if expr == "" || strings.TrimSpace(expr) != expr {
		return nil, syntaxErr(expr, "empty or padded with spaces")
	}
	s := &Spec{}
	words := strings.Fields(expr)
	if n := len(words); n > 1 {
		if loc, name, ok := zone(words[n-1]); ok {
			s.loc, s.zone = loc, name
			words = words[:n-1]
		}
	}
	if len(words) == 1 {
		if full, ok := shorthand(strings.ToLower(words[0])); ok {
			words = strings.Fields(full)
		} else if strings.HasPrefix(words[0], "@") {
			return s.epoch(expr, words[0][1:])
		}
	}
	if len(words) > 0 && isLetter(words[0][0]) {
		mask, err := parseWeekdays(words[0])
		if err != nil {
			return nil, syntaxErr(expr, err.Error())
		}
		s.weekdays = mask
		words = words[1:]
	}
	var date, clock string
	switch len(words) {
	case 0:
	case 1:
		if strings.Contains(words[0], ":") {
			clock = words[0]
		} else {
			date = words[0]
		}
	case 2:
		date, clock = words[0], words[1]
	default:
		return nil, syntaxErr(expr, "too many words")
	}
	if err := s.parseDate(date); err != nil {
		return nil, syntaxErr(expr, err.Error())
	}
	if err := s.parseTime(clock); err != nil {
		return nil, syntaxErr(expr, err.Error())
	}
	return s, nil
}

// zone reads a trailing time zone word.
func zone(w string) (*time.Location, string, bool) {
	if strings.EqualFold(w, "UTC") {
		return time.UTC, "UTC", true
	}
	// Only plausible zone names reach the file system; "Local" is Go's
	// name for the machine's zone, not a zone.
	if w == "Local" || !isLetter(w[0]) || strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-") != "" {
		return nil, "", false
	}
	loc, err := time.LoadLocation(w)
	if err != nil {
		return nil, "", false
	}
	return loc, w, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// epoch makes the spec of one instant, @SECONDS, which systemd shows in UTC.
func (s *Spec) epoch(expr, digits string) (*Spec, error) {
	n, err := strconv.ParseInt(digits, 10, 64) // "+5" too, as systemd
	if err != nil || n < 0 {
		return nil, syntaxErr(expr, "bad @seconds")
	}
	t := time.Unix(n, 0).UTC()
	if t.Year() > maxYear {
		return nil, syntaxErr(expr, "@seconds beyond the year 2199")
	}
	one := func(v int) field { return field{{v, -1, 0}} }
	*s = Spec{
		year: one(t.Year()), month: one(int(t.Month())), day: one(t.Day()),
		hour: one(t.Hour()), minute: one(t.Minute()), second: one(t.Second() * usec),
		loc: time.UTC, zone: "UTC",
	}
	return s, nil
}

func parseWeekdays(w string) (uint8, error) {
	var mask uint8
	for part := range strings.SplitSeq(w, ",") {
		lo, hi, ranged := strings.Cut(part, "..")
		if !ranged {
			lo, hi, ranged = strings.Cut(part, "-")
		}
		a, err := weekday(lo)
		if err != nil {
			return 0, err
		}
		b := a
		if ranged {
			if b, err = weekday(hi); err != nil {
				return 0, err
			}
			if b < a {
				return 0, fmt.Errorf("weekday range %s runs backwards", part)
			}
		}
		for d := a; d <= b; d++ {
			mask |= 1 << d
		}
	}
	if mask == 0x7f {
		mask = 0
	}
	return mask, nil
}

func weekday(name string) (int, error) {
	l := strings.ToLower(name)
	for i := range dayNames {
		if l == strings.ToLower(dayNames[i]) || l == longDayNames[i] {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown weekday %q", name)
}

// bounds of a component: its smallest and largest value, and the unit one
// step of a range moves.
type bounds struct {
	min, max, unit int
	fromEnd        bool // a ~ day: an open a/n counts down towards the end
}

var (
	yearB   = bounds{min: minYear, max: maxYear, unit: 1}
	monthB  = bounds{min: 1, max: 12, unit: 1}
	dayB    = bounds{min: 1, max: 31, unit: 1}
	endDayB = bounds{min: 1, max: 28, unit: 1, fromEnd: true}
	hourB   = bounds{min: 0, max: 23, unit: 1}
	minuteB = bounds{min: 0, max: 59, unit: 1}
	secondB = bounds{min: 0, max: 60*usec - 1, unit: usec}
)

func (s *Spec) parseDate(date string) error {
	if date == "" {
		return nil
	}
	var parts []string
	rest := date
	if i := strings.LastIndexByte(rest, '~'); i >= 0 {
		s.endOfMonth = true
		parts = append(strings.Split(rest[:i], "-"), rest[i+1:])
	} else {
		parts = strings.Split(rest, "-")
	}
	var err error
	switch len(parts) {
	case 3:
		if s.year, err = parseField(parts[0], yearB, twoDigitYear); err != nil {
			return fmt.Errorf("year: %w", err)
		}
		parts = parts[1:]
	case 2:
	default:
		return fmt.Errorf("date %q is not [YEAR-]MONTH-DAY", date)
	}
	if s.month, err = parseField(parts[0], monthB, nil); err != nil {
		return fmt.Errorf("month: %w", err)
	}
	b := dayB
	if s.endOfMonth {
		b = endDayB
	}
	if s.day, err = parseField(parts[1], b, nil); err != nil {
		return fmt.Errorf("day: %w", err)
	}
	if s.day == nil {
		s.endOfMonth = false // *-*~* is every day, written *-*-*
	}
	return nil
}

// twoDigitYear reads 69 as 2069 and 70 as 1970, as systemd does: by
// value, so 0069 is 2069 too.
func twoDigitYear(v int) int {
	if v >= 100 {
		return v
	}
	if v < 70 {
		return v + 2000
	}
	return v + 1900
}

func (s *Spec) parseTime(clock string) error {
	s.second = field{{0, -1, 0}}
	if clock == "" {
		s.hour, s.minute = field{{0, -1, 0}}, field{{0, -1, 0}}
		return nil
	}
	parts := strings.Split(clock, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return fmt.Errorf("time %q is not HOUR:MINUTE[:SECOND]", clock)
	}
	var err error
	if s.hour, err = parseField(parts[0], hourB, nil); err != nil {
		return fmt.Errorf("hour: %w", err)
	}
	if s.minute, err = parseField(parts[1], minuteB, nil); err != nil {
		return fmt.Errorf("minute: %w", err)
	}
	if len(parts) == 3 {
		if s.second, err = parseField(parts[2], secondB, nil); err != nil {
			return fmt.Errorf("second: %w", err)
		}
	}
	return nil
}

// parseField reads *, or a comma list of a, a..b, a/n, a..b/n. fix, if not
// nil, adjusts each value as written (two-digit years).
func parseField(text string, b bounds, fix func(int) int) (field, error) {
	if text == "*" {
		return nil, nil
	}
	var f field
	for part := range strings.SplitSeq(text, ",") {
		it := item{stop: -1}
		span, rep, hasRep := strings.Cut(part, "/")
		lo, hi, ranged := strings.Cut(span, "..")
		var err error
		if it.start, err = number(lo, b, fix); err != nil {
			return nil, err
		}
		if ranged {
			if it.stop, err = number(hi, b, fix); err != nil {
				return nil, err
			}
			if it.stop < it.start {
				return nil, fmt.Errorf("range %s runs backwards", span)
			}
			it.rep = b.unit
		}
		if hasRep {
			if it.rep, err = number(rep, bounds{min: 0, max: 1 << 40, unit: b.unit}, nil); err != nil {
				return nil, err
			}
			if it.rep == 0 {
				return nil, fmt.Errorf("repetition /%s is zero", rep)
			}
		}
		switch {
		case it.stop >= 0:
			// A range keeps only the values its steps reach; one that
			// reaches only its start is that value.
			if it.stop = it.start + (it.stop-it.start)/it.rep*it.rep; it.stop == it.start {
				if b.unit == usec && !hasRep {
					return nil, fmt.Errorf("seconds range %s holds one value", span) // as systemd
				}
				it.stop, it.rep = -1, 0
			}
		case it.rep > 0 && b.fromEnd && it.start-it.rep < b.min,
			it.rep > 0 && !b.fromEnd && it.start+it.rep > b.max:
			// systemd wants an open repetition to repeat at least once.
			return nil, fmt.Errorf("%s never repeats", part)
		}
		f = append(f, it)
	}
	slices.SortFunc(f, func(x, y item) int {
		if x.start != y.start {
			return x.start - y.start
		}
		if x.stop != y.stop {
			return x.stop - y.stop
		}
		return x.rep - y.rep
	})
	return slices.Compact(f), nil
}

// number reads one decimal value of a component; with unit usec it may
// carry up to six decimals (more are dropped, as systemd drops them).
func number(text string, b bounds, fix func(int) int) (int, error) {
	whole, frac, dotted := strings.Cut(text, ".")
	if whole == "" || len(whole) > 12 || strings.Trim(whole, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a number", text)
	}
	v := 0
	for _, c := range whole {
		v = v*10 + int(c-'0')
	}
	if fix != nil {
		v = fix(v)
	}
	if b.unit == usec {
		if dotted {
			if frac == "" || strings.Trim(frac, "0123456789") != "" {
				return 0, fmt.Errorf("%q is not a number", text)
			}
			frac = (frac + "000000")[:6]
		} else {
			frac = "0"
		}
		f, _ := strconv.Atoi(frac)
		v = v*usec + f
	} else if dotted {
		return 0, fmt.Errorf("%q is not a whole number", text)
	}
	if v < b.min || v > b.max {
		return 0, fmt.Errorf("%q is out of range", text)
	}
	return v, nil
}

// String is the normalized form, as systemd-analyze calendar prints it.
func (s *Spec) String() string {
	var w strings.Builder
	if s.weekdays != 0 {
		w.WriteString(formatWeekdays(s.weekdays))
		w.WriteByte(' ')
	}
	sep := "-"
	if s.endOfMonth {
		sep = "~"
	}
	fmt.Fprintf(&w, "%s-%s%s%s %s:%s:%s",
		s.year.format(4, 1), s.month.format(2, 1), sep, s.day.format(2, 1),
		s.hour.format(2, 1), s.minute.format(2, 1), s.second.format(2, usec))
	if s.zone != "" {
		w.WriteString(" " + s.zone)
	}
	return w.String()
}

// formatWeekdays writes runs of three or more days as ranges.
func formatWeekdays(mask uint8) string {
	var parts []string
	for d := 0; d < 7; {
		if mask&(1<<d) == 0 {
			d++
			continue
		}
		e := d
		for e+1 < 7 && mask&(1<<(e+1)) != 0 {
			e++
		}
		switch e - d {
		case 0:
			parts = append(parts, dayNames[d])
		case 1:
			parts = append(parts, dayNames[d], dayNames[e])
		default:
			parts = append(parts, dayNames[d]+".."+dayNames[e])
		}
		d = e + 1
	}
	return strings.Join(parts, ",")
}

func (f field) format(width, unit int) string {
	if f == nil {
		return "*"
	}
	parts := make([]string, len(f))
	for i, it := range f {
		p := formatValue(it.start, width, unit)
		if it.stop >= 0 {
			p += ".." + formatValue(it.stop, width, unit)
		}
		if it.rep > 0 && (it.stop < 0 || it.rep != unit) {
			p += "/" + formatValue(it.rep, 0, unit)
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

func formatValue(v, width, unit int) string {
	if unit == usec {
		if v%usec != 0 {
			return fmt.Sprintf("%0*d.%06d", width, v/usec, v%usec)
		}
		v /= usec
	}
	return fmt.Sprintf("%0*d", width, v)
}
