package service

import (
	"fmt"
	"testing"
	"time"
)

// Per-class limits: at most 2 of class "disk" start at once, the others
// are held only by the global limit; a class start past the grace stops
// counting for its class too.
func TestStartClassLimit(t *testing.T) {
	boot := svcDesc("boot", TypeInternal)
	descs := []*Description{boot}
	for i := range 6 {
		name := fmt.Sprintf("d%d", i)
		d := svcDesc(name, TypeScripted)
		d.ExtMut().StartClass = "disk"
		boot.Deps = append(boot.Deps, waitsFor(name))
		descs = append(descs, d)
	}
	for i := range 3 {
		name := fmt.Sprintf("n%d", i)
		boot.Deps = append(boot.Deps, waitsFor(name))
		descs = append(descs, svcDesc(name, TypeScripted))
	}
	h := newHarnessCfg(t, func(c *Config) {
		c.StartLimit = StartLimit{Max: 4, Grace: 10 * time.Second}
		c.ClassLimits = map[string]int{"disk": 2, "other": 1}
	}, descs...)
	h.startAsync("boot", StartOpts{})
	h.sync()
	count := func() (disk, other int) {
		for _, n := range h.sp.order() {
			if n[0] == 'd' {
				disk++
			} else {
				other++
			}
		}
		return
	}
	// d0, d1 (the class is full), then n0, n1 fill the global 4.
	if d, o := count(); d != 2 || o != 2 {
		t.Fatalf("spawned %d of the class and %d others, want 2 and 2: %v", d, o, h.sp.order())
	}
	if in := h.status("d2"); in.StatusText != waitSlotText {
		t.Fatalf("d2: %q", in.StatusText)
	}
	h.exit("n0", ProcStart, exited(0)) // a global slot, but the class is still full
	if d, o := count(); d != 2 || o != 3 {
		t.Fatalf("after n0: %d and %d: %v", d, o, h.sp.order())
	}
	h.exit("d0", ProcStart, exited(0))
	if d, _ := count(); d != 3 {
		t.Fatalf("after d0: %d of the class: %v", d, h.sp.order())
	}
	h.clock.Advance(10 * time.Second) // d1 and d2 leave their grace: d3, d4 go
	h.sync()
	if d, o := count(); d != 5 || o != 3 {
		t.Fatalf("after the grace: %d and %d: %v", d, o, h.sp.order())
	}
	h.clock.Advance(10 * time.Second)
	h.sync()
	if d := h.sp.count("d5", ProcStart); d != 1 {
		t.Fatalf("d5 not spawned after d3 and d4 left their grace: %v", h.sp.order())
	}
}
