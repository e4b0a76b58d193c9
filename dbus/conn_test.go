package dbus

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"ginit/internal/testenv"
)

// TestConnSignalsAndCalls: unicast and broadcast signals reach a peer in
// the order they were sent, and Call matches replies and honours its
// context.
func TestConnSignalsAndCalls(t *testing.T) {
	addr := testenv.PrivateBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make(chan *godbus.Message, 8)
	srv, err := Dial(ctx, addr, ConnConfig{Signal: func(m *godbus.Message) { got <- m }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.AddMatchSignal(godbus.WithMatchInterface("org.example.Sig")); err != nil {
		t.Fatal(err)
	}
	sigs := make(chan *godbus.Signal, 16)
	cl.Signal(sigs)
	for i := range 5 {
		if i%2 == 0 {
			err = srv.EmitTo(cl.Names()[0], "/obj", "org.example.Sig.Tick", uint32(i))
		} else {
			err = srv.Emit("/obj", "org.example.Sig.Tick", uint32(i))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		select {
		case sg := <-sigs:
			if sg.Name != "org.example.Sig.Tick" || len(sg.Body) != 1 || sg.Body[0] != uint32(i) {
				t.Errorf("signal %d: %s %v", i, sg.Name, sg.Body)
			}
		case <-ctx.Done():
			t.Fatal("signals did not arrive")
		}
	}

	// Our own match rule routes a signal to the Signal function.
	if err := srv.AddMatch(ctx, "type='signal',interface='org.example.Back'"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Emit("/x", "org.example.Back.Hi", "there"); err != nil {
		t.Fatal(err)
	}
	for seen := false; !seen; {
		select {
		case m := <-got:
			// The bus's own NameAcquired comes first.
			if m.Headers[godbus.FieldMember].Value() != "Hi" {
				continue
			}
			seen = true
			if m.Body[0] != "there" {
				t.Errorf("signal body %v", m.Body)
			}
		case <-ctx.Done():
			t.Fatal("our match rule routed nothing")
		}
	}

	body, err := srv.Call(ctx, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", cl.Names()[0])
	if err != nil || len(body) != 1 || body[0] != true {
		t.Errorf("NameHasOwner: %v %v", body, err)
	}
	_, err = srv.Call(ctx, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NoSuchMethod")
	var e *Error
	if !errors.As(err, &e) || e.Name != ErrUnknownMethod {
		t.Errorf("NoSuchMethod: %v", err)
	}
	// A peer that never answers: the context ends the wait.
	if err := cl.Export(&silent{}, "/quiet", "org.example.Quiet"); err != nil {
		t.Fatal(err)
	}
	short, stop := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); stop() }()
	_, err = srv.Call(short, cl.Names()[0], "/quiet", "org.example.Quiet", "Never")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Call to a silent peer: %v, want context.Canceled", err)
	}
	srv.Close()
	if _, err := srv.Call(ctx, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId"); err == nil {
		t.Error("Call on a closed connection succeeded")
	}
	select {
	case <-srv.Done():
	case <-ctx.Done():
		t.Error("Done not closed after Close")
	}
}

// silent answers Never late, after the caller gave up.
type silent struct{}

func (s *silent) Never() *godbus.Error {
	time.Sleep(2 * time.Second)
	return nil
}

func TestParseUnixAddress(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"unix:path=/run/bus", "/run/bus", ""},
		{"unix:path=/a%20b,guid=00", "/a b", ""},
		{"unix:guid=1,abstract=x", "@x", ""},
		{"tcp:host=x", "", "only unix"},
		{"unix:path", "", "key=value"},
		{"unix:guid=1", "", "no path"},
		{"unix:path=%2", "", "truncated"},
		{"unix:path=%zz", "", "bad escape"},
	} {
		a, err := parseUnixAddress(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
		case err != nil || a.Name != c.want:
			t.Errorf("%q: %v %v, want %q", c.in, a, err, c.want)
		}
	}
}

func TestParseSASLLine(t *testing.T) {
	for _, c := range []struct {
		in, cmd string
		ok      bool
	}{
		{"OK 0123456789abcdef0123456789abcdef", "OK", true},
		{"OK nothex", "", false},
		{"AGREE_UNIX_FD", "AGREE_UNIX_FD", true},
		{"REJECTED EXTERNAL", "REJECTED", true},
		{"ERROR", "ERROR", true},
		{"WHAT", "", false},
		{"", "", false},
		{"OK \x01", "", false},
	} {
		r, err := parseSASLLine([]byte(c.in))
		if (err == nil) != c.ok || r.cmd != c.cmd {
			t.Errorf("%q: %+v %v", c.in, r, err)
		}
	}
}

func TestFrameLen(t *testing.T) {
	hdr := func(order byte, body, hlen uint32) []byte {
		b := make([]byte, 16)
		b[0] = order
		put := func(o int, v uint32) {
			if order == 'l' {
				b[o], b[o+1], b[o+2], b[o+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
			} else {
				b[o], b[o+1], b[o+2], b[o+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
			}
		}
		put(4, body)
		put(12, hlen)
		return b
	}
	for _, c := range []struct {
		name string
		in   []byte
		want int
		err  bool
	}{
		{"short", []byte("l\x01"), 0, false},
		{"little", hdr('l', 3, 5), 16 + 8 + 3, false},
		{"big", hdr('B', 0, 8), 16 + 8, false},
		{"order", hdr('x', 0, 0), 0, true},
		{"huge", hdr('l', 1<<27, 0), 0, true},
	} {
		n, err := frameLen(c.in)
		if n != c.want || (err != nil) != c.err {
			t.Errorf("%s: %d %v", c.name, n, err)
		}
	}
}

// FuzzWire: the parsers of server input never panic, and a frame never
// claims more than the specification allows.
func FuzzWire(f *testing.F) {
	f.Add([]byte("OK 0123456789abcdef0123456789abcdef"))
	f.Add([]byte("unix:path=/run/x,guid=1"))
	f.Add([]byte("l\x01\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00\x08\x00\x00\x00\x09\x01u\x00\x02\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseSASLLine(b)
		_, _ = parseUnixAddress(string(b))
		if n, err := frameLen(b); err == nil && n > maxMessage {
			t.Fatalf("frame of %d bytes accepted", n)
		}
		if len(b) >= 16 {
			_ = unixFDCount(b)
			_ = headerString(b, binary.LittleEndian, 7)
			_ = headerString(b, binary.BigEndian, 7)
		}
	})
}
