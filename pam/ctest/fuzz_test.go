//go:build cgo

package ctest

import (
	"strings"
	"testing"
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
