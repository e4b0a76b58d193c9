package dbus

import (
	"strings"

	godbus "github.com/godbus/dbus/v5"
)

// EmitTo sends the signal name (interface.member) from path to dest
// alone. godbus's Conn.Emit can only broadcast, and a broadcast of a
// signal that carries a file descriptor would hand it to every listener.
func EmitTo(conn *godbus.Conn, dest string, path godbus.ObjectPath, name string, args ...any) error {
	i := strings.LastIndexByte(name, '.')
	msg := &godbus.Message{Type: godbus.TypeSignal, Headers: map[godbus.HeaderField]godbus.Variant{
		godbus.FieldPath:        godbus.MakeVariant(path),
		godbus.FieldInterface:   godbus.MakeVariant(name[:i]),
		godbus.FieldMember:      godbus.MakeVariant(name[i+1:]),
		godbus.FieldDestination: godbus.MakeVariant(dest),
	}, Body: args}
	if len(args) > 0 {
		msg.Headers[godbus.FieldSignature] = godbus.MakeVariant(bodySignature(args))
	}
	return conn.Send(msg, nil).Err
}
