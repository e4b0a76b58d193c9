package server

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// pair returns the two ends of a connected unix socket pair.
func pair(t *testing.T) (ours, peer *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cs [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = c.(*net.UnixConn)
		t.Cleanup(func() { c.Close() })
	}
	return cs[0], cs[1]
}

// A connection whose request waits unread in its socket is not stalled,
// however old: the accept loop may outpace its goroutine, and closing it
// dropped a client that had sent everything (ginitctl list during a flood
// failed with EOF now and then).
func TestUnreadRequestIsNoStall(t *testing.T) {
	type c struct{ unread, midFrame bool }
	for _, tc := range []struct {
		name       string
		conns      []c // oldest first
		want       int // index of the victim, -1: none
		unreadOnly bool
	}{
		{"the oldest stalled one goes", []c{{}, {}}, 0, false},
		{"an unread request is skipped", []c{{unread: true}, {}, {}}, 1, false},
		{"only unread requests: none, try again", []c{{unread: true}, {unread: true}}, -1, true},
		{"a half-sent frame before a quiet one", []c{{}, {midFrame: true}, {midFrame: true}}, 1, false},
		{"but not one with bytes waiting", []c{{}, {midFrame: true, unread: true}}, 0, false},
		{"no candidates", nil, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{conns: map[*conn]struct{}{}}
			var ks []*conn
			for i, cc := range tc.conns {
				ours, peer := pair(t)
				if cc.unread {
					if _, err := peer.Write([]byte("gC")); err != nil {
						t.Fatal(err)
					}
				}
				k := &conn{c: ours, accepted: true, midFrame: cc.midFrame, last: uint64(i + 1)}
				s.conns[k] = struct{}{}
				ks = append(ks, k)
			}
			v, unreadOnly := s.stalledLocked()
			if unreadOnly != tc.unreadOnly || (tc.want < 0) != (v == nil) || tc.want >= 0 && v != ks[tc.want] {
				t.Errorf("victim %v (unreadOnly %v), want connection %d (unreadOnly %v)", v, unreadOnly, tc.want, tc.unreadOnly)
			}
		})
	}
}
