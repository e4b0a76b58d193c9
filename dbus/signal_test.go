package dbus

import (
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"ginit/internal/testenv"
)

// TestEmitTo: the addressed peer receives the signal with its body and
// signature; another peer matching the same signal does not.
func TestEmitTo(t *testing.T) {
	addr := testenv.PrivateBus(t)
	var conns [3]*godbus.Conn
	for i := range conns {
		c, err := godbus.Connect(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	src, dest, other := conns[0], conns[1], conns[2]
	got := map[*godbus.Conn]chan *godbus.Signal{}
	for _, c := range []*godbus.Conn{dest, other} {
		if err := c.AddMatchSignal(godbus.WithMatchInterface("org.example.Test")); err != nil {
			t.Fatal(err)
		}
		ch := make(chan *godbus.Signal, 4)
		c.Signal(ch)
		got[c] = ch
	}
	if err := EmitTo(src, dest.Names()[0], "/obj", "org.example.Test.Ping", uint32(7), "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got[dest]:
		if s.Name != "org.example.Test.Ping" || s.Path != "/obj" || len(s.Body) != 2 || s.Body[0] != uint32(7) || s.Body[1] != "x" {
			t.Errorf("received %+v", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the addressed peer got no signal")
	}
	// A broadcast after it shows the other peer's match works; had the
	// unicast reached it, it would come first.
	if err := src.Emit("/obj", "org.example.Test.Pong"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got[other]:
		if s.Name != "org.example.Test.Pong" {
			t.Errorf("another peer received %s", s.Name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the other peer got not even the broadcast")
	}
}
