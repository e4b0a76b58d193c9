package control

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"ginit/internal/power"
)

func TestRoundTrip(t *testing.T) {
	reqs := []Request{
		{Op: OpStatus, Service: "foo"},
		{Op: OpStop, Service: "a", Pin: true, Force: true, NoWait: true, IgnoreUnstarted: true},
		{Op: OpAddDep, Service: "a", DepType: "waits-for", DepTarget: "b"},
		{Op: OpSignal, Service: "x", Signal: 9},
		{Op: OpSetEnv, Env: []string{"A=1", "B="}},
		{Op: OpEnable, Service: "b", From: "boot"},
		{Op: OpCatLog, Service: "l", Clear: true},
		{Op: OpShutdown, Shutdown: "reboot"},
	}
	for _, r := range reqs {
		got, err := DecodeRequest(AppendRequest(nil, &r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("request %+v: got %+v, %v", r, got, err)
		}
	}
	resps := []Response{
		{},
		{Code: Refused, Message: "no", Dependents: []string{"x", "y"}},
		{Code: OK, Log: []byte("hello\n"), Truncated: true, Env: []string{"A=1"}},
		{Services: []ServiceInfo{{Name: "a", Type: "process", State: "started", Target: "started", Active: true,
			PinStart: true, PinStop: true, Failed: true, Skipped: true, PID: 123, ExitStatus: "exited 1",
			StopReason: "failed", StatusText: "ok", File: "/etc/ginit.d/a", Deps: []string{"b"},
			Dependents: []string{"c"}, Triggered: true, LastOutput: []string{"fatal: x", ""}}, {Name: "b", PID: -1}}},
		// Since is Unix milliseconds: more than 32 bits.
		{Services: []ServiceInfo{{Name: "s", State: "started", Since: 1796191931435}}},
		{Code: NoService, Message: strings.Repeat("x", 300)},
	}
	for _, r := range resps {
		got, err := DecodeResponse(AppendResponse(nil, &r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("response %+v: got %+v, %v", r, got, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := AppendRequest(nil, &Request{Op: OpStart, Service: "s"})
	bad := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"short":    good[:5],
		"magic":    bad(func(b []byte) []byte { b[0] = 'x'; return b }),
		"version":  bad(func(b []byte) []byte { b[2] = 9; return b }),
		"kind":     bad(func(b []byte) []byte { b[3] = 'R'; return b }),
		"length":   bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], 99); return b }),
		"field":    bad(func(b []byte) []byte { b[HeaderSize+1] = 100; return b }),
		"noop":     AppendRequest(nil, &Request{Service: "s"}),
		"boolean":  append(append([]byte(nil), good...), tqPin, 1, 7),
		"hugeSize": bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], 1<<31); return b }),
	}
	for name, b := range cases {
		if name == "boolean" {
			binary.BigEndian.PutUint32(b[4:], uint32(len(b)-HeaderSize))
		}
		if _, err := DecodeRequest(b); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(AppendRequest(nil, &Request{Op: OpStart, Service: "s", Env: []string{"A=1"}, Signal: 3}))
	f.Add([]byte("gC\x01Q\x00\x00\x00\x02\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err == nil {
			if _, err := DecodeRequest(AppendRequest(nil, &r)); err != nil {
				t.Fatalf("re-encoding %+v: %v", r, err)
			}
		}
		DecodeRequestPayload(b)
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(AppendResponse(nil, &Response{Code: Failed, Message: "m", Services: []ServiceInfo{{Name: "a", PID: 2}}, Log: []byte("x")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err == nil {
			if _, err := DecodeResponse(AppendResponse(nil, &r)); err != nil {
				t.Fatalf("re-encoding %+v: %v", r, err)
			}
		}
		DecodeResponsePayload(b)
	})
}

func TestSocketPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		flag string
		user bool
		env  map[string]string
		want string
	}{
		{"/x", false, map[string]string{"GINIT_SOCKET_PATH": "/y"}, "/x"},
		{"", false, map[string]string{"GINIT_SOCKET_PATH": "/y"}, "/y"},
		{"", true, map[string]string{"XDG_RUNTIME_DIR": "/run/user/1", "HOME": "/h"}, "/run/user/1/ginitctl"},
		{"", true, map[string]string{"HOME": "/h"}, "/h/.ginitctl"},
		{"", false, nil, DefaultSystemSocket()},
	}
	for _, c := range cases {
		if got := SocketPath(c.flag, c.user, env(c.env)); got != c.want {
			t.Errorf("SocketPath(%q,%v,%v) = %q, want %q", c.flag, c.user, c.env, got, c.want)
		}
	}
}

