// Package man_test builds the man pages from docs/*.[0-9].md with the
// Makefile's rule (go-md2man) and renders each with man -l, as a reader
// would see it: no markdown may show through, and each page has the NAME
// section that man, whatis and apropos read.
package man_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"ginit/internal/version"
)

// rawHeading is a markdown heading left as text: "#" marks at or left of
// the body's indent (code examples, which may hold "# comment" lines, are
// indented further).
var rawHeading = regexp.MustCompile(`(?m)^ {0,7}#{1,6} `)

func TestManPagesRender(t *testing.T) {
	for _, tool := range []string{"go-md2man", "man", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it): %v", tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	sources, err := filepath.Glob(filepath.Join(root, "docs", "*.[0-9].md"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no man page sources in docs/: %v", err)
	}
	out := t.TempDir()
	if b, err := exec.Command("make", "-s", "-C", root, "man", "MANDIR="+out).CombinedOutput(); err != nil {
		t.Fatalf("make man: %v\n%s", err, b)
	}
	for _, src := range sources {
		page := strings.TrimSuffix(filepath.Base(src), ".md") // NAME.SECTION
		name := page[:strings.LastIndexByte(page, '.')]
		section := page[len(name)+1:]
		t.Run(page, func(t *testing.T) {
			cmd := exec.Command("man", "-l", filepath.Join(out, page))
			cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "MAN_KEEP_FORMATTING=")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("man -l %s: %v\n%s", page, err, stderr.String())
			}
			text := stdout.String()
			// groff's complaints (a table wider than the page, ...) mean
			// the page reads badly at 80 columns.
			if stderr.Len() > 0 {
				t.Errorf("man -l %s warns:\n%s", page, stderr.String())
			}
			for _, raw := range []string{"|---", "**", "```", "`"} {
				if i := strings.Index(text, raw); i >= 0 {
					t.Errorf("raw markdown %q in the rendered page: %q", raw, around(text, i))
				}
			}
			if loc := rawHeading.FindStringIndex(text); loc != nil {
				t.Errorf("raw markdown heading in the rendered page: %q", around(text, loc[0]))
			}
			if header := name + "(" + section + ")"; !strings.HasPrefix(text, header) {
				t.Errorf("page header %q, want it to start with %s", strings.SplitN(text, "\n", 2)[0], header)
			}
			lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
			if footer := lines[len(lines)-1]; !strings.HasPrefix(footer, "ginit "+version.Release+" ") {
				t.Errorf("page footer %q, want it to name ginit %s", footer, version.Release)
			}
			if !regexp.MustCompile(`(?m)^NAME\n +` + regexp.QuoteMeta(name) + `\b.* - \S`).MatchString(text) {
				t.Errorf("no NAME section \"%s - what it is\":\n%s", name, text[:min(len(text), 400)])
			}
		})
	}
}

// around is the text near offset i, for error messages.
func around(s string, i int) string {
	return s[max(0, i-60):min(len(s), i+60)]
}
