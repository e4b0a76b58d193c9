//go:build cgo

package ctest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	godbus "github.com/godbus/dbus/v5"
)

// encode is godbus's encoding of a message (an encoder independent of
// wire.c) with the serial a bus would give it, and the descriptors it
// carries.
func encode(t testing.TB, m *godbus.Message, order binary.ByteOrder, serial uint32) ([]byte, []int) {
	var buf bytes.Buffer
	fds, err := m.EncodeToWithFDs(&buf, order)
	if err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	order.PutUint32(b[8:], serial)
	return b, fds
}

func createReply(replySerial uint32, body []any, nfds int) *godbus.Message {
	h := map[godbus.HeaderField]godbus.Variant{
		godbus.FieldReplySerial: godbus.MakeVariant(replySerial),
		godbus.FieldSignature:   godbus.MakeVariant(godbus.SignatureOf(body...)),
		godbus.FieldSender:      godbus.MakeVariant(":1.1"),
	}
	if nfds > 0 {
		h[godbus.FieldUnixFDs] = godbus.MakeVariant(uint32(nfds))
	}
	return &godbus.Message{Type: godbus.TypeMethodReply, Headers: h, Body: body}
}

// TestParseMessage: messages godbus encodes, in both byte orders, read
// back with their header fields and body; each prefix of one is
// incomplete, and broken headers are refused.
func TestParseMessage(t *testing.T) {
	body := []any{"c7", godbus.ObjectPath("/org/freedesktop/login1/session/c7"), "/run/user/1000",
		godbus.UnixFDIndex(0), uint32(1000), "seat0", uint32(3), false}
	errMsg := &godbus.Message{Type: godbus.TypeError, Headers: map[godbus.HeaderField]godbus.Variant{
		godbus.FieldReplySerial: godbus.MakeVariant(uint32(2)),
		godbus.FieldErrorName:   godbus.MakeVariant("org.freedesktop.login1.NoSuchSession"),
		godbus.FieldSignature:   godbus.MakeVariant(godbus.Signature{}),
		godbus.FieldDestination: godbus.MakeVariant(":1.9"),
	}, Body: []any{"No session 'x' known"}}
	errMsg.Headers[godbus.FieldSignature] = godbus.MakeVariant(godbus.SignatureOf("s"))
	signal := &godbus.Message{Type: godbus.TypeSignal, Headers: map[godbus.HeaderField]godbus.Variant{
		godbus.FieldPath:      godbus.MakeVariant(godbus.ObjectPath("/org/freedesktop/DBus")),
		godbus.FieldInterface: godbus.MakeVariant("org.freedesktop.DBus"),
		godbus.FieldMember:    godbus.MakeVariant("NameAcquired"),
		godbus.FieldSignature: godbus.MakeVariant(godbus.SignatureOf("s", map[string]godbus.Variant{})),
	}, Body: []any{":1.9", map[string]godbus.Variant{"a": godbus.MakeVariant([]int16{1, 2}), "b": godbus.MakeVariant(struct {
		A byte
		B string
	}{1, "x"})}}}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		b, _ := encode(t, createReply(2, body, 1), order, 5)
		n, m := ParseMessage(b)
		if n != len(b) {
			t.Fatalf("%v reply: length %d of %d", order, n, len(b))
		}
		want := CreateReply{ID: "c7", ObjectPath: "/org/freedesktop/login1/session/c7", RuntimePath: "/run/user/1000",
			UID: 1000, Seat: "seat0", VTNr: 3}
		if m.Type != 2 || m.Serial != 5 || !m.HasReplySerial || m.ReplySerial != 2 || m.UnixFDs != 1 ||
			m.Signature != "soshusub" || m.CreateReply == nil || *m.CreateReply != want || m.BigEndian != (order == binary.BigEndian) {
			t.Fatalf("%v reply read as %+v (%+v)", order, m, m.CreateReply)
		}
		for i := 0; i < len(b); i++ {
			if k, _ := ParseMessage(b[:i]); k != 0 {
				t.Fatalf("%v: prefix of %d bytes: %d, want 0 (incomplete)", order, i, k)
			}
		}
		b, _ = encode(t, errMsg, order, 6)
		if n, m := ParseMessage(b); n != len(b) || m.Type != 3 || m.ErrorName != "org.freedesktop.login1.NoSuchSession" ||
			m.ErrorText != "No session 'x' known" || m.CreateReply != nil || m.CreateReplyNotOK != "signature" {
			t.Fatalf("%v error read as %d %+v", order, n, m)
		}
		b, _ = encode(t, signal, order, 7)
		// Two messages back to back: the first one's length.
		two := append(append([]byte(nil), b...), b...)
		if n, m := ParseMessage(two); n != len(b) || m.Type != 4 || m.Signature != "sa{sv}" {
			t.Fatalf("%v signal read as %d of %d: %+v", order, n, len(b), m)
		}
	}
	good, _ := encode(t, createReply(2, body, 1), binary.LittleEndian, 5)
	broken := []struct {
		name string
		edit func(b []byte)
	}{
		{"byte order", func(b []byte) { b[0] = 'x' }},
		{"version", func(b []byte) { b[3] = 2 }},
		{"type", func(b []byte) { b[1] = 9 }},
		{"serial 0", func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 0) }},
		{"huge body", func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 1<<30) }},
		{"string without its NUL", func(b []byte) {
			i := bytes.Index(b, []byte("soshusub"))
			b[i+8] = 'x'
		}},
		{"field of the wrong type", func(b []byte) {
			// REPLY_SERIAL's variant signature "u" made "s".
			i := bytes.Index(b, []byte{5, 1, 'u', 0})
			b[i+2] = 's'
		}},
	}
	for _, c := range broken {
		b := append([]byte(nil), good...)
		c.edit(b)
		if n, _ := ParseMessage(b); n != -1 {
			t.Errorf("%s: %d, want -1", c.name, n)
		}
	}
	// A reply with a body shorter than its signature says.
	short := createReply(2, []any{"c7"}, 0)
	short.Headers[godbus.FieldSignature] = godbus.MakeVariant(godbus.ParseSignatureMust("soshusub"))
	b, _ := encode(t, short, binary.LittleEndian, 3)
	if n, m := ParseMessage(b); n != len(b) || m.CreateReply != nil || m.CreateReplyNotOK != "malformed body" {
		t.Errorf("short body: %d %+v", n, m)
	}
}

