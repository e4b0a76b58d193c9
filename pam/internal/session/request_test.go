package session

import (
	"reflect"
	"testing"
	"time"
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
			Options{Class: "greeter", Type: "x11", Desktop: "GNOME", Debug: true, Strict: true, BusWait: 1500 * time.Millisecond}, nil},
		{"bool values", []string{"debug=no", "strict=yes"}, Options{Strict: true, BusWait: DefaultBusWait}, nil},
		{"later wins", []string{"class=greeter", "class=user"}, Options{Class: "user", BusWait: DefaultBusWait}, nil},
		{"bus_wait off", []string{"bus_wait=0"}, Options{}, nil},
		{"unknown and malformed", []string{"default-capability-bounding-set=CAP_X", "debug=maybe", "silent",
			"bus_wait=-1", "bus_wait=soon", "bus_wait=1e9", "bus_wait"},
			Options{BusWait: DefaultBusWait}, []string{"default-capability-bounding-set=CAP_X", "debug=maybe", "silent",
				"bus_wait=-1", "bus_wait=soon", "bus_wait=1e9", "bus_wait"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, unknown := ParseOptions(tt.args)
			if got != tt.want || !reflect.DeepEqual(unknown, tt.unknown) {
				t.Errorf("ParseOptions(%q) = %+v, %q; want %+v, %q", tt.args, got, unknown, tt.want, tt.unknown)
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
		{"XDG_VTNR wins over the tty", Options{}, map[Item]string{ItemTTY: "tty2"}, map[string]string{"XDG_VTNR": "7"},
			with(func(r *Request) { r.TTY, r.VTNr, r.Type, r.Class = "tty2", 7, "tty", "user" }), 0},
		{"malformed XDG_VTNR ignored", Options{}, nil, map[string]string{"XDG_VTNR": "x"},
			with(func(r *Request) { r.Type, r.Class = "unspecified", "background" }), 0},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := map[Item]string{ItemService: "login"}
			for k, v := range tt.items {
				items[k] = v
			}
			got, _ := BuildRequest(Inputs{UID: 1000, PID: 4242, Opts: tt.opts, Items: items,
				Env:       func(n string) string { return tt.env[n] },
				DisplayVT: func(string) uint32 { return tt.vt }})
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestEscapeBusAddress(t *testing.T) {
	for in, want := range map[string]string{
		"/run/user/1000/bus": "/run/user/1000/bus",
		"/tmp/a b,c=d;e":     "/tmp/a%20b%2cc%3dd%3be",
	} {
		if got := escapeBusAddress(in); got != want {
			t.Errorf("escapeBusAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
