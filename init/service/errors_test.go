package service

import (
	"context"
	"strings"
	"testing"
)

// Every verb's error names its service at most once and repeats no
// ": "-separated part, so that a caller adding its own context (ginitctl's
// "cannot VERB service 'NAME'") can tell whether it is needed.
func TestVerbErrorsSayTheirPrefixOnce(t *testing.T) {
	h := newHarness(t,
		svcDesc("boot", TypeInternal),
		svcDesc("up", TypeProcess),
		svcDesc("dependent", TypeInternal, need("up")),
		svcDesc("fails", TypeScripted),
		svcDesc("idle", TypeInternal),
		svcDesc("pinned", TypeInternal),
		svcDesc("pinstop", TypeInternal),
	)
	ctx := h.ctx
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.m.Start(ctx, "boot", StartOpts{}))
	must(h.m.Start(ctx, "dependent", StartOpts{}))
	must(h.m.Start(ctx, "pinned", StartOpts{Pin: true}))
	must(h.m.Load(ctx, "idle"))
	must(h.m.Load(ctx, "pinstop"))
	must(h.m.Stop(ctx, "pinstop", StopOpts{Pin: true, IgnoreUnstarted: true}))
	failed := make(chan error, 1)
	go func() { failed <- h.m.Start(ctx, "fails", StartOpts{}) }()
	h.waitFor("fails", func(in Info) bool { return h.sp.count("fails", ProcStart) == 1 })
	h.exit("fails", ProcStart, exited(1))

	tests := []struct {
		name string
		svc  string
		err  func(context.Context) error
	}{
		{"start failed", "fails", func(context.Context) error { return recv(t, failed) }},
		{"start not found", "nosuch", func(ctx context.Context) error { return h.m.Start(ctx, "nosuch", StartOpts{}) }},
		{"start pinned stopped", "pinstop", func(ctx context.Context) error { return h.m.Start(ctx, "pinstop", StartOpts{}) }},
		{"stop not loaded", "nosuch", func(ctx context.Context) error { return h.m.Stop(ctx, "nosuch", StopOpts{}) }},
		{"stop not started", "idle", func(ctx context.Context) error { return h.m.Stop(ctx, "idle", StopOpts{}) }},
		{"stop with dependents", "up", func(ctx context.Context) error { return h.m.Stop(ctx, "up", StopOpts{}) }},
		{"stop pinned started", "pinned", func(ctx context.Context) error { return h.m.Stop(ctx, "pinned", StopOpts{}) }},
		{"restart not loaded", "nosuch", func(ctx context.Context) error { return h.m.Restart(ctx, "nosuch", StopOpts{}) }},
		{"restart not started", "idle", func(ctx context.Context) error { return h.m.Restart(ctx, "idle", StopOpts{}) }},
		{"restart pinned", "pinned", func(ctx context.Context) error { return h.m.Restart(ctx, "pinned", StopOpts{}) }},
		{"restart with dependents", "up", func(ctx context.Context) error { return h.m.Restart(ctx, "up", StopOpts{}) }},
		{"wake without dependents", "idle", func(ctx context.Context) error { return h.m.Wake(ctx, "idle", false) }},
		{"wake pinned stopped", "pinstop", func(ctx context.Context) error { return h.m.Wake(ctx, "pinstop", false) }},
		{"release not started", "idle", func(ctx context.Context) error { return h.m.Release(ctx, "idle", false) }},
		{"unpin not loaded", "nosuch", func(ctx context.Context) error { return h.m.Unpin(ctx, "nosuch") }},
		{"trigger not triggered", "idle", func(ctx context.Context) error { return h.m.Trigger(ctx, "idle", true) }},
		{"signal without process", "idle", func(ctx context.Context) error { return h.m.Signal(ctx, "idle", 1) }},
		{"unload started", "boot", func(ctx context.Context) error { return h.m.Unload(ctx, "boot") }},
		{"unload with dependents", "up", func(ctx context.Context) error { return h.m.Unload(ctx, "up") }},
		{"add-dep cycle", "up", func(ctx context.Context) error { return h.m.DepOp(ctx, true, DepRegular, "up", "dependent") }},
		{"add-dep on itself", "idle", func(ctx context.Context) error { return h.m.DepOp(ctx, true, DepRegular, "idle", "idle") }},
		{"rm-dep absent", "idle", func(ctx context.Context) error { return h.m.DepOp(ctx, false, DepRegular, "idle", "boot") }},
		{"describe not loaded", "nosuch", func(ctx context.Context) error { _, err := h.m.Describe(ctx, "nosuch"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err(ctx)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			seen := map[string]bool{}
			for _, p := range strings.Split(msg, ": ") {
				if seen[p] {
					t.Errorf("%q says %q twice", msg, p)
				}
				seen[p] = true
			}
			if n := strings.Count(msg, "'"+tc.svc+"'"); n != 1 {
				t.Errorf("%q names '%s' %d times, want once", msg, tc.svc, n)
			}
		})
	}
}
