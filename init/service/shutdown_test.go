package service

import (
	"errors"
	"strings"
	"testing"
	"time"

	"ginit/internal/power"
)

func TestShutdown(t *testing.T) {
	h := newHarness(t, svcDesc("a", TypeProcess, need("b")), svcDesc("b", TypeProcess))
	h.m.Start(h.ctx, "a", StartOpts{})
	if err := h.m.Shutdown(h.ctx, power.Poweroff); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Start(h.ctx, "b", StartOpts{}); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("start during shutdown: %v", err)
	}
	h.exit("a", ProcStart, killedBy(sigterm))
	h.exit("b", ProcStart, killedBy(sigterm))
	h.runReturns("shutdown")
	if h.kind != power.Poweroff {
		t.Fatalf("kind %s", h.kind)
	}
}

func TestShutdownReportsAndGivesUp(t *testing.T) {
	stubborn := svcDesc("stubborn", TypeProcess)
	stubborn.StopTimeout = 0 // never escalates to SIGKILL by itself
	h := newHarnessCfg(t, func(c *Config) {
		c.ShutdownReport = 5 * time.Second
		c.ShutdownTimeout = 15 * time.Second
	}, stubborn)
	if err := h.m.Start(h.ctx, "stubborn", StartOpts{}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Shutdown(h.ctx, power.Reboot); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(5 * time.Second)
	h.sync()
	h.clock.Advance(5 * time.Second)
	h.sync()
	select {
	case <-h.done:
		t.Fatal("Run returned before the shutdown timeout")
	default:
	}
	h.clock.Advance(5 * time.Second)
	h.runReturns("the shutdown timeout")
	if h.kind != power.Reboot {
		t.Errorf("kind %s", h.kind)
	}
	h.logs.mu.Lock()
	defer h.logs.mu.Unlock()
	var waits, gaveUp int
	for _, l := range h.logs.lines {
		if strings.Contains(l, "still waiting for: stubborn (stopping)") {
			waits++
		}
		if strings.Contains(l, "gave up after 15s waiting for: stubborn") {
			gaveUp++
		}
	}
	if waits != 2 || gaveUp != 1 {
		t.Errorf("want 2 progress reports and 1 give-up, got %d and %d: %q", waits, gaveUp, h.logs.lines)
	}
}

// A shutdown interrupts a start script that is still running (options:
// start-interruptible): it is sent SIGTERM at once, and once it has exited
// the service is Stopped, not failed.
func TestShutdownInterruptsStart(t *testing.T) {
	slow := svcDesc("slow", TypeScripted)
	slow.Options.StartInterruptible = true
	h := newHarness(t, slow)
	ch := h.startAsync("slow", StartOpts{})
	h.wantState("slow", Starting)
	if err := h.m.Shutdown(h.ctx, power.Remain); err != nil {
		t.Fatal(err)
	}
	h.sync()
	p := h.sp.last("slow", ProcStart)
	if got := p.treeSigs(); len(got) != 1 || got[0] != sigterm {
		t.Fatalf("start script got signals %v, want SIGTERM", got)
	}
	h.exit("slow", ProcStart, killedBy(sigterm))
	if err := recv(t, ch); err == nil {
		t.Error("the interrupted start reported success")
	}
	in := h.wantState("slow", Stopped)
	if in.Failed || in.Reason != ReasonNormal {
		t.Errorf("after the interrupted start: failed %v, reason %q; want a normal stop", in.Failed, in.Reason)
	}
}
