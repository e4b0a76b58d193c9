package session

import (
	"reflect"
	"testing"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    Options
		unknown []string
	}{
		{"none", nil, Options{}, nil},
		{"all", []string{"class=greeter", "type=x11", "desktop=GNOME", "debug", "strict"},
			Options{Class: "greeter", Type: "x11", Desktop: "GNOME", Debug: true, Strict: true}, nil},
		{"bool values", []string{"debug=no", "strict=yes"}, Options{Strict: true}, nil},
		{"later wins", []string{"class=greeter", "class=user"}, Options{Class: "user"}, nil},
		{"unknown and malformed", []string{"default-capability-bounding-set=CAP_X", "debug=maybe", "silent"},
			Options{}, []string{"default-capability-bounding-set=CAP_X", "debug=maybe", "silent"}},
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
	}{
		{"nothing: background", Options{}, nil, nil,
			with(func(r *Request) { r.Type, r.Class = "unspecified", "background" })},
		{"pts", Options{}, map[Item]string{ItemTTY: "pts/3"}, nil,
			with(func(r *Request) { r.TTY, r.Type, r.Class = "pts/3", "tty", "user" })},
		{"/dev prefix dropped", Options{}, map[Item]string{ItemTTY: "/dev/pts/3"}, nil,
			with(func(r *Request) { r.TTY, r.Type, r.Class = "pts/3", "tty", "user" })},
		{"virtual console gives vtnr", Options{}, map[Item]string{ItemTTY: "/dev/tty2"}, nil,
			with(func(r *Request) { r.TTY, r.VTNr, r.Type, r.Class = "tty2", 2, "tty", "user" })},
		{"tty0 and ttyS0 are no VTs", Options{}, map[Item]string{ItemTTY: "ttyS0"}, nil,
			with(func(r *Request) { r.TTY, r.Type, r.Class = "ttyS0", "tty", "user" })},
		{"XDG_VTNR wins over the tty", Options{}, map[Item]string{ItemTTY: "tty2"}, map[string]string{"XDG_VTNR": "7"},
			with(func(r *Request) { r.TTY, r.VTNr, r.Type, r.Class = "tty2", 7, "tty", "user" })},
		{"malformed XDG_VTNR ignored", Options{}, nil, map[string]string{"XDG_VTNR": "x"},
			with(func(r *Request) { r.Type, r.Class = "unspecified", "background" })},
		{"display in PAM_TTY", Options{}, map[Item]string{ItemTTY: ":0"}, map[string]string{"XDG_SEAT": "seat0"},
			with(func(r *Request) { r.Display, r.Seat, r.Type, r.Class = ":0", "seat0", "x11", "user" })},
		{"PAM_XDISPLAY kept over PAM_TTY", Options{}, map[Item]string{ItemTTY: ":1", ItemXDisplay: ":0"}, nil,
			with(func(r *Request) { r.Display, r.Type, r.Class = ":0", "x11", "user" })},
		{"vtnr dropped on another seat", Options{}, map[Item]string{ItemTTY: "tty3"}, map[string]string{"XDG_SEAT": "seat1", "XDG_VTNR": "3"},
			with(func(r *Request) { r.TTY, r.Seat, r.Type, r.Class = "tty3", "seat1", "tty", "user" })},
		{"cron", Options{Class: "user"}, map[Item]string{ItemTTY: "cron"}, map[string]string{"XDG_SESSION_TYPE": "tty"},
			with(func(r *Request) { r.Type, r.Class = "unspecified", "background" })},
		{"ssh", Options{}, map[Item]string{ItemTTY: "ssh", ItemRHost: "10.0.0.1", ItemRUser: "bob"}, nil,
			with(func(r *Request) {
				r.Type, r.Class, r.Remote, r.RemoteHost, r.RemoteUser = "tty", "user", true, "10.0.0.1", "bob"
			})},
		{"localhost is not remote", Options{}, map[Item]string{ItemRHost: "LocalHost."}, nil,
			with(func(r *Request) { r.RemoteHost, r.Type, r.Class = "LocalHost.", "unspecified", "background" })},
		{"x.localhost.localdomain is not remote", Options{}, map[Item]string{ItemRHost: "x.localhost.localdomain"}, nil,
			with(func(r *Request) {
				r.RemoteHost, r.Type, r.Class = "x.localhost.localdomain", "unspecified", "background"
			})},
		{"options", Options{Class: "greeter", Type: "wayland", Desktop: "GNOME"}, map[Item]string{ItemTTY: "tty1"}, nil,
			with(func(r *Request) { r.TTY, r.VTNr, r.Type, r.Class, r.Desktop = "tty1", 1, "wayland", "greeter", "GNOME" })},
		{"environment beats options", Options{Class: "greeter", Type: "wayland", Desktop: "GNOME"}, nil,
			map[string]string{"XDG_SESSION_CLASS": "user", "XDG_SESSION_TYPE": "x11", "XDG_SESSION_DESKTOP": "KDE"},
			with(func(r *Request) { r.Type, r.Class, r.Desktop = "x11", "user", "KDE" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := map[Item]string{ItemService: "login"}
			for k, v := range tt.items {
				items[k] = v
			}
			got, _ := BuildRequest(Inputs{UID: 1000, PID: 4242, Opts: tt.opts, Items: items,
				Env: func(n string) string { return tt.env[n] }})
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
