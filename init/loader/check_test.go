package loader

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckMainReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"boot":  "type = internal\ndepends-on: a\ndepends-on: b\nwaits-for: c1\n",
		"a":     "type = process\ncommand = /no/such/binary\n",
		"b":     "type = process\ncommand = /bin/true\nrestart = sometimes\n",
		"c1":    "type = internal\ndepends-on: c2\n",
		"c2":    "type = internal\ndepends-on: c1\n",
		"clean": "type = internal\n",
	})
	tests := []struct {
		args     []string
		code     int
		want     []string
		wantNone []string
	}{
		{[]string{"-d", dir}, 1, []string{
			filepath.Join(dir, "b") + ":3: setting 'restart'",
			"cycle: c1 -> c2 -> c1",
			"warning: " + filepath.Join(dir, "a") + ": service 'a': command /no/such/binary",
			"2 error(s)",
		}, nil},
		{[]string{"-d", dir, "clean"}, 0, []string{"1 service(s) loaded, 0 error(s)"}, []string{"error:"}},
		{[]string{"-d", dir, "ghost"}, 1, []string{"service 'ghost' not found"}, nil},
		{[]string{"-x"}, 2, nil, nil},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		code := CheckMain(tc.args, &out, &errb, []string{"PATH=/bin"})
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tc.args, code, tc.code, out.String(), errb.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out.String())
			}
		}
		for _, w := range tc.wantNone {
			if strings.Contains(out.String(), w) {
				t.Errorf("%v: output has %q:\n%s", tc.args, w, out.String())
			}
		}
	}
}
