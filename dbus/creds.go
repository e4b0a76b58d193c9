package dbus

import (
	"fmt"

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
	return PeerCreds(c.Conn, c.Sender)
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
