package sessiond

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"ginit/internal/testenv"
)

// serve runs Serve on fakes and a private bus; it returns a client.
func serve(tb testing.TB) (*godbus.Conn, string) {
	tb.Helper()
	c, run, _ := serveAt(tb)
	return c, run
}

// serveAt is serve that also returns the bus address.
func serveAt(tb testing.TB) (*godbus.Conn, string, string) {
	tb.Helper()
	addr := testenv.PrivateBus(tb)
	run := tb.TempDir()
	cfg := Config{RunDir: run, Host: newFakeHost(), Clock: &fakeClock{now: time.Unix(1_700_000_000, 0)},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, addr) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(run, "systemd", "seats", "seat0")); err == nil {
			break
		}
		if i > 500 {
			tb.Fatal("sessiond did not publish seat0")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c, err := godbus.Connect(addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c, run, addr
}

func TestServeOverBus(t *testing.T) {
	c, run := serve(t)
	mgr := c.Object(BusName, ManagerPath)
	var seats []struct {
		ID   string
		Path godbus.ObjectPath
	}
	if err := mgr.Call(IfaceManager+".ListSeats", 0).Store(&seats); err != nil || len(seats) != 1 || seats[0].Path != "/org/freedesktop/login1/seat/seat0" {
		t.Errorf("ListSeats: %v %v", seats, err)
	}
	var inh []struct {
		What, Who, Why, Mode string
		UID, PID             uint32
	}
	call := mgr.Call(IfaceManager+".ListInhibitors", 0)
	if err := call.Store(&inh); err != nil || len(inh) != 0 {
		t.Errorf("ListInhibitors: %v %v", inh, err)
	}
	// CreateSession over the bus (the test runs as whoever; the fake host
	// knows uid 1000), with the caller as leader.
	me := uint32(os.Getuid())
	if me != 0 {
		var de godbus.Error
		err := mgr.Call(IfaceManager+".CreateSession", 0, uint32(1000), uint32(0), "test", "", "", "", "", uint32(0), "", "", false, "", "", []struct {
			A string
			B godbus.Variant
		}{}).Err
		if !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.AccessDenied" {
			t.Errorf("CreateSession as uid %d: %v", me, err)
		}
		return
	}
	// Files are written before the signals go out: a client that saw
	// SessionNew finds the session file (the reply may come first).
	if err := c.AddMatchSignal(godbus.WithMatchObjectPath(ManagerPath), godbus.WithMatchMember("SessionNew")); err != nil {
		t.Fatal(err)
	}
	news := make(chan *godbus.Signal, 8)
	c.Signal(news)
	var (
		id, rt, seat string
		path         godbus.ObjectPath
		fd           godbus.UnixFD
		uid, vt      uint32
		existing     bool
	)
	err := mgr.Call(IfaceManager+".CreateSession", 0, uint32(1000), uint32(os.Getpid()), "test", "", "", "", "", uint32(0), "pts/1", "", false, "", "", []struct {
		A string
		B godbus.Variant
	}{}).Store(&id, &path, &rt, &fd, &uid, &seat, &vt, &existing)
	if err != nil || id != "c1" || uid != 1000 || rt != filepath.Join(run, "user", "1000") {
		t.Fatalf("CreateSession: %v %s %s %d", err, id, rt, uid)
	}
	var sp godbus.ObjectPath
	if err := mgr.Call(IfaceManager+".GetSession", 0, "c1").Store(&sp); err != nil || sp != path {
		t.Errorf("GetSession right after the reply: %v %v", sp, err)
	}
	select {
	case <-news:
	case <-time.After(5 * time.Second):
		t.Fatal("no SessionNew")
	}
	if _, err := os.Stat(filepath.Join(run, "systemd", "sessions", "c1")); err != nil {
		t.Errorf("the session file was not there when SessionNew came: %v", err)
	}
	c.RemoveSignal(news)
	syscall.Close(int(fd))

	// The pidfd variant (pam_systemd >= 255), for a child of ours.
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	pidfd, err := unix.PidfdOpen(child.Process.Pid, 0)
	if err != nil {
		t.Skipf("no pidfd support: %v", err)
	}
	defer unix.Close(pidfd)
	var id2 string
	var leader uint32
	var fd2 godbus.UnixFD
	err = mgr.Call(IfaceManager+".CreateSessionWithPIDFD", 0, uint32(1001), godbus.UnixFD(pidfd), "test", "", "", "", "", uint32(0), "", "", false, "", "", uint64(0), []struct {
		A string
		B godbus.Variant
	}{}).Store(&id2, &path, &rt, &fd2, &uid, &seat, &vt, &existing)
	if err != nil || id2 != "c2" || uid != 1001 {
		t.Fatalf("CreateSessionWithPIDFD: %v %s %d", err, id2, uid)
	}
	syscall.Close(int(fd2))
	if v, err := c.Object(BusName, path).GetProperty(IfaceSession + ".Leader"); err != nil {
		t.Error(err)
	} else if leader = v.Value().(uint32); int(leader) != child.Process.Pid {
		t.Errorf("leader %d, want the pidfd's process %d", leader, child.Process.Pid)
	}
	path = sessionPath("c1")
	deadline := time.Now().Add(5 * time.Second)
	for {
		// The FIFO closed, but the fake scope is still populated: closing.
		st, err := c.Object(BusName, path).GetProperty(IfaceSession + ".State")
		if err == nil && st.Value() == "closing" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session state %v %v, want closing", st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkListSessionsPrivateBus: ListSessions round trips from an
// in-process godbus client to Serve on a private bus (no root needed).
func BenchmarkListSessionsPrivateBus(b *testing.B) {
	c, _ := serve(b)
	mgr := c.Object(BusName, ManagerPath)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var l []sessionEntry
		if err := mgr.Call(IfaceManager+".ListSessions", 0).Store(&l); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// TestSetLockedHintOverBus: SetLockedHint (served without a worker)
// answers once its change is published: the client that got the reply
// reads the hint in the property, then gets PropertiesChanged, after
// which the session file says it too; a bad argument is refused.
func TestSetLockedHintOverBus(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("CreateSession is root's")
	}
	c, run, _ := serveAt(t)
	id := fill(t, c, 0, 1)[0]
	path := sessionPath(id)
	if err := c.AddMatchSignal(godbus.WithMatchObjectPath(path), godbus.WithMatchInterface("org.freedesktop.DBus.Properties")); err != nil {
		t.Fatal(err)
	}
	sigs := make(chan *godbus.Signal, 8)
	c.Signal(sigs)
	obj := c.Object(BusName, path)
	for _, locked := range []bool{true, false} {
		if err := obj.Call(IfaceSession+".SetLockedHint", 0, locked).Err; err != nil {
			t.Fatalf("SetLockedHint(%v): %v", locked, err)
		}
		v, err := obj.GetProperty(IfaceSession + ".LockedHint")
		if err != nil || v.Value() != locked {
			t.Errorf("LockedHint after SetLockedHint(%v): %v %v", locked, v, err)
		}
		select {
		case sg := <-sigs:
			if ch, _ := sg.Body[1].(map[string]godbus.Variant); ch["LockedHint"].Value() != locked {
				t.Errorf("PropertiesChanged %v, want LockedHint %v", sg.Body, locked)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("no PropertiesChanged for SetLockedHint(%v)", locked)
		}
		f, err := readEnvFile(filepath.Join(run, "systemd", "sessions", id))
		if want := map[bool]string{true: "1", false: "0"}[locked]; err != nil || f["LOCKED_HINT"] != want {
			t.Errorf("after SetLockedHint(%v)'s PropertiesChanged the file says %q (%v)", locked, f["LOCKED_HINT"], err)
		}
	}
	if err := obj.Call(IfaceSession+".SetLockedHint", 0, "yes").Err; err == nil {
		t.Error("SetLockedHint with a string succeeded")
	}
}
