package sessiond

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"
)

// fill creates n sessions over the bus (fake leaders: the fake host
// places any pid) and keeps their FIFOs open until the benchmark ends.
func fill(tb testing.TB, c *godbus.Conn, first, n int) []string {
	tb.Helper()
	mgr := c.Object(BusName, ManagerPath)
	ids := make([]string, 0, n)
	for i := first; i < first+n; i++ {
		var (
			id, rt, seat string
			path         godbus.ObjectPath
			fd           godbus.UnixFD
			uid, vt      uint32
			existing     bool
		)
		err := mgr.Call(IfaceManager+".CreateSession", 0, uint32(1000+i%2), uint32(100000+i), "bench", "", "", "", "", uint32(0),
			fmt.Sprintf("pts/%d", i), "", false, "", "", []struct {
				A string
				B godbus.Variant
			}{}).Store(&id, &path, &rt, &fd, &uid, &seat, &vt, &existing)
		if err != nil {
			tb.Fatalf("CreateSession %d: %v", i, err)
		}
		f := os.NewFile(uintptr(fd), "fifo")
		tb.Cleanup(func() { f.Close() })
		ids = append(ids, id)
	}
	return ids
}

func serveRoot(b *testing.B) (*godbus.Conn, string) {
	if os.Getuid() != 0 {
		b.Skip("CreateSession is root's")
	}
	c, _, addr := serveAt(b)
	return c, addr
}

// BenchmarkCreateSessions: the cost of creating the n-th session when
// n-1 exist, for n up to 100, 1000 and 5000 (flat is the goal).
func BenchmarkCreateSessions(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c, _ := serveRoot(b)
				b.StartTimer()
				start := time.Now()
				fill(b, c, 0, n)
				b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/session")
			}
		})
	}
}

// BenchmarkScale: with n sessions open, one SetLockedHint (a change of
// one object), one GetSessionByPID and one ListSessions.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{0, 50, 1000} {
		c, addr := serveRoot(b)
		ids := fill(b, c, 0, n)
		mgr := c.Object(BusName, ManagerPath)
		b.Run(fmt.Sprintf("ListSessions/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var l []sessionEntry
				if err := mgr.Call(IfaceManager+".ListSessions", 0).Store(&l); err != nil || len(l) != n {
					b.Fatalf("ListSessions: %d %v", len(l), err)
				}
			}
		})
		if n == 0 {
			continue
		}
		b.Run(fmt.Sprintf("GetSessionByPID/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var p godbus.ObjectPath
				if err := mgr.Call(IfaceManager+".GetSessionByPID", 0, uint32(100000+i%n)).Store(&p); err != nil {
					b.Fatal(err)
				}
			}
		})
		obj := c.Object(BusName, sessionPath(ids[n/2]))
		b.Run(fmt.Sprintf("SetLockedHint/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := obj.Call(IfaceSession+".SetLockedHint", 0, i%2 == 0).Err; err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("GetAll/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var m map[string]godbus.Variant
				if err := obj.Call("org.freedesktop.DBus.Properties.GetAll", 0, IfaceSession).Store(&m); err != nil {
					b.Fatal(err)
				}
			}
		})
		if n == 1000 {
			for _, par := range []int{8, 16} {
				b.Run(fmt.Sprintf("Parallel%d/%d", par, n), func(b *testing.B) { parallelCalls(b, addr, par) })
			}
		}
	}
}

// parallelCalls: par clients, each on its own connection, share b.N
// GetSessionByPID calls.
func parallelCalls(b *testing.B, addr string, par int) {
	conns := make([]*godbus.Conn, par)
	for i := range conns {
		cc, err := godbus.Connect(addr)
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		conns[i] = cc
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/par + 1
	for _, cc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mgr := cc.Object(BusName, ManagerPath)
			for i := 0; i < per; i++ {
				var l []sessionEntry
				if err := mgr.Call(IfaceManager+".ListSessions", 0).Store(&l); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
