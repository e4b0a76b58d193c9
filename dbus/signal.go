package dbus

import (
	"fmt"
	"strings"

	godbus "github.com/godbus/dbus/v5"
)

// EmitTo sends the signal name (interface.member) from path to dest
// alone. godbus's Conn.Emit can only broadcast, and a broadcast of a
// signal that carries a file descriptor would hand it to every listener.
func EmitTo(conn *godbus.Conn, dest string, path godbus.ObjectPath, name string, args ...any) error {
	msg, err := signalMessage(dest, path, name, args)
	if err != nil {
		return err
	}
	return conn.Send(msg, nil).Err
}

// signalMessage is the signal name (interface.member) from path, to dest
// alone when dest is not "".
func signalMessage(dest string, path godbus.ObjectPath, name string, args []any) (*godbus.Message, error) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return nil, fmt.Errorf("dbus: signal name %q has no interface", name)
	}
	msg := &godbus.Message{Type: godbus.TypeSignal, Headers: make(map[godbus.HeaderField]godbus.Variant, 5)}
	msg.Headers[godbus.FieldPath] = godbus.MakeVariant(path)
	msg.Headers[godbus.FieldInterface] = godbus.MakeVariant(name[:i])
	msg.Headers[godbus.FieldMember] = godbus.MakeVariant(name[i+1:])
	if dest != "" {
		msg.Headers[godbus.FieldDestination] = godbus.MakeVariant(dest)
	}
	if len(args) > 0 {
		msg.Body = args
		msg.Headers[godbus.FieldSignature] = godbus.MakeVariant(bodySignature(args))
	}
	return msg, nil
}
