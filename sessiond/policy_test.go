package sessiond

import (
	"encoding/xml"
	"os"
	"testing"
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
