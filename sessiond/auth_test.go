package sessiond

import (
	"context"
	"encoding/xml"
	"errors"
	"os"
	"sync"
	"testing"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
	"ginit/internal/testenv"
)

// The shipped bus policy must allow every member the code exports, except
// the root-only ones, and nothing the code does not export.
func TestPolicyMatchesInterfaces(t *testing.T) {
	data, err := os.ReadFile("../units/dbus-policy/org.freedesktop.login1.conf")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Policies []struct {
			User    string `xml:"user,attr"`
			Context string `xml:"context,attr"`
			Allow   []struct {
				Dest   string `xml:"send_destination,attr"`
				Iface  string `xml:"send_interface,attr"`
				Member string `xml:"send_member,attr"`
				Own    string `xml:"own,attr"`
			} `xml:"allow"`
		} `xml:"policy"`
	}
	if err := xml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("policy file: %v", err)
	}
	allowed := map[string]bool{}
	rootOwns := false
	for _, p := range cfg.Policies {
		for _, a := range p.Allow {
			if p.User == "root" && a.Own == BusName {
				rootOwns = true
			}
			if p.Context == "default" && a.Member != "" && a.Iface != "org.freedesktop.DBus.Properties" {
				allowed[a.Iface+"."+a.Member] = true
			}
		}
	}
	if !rootOwns {
		t.Error("policy does not let root own " + BusName)
	}
	rootOnly := map[string]bool{IfaceManager + ".CreateSession": true, IfaceManager + ".CreateSessionWithPIDFD": true, IfaceManager + ".ReleaseSession": true}
	m := NewManager(Config{}, nil)
	for _, i := range m.Interfaces() {
		for _, meth := range i.Methods {
			name := i.Name + "." + meth.Name
			switch {
			case rootOnly[name] && allowed[name]:
				t.Errorf("%s is root-only but allowed for everyone", name)
			case !rootOnly[name] && !allowed[name]:
				t.Errorf("%s is not in the policy allow-list", name)
			}
			delete(allowed, name)
		}
	}
	for name := range allowed {
		t.Errorf("policy allows %s, which sessiond does not export", name)
	}
}

// The built-in policy follows polkit's defaults for the caller's session.
func TestBuiltinAuthorization(t *testing.T) {
	w, _, _ := powerWorld(t, "")
	w.host.users[65534] = "nobody"
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 100, Service: "login", Seat: "seat0", TTY: "pts/1"})
	remote := w.mustCreate(CreateRequest{UID: 1001, PID: 101, Service: "sshd", Remote: true, RemoteHost: "far"})
	c := &bus.Call{}
	for _, tc := range []struct {
		name        string
		cl          caller
		action      string
		interactive bool
		want        string // "" = allowed, else the error name
	}{
		{"root", caller{Creds: bus.Creds{UID: 0}}, "org.freedesktop.login1.halt", false, ""},
		{"active local", caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}, "org.freedesktop.login1.power-off", false, ""},
		{"not in a session", caller{Creds: bus.Creds{UID: 1000}}, "org.freedesktop.login1.suspend", false, errInteractiveAuthRequd},
		{"halt is admin only", caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}, "org.freedesktop.login1.halt", false, errInteractiveAuthRequd},
		{"interactive without agent", caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}, "org.freedesktop.login1.power-off-ignore-inhibit", true, bus.ErrAccessDenied},
		{"remote", caller{Creds: bus.Creds{UID: 1001}, session: remote.ID}, "org.freedesktop.login1.power-off", false, errInteractiveAuthRequd},
		{"no session", caller{Creds: bus.Creds{UID: 65534}}, "org.freedesktop.login1.reboot", false, errInteractiveAuthRequd},
		{"no session inhibit", caller{Creds: bus.Creds{UID: 65534}}, "org.freedesktop.login1.inhibit-block-shutdown", false, bus.ErrAccessDenied},
		{"no session delay", caller{Creds: bus.Creds{UID: 65534}}, "org.freedesktop.login1.inhibit-delay-sleep", false, ""},
		{"unknown action", caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}, "org.freedesktop.login1.explode", false, bus.ErrAccessDenied},
	} {
		err := w.m.authorize(c, &tc.cl, actionRule(tc.action), tc.interactive)
		var be *bus.Error
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want allowed", tc.name, err)
		case tc.want != "" && (!errors.As(err, &be) || be.Name != tc.want):
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}

// fakePolkit answers CheckAuthorization from a table and records the
// questions.
type fakePolkit struct {
	mu      sync.Mutex
	asked   []string
	answers map[string][2]bool
}

