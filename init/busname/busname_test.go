package busname

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// privateBus starts a dbus-daemon of its own for the test and returns its address.
func privateBus(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("no dbus-daemon")
	}
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(addr)
}

func connect(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestWait(t *testing.T) {
	addr := privateBus(t)
	for _, tc := range []struct {
		name        string
		ownedBefore bool
	}{{"owned before the wait", true}, {"owned during the wait", false}} {
		t.Run(tc.name, func(t *testing.T) {
			name := "org.example.W" + map[bool]string{true: "Before", false: "During"}[tc.ownedBefore]
			owner := connect(t, addr)
			own := func() {
				if r, err := owner.RequestName(name, 0); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
					t.Errorf("RequestName: %v %v", r, err)
				}
			}
			if tc.ownedBefore {
				own()
			}
			done := make(chan error, 1)
			go func() { done <- Wait(context.Background(), connect(t, addr), name) }()
			if !tc.ownedBefore {
				select {
				case err := <-done:
					t.Fatalf("Wait returned %v before the name had an owner", err)
				case <-time.After(100 * time.Millisecond):
				}
				own()
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWaitCancelled(t *testing.T) {
	addr := privateBus(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Wait(ctx, connect(t, addr), "org.example.Nobody")
	if err == nil || !strings.Contains(err.Error(), "org.example.Nobody") {
		t.Fatalf("Wait of a cancelled context: %v", err)
	}
}
