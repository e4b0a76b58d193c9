package sys

import "testing"

func TestSessionIDFromCgroup(t *testing.T) {
	for _, c := range []struct {
		path, want string
	}{
		{"/user.slice/user-1000.slice/session-c3.scope", "c3"},
		{"/test.slice/user.slice/user-0.slice/session-12.scope/sub", "12"},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", ""},
		{"/system.slice/sshd.service", ""},
		{"/session-c1.scope", ""},
		{"/user.slice/user-1000.slice/session-c-1.scope", ""},
	} {
		got, ok := sessionFromCgroupPath(c.path)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s: %q %v, want %q", c.path, got, ok, c.want)
		}
	}
}
