// Package version is the release and the commit that every ginit program
// prints for --version and that ginit answers to a version request.
package version

import (
	"runtime/debug"
	"strings"
)

// Release is ginit's release number.
const Release = "0.1"

// commit is `git describe --always --dirty` of the tree the binary was
// built from, set by the Makefile with
// -ldflags "-X ginit/internal/version.commit=...". It is a var only
// because the linker can set nothing else; nothing assigns it at run time.
var commit string

// Commit is the commit the binary was built from: the Makefile's, else the
// VCS revision go build recorded, else "unknown" (a build outside git).
func Commit() string {
	return pick(commit, debug.ReadBuildInfo)
}

// pick chooses the commit from the linker's value and the build info.
func pick(linked string, info func() (*debug.BuildInfo, bool)) string {
	if linked = strings.TrimSpace(linked); linked != "" {
		return linked
	}
	bi, ok := info()
	if !ok {
		return "unknown"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "unknown"
	}
	// As short as git describe's abbreviation, so both look alike.
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return rev + dirty
}

// Line is the first line of every program's --version output, in the GNU
// form "PROG (ginit) RELEASE", with the commit after it.
func Line(prog string) string {
	return prog + " (ginit) " + Release + ", commit " + Commit()
}
