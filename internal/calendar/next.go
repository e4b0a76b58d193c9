package calendar

import "time"

// wall is a reading of a wall clock: the fields a calendar expression
// matches, with seconds in microseconds. It may name a time that does not
// exist in a zone (inside a spring-forward gap).
type wall struct{ year, month, day, hour, minute, usec int }

func wallOf(t time.Time) wall {
	return wall{t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()*usec + t.Nanosecond()/1000}
}

// utc reads w as if it were UTC: the zone-free instant a zone's offsets
// are subtracted from.
func (w wall) utc() time.Time {
	return time.Date(w.year, time.Month(w.month), w.day, w.hour, w.minute, 0, w.usec*1000, time.UTC)
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Carries to the start of the next unit; time.Date normalizes overflow.
func (w wall) nextYear() wall { return wall{year: w.year + 1, month: 1, day: 1} }
func (w wall) nextMonth() wall {
	return wallOf(time.Date(w.year, time.Month(w.month)+1, 1, 0, 0, 0, 0, time.UTC))
}
func (w wall) nextDay() wall {
	return wallOf(time.Date(w.year, time.Month(w.month), w.day+1, 0, 0, 0, 0, time.UTC))
}
func (w wall) nextHour() wall {
	return wallOf(time.Date(w.year, time.Month(w.month), w.day, w.hour+1, 0, 0, 0, time.UTC))
}
func (w wall) nextMinute() wall {
	return wallOf(time.Date(w.year, time.Month(w.month), w.day, w.hour, w.minute+1, 0, 0, time.UTC))
}

// Next is the first instant strictly after after at which s elapses, in
// after's location; false if s never elapses again. Without a zone of its
// own, s is read in after's location.
func (s *Spec) Next(after time.Time) (time.Time, bool) {
	loc := after.Location()
	if s.loc != nil {
		loc = s.loc
	}
	base := after.In(loc).Truncate(time.Microsecond)
	w := wallOf(base.Add(time.Microsecond))
	for {
		m, ok := s.nextWall(w)
		if !ok {
			return time.Time{}, false
		}
		t, gapEnd, exists := resolve(m, loc, base)
		if exists {
			return t.In(after.Location()), true
		}
		// Skipped by a spring-forward (or every occurrence is not after
		// base): go on from the first wall time after it.
		w = gapEnd
	}
}

// resolve turns a wall time into the earliest instant after base that
// reads so in loc. If there is none, next is the wall time to search on
// from: the end of the gap m falls in, or just after m.
func resolve(m wall, loc *time.Location, base time.Time) (t time.Time, next wall, ok bool) {
	u := m.utc()
	// A zone's offset changes rarely: those in effect a day either side
	// cover every reading of m. The larger offset gives the earlier instant.
	_, early := u.Add(-26 * time.Hour).In(loc).Zone()
	_, late := u.Add(26 * time.Hour).In(loc).Zone()
	for _, off := range []int{max(early, late), min(early, late)} {
		c := u.Add(-time.Duration(off) * time.Second).In(loc)
		if _, o := c.Zone(); o == off && c.After(base) {
			return c, wall{}, true
		}
	}
	if early < late {
		// Maybe in a spring-forward gap: read with the old offset, m lies
		// after the change, which is where the new offset's zone starts.
		c := u.Add(-time.Duration(early) * time.Second).In(loc)
		if _, o := c.Zone(); o != early {
			start, _ := c.ZoneBounds()
			if e := wallOf(start.In(loc)); e.utc().After(u) {
				return time.Time{}, e, false
			}
		}
	}
	return time.Time{}, wallOf(u.Add(time.Microsecond)), false
}

// nextWall is the first wall time at or after w that s matches.
func (s *Spec) nextWall(w wall) (wall, bool) {
	for w.year <= maxYear {
		y, ok := s.year.next(w.year, yearB)
		if !ok {
			return wall{}, false
		}
		if y > w.year {
			w = wall{year: y, month: 1, day: 1}
		}
		mo, ok := s.month.next(w.month, monthB)
		if !ok {
			w = w.nextYear()
			continue
		}
		if mo > w.month {
			w = wall{year: w.year, month: mo, day: 1}
		}
		d, ok := s.nextDay(w)
		if !ok {
			w = w.nextMonth()
			continue
		}
		if d > w.day {
			w = wall{year: w.year, month: w.month, day: d}
		}
		h, ok := s.hour.next(w.hour, hourB)
		if !ok {
			w = w.nextDay()
			continue
		}
		if h > w.hour {
			w = wall{w.year, w.month, w.day, h, 0, 0}
		}
		mi, ok := s.minute.next(w.minute, minuteB)
		if !ok {
			w = w.nextHour()
			continue
		}
		if mi > w.minute {
			w = wall{w.year, w.month, w.day, w.hour, mi, 0}
		}
		sec, ok := s.seconds(w.usec)
		if !ok {
			w = w.nextMinute()
			continue
		}
		w.usec = sec
		return w, true
	}
	return wall{}, false
}

// seconds is the first matching second at or after us; * matches whole
// seconds only.
func (s *Spec) seconds(us int) (int, bool) {
	if s.second == nil {
		v := (us + usec - 1) / usec * usec
		return v, v <= secondB.max
	}
	return s.second.next(us, secondB)
}

// nextDay is the first day of w's month at or after w.day that matches the
// day component and the weekdays.
func (s *Spec) nextDay(w wall) (int, bool) {
	n := daysIn(w.year, w.month)
	wd := (int(time.Date(w.year, time.Month(w.month), w.day, 0, 0, 0, 0, time.UTC).Weekday()) + 6) % 7
	for d := w.day; d <= n; d, wd = d+1, (wd+1)%7 {
		if s.weekdays != 0 && s.weekdays&(1<<wd) == 0 {
			continue
		}
		if s.endOfMonth {
			if s.day.hasFromEnd(n - d + 1) {
				return d, true
			}
		} else if s.day.has(d) {
			return d, true
		}
	}
	return 0, false
}

// next is the smallest value at or after v that f matches within b.
func (f field) next(v int, b bounds) (int, bool) {
	if f == nil {
		return v, v <= b.max
	}
	best, found := 0, false
	for _, it := range f {
		c := it.start
		if v > c {
			if it.rep == 0 {
				continue
			}
			c += (v - c + it.rep - 1) / it.rep * it.rep
		}
		if it.stop >= 0 && c > it.stop || c > b.max {
			continue
		}
		if !found || c < best {
			best, found = c, true
		}
	}
	return best, found
}

func (f field) has(v int) bool {
	c, ok := f.next(v, dayB)
	return ok && c == v
}

// hasFromEnd matches x, the day counted back from the month's end (1 = the
// last day). A range a..b/n steps away from the end as written, but an open
// a/n steps towards it: a, a-n, ... (systemd's reading of ~07/1, "the last
// seven days").
func (f field) hasFromEnd(x int) bool {
	if f == nil {
		return true
	}
	for _, it := range f {
		switch {
		case it.stop >= 0:
			if x >= it.start && x <= it.stop && (x-it.start)%it.rep == 0 {
				return true
			}
		case it.rep > 0:
			if x <= it.start && (it.start-x)%it.rep == 0 {
				return true
			}
		case x == it.start:
			return true
		}
	}
	return false
}
