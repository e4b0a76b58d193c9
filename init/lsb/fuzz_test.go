package lsb

import "testing"

// FuzzParseHeader: any script text gives a header, no header, or an error
// with a line; never a panic.
func FuzzParseHeader(f *testing.F) {
	f.Add("### BEGIN INIT INFO\n# Provides: a b\n# Required-Start: $all c\n# Description: x\n#\ty\n### END INIT INFO\n")
	f.Add("# PROVIDE: a\n# REQUIRE: b\n# BEFORE: c\n# KEYWORD: nostart\n")
	f.Add("### BEGIN INIT INFO\n")
	f.Fuzz(func(t *testing.T, text string) {
		h, ok, err := ParseHeader([]byte(text))
		if ok && err != nil {
			t.Fatalf("ok with an error: %v", err)
		}
		if ok && len(h.Provides) == 0 && h.Kind == "rc.d" {
			t.Fatal("an rc.d header without PROVIDE")
		}
	})
}
