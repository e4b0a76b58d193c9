package opts

import (
	"reflect"
	"strings"
	"testing"

	"ginit/internal/i18n"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "unknown option --bogus"},
		{[]string{"-qZ"}, "unknown option -Z"},
		{[]string{"--dir"}, "option --dir needs an argument"},
		{[]string{"-d"}, "option -d needs an argument"},
		{[]string{"--num=x"}, `option --num: "x" is not a valid value`},
		{[]string{"--check=x"}, "option --check: x is bad"},
		{[]string{"--quiet=maybe"}, `option --quiet: "maybe" is not true or false`},
		{[]string{"---x"}, "bad option syntax: ---x"},
	} {
		fs := New("t")
		var q bool
		Switch(fs, &q, "quiet", "q", "")
		fs.StringP("dir", "d", "", "")
		fs.Int("num", 0, "")
		NewFunc(fs, "check", "", "X", "", func(v string) error { return Invalid(v + " is bad") })
		err := Parse(fs, tc.args, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestGNUForms(t *testing.T) {
	fs := New("t")
	var q, v bool
	var dirs []string
	Switch(fs, &q, "quiet", "q", "")
	Switch(fs, &v, "verbose", "v", "")
	NewFunc(fs, "dir", "d", "DIR", "", func(s string) error { dirs = append(dirs, s); return nil })
	if err := Parse(fs, []string{"a", "-qvdX", "--dir=Y", "b", "-d", "Z", "--", "-q"}, nil); err != nil {
		t.Fatal(err)
	}
	if !q || !v || !reflect.DeepEqual(dirs, []string{"X", "Y", "Z"}) || !reflect.DeepEqual(fs.Args(), []string{"a", "b", "-q"}) {
		t.Fatalf("q %v v %v dirs %v args %v", q, v, dirs, fs.Args())
	}
}

func TestGoStyle(t *testing.T) {
	fs := New("t")
	var d bool
	Switch(fs, &d, "debug", "", "")
	fs.String("wtmp", "x", "")
	fs.String("bus", "", "")
	fs.StringP("f", "f", "", "")
	got := GoStyle(fs, []string{"-bus", "-debug", "-wtmp", "", "-debug=false", "--bus=x", "-f", "-v", "-nosuch", "--", "-bus"})
	want := []string{"--bus", "-debug", "--wtmp", "", "--debug=false", "--bus=x", "-f", "-v", "-nosuch", "--", "-bus"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestHelpLayout(t *testing.T) {
	fs := New("t")
	var q bool
	Switch(fs, &q, "quiet", "q", "say less")
	fs.String("dir", "", "a `DIR` to read")
	var b strings.Builder
	Help(&b, i18n.ForLanguage("C"), "t [OPTION]...", "Does t.", fs, "Exit status: 0.")
	want := "Usage: t [OPTION]...\nDoes t.\n\nOptions:\n  -q, --quiet     say less\n      --dir DIR   a DIR to read\n\nExit status: 0.\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
