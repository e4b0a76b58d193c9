package dbus

import (
	"errors"
	"fmt"

	godbus "github.com/godbus/dbus/v5"
)

// Error names used by logind, so clients that match on them keep working.
const (
	ErrNoSuchSession       = "org.freedesktop.login1.NoSuchSession"
	ErrNoSessionForPID     = "org.freedesktop.login1.NoSessionForPID"
	ErrNoSuchUser          = "org.freedesktop.login1.NoSuchUser"
	ErrNoUserForPID        = "org.freedesktop.login1.NoUserForPID"
	ErrNoSuchSeat          = "org.freedesktop.login1.NoSuchSeat"
	ErrSessionNotOnSeat    = "org.freedesktop.login1.SessionNotOnSeat"
	ErrNotInControl        = "org.freedesktop.login1.NotInControl"
	ErrDeviceIsTaken       = "org.freedesktop.login1.DeviceIsTaken"
	ErrDeviceNotTaken      = "org.freedesktop.login1.DeviceNotTaken"
	ErrOperationInProgress = "org.freedesktop.login1.OperationInProgress"
	ErrSleepVerbNotSupp    = "org.freedesktop.login1.SleepVerbNotSupported"
	ErrSessionBusy         = "org.freedesktop.login1.SessionBusy"
	ErrNotYourDevice       = "org.freedesktop.login1.NotYourDevice"

	ErrAccessDenied      = "org.freedesktop.DBus.Error.AccessDenied"
	ErrInvalidArgs       = "org.freedesktop.DBus.Error.InvalidArgs"
	ErrLimitsExceeded    = "org.freedesktop.DBus.Error.LimitsExceeded"
	ErrFailed            = "org.freedesktop.DBus.Error.Failed"
	ErrNotSupported      = "org.freedesktop.DBus.Error.NotSupported"
	ErrUnknownObject     = "org.freedesktop.DBus.Error.UnknownObject"
	ErrUnknownInterface  = "org.freedesktop.DBus.Error.UnknownInterface"
	ErrUnknownMethod     = "org.freedesktop.DBus.Error.UnknownMethod"
	ErrUnknownProperty   = "org.freedesktop.DBus.Error.UnknownProperty"
	ErrPropertyReadOnly  = "org.freedesktop.DBus.Error.PropertyReadOnly"
	ErrServiceUnknownBus = "org.freedesktop.DBus.Error.ServiceUnknown"
)

// Error is a D-Bus error reply: a name and a human-readable message.
type Error struct {
	Name    string
	Message string
}

// Errorf builds an *Error with a formatted message.
func Errorf(name, format string, args ...any) *Error {
	return &Error{Name: name, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.Name + ": " + e.Message }

// DBusError lets godbus encode the error with its proper name.
func (e *Error) DBusError() (string, []any) { return e.Name, []any{e.Message} }

// asError maps any error to the *Error sent back to the caller: wrapped
// *Error values keep their name, godbus errors keep theirs, anything else
// becomes Failed.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ge godbus.Error
	if errors.As(err, &ge) {
		msg := ""
		if len(ge.Body) > 0 {
			msg, _ = ge.Body[0].(string)
		}
		return &Error{Name: ge.Name, Message: msg}
	}
	var gep *godbus.Error
	if errors.As(err, &gep) {
		msg := ""
		if len(gep.Body) > 0 {
			msg, _ = gep.Body[0].(string)
		}
		return &Error{Name: gep.Name, Message: msg}
	}
	return &Error{Name: ErrFailed, Message: err.Error()}
}
