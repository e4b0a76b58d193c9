package dbus

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	godbus "github.com/godbus/dbus/v5"
)

// TestGetAllOrder: GetAll answers in declaration order every time (a Go
// map would change order from call to call), for one interface and for
// GetAll("") across interfaces.
func TestGetAllOrder(t *testing.T) {
	var names []string
	for i := 0; i < 40; i++ {
		names = append(names, fmt.Sprintf("P%02d", (i*7)%40)) // not sorted
	}
	mk := func(iface string, ns []string) *Interface {
		i := &Interface{Name: iface}
		for _, n := range ns {
			i.Properties = append(i.Properties, Property{Name: n, Type: "s"})
		}
		return i
	}
	a, b := mk("org.example.A", names[:30]), mk("org.example.B", names[30:])
	obj := &Object{Interfaces: []*Interface{a, b}, Props: func(c *Call, iface string) (map[string]godbus.Variant, error) {
		ns := names[30:]
		if iface == "org.example.A" {
			ns = append(names[:30:30], "Zundeclared", "Aundeclared")
		}
		out := map[string]godbus.Variant{}
		for _, n := range ns {
			out[n] = godbus.MakeVariant(n)
		}
		return out, nil
	}}
	for _, c := range []struct {
		iface string
		want  []string
	}{
		// Undeclared names (none in login1) come last, sorted.
		{"org.example.A", append(names[:30:30], "Aundeclared", "Zundeclared")},
		{"org.example.B", names[30:]},
	} {
		for round := 0; round < 20; round++ {
			out, err := propGetAll(&Call{Body: []any{c.iface}, Object: obj})
			if err != nil {
				t.Fatal(err)
			}
			d := out[0].(Dict)
			var got []string
			for _, e := range d {
				got = append(got, e.Key)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("GetAll(%s) round %d:\n got %v\nwant %v", c.iface, round, got, c.want)
			}
		}
	}
	out, err := propGetAll(&Call{Body: []any{""}, Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	if d := out[0].(Dict); len(d) != 42 || d[0].Key != names[0] || d[32].Key != names[30] {
		t.Errorf("GetAll(\"\") not in interface then declaration order: %v", d)
	}
	// The standard interfaces have no properties: an empty a{sv}.
	if out, err := propGetAll(&Call{Body: []any{IfaceProperties}, Object: obj}); err != nil || len(out[0].(Dict)) != 0 {
		t.Errorf("GetAll(Properties): %v %v", out, err)
	}
}

// TestDictWire: a Dict is sent as a{sv} entries in its own order, and
// decodes as an ordinary a{sv}.
func TestDictWire(t *testing.T) {
	d := Dict{{"Zeta", godbus.MakeVariant(uint32(1))}, {"Alpha", godbus.MakeVariant("x")}, {"Mid", godbus.MakeVariant(true)}}
	body := []any{d, "tail"}
	if sig := bodySignature(body).String(); sig != "a{sv}s" {
		t.Fatalf("signature %q", sig)
	}
	msg := &godbus.Message{Type: godbus.TypeMethodReply, Headers: map[godbus.HeaderField]godbus.Variant{
		godbus.FieldReplySerial: godbus.MakeVariant(uint32(1)),
		godbus.FieldSignature:   godbus.MakeVariant(bodySignature(body)),
	}, Body: body}
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	if z, a, m := bytes.Index(raw, []byte("Zeta")), bytes.Index(raw, []byte("Alpha")), bytes.Index(raw, []byte("Mid")); !(z < a && a < m) {
		t.Errorf("entries not in Dict order on the wire: %d %d %d", z, a, m)
	}
	back, err := godbus.DecodeMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := back.Body[0].(map[string]godbus.Variant)
	if !ok || len(m) != 3 || m["Zeta"].Value() != uint32(1) || m["Alpha"].Value() != "x" || back.Body[1] != "tail" {
		t.Errorf("decoded %#v", back.Body)
	}
}
