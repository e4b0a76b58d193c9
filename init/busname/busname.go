// Package busname waits until a D-Bus name has an owner. It is the logic
// of ginit-busname, the helper that makes a Type=dbus service ready: PID 1
// links no D-Bus client, so the wait runs in a process of the service.
package busname

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// Conn is the part of a bus connection Wait uses.
type Conn interface {
	AddMatchSignal(options ...dbus.MatchOption) error
	Signal(ch chan<- *dbus.Signal)
	BusObject() dbus.BusObject
}

// Wait returns nil once name has an owner on c: at once if it has one,
// else at the NameOwnerChanged that gives it one. The match is added
// before NameHasOwner is asked, so an owner that arrives between the two
// is not missed.
func Wait(ctx context.Context, c Conn, name string) error {
	sigs := make(chan *dbus.Signal, 16)
	c.Signal(sigs)
	if err := c.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, name)); err != nil {
		return fmt.Errorf("watch %s: %w", name, err)
	}
	var has bool
	if err := c.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err != nil {
		return fmt.Errorf("NameHasOwner %s: %w", name, err)
	}
	for !has {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", name, ctx.Err())
		case s, ok := <-sigs:
			if !ok {
				return fmt.Errorf("waiting for %s: the bus connection closed", name)
			}
			if s.Name != "org.freedesktop.DBus.NameOwnerChanged" || len(s.Body) != 3 {
				continue
			}
			n, _ := s.Body[0].(string)
			owner, _ := s.Body[2].(string)
			has = n == name && owner != ""
		}
	}
	return nil
}
