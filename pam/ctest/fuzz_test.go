//go:build cgo

package ctest

import (
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf8"

	godbus "github.com/godbus/dbus/v5"
)

// FuzzParseOptions: any argument vector (split at NUL or space) parses
// without a crash; bus_wait stays in range, and every argument is either
// understood or reported, never both.
func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{"", "debug strict", "class=greeter type=x11 desktop=GNOME bus_wait=1.5",
		"bus_wait=1e9 debug=maybe", "bus_wait=.5e1", "bus_wait=+3", "class", "strict=off\x00debug=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.FieldsFunc(s, func(r rune) bool { return r == 0 || r == ' ' })
		o, unknown := ParseOptions(args)
		if o.BusWait < 0 || o.BusWait > 600 || o.BusWait != o.BusWait {
			t.Fatalf("bus_wait %v out of range for %q", o.BusWait, args)
		}
		for _, u := range unknown {
			found := false
			for _, a := range args {
				found = found || a == u
			}
			if !found {
				t.Fatalf("unknown %q is none of %q", u, args)
			}
		}
		if len(unknown) > len(args) {
			t.Fatalf("more unknown %q than arguments %q", unknown, args)
		}
	})
}

// FuzzBuildRequest: any items and environment give a request with a type
// and a class, no vtnr off seat0, and a tty that is no placeholder.
func FuzzBuildRequest(f *testing.F) {
	f.Add("tty3", "", "", "", "")
	f.Add(":0", ":1", "seat1", "4", "localhost")
	f.Add("/dev/tty1", "", "seat0", "x", "host")
	f.Add("cron", "", "", "", "")
	f.Fuzz(func(t *testing.T, tty, display, seat, vtnr, rhost string) {
		r, _ := BuildRequest(Inputs{Items: map[Item]string{ItemTTY: tty, ItemXDisplay: display, ItemRHost: rhost},
			Env: map[string]string{"XDG_SEAT": seat, "XDG_VTNR": vtnr}, VT: 5})
		if r.Type == "" || r.Class == "" {
			t.Fatalf("no type or class: %+v", r)
		}
		if r.Seat != "" && r.Seat != "seat0" && r.VTNr != 0 {
			t.Fatalf("vtnr %d on %q", r.VTNr, r.Seat)
		}
		if strings.Contains(r.TTY, ":") || r.TTY == "cron" || r.TTY == "ssh" {
			t.Fatalf("tty %q kept", r.TTY)
		}
	})
}

// FuzzVTOfStat: any /proc/PID/stat text gives a VT in 1..63 or a reason.
func FuzzVTOfStat(f *testing.F) {
	f.Add([]byte("123 (Xorg) S 1 123 123 1026 123 0"))
	f.Add([]byte("1 ()) S 1 1 1 -1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vt, why := VTOfStat(b)
		if (vt == 0) == (why == "") || vt > 63 {
			t.Fatalf("VTOfStat(%q) = %d, %q", b, vt, why)
		}
	})
}

// FuzzEscapeQuote: escaping keeps only address-safe bytes, quoting only
// printable ASCII, and neither overruns its buffer.
func FuzzEscapeQuote(f *testing.F) {
	f.Add("/run/user/1000/bus", 32)
	f.Add("a\"\\\n\xff", 5)
	f.Fuzz(func(t *testing.T, s string, size int) {
		size = size%512 + 512
		if size < 0 {
			size = -size
		}
		size %= 512
		if e, ok := EscapeBusAddress(s, size); ok {
			if len(e) >= size || strings.Trim(e, "-_/.\\*%0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				t.Fatalf("EscapeBusAddress(%q) = %q", s, e)
			}
		}
		q := Quote(s, size)
		if size > 0 && len(q) >= size || size >= 3 && (len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"') {
			t.Fatalf("Quote(%q, %d) = %q", s, size, q)
		}
		for i := 0; i < len(q); i++ {
			if q[i] < 0x20 || q[i] >= 0x7f {
				t.Fatalf("Quote(%q) = %q: byte %#x", s, q, q[i])
			}
		}
	})
}

// FuzzParseMessage: any bytes from a bus parse without a crash; a
// complete message's length covers its body and no prefix of it is
// complete, and reading its body never fails loudly either.
func FuzzParseMessage(f *testing.F) {
	body := []any{"c7", godbus.ObjectPath("/org/freedesktop/login1/session/c7"), "/run/user/1000",
		godbus.UnixFDIndex(0), uint32(1000), "seat0", uint32(3), false}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		b, _ := encode(f, createReply(2, body, 1), order, 5)
		f.Add(b)
	}
	f.Add(MethodCall(1, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", nil))
	f.Add([]byte("l\x04\x01\x01\x00\x00\x00\x00\x01\x00\x00\x00\x08\x00\x00\x00\x08\x01g\x00\x02aa\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, m := ParseMessage(b)
		if n > len(b) || n < -1 {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		if n <= 0 {
			return
		}
		if m.BodyOffset%8 != 0 || m.BodyOffset+m.BodyLen != n {
			t.Fatalf("body at %d+%d, message %d", m.BodyOffset, m.BodyLen, n)
		}
		if k, _ := ParseMessage(b[:n-1]); k != 0 {
			t.Fatalf("prefix of %d bytes: %d, want 0", n-1, k)
		}
		if m.CreateReply != nil && m.Signature != "soshusub" {
			t.Fatalf("read as a reply with signature %q", m.Signature)
		}
	})
}

// FuzzCreateReply: any reply godbus encodes, in either byte order, reads
// back as the same values.
func FuzzCreateReply(f *testing.F) {
	f.Add("c7", "/org/freedesktop/login1/session/c7", "/run/user/1000", "seat0", uint32(1000), uint32(3), false, true)
	f.Add("", "/", "", "", uint32(0), uint32(0), true, false)
	f.Fuzz(func(t *testing.T, id, path, runtime, seat string, uid, vtnr uint32, existing, big bool) {
		for _, s := range []string{id, runtime, seat} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				return
			}
		}
		if !godbus.ObjectPath(path).IsValid() {
			return
		}
		var order binary.ByteOrder = binary.LittleEndian
		if big {
			order = binary.BigEndian
		}
		b, _ := encode(t, createReply(9, []any{id, godbus.ObjectPath(path), runtime, godbus.UnixFDIndex(0), uid, seat, vtnr,
			existing}, 1), order, 4)
		n, m := ParseMessage(b)
		e := uint32(0)
		if existing {
			e = 1
		}
		want := CreateReply{ID: id, ObjectPath: path, RuntimePath: runtime, Seat: seat, UID: uid, VTNr: vtnr, Existing: e}
		if n != len(b) || m.ReplySerial != 9 || m.CreateReply == nil || *m.CreateReply != want {
			t.Fatalf("%d of %d: %+v %+v, want %+v", n, len(b), m, m.CreateReply, want)
		}
	})
}

// FuzzValidUTF8: the module's UTF-8 check agrees with Go's on every
// string without a NUL (a C string ends there).
func FuzzValidUTF8(f *testing.F) {
	for _, s := range []string{"", "ünï", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, 0) {
			return
		}
		if got, want := ValidUTF8(s), utf8.ValidString(s); got != want {
			t.Fatalf("%q: %v, want %v", s, got, want)
		}
	})
}
