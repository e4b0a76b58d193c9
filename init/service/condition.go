package service

import (
	"fmt"
	"strings"
)

// Condition is one check made each time its service is about to run
// (systemd's Condition*/Assert*, ginit's `condition`). Kind is systemd's
// name without the prefix ("PathExists", "KernelCommandLine", ...).
type Condition struct {
	Kind    string
	Arg     string
	Negate  bool // `!`: met when the check is false
	Trigger bool // `|`: the service runs if any triggering condition is met
	Assert  bool // a failure fails the start instead of skipping it
	Source  string
}

func (c Condition) String() string {
	p := "Condition"
	if c.Assert {
		p = "Assert"
	}
	v := c.Arg
	if c.Negate {
		v = "!" + v
	}
	if c.Trigger {
		v = "|" + v
	}
	return p + c.Kind + "=" + v
}

// ConditionChecker answers one condition's check (before negation).
// An error means the check could not be made; it counts as not met.
type ConditionChecker interface {
	Check(c Condition) (bool, error)
}

// evalConditions returns the first failed assertion, or else the
// condition that makes the service skip (for triggering ones, the first
// of them), or ok.
func evalConditions(ch ConditionChecker, cs []Condition) (failed *Condition, ok bool) {
	met := func(c Condition) bool {
		r, err := ch.Check(c)
		return err == nil && r != c.Negate
	}
	var firstTrig *Condition
	trigMet := false
	for _, assert := range []bool{true, false} {
		for i := range cs {
			c := &cs[i]
			if c.Assert != assert {
				continue
			}
			if c.Trigger && !c.Assert {
				if firstTrig == nil {
					firstTrig = c
				}
				if !trigMet && met(*c) {
					trigMet = true
				}
				continue
			}
			if !met(*c) {
				return c, false
			}
		}
	}
	if firstTrig != nil && !trigMet {
		return firstTrig, false
	}
	return nil, true
}

// conditionCause renders a failed condition for status and the log.
func conditionCause(c *Condition) string {
	what := "condition"
	if c.Assert {
		what = "assertion"
	}
	s := fmt.Sprintf("%s failed: %s", what, c)
	if c.Trigger {
		s = strings.Replace(s, "failed", "failed (no triggering condition met)", 1)
	}
	return s
}
