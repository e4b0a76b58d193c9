package usersession_test

import (
	"testing"
	"time"

	"ginit/internal/testenv"
)

// BenchmarkLoginToBus times a login through pamtester with
// pam_sessiond.so, from the start of open_session until the user's first
// dbus-send on the session bus answers: the first login of the user (its
// manager and bus start, sessiond answers CreateSession once they are
// ready) and a second, parallel one (the manager runs). The anchor is the
// same login on a sessiond that starts no managers, up to the session's
// program (no bus to use). ms/open_session is the part spent in PAM.
func BenchmarkLoginToBus(b *testing.B) {
	b.Run("first", func(b *testing.B) { benchLogin(b, options{}, true) })
	b.Run("second", func(b *testing.B) { benchLogin(b, options{}, false) })
	b.Run("anchor-no-manager", func(b *testing.B) { benchLogin(b, options{noManagers: true}, true) })
}

func benchLogin(b *testing.B, o options, first bool) {
	w := newWorld(b, o)
	ready := func() {
		if o.noManagers {
			return
		}
		for {
			if _, err := w.asUser("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/", "org.freedesktop.DBus.ListNames"); err == nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	var total, pam time.Duration
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		var held *testenv.Held
		if !first {
			held = w.login("usd", "pts/1")
			ready()
		}
		t0 := time.Now()
		h := w.login("usd", "pts/2")
		t1 := time.Now()
		ready()
		total += time.Since(t0)
		pam += t1.Sub(t0)
		pids := w.managerPids()
		w.logout(h)
		if held != nil {
			w.logout(held)
		}
		if !o.noManagers {
			w.waitGone(pids)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/login")
	b.ReportMetric(float64(pam.Microseconds())/1000/float64(b.N), "ms/open_session")
	b.ReportMetric(0, "ns/op")
}
