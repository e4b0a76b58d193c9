package service

import (
	"testing"

	"ginit/internal/power"
)

// A start command that is still running when its service stops being
// wanted: with options start-interruptible its tree gets SIGTERM at once;
// without it runs to its end (nothing is signalled) and the service then
// stops.
func TestStartInterruptible(t *testing.T) {
	for _, tc := range []struct {
		name          string
		typ           Type
		interruptible bool
		how           string // "stop" or "shutdown"
	}{
		{"scripted stop", TypeScripted, false, "stop"},
		{"scripted shutdown", TypeScripted, false, "shutdown"},
		{"scripted interruptible stop", TypeScripted, true, "stop"},
		{"scripted interruptible shutdown", TypeScripted, true, "shutdown"},
		{"bgprocess interruptible stop", TypeBGProcess, true, "stop"},
		{"bgprocess launcher stop", TypeBGProcess, false, "stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := svcDesc("slow", tc.typ)
			d.Options.StartInterruptible = tc.interruptible
			h := newHarness(t, d)
			ch := h.startAsync("slow", StartOpts{})
			h.wantState("slow", Starting)
			switch tc.how {
			case "stop":
				if err := h.m.Stop(h.ctx, "slow", StopOpts{NoWait: true}); err != nil {
					t.Fatal(err)
				}
			case "shutdown":
				if err := h.m.Shutdown(h.ctx, power.Remain); err != nil {
					t.Fatal(err)
				}
			}
			h.sync()
			p := h.sp.last("slow", ProcStart)
			if !tc.interruptible {
				if got := p.treeSigs(); len(got) != 0 {
					t.Fatalf("an uninterruptible start got signals %v", got)
				}
				h.wantState("slow", Starting)
				h.exit("slow", ProcStart, exited(0)) // the start completes
				if tc.typ == TypeBGProcess {
					// the daemon it left is adopted, then stopped
					h.wantState("slow", Stopping)
					return
				}
				_ = recv(t, ch) // the stop overtook it: an error, but a reply
				in := h.wantState("slow", Stopped)
				if in.Failed {
					t.Fatalf("failed after a completed start: %+v", in)
				}
				return
			}
			if got := p.treeSigs(); len(got) != 1 || got[0] != sigterm {
				t.Fatalf("signals %v, want SIGTERM", got)
			}
			h.exit("slow", ProcStart, killedBy(sigterm))
			if err := recv(t, ch); err == nil {
				t.Error("the interrupted start reported success")
			}
			if in := h.wantState("slow", Stopped); in.Failed || in.Reason != ReasonNormal {
				t.Errorf("after the interrupted start: failed %v, reason %q", in.Failed, in.Reason)
			}
		})
	}
}
