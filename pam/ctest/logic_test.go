//go:build cgo

package ctest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    Options
		unknown []string
	}{
		{"none", nil, Options{BusWait: DefaultBusWait}, nil},
		{"all", []string{"class=greeter", "type=x11", "desktop=GNOME", "debug", "strict", "bus_wait=1.5"},
			Options{Class: "greeter", Type: "x11", Desktop: "GNOME", Debug: true, Strict: true, BusWait: 1.5}, nil},
		{"bool values", []string{"debug=no", "strict=yes"}, Options{Strict: true, BusWait: DefaultBusWait}, nil},
		{"bool spellings", []string{"debug=TRUE", "strict=Off"}, Options{Debug: true, BusWait: DefaultBusWait}, nil},
		{"later wins", []string{"class=greeter", "class=user"}, Options{Class: "user", BusWait: DefaultBusWait}, nil},
		{"no value: no default", []string{"class=greeter", "class"}, Options{BusWait: DefaultBusWait}, nil},
		{"bus_wait off", []string{"bus_wait=0"}, Options{}, nil},
		{"bus_wait limit", []string{"bus_wait=600"}, Options{BusWait: 600}, nil},
		{"unknown and malformed", []string{"default-capability-bounding-set=CAP_X", "debug=maybe", "silent",
			"bus_wait=-1", "bus_wait=soon", "bus_wait=1e9", "bus_wait", "bus_wait= 1", "bus_wait=inf",
			"bus_wait=nan", "bus_wait=0x10", "debug=", "Debug"},
			Options{BusWait: DefaultBusWait}, []string{"default-capability-bounding-set=CAP_X", "debug=maybe", "silent",
				"bus_wait=-1", "bus_wait=soon", "bus_wait=1e9", "bus_wait", "bus_wait= 1", "bus_wait=inf",
				"bus_wait=nan", "bus_wait=0x10", "debug=", "Debug"}},
		{"overlong value", []string{"desktop=" + strings.Repeat("x", 100000)},
			Options{Desktop: strings.Repeat("x", 100000), BusWait: DefaultBusWait}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, unknown := ParseOptions(tt.args)
			if got != tt.want || !reflect.DeepEqual(unknown, tt.unknown) {
				t.Errorf("ParseOptions(%.200q) = %.200v, %q; want %.200v, %q", tt.args, got, unknown, tt.want, tt.unknown)
			}
		})
	}
}

