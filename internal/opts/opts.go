// Package opts is the one command-line convention of ginit's programs:
// GNU-style options on github.com/spf13/pflag (short options that cluster,
// -dDIR and -d DIR, --long=value and --long value, options anywhere among
// the operands, "--" ends them), errors as one translated line, and
// --help laid out as GNU programs lay it out.
package opts

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"ginit/internal/i18n"
)

// New returns an empty flag set for prog that reports errors instead of
// printing or exiting, and lists its options in the order they were added.
func New(prog string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	return fs
}

// Parse parses args into fs and words a failure as one line in p's
// language ("unknown option --bogus", "option --from needs an argument").
func Parse(fs *pflag.FlagSet, args []string, p *i18n.Printer) error {
	err := fs.Parse(args)
	if err == nil {
		return nil
	}
	var (
		notExist *pflag.NotExistError
		required *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(err, &notExist):
		if s := notExist.GetSpecifiedShortnames(); s != "" {
			return p.Errorf("unknown option -%s", s[:1])
		}
		return p.Errorf("unknown option --%s", notExist.GetSpecifiedName())
	case errors.As(err, &required):
		if s := required.GetSpecifiedShortnames(); s != "" {
			return p.Errorf("option -%s needs an argument", s[:1])
		}
		return p.Errorf("option --%s needs an argument", required.GetSpecifiedName())
	case errors.As(err, &invalid):
		// The value's own error says what is wrong with it (Value types
		// below word it; pflag's strconv errors are replaced).
		cause := invalid.Unwrap()
		var m *message
		if !errors.As(cause, &m) {
			cause = p.Errorf("%q is not a valid value", invalid.GetValue())
		}
		return p.Errorf("option --%s: %v", invalid.GetFlag().Name, cause)
	case errors.As(err, &syntax):
		return p.Errorf("bad option syntax: %s", syntax.GetSpecifiedFlag())
	}
	return err
}

// message marks a value error already worded for people.
type message struct{ text string }

func (m *message) Error() string { return m.text }

// Invalid is the error a Value's Set returns: shown as it is, after the
// option's name.
func Invalid(text string) error { return &message{text} }

// Func is an option with an argument whose every occurrence calls set; set
// checks and stores the value (repeatable options append).
type Func struct {
	set  func(string) error
	last string
	typ  string
}

// NewFunc adds to fs the option --name (and -short, when not "") taking an
// argument named argName in the help.
func NewFunc(fs *pflag.FlagSet, name, short, argName, usage string, set func(string) error) {
	fs.VarP(&Func{set: set, typ: argName}, name, short, usage)
}

func (f *Func) String() string { return f.last }
func (f *Func) Type() string   { return f.typ }
func (f *Func) Set(v string) error {
	if err := f.set(v); err != nil {
		return err
	}
	f.last = v
	return nil
}

// Help writes GNU-style help: the usage line(s), what the program does,
// the options in the order they were added, and a closing text (operands,
// exit status). Option descriptions are taken as fs has them (already
// translated by the caller); the headings are translated here.
func Help(w io.Writer, p *i18n.Printer, usage, about string, fs *pflag.FlagSet, tail string) {
	fmt.Fprintf(w, "%s%s\n", p.T("Usage: "), usage)
	if about != "" {
		fmt.Fprintf(w, "%s\n", strings.TrimRight(about, "\n"))
	}
	if fs != nil && fs.HasFlags() {
		fmt.Fprintf(w, "\n%s\n%s", p.T("Options:"), fs.FlagUsagesWrapped(0))
	}
	if tail != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(tail, "\n"))
	}
}

// Switch adds the option --name (and -short) without an argument that sets
// *dst; --name=false clears it again. (pflag's own bool options print
// "[=true|false]" in the help, which GNU programs do not.)
func Switch(fs *pflag.FlagSet, dst *bool, name, short, usage string) {
	fs.BoolFuncP(name, short, usage, func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Invalid(strconv.Quote(v) + " is not true or false")
		}
		*dst = b
		return nil
	})
}

// GoStyle rewrites the single-dash long options of Go's flag package
// (-name, -name=value), which earlier releases of a program took, into
// their GNU spelling, so existing command lines keep working. Only names
// of fs's long options are rewritten, never an option's argument nor
// anything after "--".
func GoStyle(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		switch {
		case f == nil || len(name) < 2 || !strings.HasPrefix(a, "-"):
		case !strings.HasPrefix(a, "--"):
			a = "-" + a
			fallthrough
		default:
			if !hasVal && f.NoOptDefVal == "" && i+1 < len(args) {
				// Its argument is the next word, whatever it looks like.
				out = append(out, a, args[i+1])
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out
}
