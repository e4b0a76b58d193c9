package service

import (
	"strings"
	"sync"
	"testing"
)

// fakeConds answers PathExists from a set the test changes between starts.
type fakeConds struct {
	mu    sync.Mutex
	paths map[string]bool
}

func (f *fakeConds) Check(c Condition) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paths[c.Arg], nil
}

func (f *fakeConds) set(p string) { f.mu.Lock(); f.paths[p] = true; f.mu.Unlock() }

func TestEvalConditions(t *testing.T) {
	ch := &fakeConds{paths: map[string]bool{"/y": true}}
	pe := func(arg string, neg, trig, assert bool) Condition {
		return Condition{Kind: "PathExists", Arg: arg, Negate: neg, Trigger: trig, Assert: assert}
	}
	tests := []struct {
		name   string
		cs     []Condition
		ok     bool
		failed string
	}{
		{"none", nil, true, ""},
		{"met", []Condition{pe("/y", false, false, false)}, true, ""},
		{"not met", []Condition{pe("/x", false, false, false)}, false, "ConditionPathExists=/x"},
		{"negated met", []Condition{pe("/x", true, false, false)}, true, ""},
		{"negated not met", []Condition{pe("/y", true, false, false)}, false, "ConditionPathExists=!/y"},
		{"one triggering met", []Condition{pe("/x", false, true, false), pe("/y", false, true, false)}, true, ""},
		{"no triggering met", []Condition{pe("/x", false, true, false), pe("/z", false, true, false)}, false, "ConditionPathExists=|/x"},
		{"assert first", []Condition{pe("/x", false, false, false), pe("/z", false, false, true)}, false, "AssertPathExists=/z"},
		{"assert met", []Condition{pe("/y", false, false, true)}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := evalConditions(ch, tc.cs)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok && c.String() != tc.failed {
				t.Errorf("failed %s, want %s", c, tc.failed)
			}
		})
	}
}

func TestConditionAtEachStart(t *testing.T) {
	conds := &fakeConds{paths: map[string]bool{}}
	a := svcDesc("a", TypeProcess)
	a.ExtMut().Conditions = []Condition{{Kind: "PathExists", Arg: "/run/x"}}
	b := svcDesc("b", TypeProcess, need("a"))
	h := newHarnessCfg(t, func(c *Config) { c.Conditions = conds }, a, b)

	if err := h.m.Start(h.ctx, "b", StartOpts{}); err != nil {
		t.Fatalf("start b: %v", err)
	}
	h.wantState("b", Started)
	in := h.wantState("a", Stopped)
	if in.Reason != ReasonCondition || in.Failed || in.StatusText != "condition failed: ConditionPathExists=/run/x" {
		t.Errorf("a: reason %q failed %v status %q", in.Reason, in.Failed, in.StatusText)
	}
	if n := h.sp.count("a", ProcStart); n != 0 {
		t.Fatalf("a spawned %d times, want 0", n)
	}

	conds.set("/run/x")
	if err := h.m.Start(h.ctx, "a", StartOpts{}); err != nil {
		t.Fatalf("second start a: %v", err)
	}
	h.wantState("a", Started)
	if n := h.sp.count("a", ProcStart); n != 1 {
		t.Fatalf("a spawned %d times, want 1", n)
	}
}

func TestAssertFailsStart(t *testing.T) {
	conds := &fakeConds{paths: map[string]bool{}}
	a := svcDesc("a", TypeProcess)
	a.ExtMut().Conditions = []Condition{{Kind: "PathExists", Arg: "/run/x", Assert: true}}
	b := svcDesc("b", TypeProcess, need("a"))
	h := newHarnessCfg(t, func(c *Config) { c.Conditions = conds }, a, b)
	err := h.m.Start(h.ctx, "b", StartOpts{})
	if startReason(err) != ReasonDepFailed {
		t.Fatalf("start b: %v, want dependency failed", err)
	}
	in := h.wantState("a", Stopped)
	if in.Reason != ReasonAssert || !in.Failed || !strings.Contains(in.StatusText, "assertion failed: AssertPathExists=/run/x") {
		t.Errorf("a: reason %q failed %v status %q", in.Reason, in.Failed, in.StatusText)
	}
	if n := h.sp.count("a", ProcStart); n != 0 {
		t.Errorf("a spawned %d times", n)
	}
}
