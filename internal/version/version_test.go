package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestPick(t *testing.T) {
	info := func(settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, tc := range []struct {
		name, linked string
		info         func() (*debug.BuildInfo, bool)
		want         string
	}{
		{"linker wins", "0474a39-dirty", info("vcs.revision", "ffffffffffffffffffff"), "0474a39-dirty"},
		{"linker blank", " \n", info("vcs.revision", "0123456789abcdef0123"), "0123456789ab"},
		{"build info modified", "", info("vcs.revision", "0123456789abcdef0123", "vcs.modified", "true"), "0123456789ab-dirty"},
		{"build info clean", "", info("vcs.modified", "false", "vcs.revision", "abc"), "abc"},
		{"no vcs", "", info("GOOS", "linux"), "unknown"},
		{"no build info", "", none, "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pick(tc.linked, tc.info); got != tc.want {
				t.Errorf("pick(%q) = %q, want %q", tc.linked, got, tc.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	got := Line("ginitctl")
	if !strings.HasPrefix(got, "ginitctl (ginit) "+Release+", commit ") || strings.HasSuffix(got, "commit ") {
		t.Errorf("Line = %q", got)
	}
}
