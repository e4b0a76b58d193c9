package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

const (
	login1Name    = "org.freedesktop.login1"
	login1Path    = godbus.ObjectPath("/org/freedesktop/login1")
	login1Manager = "org.freedesktop.login1.Manager"
)

// dbusBus is the godbus implementation of Bus: one private connection.
type dbusBus struct {
	conn *godbus.Conn
}

// DialSystemBus opens a private, authenticated connection to address.
// Its goroutines end when Close is called (or ctx ends).
func DialSystemBus(ctx context.Context, address string) (Bus, error) {
	conn, err := godbus.Connect(address, godbus.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: connect: %w", ErrUnreachable, err)
	}
	return &dbusBus{conn: conn}, nil
}

func (b *dbusBus) Close() error { return b.conn.Close() }

// callError classifies a method call failure and names the D-Bus error
// in the message, as logind's clients print it.
func callError(err error) error {
	var de godbus.Error
	if !errors.As(err, &de) {
		return err
	}
	named := fmt.Errorf("%s: %w", de.Name, err)
	switch {
	case de.Name == "org.freedesktop.DBus.Error.ServiceUnknown", de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner",
		// A login1 activation file left by systemd whose program fails.
		strings.HasPrefix(de.Name, "org.freedesktop.DBus.Error.Spawn."):
		return fmt.Errorf("%w: %w", ErrUnreachable, named)
	case de.Name == bus.ErrSessionBusy:
		return fmt.Errorf("%w: %w", ErrSessionBusy, named)
	case de.Name == bus.ErrNoSuchSession:
		return fmt.Errorf("%w: %w", ErrNoSuchSession, named)
	}
	return named
}

func (b *dbusBus) CreateSession(ctx context.Context, r Request) (Reply, error) {
	props := []struct {
		Name  string
		Value godbus.Variant
	}{}
	call := b.conn.Object(login1Name, login1Path).CallWithContext(ctx, login1Manager+".CreateSession", 0,
		r.UID, r.PID, r.Service, r.Type, r.Class, r.Desktop, r.Seat, r.VTNr, r.TTY, r.Display,
		r.Remote, r.RemoteUser, r.RemoteHost, props)
	if call.Err != nil {
		return Reply{}, callError(call.Err)
	}
	var (
		rep  = Reply{FIFO: -1}
		path godbus.ObjectPath
		fd   godbus.UnixFD
	)
	if err := call.Store(&rep.ID, &path, &rep.RuntimePath, &fd, &rep.UID, &rep.Seat, &rep.VTNr, &rep.Existing); err != nil {
		// The descriptor, if one came, is ours to close.
		for _, v := range call.Body {
			if f, ok := v.(godbus.UnixFD); ok {
				closeFD(int(f))
			}
		}
		return Reply{}, fmt.Errorf("reply %v: %w", call.Body, err)
	}
	rep.ObjectPath = string(path)
	rep.FIFO = int(fd)
	return rep, nil
}

func (b *dbusBus) ReleaseSession(ctx context.Context, id string) error {
	if err := b.conn.Object(login1Name, login1Path).CallWithContext(ctx, login1Manager+".ReleaseSession", 0, id).Err; err != nil {
		return callError(err)
	}
	return nil
}