func (f *fakePolkit) CheckAuthorization(subject struct {
	Kind    string
	Details map[string]godbus.Variant
}, action string, details map[string]string, flags uint32, cancel string) (struct {
	A, C bool
	D    map[string]string
}, *godbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, subject.Kind+" "+action)
	a := f.answers[action]
	return struct {
		A, C bool
		D    map[string]string
	}{a[0], a[1], map[string]string{}}, nil
}

func TestPolkitIsAsked(t *testing.T) {
	addr := testenv.PrivateBus(t)
	pk, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pk.Close()
	fp := &fakePolkit{answers: map[string][2]bool{
		"org.freedesktop.login1.power-off": {true, false},
		"org.freedesktop.login1.reboot":    {false, true},
	}}
	if err := pk.Export(fp, "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.PolicyKit1.Authority"); err != nil {
		t.Fatal(err)
	}
	if _, err := pk.RequestName(polkitName, godbus.NameFlagDoNotQueue); err != nil {
		t.Fatal(err)
	}
	me, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer me.Close()
	w, _, _ := powerWorld(t, "")
	c := &bus.Call{Client: bus.ClientOf(me), Sender: me.Names()[0], Ctx: context.Background()}
	alice := caller{Creds: bus.Creds{UID: 1000}}
	for _, tc := range []struct {
		action string
		want   authResult
	}{
		{"org.freedesktop.login1.power-off", authYes},
		{"org.freedesktop.login1.reboot", authChallenge},
		{"org.freedesktop.login1.halt", authNo},
	} {
		if got, err := w.m.check(c, &alice, actionRule(tc.action), false); err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.action, got, err, tc.want)
		}
	}
	if got, _ := w.m.check(c, &caller{}, actionRule("org.freedesktop.login1.halt"), false); got != authYes {
		t.Errorf("root asked polkit and got %v", got)
	}
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if len(fp.asked) != 3 || fp.asked[0] != "system-bus-name org.freedesktop.login1.power-off" {
		t.Errorf("polkit was asked %v", fp.asked)
	}
}

// TestOneRulePerCall: every kind of call — a session's or user's
// (owner or root), root's alone, and polkit's (power, inhibit, chvt) — is
// decided by the same rule steps, so one caller gets one answer, and each
// denial carries logind's error name and the message of its kind.
func TestOneRulePerCall(t *testing.T) {
	w, _, _ := powerWorld(t, "")
	rep := w.mustCreate(CreateRequest{UID: 1000, PID: 100, Service: "login", Seat: "seat0", TTY: "pts/1"})
	root := caller{Creds: bus.Creds{UID: 0}}
	alice := caller{Creds: bus.Creds{UID: 1000}, session: rep.ID}
	bob := caller{Creds: bus.Creds{UID: 1001}}
	for _, tc := range []struct {
		name string
		r    rule
		cl   caller
		want string // "" = allowed, else "error name: message"
	}{
		{"owner", rule{what: "kill session", owner: 1000}, alice, ""},
		{"root on another's", rule{what: "kill session", owner: 1000}, root, ""},
		{"not the owner", rule{what: "kill session", owner: 1000}, bob, bus.ErrAccessDenied + ": Access denied: kill session"},
		{"root only", rule{what: "CreateSession", owner: noOwner}, root, ""},
		{"root only, a user", rule{what: "CreateSession", owner: noOwner}, alice, bus.ErrAccessDenied + ": Access denied: CreateSession requires root"},
		{"polkit, root", actionRule("org.freedesktop.login1.halt"), root, ""},
		{"polkit, active user", actionRule("org.freedesktop.login1.chvt"), alice, ""},
		{"polkit, no session", actionRule("org.freedesktop.login1.chvt"), bob, errInteractiveAuthRequd + ": Interactive authentication required."},
		{"polkit, no session, no challenge", actionRule("org.freedesktop.login1.inhibit-block-shutdown"), bob, bus.ErrAccessDenied + ": Access denied"},
		{"owner and polkit: owner first", rule{what: "x", owner: 1001, action: "org.freedesktop.login1.halt"}, bob, ""},
	} {
		c := &bus.Call{}
		got := ""
		if err := w.m.authorize(c, &tc.cl, tc.r, false); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: authorize = %q, want %q", tc.name, got, tc.want)
		}
		// A rule without an action is decided alike where it is checked
		// on the owner loop.
		if tc.r.action == "" {
			got = ""
			if err := tc.r.permit(&tc.cl); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("%s: permit = %q, want %q", tc.name, got, tc.want)
			}
		}
	}
}
