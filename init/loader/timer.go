package loader

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"ginit/init/service"
	"ginit/internal/calendar"
)

// The settings of type timer (ginit extension): timer-target names the
// service each elapse starts; on-calendar takes a systemd calendar
// expression, on-boot, on-active and on-unit-inactive a time span ("5min",
// "1h 30s", "90"); each of those four may be given several times, and an
// empty value clears the list so far (as in systemd). randomized-delay
// puts every elapse off by a random part of a span, and persistent = yes
// runs once at start a calendar elapse missed while ginit was not running.

// maxTriggers bounds each trigger list: a file of a million on-active lines
// would cost every elapse a million comparisons.
const maxTriggers = 64

// timerSetting looks up the rows of the settings table for timers.
func timerSetting(key string) (setting, bool) {
	switch key {
	case "timer-target":
		return setting{fn: func(p *parser, rl *rawLine, ws []string) error {
			p.timer(rl)
			return oneWord(setTimerTarget)(p, rl, ws)
		}}, true
	case "on-calendar":
		return setting{fn: setOnCalendar}, true
	case "on-boot":
		return setting{fn: spanListFn(func(tr *calendar.Triggers) *[]time.Duration { return &tr.OnBoot })}, true
	case "on-active":
		return setting{fn: spanListFn(func(tr *calendar.Triggers) *[]time.Duration { return &tr.OnActive })}, true
	case "on-unit-inactive":
		return setting{fn: spanListFn(func(tr *calendar.Triggers) *[]time.Duration { return &tr.OnUnitInactive })}, true
	case "randomized-delay":
		return setting{fn: func(p *parser, rl *rawLine, ws []string) error {
			return parseSpan(ws, &p.timer(rl).Triggers.RandomizedDelay)
		}}, true
	case "persistent":
		return setting{fn: func(p *parser, rl *rawLine, ws []string) error {
			return oneWord(func(p *parser, v string) error { return parseBool(v, &p.timer(rl).Triggers.Persistent) })(p, rl, ws)
		}}, true
	}
	return setting{}, false
}

// timer returns the description's timer part, made at its first setting;
// rl (if any) is remembered so that a timer setting on another type is
// reported at its line.
func (p *parser) timer(rl *rawLine) *service.TimerSpec {
	if p.d.Timer == nil {
		p.d.Timer = &service.TimerSpec{}
	}
	if p.timerLine == nil && rl != nil {
		p.timerLine = rl
	}
	return p.d.Timer
}

func setTimerTarget(p *parser, v string) error {
	if err := ValidName(v); err != nil {
		return err
	}
	p.timer(nil).Target = v
	return nil
}

func setOnCalendar(p *parser, rl *rawLine, ws []string) error {
	tm := p.timer(rl)
	if len(ws) == 0 {
		tm.Triggers.Calendar = nil
		return nil
	}
	if len(tm.Triggers.Calendar) >= maxTriggers {
		return fmt.Errorf("more than %d on-calendar values", maxTriggers)
	}
	s, err := calendar.Parse(strings.Join(ws, " "))
	if err != nil {
		return err
	}
	tm.Triggers.Calendar = append(tm.Triggers.Calendar, s)
	return nil
}

func spanListFn(list func(*calendar.Triggers) *[]time.Duration) func(*parser, *rawLine, []string) error {
	return func(p *parser, rl *rawLine, ws []string) error {
		l := list(&p.timer(rl).Triggers)
		if len(ws) == 0 {
			*l = nil
			return nil
		}
		if len(*l) >= maxTriggers {
			return fmt.Errorf("more than %d values", maxTriggers)
		}
		var d time.Duration
		if err := parseSpan(ws, &d); err != nil {
			return err
		}
		*l = append(*l, d)
		return nil
	}
}

// parseSpan reads a time span written as one or more words.
func parseSpan(ws []string, dst *time.Duration) error {
	if len(ws) == 0 {
		return errors.New("expected a time span, e.g. 5min or 1h 30s")
	}
	d, err := calendar.ParseDuration(strings.Join(ws, " "))
	if err != nil {
		return err
	}
	*dst = d
	return nil
}

// runSuffix names the target made from a timer's own command.
const runSuffix = ".run"

// implicitRun is the scripted service that runs a timer's own command,
// with the timer's process settings; the timer keeps none of them.
func implicitRun(d *service.Description) *service.Description {
	r := *d
	r.Name = d.Name + runSuffix
	r.Type = service.TypeScripted
	r.Timer = nil
	r.Deps = nil
	d.Command = nil
	if d.More != nil {
		// Each keeps its own part of the settings few services set.
		x := *d.More
		r.More = &x
		r.More.WaitsForDirs, r.More.ChainTo, r.More.EnableVia = nil, "", ""
		d.More.StopCommand, d.More.ReloadCommand = nil, nil
	}
	return &r
}

// settingError is an error of the description at rl's file, line and
// setting (the description's file alone when rl is nil).
func (p *parser) settingError(rl *rawLine, format string, args ...any) *Error {
	e := &Error{File: p.d.File, Service: p.d.Name, Err: fmt.Errorf(format, args...)}
	if rl != nil {
		e.File, e.Line, e.Setting = rl.file, rl.line, rl.key
	}
	return e
}

// validateTimer checks the combination of timer settings.
func (p *parser) validateTimer() ErrorList {
	d := p.d
	var errs ErrorList
	fail := func(rl *rawLine, format string, args ...any) {
		errs = append(errs, p.settingError(rl, format, args...))
	}
	if d.Type != service.TypeTimer {
		if d.Timer != nil {
			fail(p.timerLine, "timer settings are only for type timer (type is %s)", d.Type)
			d.Timer = nil
		}
		return errs
	}
	tm := d.Timer
	if tm == nil {
		tm = &service.TimerSpec{}
		d.Timer = tm
	}
	switch {
	case len(d.Command) > 0 && tm.Target != "":
		fail(nil, "type timer runs its timer-target or its own command, not both")
	case len(d.Command) > 0:
		tm.Target = d.Name + runSuffix
		tm.Run = implicitRun(d)
	case len(d.Ext().StopCommand) > 0:
		fail(nil, "stop-command of a timer without a command")
	case len(d.Ext().ReloadCommand) > 0:
		fail(nil, "reload-command of a timer without a command")
	case tm.Target == "":
		fail(nil, "type timer needs a timer-target or a command")
		return errs
	}
	if tm.Target == d.Name {
		fail(nil, "timer-target names the timer itself")
	}
	tr := tm.Triggers
	if len(tr.Calendar)+len(tr.OnBoot)+len(tr.OnActive)+len(tr.OnUnitInactive) == 0 {
		fail(nil, "type timer needs on-calendar, on-boot, on-active or on-unit-inactive")
	}
	return errs
}
