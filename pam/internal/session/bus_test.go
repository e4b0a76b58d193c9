package session

import (
	"errors"
	"strings"
	"testing"

	godbus "github.com/godbus/dbus/v5"
)

func TestCallError(t *testing.T) {
	tests := []struct {
		name string
		want error // nil: none of the sentinels
	}{
		{"org.freedesktop.DBus.Error.ServiceUnknown", ErrUnreachable},
		{"org.freedesktop.DBus.Error.NameHasNoOwner", ErrUnreachable},
		{"org.freedesktop.DBus.Error.Spawn.ChildExited", ErrUnreachable},
		{"org.freedesktop.login1.SessionBusy", ErrSessionBusy},
		{"org.freedesktop.login1.NoSuchSession", ErrNoSuchSession},
		{"org.freedesktop.DBus.Error.AccessDenied", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := callError(godbus.Error{Name: tt.name, Body: []any{"some text"}})
			for _, s := range []error{ErrUnreachable, ErrSessionBusy, ErrNoSuchSession} {
				if errors.Is(err, s) != (s == tt.want) {
					t.Errorf("callError: %v; is %v: %v", err, s, errors.Is(err, s))
				}
			}
			if !strings.Contains(err.Error(), tt.name) || !strings.Contains(err.Error(), "some text") {
				t.Errorf("message %q lacks the error name or text", err)
			}
		})
	}
}