// TestMethodCall: what pamsd_wire_call builds, godbus reads back as the
// same call.
func TestMethodCall(t *testing.T) {
	b := MethodCall(2, "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
		"ReleaseSession", []string{"c7", "ünï"})
	m, err := godbus.DecodeMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != godbus.TypeMethodCall || m.Serial() != 2 || m.Headers[godbus.FieldMember].Value() != "ReleaseSession" ||
		m.Headers[godbus.FieldDestination].Value() != "org.freedesktop.login1" ||
		m.Headers[godbus.FieldPath].Value() != godbus.ObjectPath("/org/freedesktop/login1") ||
		len(m.Body) != 2 || m.Body[0] != "c7" || m.Body[1] != "ünï" {
		t.Fatalf("decoded %v", m)
	}
	if n, pm := ParseMessage(b); n != len(b) || pm.Type != 1 || pm.Signature != "ss" {
		t.Fatalf("own parser: %d %+v", n, pm)
	}
}

func TestValidUTF8(t *testing.T) {
	for _, s := range []string{"", "abc", "ünï", "\u20ac", "\U0010ffff", "\xc3", "\xc0\x80", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xe0\x80\xaf", "\xff", "a\x80b", "\xf0\x9f\x98\x80"} {
		if got, want := ValidUTF8(s), utf8.ValidString(s); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}

// fakeBus is a unix socket whose one connection is served by serve.
func fakeBus(t *testing.T, serve func(c *net.UnixConn, r *bufio.Reader)) string {
	path := filepath.Join(t.TempDir(), "bus")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c, bufio.NewReader(c))
	}()
	return "unix:path=" + strings.ReplaceAll(path, "-", "%2d")
}

// readAuth reads the client's authentication up to BEGIN; it reports
// what it read.
func readAuth(r *bufio.Reader) (string, error) {
	var all strings.Builder
	for {
		l, err := r.ReadString('\n')
		all.WriteString(l)
		if err != nil {
			return all.String(), err
		}
		if l == "BEGIN\r\n" {
			return all.String(), nil
		}
	}
}

const authOK = "OK 0123456789abcdef0123456789abcdef\r\nAGREE_UNIX_FD\r\n"

var req = Request{UID: 1000, PID: 42, Service: "login", Type: "tty", Class: "user", Seat: "seat0", VTNr: 2,
	TTY: "tty2", RemoteHost: "höst"}