func TestBuildRequest(t *testing.T) {
	base := Request{UID: 1000, PID: 4242, Service: "login"}
	with := func(f func(*Request)) Request {
		r := base
		f(&r)
		return r
	}
	long := strings.Repeat("h", 70000)
	tests := []struct {
		name  string
		opts  Options
		items map[Item]string
		env   map[string]string
		want  Request
		vt    uint32 // the X server's VT, for displays
	}{
		{"X server on a VT: seat0 and its vtnr", Options{}, map[Item]string{ItemTTY: ":0"}, nil,
			with(func(r *Request) { r.Display, r.Seat, r.VTNr, r.Type, r.Class = ":0", "seat0", 7, "x11", "user" }), 7},
		{"X server VT on seat0 given", Options{}, map[Item]string{ItemXDisplay: ":0"}, map[string]string{"XDG_SEAT": "seat0"},
			with(func(r *Request) { r.Display, r.Seat, r.VTNr, r.Type, r.Class = ":0", "seat0", 7, "x11", "user" }), 7},
		{"X server VT not used on another seat", Options{}, map[Item]string{ItemXDisplay: ":0"}, map[string]string{"XDG_SEAT": "seat1"},
			with(func(r *Request) { r.Display, r.Seat, r.Type, r.Class = ":0", "seat1", "x11", "user" }), 7},
		{"XDG_VTNR beats the X server", Options{}, map[Item]string{ItemXDisplay: ":0"}, map[string]string{"XDG_VTNR": "2"},
			with(func(r *Request) { r.Display, r.VTNr, r.Type, r.Class = ":0", 2, "x11", "user" }), 7},
		{"nothing: background", Options{}, nil, nil,
			with(func(r *Request) { r.Type, r.Class = "unspecified", "background" }), 0},
		{"pts", Options{}, map[Item]string{ItemTTY: "pts/3"}, nil,
			with(func(r *Request) { r.TTY, r.Type, r.Class = "pts/3", "tty", "user" }), 0},
		{"/dev prefix dropped", Options{}, map[Item]string{ItemTTY: "/dev/pts/3"}, nil,
			with(func(r *Request) { r.TTY, r.Type, r.Class = "pts/3", "tty", "user" }), 0},
		{"virtual console gives vtnr", Options{}, map[Item]string{ItemTTY: "/dev/tty2"}, nil,
			with(func(r *Request) { r.TTY, r.VTNr, r.Type, r.Class = "tty2", 2, "tty", "user" }), 0},
		{"tty0 and ttyS0 are no VTs", Options{}, map[Item]string{ItemTTY: "ttyS0"}, nil,
			with(func(r *Request) { r.TTY, r.Type, r.Class = "ttyS0", "tty", "user" }), 0},
		{"tty64 is no VT", Options{}, map[Item]string{ItemTTY: "tty64"}, nil,
			with(func(r *Request) { r.TTY, r.Type, r.Class = "tty64", "tty", "user" }), 0},
		{"XDG_VTNR wins over the tty", Options{}, map[Item]string{ItemTTY: "tty2"}, map[string]string{"XDG_VTNR": "7"},
			with(func(r *Request) { r.TTY, r.VTNr, r.Type, r.Class = "tty2", 7, "tty", "user" }), 0},
		{"malformed XDG_VTNR ignored", Options{}, nil, map[string]string{"XDG_VTNR": "x"},
			with(func(r *Request) { r.Type, r.Class = "unspecified", "background" }), 0},
		{"XDG_VTNR beyond 32 bits ignored", Options{}, map[Item]string{ItemTTY: "tty4"}, map[string]string{"XDG_VTNR": "4294967296"},
			with(func(r *Request) { r.TTY, r.VTNr, r.Type, r.Class = "tty4", 4, "tty", "user" }), 0},
		{"display in PAM_TTY", Options{}, map[Item]string{ItemTTY: ":0"}, map[string]string{"XDG_SEAT": "seat0"},
			with(func(r *Request) { r.Display, r.Seat, r.Type, r.Class = ":0", "seat0", "x11", "user" }), 0},
		{"PAM_XDISPLAY kept over PAM_TTY", Options{}, map[Item]string{ItemTTY: ":1", ItemXDisplay: ":0"}, nil,
			with(func(r *Request) { r.Display, r.Type, r.Class = ":0", "x11", "user" }), 0},
		{"vtnr dropped on another seat", Options{}, map[Item]string{ItemTTY: "tty3"}, map[string]string{"XDG_SEAT": "seat1", "XDG_VTNR": "3"},
			with(func(r *Request) { r.TTY, r.Seat, r.Type, r.Class = "tty3", "seat1", "tty", "user" }), 0},
		{"cron", Options{Class: "user"}, map[Item]string{ItemTTY: "cron"}, map[string]string{"XDG_SESSION_TYPE": "tty"},
			with(func(r *Request) { r.Type, r.Class = "unspecified", "background" }), 0},
		{"ssh", Options{}, map[Item]string{ItemTTY: "ssh", ItemRHost: "10.0.0.1", ItemRUser: "bob"}, nil,
			with(func(r *Request) {
				r.Type, r.Class, r.Remote, r.RemoteHost, r.RemoteUser = "tty", "user", true, "10.0.0.1", "bob"
			}), 0},
		{"localhost is not remote", Options{}, map[Item]string{ItemRHost: "LocalHost."}, nil,
			with(func(r *Request) { r.RemoteHost, r.Type, r.Class = "LocalHost.", "unspecified", "background" }), 0},
		{"x.localhost.localdomain is not remote", Options{}, map[Item]string{ItemRHost: "x.localhost.localdomain"}, nil,
			with(func(r *Request) {
				r.RemoteHost, r.Type, r.Class = "x.localhost.localdomain", "unspecified", "background"
			}), 0},
		{"options", Options{Class: "greeter", Type: "wayland", Desktop: "GNOME"}, map[Item]string{ItemTTY: "tty1"}, nil,
			with(func(r *Request) { r.TTY, r.VTNr, r.Type, r.Class, r.Desktop = "tty1", 1, "wayland", "greeter", "GNOME" }), 0},
		{"environment beats options", Options{Class: "greeter", Type: "wayland", Desktop: "GNOME"}, nil,
			map[string]string{"XDG_SESSION_CLASS": "user", "XDG_SESSION_TYPE": "x11", "XDG_SESSION_DESKTOP": "KDE"},
			with(func(r *Request) { r.Type, r.Class, r.Desktop = "x11", "user", "KDE" }), 0},
		{"overlong items pass unchanged", Options{}, map[Item]string{ItemRHost: long, ItemTTY: "/dev/" + long}, nil,
			with(func(r *Request) { r.RemoteHost, r.Remote, r.TTY, r.Type, r.Class = long, true, long, "tty", "user" }), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := map[Item]string{ItemService: "login"}
			for k, v := range tt.items {
				items[k] = v
			}
			got, _ := BuildRequest(Inputs{UID: 1000, PID: 4242, Opts: tt.opts, Items: items, Env: tt.env, VT: tt.vt})
			if got != tt.want {
				t.Errorf("got  %.300v\nwant %.300v", got, tt.want)
			}
		})
	}
	t.Run("missing items", func(t *testing.T) {
		got, _ := BuildRequest(Inputs{UID: 1, VT: NoDisplayVT, Items: map[Item]string{ItemTTY: ":0"}})
		if want := (Request{UID: 1, Display: ":0", Type: "x11", Class: "user"}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("notes", func(t *testing.T) {
		_, notes := BuildRequest(Inputs{Items: map[Item]string{ItemXDisplay: ":0"}, Env: map[string]string{"XDG_VTNR": "x"}, VT: 7})
		if want := []string{`ignoring XDG_VTNR="x"`, `display ":0" is on VT 7`}; !reflect.DeepEqual(notes, want) {
			t.Errorf("notes %q, want %q", notes, want)
		}
	})
}

func TestX11Socket(t *testing.T) {
	for display, want := range map[string]string{
		":0": "/d/X0", ":12.1": "/d/X12", "host:0": "", ":": "", ":x": "", "": "", ":1a": "", ":.1": "",
	} {
		got, ok := X11Socket("/d", display, 108)
		if got != want || ok != (want != "") {
			t.Errorf("X11Socket(%q) = %q, %v; want %q", display, got, ok, want)
		}
	}
	if got, ok := X11Socket("/d", ":123", 6); ok {
		t.Errorf("X11Socket into 6 bytes = %q, want no fit", got)
	}
}

func TestVTOfStat(t *testing.T) {
	tests := []struct {
		stat string
		want uint32 // 0: a reason
	}{
		{"123 (Xorg) S 1 123 123 1026 123 0", 2},  // 4:2 = tty2
		{"123 (a) b) S 1 123 123 1087 123 0", 63}, // 4:63, a name with ") "
		{"123 (Xorg) S 1 123 123 1024 123 0", 0},  // tty0
		{"123 (Xorg) S 1 123 123 1088 123 0", 0},  // 4:64 = ttyS0
		{"123 (Xorg) S 1 123 123 34816 123 0", 0}, // pts/0 (136:0)
		{"123 (Xorg) S 1 123 123 0 123 0", 0},     // no ctty
		{"123 (Xorg) S 1", 0},                     // truncated
		{"123 (Xorg) S 1 1 1 " + strings.Repeat("9", 64), 0},
		{"123 (Xorg) S 1 1 1 1026x", 0},
		{"garbage", 0},
		{"", 0},
	}
	for _, tt := range tests {
		got, why := VTOfStat([]byte(tt.stat))
		if got != tt.want || (why == "") != (tt.want != 0) {
			t.Errorf("VTOfStat(%q) = %d, %q; want %d", tt.stat, got, why, tt.want)
		}
	}
}

func TestVTOfTTY(t *testing.T) {
	for tty, want := range map[string]uint32{"tty1": 1, "tty63": 63, "tty64": 0, "tty0": 0, "tty01": 0, "tty": 0,
		"ttyS0": 0, "pts/1": 0, "tty+1": 0, "tty99999999999": 0} {
		if got := VTOfTTY(tty); got != want {
			t.Errorf("VTOfTTY(%q) = %d, want %d", tty, got, want)
		}
	}
}

func TestEscapeBusAddress(t *testing.T) {
	for in, want := range map[string]string{
		"/run/user/1000/bus": "/run/user/1000/bus",
		"/tmp/a b,c=d;e":     "/tmp/a%20b%2cc%3dd%3be",
		"\xff":               "%ff",
	} {
		if got, ok := EscapeBusAddress(in, 256); !ok || got != want {
			t.Errorf("EscapeBusAddress(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := EscapeBusAddress("a b", 3); ok {
		t.Errorf("EscapeBusAddress into 3 bytes = %q, want no fit", got)
	}
}

func TestQuote(t *testing.T) {
	for _, tt := range []struct {
		in   string
		size int
		want string
	}{
		{"pts/3", 64, `"pts/3"`},
		{`a"b\c`, 64, `"a\"b\\c"`},
		{"\n\xc3\xa9", 64, `"\x0a\xc3\xa9"`},
		{"abcdef", 5, `"ab"`},
		{"abc", 2, ""},
	} {
		if got := Quote(tt.in, tt.size); got != tt.want {
			t.Errorf("Quote(%q, %d) = %q, want %q", tt.in, tt.size, got, tt.want)
		}
	}
}

func TestIsLocalhost(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "LOCALHOST.": true, "a.localhost": true,
		"localhost.localdomain": true, "b.localhost.localdomain.": true, "127.0.0.1": false, "mylocalhost": false,
		"": false, ".": false, "localhost..": false} {
		if got := IsLocalhost(host); got != want {
			t.Errorf("IsLocalhost(%q) = %v, want %v", host, got, want)
		}
	}
}
