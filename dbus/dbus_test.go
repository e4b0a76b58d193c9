package dbus

import (
	"encoding/xml"
	"testing"

	godbus "github.com/godbus/dbus/v5"
)

func TestEscapeLabel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"c1", "c1"},
		{"3", "_33"},
		{"12", "_312"},
		{"", "_"},
		{"seat0", "seat0"},
		{"a-b", "a_2db"},
		{"a_b", "a_5fb"},
		{"ü", "_c3_bc"},
	} {
		if got := EscapeLabel(c.in); got != c.want {
			t.Errorf("EscapeLabel(%q)=%q, want %q", c.in, got, c.want)
		}
		if back, ok := UnescapeLabel(c.want); !ok || back != c.in {
			t.Errorf("UnescapeLabel(%q)=%q,%v, want %q", c.want, back, ok, c.in)
		}
	}
	for _, bad := range []string{"", "_", "_3", "_zz", "a_4"} {
		if bad == "_" {
			continue // the empty string
		}
		if _, ok := UnescapeLabel(bad); ok {
			t.Errorf("UnescapeLabel(%q) accepted", bad)
		}
	}
}

func TestIntrospectXML(t *testing.T) {
	obj := &Object{
		Interfaces: []*Interface{{
			Name: "org.example.Thing",
			Methods: []Method{
				{Name: "Get", In: []Arg{{"id", "s"}}, Out: []Arg{{"path", "o"}}},
				{Name: "Poke"},
			},
			Properties: []Property{
				{Name: "Id", Type: "s", Flags: PropConst},
				{Name: "Active", Type: "b", Flags: PropEmitChange},
				{Name: "Count", Type: "t"},
				{Name: "Secret", Type: "b", Flags: PropHidden},
			},
			Signals: []Signal{{Name: "Changed", Args: []Arg{{"id", "s"}}}},
		}},
		Children: []string{"a", "b<"},
	}
	var doc struct {
		Interfaces []struct {
			Name    string `xml:"name,attr"`
			Methods []struct {
				Name string `xml:"name,attr"`
				Args []struct {
					Type      string `xml:"type,attr"`
					Direction string `xml:"direction,attr"`
				} `xml:"arg"`
			} `xml:"method"`
			Props []struct {
				Name string `xml:"name,attr"`
				Ann  []struct {
					Value string `xml:"value,attr"`
				} `xml:"annotation"`
			} `xml:"property"`
			Signals []struct {
				Name string `xml:"name,attr"`
			} `xml:"signal"`
		} `xml:"interface"`
		Nodes []struct {
			Name string `xml:"name,attr"`
		} `xml:"node"`
	}
	if err := xml.Unmarshal([]byte(IntrospectXML(obj)), &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if len(doc.Interfaces) != 4 || doc.Interfaces[3].Name != "org.example.Thing" {
		t.Fatalf("interfaces: %+v", doc.Interfaces)
	}
	thing := doc.Interfaces[3]
	if len(thing.Methods) != 2 || len(thing.Methods[0].Args) != 2 || thing.Methods[0].Args[1].Direction != "out" {
		t.Errorf("methods: %+v", thing.Methods)
	}
	ann := map[string]string{}
	for _, p := range thing.Props {
		v := "true"
		if len(p.Ann) > 0 {
			v = p.Ann[0].Value
		}
		ann[p.Name] = v
	}
	want := map[string]string{"Id": "const", "Active": "true", "Count": "false"}
	if len(ann) != len(want) {
		t.Errorf("properties %v, want %v (hidden ones left out)", ann, want)
	}
	for k, v := range want {
		if ann[k] != v {
			t.Errorf("property %s EmitsChangedSignal=%q, want %q", k, ann[k], v)
		}
	}
	if len(doc.Nodes) != 2 || doc.Nodes[1].Name != "b<" {
		t.Errorf("child nodes: %+v", doc.Nodes)
	}
}

func TestChildNames(t *testing.T) {
	got := ChildNames("/org", []godbus.ObjectPath{"/org/a/x", "/org/b", "/org/a/y", "/other", "/org"})
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("ChildNames=%v", got)
	}
}

// FuzzLabel: escaping round-trips and only produces path-safe bytes;
// unescaping arbitrary input never panics.
func FuzzLabel(f *testing.F) {
	for _, s := range []string{"", "c1", "3", "_33", "a-b", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeLabel(s)
		for i := 0; i < len(e); i++ {
			c := e[i]
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				t.Fatalf("EscapeLabel(%q)=%q has %q", s, e, c)
			}
		}
		if back, ok := UnescapeLabel(e); !ok || back != s {
			t.Fatalf("round trip %q -> %q -> %q", s, e, back)
		}
		_, _ = UnescapeLabel(s)
	})
}
