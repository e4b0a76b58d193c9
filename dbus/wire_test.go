package dbus

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	godbus "github.com/godbus/dbus/v5"
)

// encodeCall is a method call as godbus puts it on the wire.
func encodeCall(t testing.TB, order binary.ByteOrder, flags godbus.Flags, iface string, body ...any) []byte {
	msg := &godbus.Message{Type: godbus.TypeMethodCall, Flags: flags, Headers: map[godbus.HeaderField]godbus.Variant{
		godbus.FieldPath:        godbus.MakeVariant(godbus.ObjectPath("/org/freedesktop/login1")),
		godbus.FieldMember:      godbus.MakeVariant("GetSessionByPID"),
		godbus.FieldSender:      godbus.MakeVariant(":1.42"),
		godbus.FieldDestination: godbus.MakeVariant("org.freedesktop.login1"),
	}, Body: body}
	if iface != "" {
		msg.Headers[godbus.FieldInterface] = godbus.MakeVariant(iface)
	}
	if len(body) > 0 {
		msg.Headers[godbus.FieldSignature] = godbus.MakeVariant(godbus.SignatureOf(body...))
	}
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, order); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	order.PutUint32(b[8:12], 7)
	return b
}

// TestDecodeCall: the own decoder reads every basic-typed call as godbus
// does, in both byte orders, and declines what it leaves to godbus.
func TestDecodeCall(t *testing.T) {
	cases := []struct {
		name    string
		iface   string
		flags   godbus.Flags
		body    []any
		decline bool
	}{
		{name: "no body", iface: "org.freedesktop.login1.Manager"},
		{name: "pid", iface: "org.freedesktop.login1.Manager", body: []any{uint32(4242)}},
		{name: "no interface, no reply", flags: godbus.FlagNoReplyExpected, body: []any{"c1"}},
		{name: "every basic type", iface: "a.b", body: []any{byte(3), true, int16(-2), uint16(9), int32(-7), uint32(8),
			int64(-1 << 40), uint64(1 << 50), 2.5, "grüß", godbus.ObjectPath("/a/b"), godbus.Signature{}}},
		{name: "alignment after a byte", iface: "a.b", body: []any{byte(1), uint64(2), byte(3), "x", false}},
		{name: "array", iface: "a.b", body: []any{[]string{"x"}}, decline: true},
		{name: "struct", iface: "a.b", body: []any{struct{ A, B string }{"x", "y"}}, decline: true},
		{name: "variant", iface: "a.b", body: []any{godbus.MakeVariant("x")}, decline: true},
	}
	for _, tc := range cases {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			b := encodeCall(t, order, tc.flags, tc.iface, tc.body...)
			got, err := decodeCall(b, nil)
			if tc.decline {
				if err == nil {
					t.Errorf("%s %v: decoded, want it left to godbus", tc.name, order)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %v: %v", tc.name, order, err)
				continue
			}
			msg, err := godbus.DecodeMessage(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if want := callOf(msg); !reflect.DeepEqual(got, want) {
				t.Errorf("%s %v:\n got %+v\nwant %+v", tc.name, order, got, want)
			}
		}
	}
}

// TestAppendReply: the own encoder's replies read back through godbus
// as the same message godbus would have built.
func TestAppendReply(t *testing.T) {
	enc, err := Encode([]struct {
		ID   string
		UID  uint32
		Path godbus.ObjectPath
	}{{"c1", 1000, "/s/c1"}, {"c2", 0, "/s/c2"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		dest    string
		out     []any
		err     error
		decline bool
	}{
		{name: "empty", dest: ":1.9"},
		{name: "path", dest: ":1.9", out: []any{godbus.ObjectPath("/org/freedesktop/login1/session/c1")}},
		{name: "peer to peer", out: []any{"x", uint32(1)}},
		{name: "every type", dest: ":1.9", out: []any{byte(1), true, int32(-3), uint32(4), int64(-5), uint64(6), 1.5, "s", godbus.ObjectPath("/")}},
		{name: "error", dest: ":1.9", err: Errorf(ErrNoSessionForPID, "PID %d does not belong to any known session", 4)},
		{name: "encoded", dest: ":1.9", out: []any{enc}},
		{name: "container", dest: ":1.9", out: []any{[]string{"a"}}, decline: true},
	}
	for _, tc := range cases {
		b, ok := appendReply([]byte("junk"), tc.dest, 77, tc.out, tc.err)
		if ok == tc.decline {
			t.Errorf("%s: encoded %v", tc.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if string(b[:4]) != "junk" {
			t.Fatalf("%s: prefix overwritten", tc.name)
		}
		b = b[4:]
		binary.LittleEndian.PutUint32(b[8:12], 5)
		if n, err := frameLen(b); err != nil || n != len(b) {
			t.Fatalf("%s: frame %d of %d bytes: %v", tc.name, n, len(b), err)
		}
		got, err := godbus.DecodeMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := replyMessage(tc.dest, 77, tc.out, tc.err)
		if got.Type != want.Type || !reflect.DeepEqual(got.Headers, want.Headers) {
			t.Errorf("%s: got %v %v, want %v %v", tc.name, got.Type, got.Headers, want.Type, want.Headers)
		}
		// godbus decodes structs as []any: compare the encoded bodies.
		var wb bytes.Buffer
		if err := want.EncodeTo(&wb, binary.LittleEndian); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wireBody(b), wireBody(wb.Bytes())) {
			t.Errorf("%s: body differs from godbus's", tc.name)
		}
	}
}

// FuzzDecodeCall: what the own decoder accepts, godbus decodes to the
// same call.
func FuzzDecodeCall(f *testing.F) {
	f.Add(encodeCall(f, binary.LittleEndian, 0, "a.b", uint32(1), "x"))
	f.Add(encodeCall(f, binary.BigEndian, 0, "", byte(1), uint64(2), godbus.ObjectPath("/a")))
	f.Add(encodeCall(f, binary.LittleEndian, 0, "a.b", true, godbus.Signature{}))
	// One interner across inputs, as a reader keeps it: a name it has
	// seen must not pass a rule it was never checked against.
	in := &interner{}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := frameLen(b)
		if err != nil || n == 0 || n != len(b) {
			return
		}
		got, err := decodeCall(b, in)
		if err != nil {
			return
		}
		msg, err := godbus.DecodeMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("decoded what godbus refuses (%v): %+v", err, got)
		}
		if want := callOf(msg); !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
	})
}

// wireBody is the body of the framed little-endian message b.
func wireBody(b []byte) []byte {
	return b[16+(binary.LittleEndian.Uint32(b[12:16])+7)&^7:]
}

// TestAppendSignal: the own encoder's signals read back through godbus
// as the message signalMessage builds; bodies it does not encode go to
// godbus.
func TestAppendSignal(t *testing.T) {
	cases := []struct {
		name    string
		dest    string
		sig     string // interface.member
		args    []any
		decline bool
	}{
		{name: "no body", sig: "org.freedesktop.login1.Session.Lock"},
		{name: "basic, to one", dest: ":1.4", sig: "org.freedesktop.login1.Manager.SessionNew",
			args: []any{"c1", godbus.ObjectPath("/org/freedesktop/login1/session/c1")}},
		{name: "every type", sig: "a.b.C", args: []any{byte(1), true, int32(-3), uint32(4), int64(-5), uint64(6), 1.5, "s"}},
		{name: "PropertiesChanged", sig: IfaceProperties + ".PropertiesChanged", args: []any{"org.freedesktop.login1.Session",
			map[string]godbus.Variant{"LockedHint": godbus.MakeVariant(true), "IdleSinceHint": godbus.MakeVariant(uint64(7)),
				"State": godbus.MakeVariant("active"), "VTNr": godbus.MakeVariant(uint32(2))}, []string{"Seat", "User"}}},
		{name: "empty dict and list", sig: IfaceProperties + ".PropertiesChanged", args: []any{"i.f",
			map[string]godbus.Variant{}, []string{}}},
		{name: "struct variant", sig: IfaceProperties + ".PropertiesChanged", args: []any{"i.f",
			map[string]godbus.Variant{"User": godbus.MakeVariant(struct {
				U uint32
				P godbus.ObjectPath
			}{1, "/u"})}, []string{}}, decline: true},
		{name: "container", sig: "a.b.C", args: []any{[]uint32{1}}, decline: true},
	}
	for _, tc := range cases {
		i := strings.LastIndexByte(tc.sig, '.')
		b, ok := appendSignal([]byte("junk"), tc.dest, "/p/q", tc.sig[:i], tc.sig[i+1:], tc.args)
		if ok == tc.decline {
			t.Errorf("%s: encoded %v", tc.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if string(b[:4]) != "junk" {
			t.Fatalf("%s: prefix overwritten", tc.name)
		}
		b = b[4:]
		binary.LittleEndian.PutUint32(b[8:12], 5)
		if n, err := frameLen(b); err != nil || n != len(b) {
			t.Fatalf("%s: frame %d of %d bytes: %v", tc.name, n, len(b), err)
		}
		got, err := godbus.DecodeMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want, err := signalMessage(tc.dest, "/p/q", tc.sig, tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != want.Type || !reflect.DeepEqual(got.Headers, want.Headers) {
			t.Errorf("%s: got %v %v, want %v %v", tc.name, got.Type, got.Headers, want.Type, want.Headers)
		}
		wantBody := want.Body
		if len(wantBody) == 0 {
			wantBody = nil
		}
		gotBody := got.Body
		if len(gotBody) == 0 {
			gotBody = nil
		}
		if !reflect.DeepEqual(gotBody, wantBody) {
			t.Errorf("%s: body %#v, want %#v", tc.name, gotBody, wantBody)
		}
	}
}
