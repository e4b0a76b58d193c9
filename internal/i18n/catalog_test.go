package i18n

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// translated are the packages whose messages go through the catalog.
var translated = []string{"init/ctl", "init/daemon", "init/loader", "internal/opts", "sessiond/cmd/sessiond"}

var writePOT = flag.Bool("pot", false, "write po/ginit.pot from the sources")

// msgids extracts, as xgettext would, the literal first format of every
// T, Tf, Errorf and Fprintf call on a Printer in the translated packages
// (a package-level string constant counts as its value).
func msgids(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, dir := range translated {
		fset := token.NewFileSet()
		srcs, _ := filepath.Glob(filepath.Join("..", "..", dir, "*.go"))
		var files []*ast.File
		for _, src := range srcs {
			if strings.HasSuffix(src, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, src, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		{
			consts := map[string]string{}
			for _, f := range files {
				for _, d := range f.Decls {
					if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
						for _, sp := range g.Specs {
							vs := sp.(*ast.ValueSpec)
							for i, n := range vs.Names {
								if i < len(vs.Values) {
									if bl, ok := vs.Values[i].(*ast.BasicLit); ok && bl.Kind == token.STRING {
										consts[n.Name], _ = strconv.Unquote(bl.Value)
									}
								}
							}
						}
					}
				}
			}
			for _, f := range files {
				ast.Inspect(f, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "fmt" || id.Name == "errors") {
						return true
					}
					arg := 0
					switch sel.Sel.Name {
					case "T", "Tf", "Errorf":
					case "Fprintf":
						arg = 1
					default:
						return true
					}
					if len(call.Args) <= arg {
						return true
					}
					switch a := call.Args[arg].(type) {
					case *ast.BasicLit:
						if a.Kind == token.STRING {
							s, _ := strconv.Unquote(a.Value)
							seen[s] = true
						}
					case *ast.Ident:
						if s, ok := consts[a.Name]; ok {
							seen[s] = true
						}
					}
					return true
				})
			}
		}
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// poQuote writes s as a .po string, one line per source line.
func poQuote(s string) string {
	esc := func(s string) string {
		s = strings.ReplaceAll(s, `\`, `\\`)
		s = strings.ReplaceAll(s, `"`, `\"`)
		s = strings.ReplaceAll(s, "\t", `\t`)
		return strings.ReplaceAll(s, "\n", `\n`)
	}
	if !strings.Contains(strings.TrimSuffix(s, "\n"), "\n") {
		return `"` + esc(s) + `"`
	}
	var b strings.Builder
	b.WriteString(`""`)
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("\n\"" + esc(l) + `"`)
		}
	}
	return b.String()
}

// Every message the sources send through the catalog has a translation in
// every shipped catalog, with the same format verbs in the same order
// (a missing or extra verb would print Go's %!v(MISSING) debris).
func TestCatalogsComplete(t *testing.T) {
	ids := msgids(t)
	if len(ids) < 100 {
		t.Fatalf("only %d messages extracted: the extractor is broken", len(ids))
	}
	if *writePOT {
		var b strings.Builder
		b.WriteString("# ginit's messages (go test ./internal/i18n -pot writes this file).\nmsgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n")
		for _, id := range ids {
			b.WriteString("\nmsgid " + poQuote(id) + "\nmsgstr \"\"\n")
		}
		if err := os.WriteFile("po/ginit.pot", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	verbs := regexp.MustCompile(`%(\[\d+\])?[-+#0]*\d*(\.\d+)?[a-zA-Z%]`)
	langs := Shipped()
	if !slices.Contains(langs, "de") {
		t.Fatalf("shipped catalogs %v: no German", langs)
	}
	for _, lang := range langs {
		data, err := poFiles.ReadFile("po/" + lang + ".po")
		if err != nil {
			t.Fatal(err)
		}
		cat, err := ParsePO(data)
		if err != nil {
			t.Fatalf("%s.po: %v", lang, err)
		}
		for _, id := range ids {
			tr, ok := cat[id]
			if !ok || tr == "" {
				t.Errorf("%s.po: no translation of %q", lang, id)
				continue
			}
			if a, b := verbs.FindAllString(id, -1), verbs.FindAllString(tr, -1); !slices.Equal(a, b) {
				t.Errorf("%s.po: %q has verbs %v, its translation %v", lang, id, a, b)
			}
		}
		for id := range cat {
			if !slices.Contains(ids, id) && !slices.Contains(extraIDs, id) {
				t.Errorf("%s.po: %q is translated but no source uses it", lang, id)
			}
		}
	}
}

// extraIDs are msgids that reach T as values, not literals: the stop
// reasons of init/service that ginitctl status translates.
var extraIDs = []string{"normal", "dependency restarted", "dependency failed", "failed", "exec failed", "timed out",
	"terminated", "dependency stopped", "restart limit reached", "killed after the stop timeout"}

// gettext's own checker accepts every catalog (format strings included).
func TestMsgfmtCheck(t *testing.T) {
	msgfmt, err := exec.LookPath("msgfmt")
	if err != nil {
		t.Skip("msgfmt (gettext) not installed")
	}
	for _, lang := range Shipped() {
		out, err := exec.Command(msgfmt, "--check", "-o", "/dev/null", filepath.Join("po", lang+".po")).CombinedOutput()
		if err != nil {
			t.Errorf("msgfmt --check %s.po: %v\n%s", lang, err, out)
		}
	}
}
