package dbus

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"ginit/internal/testenv"
)

// TestClientDialsOnFirstUse: a Conn served with NewClient opens no
// second bus connection until a handler asks for one (CallerCreds), then
// keeps using that one; after Close a handler's Conn fails.
func TestClientDialsOnFirstUse(t *testing.T) {
	addr := testenv.PrivateBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iface := &Interface{Name: "org.example.Test", Methods: []Method{
		{Name: "Plain", Handler: func(*Call) ([]any, error) { return nil, nil }},
		{Name: "Who", Out: []Arg{{"pid", "u"}}, Handler: func(c *Call) ([]any, error) {
			cr, err := c.CallerCreds()
			if err != nil {
				return nil, err
			}
			return []any{cr.PID}, nil
		}},
	}}
	tree := NewTree(ctx, func(godbus.ObjectPath) (*Object, bool) {
		return &Object{Interfaces: []*Interface{iface}}, true
	}, nil)
	client := NewClient(addr)
	srv, err := Dial(ctx, addr, ConnConfig{Tree: tree, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	me, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer me.Close()
	peers := func() int {
		var names []string
		if err := me.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range names {
			if strings.HasPrefix(s, ":") {
				n++
			}
		}
		return n
	}
	obj := me.Object(srv.UniqueName(), "/")
	before := peers()
	if err := obj.Call("org.example.Test.Plain", 0).Err; err != nil {
		t.Fatal(err)
	}
	if n := peers(); n != before {
		t.Fatalf("after a call that needs no client: %d connections, want %d", n, before)
	}
	for i := 0; i < 2; i++ {
		var pid uint32
		if err := obj.Call("org.example.Test.Who", 0).Store(&pid); err != nil || pid != uint32(os.Getpid()) {
			t.Fatalf("Who: %d, %v; want %d", pid, err, os.Getpid())
		}
		if n := peers(); n != before+1 {
			t.Fatalf("after call %d that needs the client: %d connections, want %d", i+1, n, before+1)
		}
	}
	client.Close()
	if err := obj.Call("org.example.Test.Who", 0).Err; err == nil {
		t.Fatal("Who after Close: no error")
	}
	var zero *Client
	if _, err := zero.Conn(); err == nil {
		t.Fatal("nil Client: no error")
	}
}
