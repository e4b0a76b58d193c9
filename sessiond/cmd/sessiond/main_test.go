package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"ginit/internal/version"
)

// --version, and -version as Go's flag package took it.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"-version", "--version"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, &out, nil); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if want := version.Line("sessiond") + "\n"; out.String() != want {
			t.Errorf("%s: %q, want %q", arg, out.String(), want)
		}
	}
}

// Bad command lines are usage errors with one clean message; --help is
// GNU's layout; Go-style single-dash long options still parse.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "unknown option --bogus"},
		{[]string{"-vts", "sideways"}, `option --vts: want auto, on or off, not "sideways"`},
		{[]string{"--stop-timeout=soon"}, `option --stop-timeout: "soon" is not a valid value`},
		{[]string{"--runtime-size", "lots"}, "option --runtime-size: \"lots\": "},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-bus"}, "option --bus needs an argument"},
	} {
		err := run(context.Background(), tc.args, &bytes.Buffer{}, nil)
		var ue usageError
		if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: %v, want a usage error %q", tc.args, err, tc.want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Usage: sessiond [OPTION]...", "      --bus ADDRESS", "      --ready-fd FD", "(default 10s)"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("--help lacks %q:\n%s", w, out.String())
		}
	}
}
