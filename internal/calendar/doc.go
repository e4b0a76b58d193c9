// Package calendar is the pure logic of timer services: systemd's OnCalendar
// expressions (parse, normalize, next elapse), the durations of monotonic
// triggers, and the decisions a timer makes (when next, with which random
// delay, whether a run was missed while the machine was off). Nothing here
// reads a clock, sleeps or spawns: callers pass the current instants in, so
// every decision is tested with a fake clock. It is internal/ rather than
// init/ because none of it knows services; a timer service type is a caller.
//
// # Calendar expressions (systemd.time(7))
//
//	[WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIMEZONE]
//
// WEEKDAYS is a list of names (Mon or Monday, any case) with ranges written
// Mon..Fri or Mon-Fri. Every numeric component is * or a list (,) of values,
// ranges (a..b) and repetitions (a/n, a..b/n: a, a+n, ... up to b). A day
// written after ~ instead of - counts from the end of the month (~01 is the
// last day, ~07/1 the last seven days). An omitted date is *-*-*, an omitted
// time 00:00:00, omitted seconds :00. A two-digit year means 1970..2069.
// SECOND may carry up to six decimals (01.5, 0/0.25). TIMEZONE is UTC or an
// IANA zone name (Europe/Berlin); without it the expression is read in the
// location of the instant Next is given. @SECONDS is one fixed UTC instant.
// The shorthands minutely, hourly, daily, weekly (Monday), monthly,
// yearly/annually, quarterly and semiannually expand as systemd expands them.
// String gives systemd's normalized form (what systemd-analyze calendar
// prints), and Next gives the same elapses as systemd 252, DST included:
// a wall time that a spring-forward skips does not elapse that day, and a
// wall time that a fall-back repeats elapses once, at the first occurrence
// still after the instant given.
//
// # Durations
//
// ParseDuration reads systemd time spans: "90" (seconds), "5min",
// "1h 30s", "1.5h", "2d"; units us, ms, s, min (m), h, d, w, M (30.44 days),
// y (365.25 days) with their long names.
//
// # Timer decisions
//
// Triggers holds a timer's on-calendar, on-boot, on-active and
// on-unit-inactive settings; Next says how long until the earliest of them
// elapses given a State (activation, last run, stored last run, when the
// target last went inactive) and the current instant on both clocks.
// Monotonic triggers count on the boot clock and are not moved by wall-clock
// jumps; calendar triggers are recomputed from the wall clock at every call,
// so a caller re-evaluates after a jump simply by calling Next again.
package calendar