func TestRequestShutdownKind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want power.Kind
		err  string
	}{
		{"", power.Halt, ""}, // dinit's default
		{"halt", power.Halt, ""},
		{"poweroff", power.Poweroff, ""},
		{"reboot", power.Reboot, ""},
		{"kexec", power.Kexec, ""},
		{"remain", power.Remain, ""},
		{"none", power.None, `unknown shutdown type "none" (halt, poweroff, reboot, kexec or remain)`},
		{"sideways", power.None, `unknown shutdown type "sideways" (halt, poweroff, reboot, kexec or remain)`},
	} {
		r := Request{Op: OpShutdown, Shutdown: tc.in}
		k, err := r.ShutdownKind()
		if k != tc.want || (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("ShutdownKind(%q) = %v, %v; want %v, %q", tc.in, k, err, tc.want, tc.err)
		}
	}
}

// decode finds a field by its tag at index tag-1: every table lists its
// fields in tag order from 1.
func TestFieldTablesInTagOrder(t *testing.T) {
	rf, sf, inf := requestFields(&Request{}), responseFields(&Response{}), infoFields(&ServiceInfo{})
	for name, fs := range map[string][]field{"request": rf[:], "response": sf[:], "service info": inf[:]} {
		for i, f := range fs {
			if int(f.tag) != i+1 {
				t.Errorf("%s field %d has tag %d", name, i, f.tag)
			}
		}
	}
}

// A list encoded service by service (EncodedServices) reads back as the
// same services, gathered by DecodeResponsePayload or handed one at a time
// to DecodeResponseEach, after any in Services.
func TestEncodedServices(t *testing.T) {
	want := []ServiceInfo{
		{Name: "boot", State: "started", Active: true},
		{Name: "a", Type: "process", State: "started", Target: "started", PID: 7, File: "/d/a", Since: 1796191931435},
		{Name: "b", State: "stopped", Failed: true, ExitStatus: "exited 1", Deps: []string{"x"}},
	}
	var enc []byte
	for i := 1; i < len(want); i++ {
		enc = AppendServiceInfo(enc, &want[i])
	}
	frame := AppendResponse(nil, &Response{Code: OK, Message: "m", Services: want[:1], EncodedServices: enc})
	got, err := DecodeResponse(frame)
	if err != nil || !reflect.DeepEqual(got, Response{Code: OK, Message: "m", Services: want}) {
		t.Fatalf("gathered: got %+v, %v", got, err)
	}
	var each []ServiceInfo
	resp, err := DecodeResponseEach(frame[HeaderSize:], func(si *ServiceInfo) { each = append(each, *si) })
	if err != nil || resp.Code != OK || resp.Message != "m" || resp.Services != nil {
		t.Fatalf("each: response %+v, %v", resp, err)
	}
	if !reflect.DeepEqual(each, want) {
		t.Errorf("each: got %+v, want %+v", each, want)
	}
	if _, err := DecodeResponseEach(append(frame[HeaderSize:], byte(trService), 3, 1, 5, 'x'), func(*ServiceInfo) {}); err == nil {
		t.Error("each: a malformed service decoded without error")
	}
}
