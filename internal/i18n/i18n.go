// Package i18n translates the messages ginit's programs print for people.
//
// Catalogs are gettext .po files (po/LANG.po, embedded), so translators use
// the tools they know (msgfmt -c checks them; a test runs it). A Printer is
// chosen from the environment as gettext chooses: LANGUAGE (a colon list),
// then LC_ALL, LC_MESSAGES, LANG; "C", "POSIX" or no catalog mean English,
// the msgid itself. Only texts go through the catalog: numbers are never
// reformatted by language, so machine-read output (pids, counts) stays the
// same in every locale.
package i18n

import (
	"embed"
	"fmt"
	"io"
	"strings"
)

//go:embed po/*.po
var poFiles embed.FS

// Printer translates msgids into one language. A nil *Printer is English.
type Printer struct {
	lang string
	cat  Catalog
}

// ForEnv picks the catalog getenv's locale variables select.
func ForEnv(getenv func(string) string) *Printer {
	for _, l := range Languages(getenv) {
		if p := ForLanguage(l); p != nil {
			return p
		}
	}
	return nil
}

// Languages lists the languages getenv's variables ask for, best first,
// as gettext reads them: LANGUAGE counts only when the locale is not C.
func Languages(getenv func(string) string) []string {
	locale := ""
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if locale = getenv(v); locale != "" {
			break
		}
	}
	if locale == "" || locale == "C" || locale == "POSIX" || strings.HasPrefix(locale, "C.") {
		return nil
	}
	var out []string
	for _, l := range strings.Split(getenv("LANGUAGE"), ":") {
		if l != "" {
			out = append(out, l)
		}
	}
	return append(out, locale)
}

// ForLanguage returns the Printer of a locale name such as de_DE.UTF-8,
// de_AT or de, or nil (English) when no catalog matches.
func ForLanguage(locale string) *Printer {
	lang, _, _ := strings.Cut(locale, ".")
	lang, _, _ = strings.Cut(lang, "@")
	for _, name := range []string{lang, strings.SplitN(lang, "_", 2)[0]} {
		if name == "" || name == "en" || strings.ContainsAny(name, "/\\") {
			continue
		}
		data, err := poFiles.ReadFile("po/" + name + ".po")
		if err != nil {
			continue
		}
		cat, err := ParsePO(data)
		if err != nil {
			// A shipped catalog that does not parse is a build bug (a
			// test reads every one); English is the safe answer.
			return nil
		}
		return &Printer{lang: name, cat: cat}
	}
	return nil
}

// Shipped lists the languages with an embedded catalog.
func Shipped() []string {
	ents, _ := poFiles.ReadDir("po")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".po"))
	}
	return out
}

// Lang is the catalog's language ("" for English).
func (p *Printer) Lang() string {
	if p == nil {
		return ""
	}
	return p.lang
}

// T returns msgid's translation, or msgid when there is none.
func (p *Printer) T(msgid string) string {
	if p != nil {
		if s, ok := p.cat[msgid]; ok && s != "" {
			return s
		}
	}
	return msgid
}

// Tf formats the translation of format with a.
func (p *Printer) Tf(format string, a ...any) string {
	return fmt.Sprintf(p.T(format), a...)
}

// Fprintf writes the translation of format, formatted with a, to w.
func (p *Printer) Fprintf(w io.Writer, format string, a ...any) {
	fmt.Fprintf(w, p.T(format), a...)
}

// Errorf is fmt.Errorf on the translation of format (%w works).
func (p *Printer) Errorf(format string, a ...any) error {
	return fmt.Errorf(p.T(format), a...)
}
