package main

import (
	"bytes"
	"context"
	"testing"

	"ginit/internal/version"
)

// Go's flag package takes both -version and --version.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"-version", "--version"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, &out); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if want := version.Line("sessiond") + "\n"; out.String() != want {
			t.Errorf("%s: %q, want %q", arg, out.String(), want)
		}
	}
}
