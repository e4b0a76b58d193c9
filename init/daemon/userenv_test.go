package daemon

import (
	"slices"
	"testing"
)

// TestUserSessionEnv: a user instance fills in XDG_RUNTIME_DIR only from
// a directory of its own, and the session bus address from the runtime
// directory; what the environment has wins.
func TestUserSessionEnv(t *testing.T) {
	owned := func(o int) func(string) (int, bool) {
		return func(dir string) (int, bool) { return o, dir == "/run/user/1000" }
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name  string
		env   map[string]string
		owner func(string) (int, bool)
		want  []string
	}{
		{"none set, own dir", nil, owned(1000),
			[]string{"XDG_RUNTIME_DIR=/run/user/1000", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus"}},
		{"dir of someone else", nil, owned(0), nil},
		{"no dir", nil, func(string) (int, bool) { return 0, false }, nil},
		{"runtime dir set", map[string]string{"XDG_RUNTIME_DIR": "/tmp/rt"}, owned(1000),
			[]string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/tmp/rt/bus"}},
		{"both set", map[string]string{"XDG_RUNTIME_DIR": "/tmp/rt", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}, owned(1000), nil},
	}
	for _, tt := range tests {
		if got := userSessionEnv(env(tt.env), 1000, tt.owner); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
