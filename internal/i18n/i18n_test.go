package i18n

import (
	"strings"
	"testing"
)

func TestLanguages(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		lang string
	}{
		{map[string]string{}, ""},
		{map[string]string{"LANG": "C.UTF-8"}, ""},
		{map[string]string{"LANG": "POSIX"}, ""},
		{map[string]string{"LANG": "de_DE.UTF-8"}, "de"},
		{map[string]string{"LANG": "de_AT@euro"}, "de"},
		{map[string]string{"LANG": "fr_FR.UTF-8"}, ""},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, ""},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "de_CH.UTF-8"}, "de"},
		{map[string]string{"LC_MESSAGES": "de_DE.UTF-8", "LC_ALL": "C"}, ""},
		// LANGUAGE is a preference list, honoured unless the locale is C.
		{map[string]string{"LANG": "en_US.UTF-8", "LANGUAGE": "fr:de"}, "de"},
		{map[string]string{"LANG": "C", "LANGUAGE": "de"}, ""},
		{map[string]string{"LANG": "../../etc/passwd"}, ""},
	} {
		p := ForEnv(func(k string) string { return tc.env[k] })
		if p.Lang() != tc.lang {
			t.Errorf("%v: language %q, want %q", tc.env, p.Lang(), tc.lang)
		}
	}
}

func TestTranslate(t *testing.T) {
	de := ForLanguage("de_DE.UTF-8")
	if got := de.Tf("Service '%s' started.", "x"); got != "Dienst 'x' gestartet." {
		t.Errorf("German: %q", got)
	}
	var en *Printer
	if got := en.Tf("Service '%s' started.", "x"); got != "Service 'x' started." {
		t.Errorf("English: %q", got)
	}
	if got := de.T("no catalog has this"); got != "no catalog has this" {
		t.Errorf("untranslated: %q", got)
	}
	if err := de.Errorf("unknown option --%s", "x"); err.Error() != "unbekannte Option --x" {
		t.Errorf("Errorf: %v", err)
	}
}

func TestParsePO(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Catalog
		err  string
	}{
		{"msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain\\n\"\n\n# c\nmsgid \"a\"\nmsgstr \"b\"\n", Catalog{"a": "b"}, ""},
		{"msgid \"\"\n\"x\\n\"\n\"y\"\nmsgstr \"1\\t\"\n\"2\\\"\\\\\"\n", Catalog{"x\ny": "1\t2\"\\"}, ""},
		{"#, fuzzy\nmsgid \"a\"\nmsgstr \"b\"\nmsgid \"c\"\nmsgstr \"d\"\n", Catalog{"c": "d"}, ""},
		{"msgid \"a\"\nmsgstr \"\"\n", Catalog{"a": ""}, ""},
		{"msgid \"a\"\n", nil, "line 1: msgid without msgstr"},
		{"msgid \"a\"\nmsgid \"b\"\nmsgstr \"c\"\n", nil, "line 1: msgid without msgstr"},
		{"msgstr \"b\"\n", nil, "line 1: msgstr without a msgid"},
		{"msgid \"a\"\nmsgstr \"b\"\nmsgstr \"c\"\n", nil, "line 3: msgstr without a msgid"},
		{"msgid \"a\"\nmsgstr \"b\"\nmsgid \"a\"\nmsgstr \"c\"\n", nil, "msgid \"a\" appears twice"},
		{"msgid \"a\nmsgstr \"b\"\n", nil, "line 1: "},
		{"msgid \"a\\q\"\nmsgstr \"b\"\n", nil, "unknown escape"},
		{"msgid \"a\" \"b\"\nmsgstr \"b\"\n", nil, "unescaped quote"},
		{"msgid \"a\"\nmsgid_plural \"as\"\nmsgstr[0] \"b\"\n", nil, "msgid_plural is not supported"},
		{"msgctxt \"x\"\n", nil, "msgctxt is not supported"},
		{"\"orphan\"\n", nil, "line 1: a string outside an entry"},
		{"bogus\n", nil, "line 1: unexpected \"bogus\""},
	} {
		got, err := ParsePO([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want error %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%q: %v %v", tc.in, got, err)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: [%q] = %q, want %q", tc.in, k, got[k], v)
			}
		}
	}
}

func FuzzParsePO(f *testing.F) {
	f.Add([]byte("msgid \"a\"\nmsgstr \"b\"\n"))
	f.Add([]byte("#, fuzzy\nmsgid \"\"\n\"x\\n\"\nmsgstr \"y\"\n"))
	if data, err := poFiles.ReadFile("po/de.po"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cat, err := ParsePO(data)
		if err == nil && cat == nil {
			t.Fatal("nil catalog without an error")
		}
		if err != nil && !strings.HasPrefix(err.Error(), "line ") && !strings.HasPrefix(err.Error(), "catalog of ") {
			t.Fatalf("error without a line: %v", err)
		}
	})
}
