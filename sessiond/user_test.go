package sessiond

import (
	"testing"
)

func TestLinger(t *testing.T) {
	w := newWorld(t, "", nil, nil)
	w.state(func(s *state) {
		if err := s.setLinger(1001, true); err != nil {
			t.Fatal(err)
		}
	})
	if u := w.file("systemd/users/1001"); u["STATE"] != "lingering" || !w.exists("user/1001") || !w.exists("linger/bob") {
		t.Errorf("lingering user: %v", u)
	}
	rep := w.mustCreate(CreateRequest{UID: 1001, PID: 110})
	rep.FIFO.Close()
	w.host.empty(rep.ID)
	w.waitFor("session to go", func() bool { return !w.exists("systemd/sessions/" + rep.ID) })
	if !w.exists("user/1001") {
		t.Error("a lingering user's runtime dir went with the last session")
	}
	w.state(func(s *state) {
		if err := s.setLinger(1001, false); err != nil {
			t.Fatal(err)
		}
	})
	if w.exists("user/1001") || w.exists("systemd/users/1001") {
		t.Error("user stays after linger was disabled")
	}
}