// TestBusCreateSession: against a fake bus, the module authenticates as
// its uid with descriptor passing, says Hello, sends CreateSession with
// the request's arguments, and gets the reply's FIFO descriptor through
// SCM_RIGHTS, past an unrelated signal that carries a descriptor of its
// own.
func TestBusCreateSession(t *testing.T) {
	var auth string
	var got *godbus.Message
	var hello *godbus.Message
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	addr := fakeBus(t, func(c *net.UnixConn, r *bufio.Reader) {
		auth, _ = readAuth(r)
		if _, err := c.Write([]byte(authOK)); err != nil {
			return
		}
		if hello, err = godbus.DecodeMessage(r); err != nil {
			return
		}
		if got, err = godbus.DecodeMessage(r); err != nil {
			return
		}
		other, ofds := encode(t, &godbus.Message{Type: godbus.TypeSignal, Headers: map[godbus.HeaderField]godbus.Variant{
			godbus.FieldPath:      godbus.MakeVariant(godbus.ObjectPath("/x")),
			godbus.FieldInterface: godbus.MakeVariant("x.y"),
			godbus.FieldMember:    godbus.MakeVariant("Z"),
			godbus.FieldSignature: godbus.MakeVariant(godbus.SignatureOf(godbus.UnixFD(0))),
			godbus.FieldUnixFDs:   godbus.MakeVariant(uint32(1)),
		}, Body: []any{godbus.UnixFD(int(pr.Fd()))}}, binary.LittleEndian, 1)
		_, _, _ = c.WriteMsgUnix(other, syscall.UnixRights(ofds...), nil)
		body := []any{"c7", godbus.ObjectPath("/org/freedesktop/login1/session/c7"), "/run/user/1000",
			godbus.UnixFD(int(pw.Fd())), uint32(1000), "seat0", uint32(2), false}
		b, fds := encode(t, createReply(got.Serial(), body, 1), binary.BigEndian, 2)
		_, _, _ = c.WriteMsgUnix(b, syscall.UnixRights(fds...), nil)
		_, _ = io.Copy(io.Discard, r)
	})
	rep, err := CreateSession(addr, 5000, req)
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := "\x00AUTH EXTERNAL "
	for _, c := range []byte(strings.TrimSpace(itoa(os.Geteuid()))) {
		want += string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
	}
	want += "\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n"
	if auth != want {
		t.Errorf("authentication %q, want %q", auth, want)
	}
	if hello == nil || hello.Headers[godbus.FieldMember].Value() != "Hello" {
		t.Fatalf("first message %v, want Hello", hello)
	}
	wantBody := []any{uint32(1000), uint32(42), "login", "tty", "user", "", "seat0", uint32(2), "tty2", "", false, "", "höst",
		[][]any{}}
	if got == nil || got.Headers[godbus.FieldMember].Value() != "CreateSession" || len(got.Body) != len(wantBody) {
		t.Fatalf("call %v", got)
	}
	for i, v := range wantBody[:13] {
		if got.Body[i] != v {
			t.Errorf("argument %d: %#v, want %#v", i, got.Body[i], v)
		}
	}
	if rep.ID != "c7" || rep.RuntimePath != "/run/user/1000" || rep.Seat != "seat0" || rep.VTNr != 2 || rep.UID != 1000 || rep.FIFO < 0 {
		t.Fatalf("reply %+v", rep)
	}
	// The descriptor is the pipe's write end: what goes in comes out.
	f := os.NewFile(uintptr(rep.FIFO), "fifo")
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b := make([]byte, 1)
	if n, _ := pr.Read(b); n != 1 || b[0] != 'x' {
		t.Fatalf("read %q from the pipe", b[:n])
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// TestBusFailures: every way a bus can fail a call ends the call, within
// its deadline when the bus hangs, classified as the failure policy
// wants it.
func TestBusFailures(t *testing.T) {
	errReply := func(name string) func(c *net.UnixConn, r *bufio.Reader) {
		return func(c *net.UnixConn, r *bufio.Reader) {
			_, _ = readAuth(r)
			_, _ = c.Write([]byte(authOK))
			_, _ = godbus.DecodeMessage(r)
			m, err := godbus.DecodeMessage(r)
			if err != nil {
				return
			}
			b, _ := encode(t, &godbus.Message{Type: godbus.TypeError, Headers: map[godbus.HeaderField]godbus.Variant{
				godbus.FieldReplySerial: godbus.MakeVariant(m.Serial()),
				godbus.FieldErrorName:   godbus.MakeVariant(name),
				godbus.FieldSignature:   godbus.MakeVariant(godbus.SignatureOf("")),
			}, Body: []any{"because"}}, binary.LittleEndian, 3)
			_, _ = c.Write(b)
			_, _ = io.Copy(io.Discard, r)
		}
	}
	cases := []struct {
		name    string
		serve   func(c *net.UnixConn, r *bufio.Reader)
		release bool
		kind    ErrKind
		dial    bool
		msg     string
	}{
		{"hung before authentication", func(c *net.UnixConn, r *bufio.Reader) { _, _ = io.Copy(io.Discard, r) },
			false, ErrUnreachable, true, "no answer from the bus in time"},
		{"closed at once", func(c *net.UnixConn, r *bufio.Reader) {}, false, ErrUnreachable, true, "login1 not reachable"},
		{"authentication refused", func(c *net.UnixConn, r *bufio.Reader) {
			_, _ = readAuth(r)
			_, _ = c.Write([]byte("REJECTED EXTERNAL\r\n"))
			_, _ = io.Copy(io.Discard, r)
		}, false, ErrUnreachable, true, `refused: "REJECTED EXTERNAL"`},
		{"hung after authentication", func(c *net.UnixConn, r *bufio.Reader) {
			_, _ = readAuth(r)
			_, _ = c.Write([]byte(authOK))
			_, _ = io.Copy(io.Discard, r)
		}, false, ErrOther, false, "NoReply: no answer from the bus in time"},
		{"closed after authentication", func(c *net.UnixConn, r *bufio.Reader) {
			_, _ = readAuth(r)
			_, _ = c.Write([]byte(authOK))
			_, _ = godbus.DecodeMessage(r)
			_, _ = godbus.DecodeMessage(r)
		}, false, ErrOther, false, "NoReply: the bus closed the connection"},
		{"garbage after authentication", func(c *net.UnixConn, r *bufio.Reader) {
			_, _ = readAuth(r)
			_, _ = c.Write([]byte(authOK + "garbage garbage garbage"))
			_, _ = io.Copy(io.Discard, r)
		}, false, ErrOther, false, "malformed message"},
		{"no login1", errReply("org.freedesktop.DBus.Error.ServiceUnknown"), false, ErrUnreachable, false,
			"login1 not reachable: org.freedesktop.DBus.Error.ServiceUnknown: because"},
		{"busy", errReply("org.freedesktop.login1.SessionBusy"), false, ErrBusy, false, "already in a session"},
		{"no such session", errReply("org.freedesktop.login1.NoSuchSession"), true, ErrNoSuchSession, false,
			"no such session: org.freedesktop.login1.NoSuchSession: because"},
		{"wrongly typed reply", func(c *net.UnixConn, r *bufio.Reader) {
			_, _ = readAuth(r)
			_, _ = c.Write([]byte(authOK))
			_, _ = godbus.DecodeMessage(r)
			m, err := godbus.DecodeMessage(r)
			if err != nil {
				return
			}
			b, _ := encode(t, createReply(m.Serial(), []any{"c7", uint32(1)}, 0), binary.LittleEndian, 3)
			_, _ = c.Write(b)
			_, _ = io.Copy(io.Discard, r)
		}, false, ErrOther, false, `reply has signature "su", want "soshusub"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := fakeBus(t, c.serve)
			var err error
			if c.release {
				err = ReleaseSession(addr, 300, "c7")
			} else {
				var rep Reply
				rep, err = CreateSession(addr, 300, req)
				if rep.FIFO >= 0 {
					syscall.Close(rep.FIFO)
				}
			}
			be, ok := AsBusError(err)
			if !ok {
				t.Fatalf("no error: %v", err)
			}
			if be.Kind != c.kind || be.Dial != c.dial || !strings.Contains(be.Msg, c.msg) {
				t.Fatalf("got kind %d dial %v %q, want kind %d dial %v and %q", be.Kind, be.Dial, be.Msg, c.kind, c.dial, c.msg)
			}
		})
	}
	t.Run("no socket", func(t *testing.T) {
		_, err := CreateSession("unix:path="+filepath.Join(t.TempDir(), "none"), 300, req)
		if be, ok := AsBusError(err); !ok || be.Kind != ErrUnreachable || !be.Dial {
			t.Fatalf("%v", err)
		}
	})
	t.Run("no unix address", func(t *testing.T) {
		_, err := CreateSession("tcp:host=localhost,port=1", 300, req)
		if be, ok := AsBusError(err); !ok || be.Kind != ErrUnreachable || !be.Dial || !strings.Contains(be.Msg, "no unix:path=") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("not UTF-8", func(t *testing.T) {
		r := req
		r.TTY = "\xff"
		// Refused before anything is sent: a bus drops a client that
		// sends a string that is not UTF-8.
		_, err := CreateSession(fakeBus(t, func(c *net.UnixConn, r *bufio.Reader) {}), 300, r)
		if be, ok := AsBusError(err); !ok || be.Kind != ErrOther || !strings.Contains(be.Msg, "argument tty is not valid UTF-8") {
			t.Fatalf("%v", err)
		}
	})
}
