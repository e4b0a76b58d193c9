package dbus

import (
	"fmt"
	"strings"
	"sync"

	godbus "github.com/godbus/dbus/v5"
)

// Creds are the caller's credentials as the bus daemon recorded them when
// the caller connected (not what the caller claims).
type Creds struct {
	UID uint32
	PID uint32
}

// CallerCreds asks the bus daemon for the sender's uid and pid.
func (c *Call) CallerCreds() (Creds, error) {
	conn, err := c.Conn()
	if err != nil {
		return Creds{}, err
	}
	return PeerCreds(conn, c.Sender)
}

// PeerCreds asks the bus daemon for name's uid and pid, using
// GetConnectionCredentials (one round trip) and falling back to the two
// older calls for daemons that lack it.
func PeerCreds(conn *godbus.Conn, name string) (Creds, error) {
	bus := conn.BusObject()
	var m map[string]godbus.Variant
	err := bus.Call("org.freedesktop.DBus.GetConnectionCredentials", 0, name).Store(&m)
	if err == nil {
		uid, okU := m["UnixUserID"].Value().(uint32)
		pid, okP := m["ProcessID"].Value().(uint32)
		if okU && okP {
			return Creds{UID: uid, PID: pid}, nil
		}
	}
	var cr Creds
	if err := bus.Call("org.freedesktop.DBus.GetConnectionUnixUser", 0, name).Store(&cr.UID); err != nil {
		return Creds{}, fmt.Errorf("uid of bus peer %s: %w", name, err)
	}
	if err := bus.Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, name).Store(&cr.PID); err != nil {
		return Creds{}, fmt.Errorf("pid of bus peer %s: %w", name, err)
	}
	return cr, nil
}

// CredsCache remembers PeerCreds' answer per unique bus name. A unique
// name is never reused on a bus and the daemon records a connection's
// credentials once, when it connects, so the answer cannot change: a
// call from a known peer then costs no round trip to the bus daemon.
// Forget a name when the bus says it is gone (NameOwnerChanged); the
// cache is also emptied whenever it reaches its bound, so names whose
// departure was missed cannot grow it without limit. The zero value is
// ready to use.
type CredsCache struct {
	mu sync.Mutex
	m  map[string]Creds
}

// credsCacheMax bounds a CredsCache: far above the peers a login manager
// talks to at once.
const credsCacheMax = 4096

// Lookup returns name's credentials, asking the bus daemon on client's
// connection the first time. Only unique names (":1.42") are cached.
func (cc *CredsCache) Lookup(client *Client, name string) (Creds, error) {
	cc.mu.Lock()
	cr, ok := cc.m[name]
	cc.mu.Unlock()
	if ok {
		return cr, nil
	}
	conn, err := client.Conn()
	if err != nil {
		return Creds{}, err
	}
	cr, err = PeerCreds(conn, name)
	if err != nil || !strings.HasPrefix(name, ":") {
		return cr, err
	}
	cc.mu.Lock()
	if cc.m == nil || len(cc.m) >= credsCacheMax {
		cc.m = map[string]Creds{}
	}
	cc.m[name] = cr
	cc.mu.Unlock()
	return cr, nil
}

// Forget drops name (a peer that left the bus).
func (cc *CredsCache) Forget(name string) {
	cc.mu.Lock()
	delete(cc.m, name)
	cc.mu.Unlock()
}
