package automount

import (
	"encoding/binary"
	"strings"
	"testing"
)

func packet(proto, typ, token uint32, name string, size int) []byte {
	b := make([]byte, size)
	le := binary.NativeEndian
	le.PutUint32(b[0:], proto)
	le.PutUint32(b[4:], typ)
	le.PutUint32(b[8:], token)
	le.PutUint32(b[40:], uint32(len(name)))
	copy(b[44:], name)
	return b
}

func TestParsePacket(t *testing.T) {
	p, err := ParsePacket(packet(5, ptypeMissingDirect, 77, "", packetSize))
	if err != nil || p.Type != ptypeMissingDirect || p.Token != 77 || p.Name != "" {
		t.Errorf("%+v %v", p, err)
	}
	p, err = ParsePacket(packet(5, ptypeExpireIndirect, 3, "key", 300))
	if err != nil || p.Name != "key" || p.Token != 3 {
		t.Errorf("%+v %v", p, err)
	}
	for _, bad := range []struct {
		b    []byte
		want string
	}{
		{packet(5, 5, 1, "", packetSize)[:20], "at least 44"},
		{packet(4, 5, 1, "", packetSize), "protocol 4"},
		{func() []byte {
			b := packet(5, 5, 1, "", packetSize)
			binary.NativeEndian.PutUint32(b[40:], 999)
			return b
		}(), "out of range"},
	} {
		if _, err := ParsePacket(bad.b); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v, want %q", err, bad.want)
		}
	}
}

// FuzzParsePacket: no packet the pipe could carry panics the decoder.
func FuzzParsePacket(f *testing.F) {
	f.Add(packet(5, ptypeMissingDirect, 1, "", packetSize))
	f.Add(packet(5, ptypeExpireDirect, 2, "x", 300))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParsePacket(b); err == nil && len(p.Name) > 255 {
			t.Fatal("name longer than NAME_MAX")
		}
	})
}
