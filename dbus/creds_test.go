package dbus

import (
	"os"
	"testing"

	godbus "github.com/godbus/dbus/v5"

	"ginit/internal/testenv"
)

// TestCredsCache: a peer's credentials are the bus daemon's, the second
// lookup is answered from the cache (the peer has left by then, so the
// daemon could not answer it), a forgotten name is asked again (and is
// then unknown), and a name that is not unique is never cached.
func TestCredsCache(t *testing.T) {
	addr := testenv.PrivateBus(t)
	conn, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	name := peer.Names()[0]
	var cc CredsCache
	cr, err := cc.Lookup(ClientOf(conn), name)
	if err != nil || cr.UID != uint32(os.Getuid()) || cr.PID != uint32(os.Getpid()) {
		t.Fatalf("Lookup %s: %+v %v, want uid %d pid %d", name, cr, err, os.Getuid(), os.Getpid())
	}
	peer.Close()
	// The daemon forgets the peer once it has seen it go: wait for that.
	for i := 0; ; i++ {
		if _, err := PeerCreds(conn, name); err != nil {
			break
		}
		if i > 1000 {
			t.Fatal("the bus daemon still knows the closed peer")
		}
	}
	if again, err := cc.Lookup(ClientOf(conn), name); err != nil || again != cr {
		t.Errorf("cached Lookup %s: %+v %v, want %+v", name, again, err, cr)
	}
	cc.Forget(name)
	if _, err := cc.Lookup(ClientOf(conn), name); err == nil {
		t.Errorf("Lookup of a forgotten, gone peer %s succeeded", name)
	}
	if _, err := cc.Lookup(ClientOf(conn), "org.freedesktop.DBus"); err != nil {
		t.Fatalf("Lookup of the bus daemon's name: %v", err)
	}
	if _, ok := cc.m["org.freedesktop.DBus"]; ok {
		t.Error("a well-known name was cached")
	}
}
