package loader

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is wrapped by the error for a service with no description file.
var ErrNotFound = errors.New("service not found")

// ErrNotSupported is wrapped by errors for dinit settings that ginit does
// not implement yet.
var ErrNotSupported = errors.New("not supported yet")

// ErrNotRegular is matched by the error for a service file, @include,
// env-file or .d directory entry that is not a regular file (a named pipe, a
// device, a socket, a directory): reading one could block or never end.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is matched by the error for a file or a substitution beyond
// the loader's limits (MaxFileSize and the others in ginit-service(5)).
var ErrTooLarge = errors.New("over a loader limit")

// ErrCycle is wrapped by *CycleError.
var ErrCycle = errors.New("cycle")

// Error is a problem in a service description.
type Error struct {
	File    string // the file (fragment) holding the bad line; may be empty
	Line    int    // 1-based; 0 when the problem is not on one line
	Service string // the service being loaded
	Setting string // the setting, when the problem is in one
	Err     error  // the cause
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Service != "":
		fmt.Fprintf(&b, "service '%s': ", e.Service)
	}
	if e.Setting != "" {
		fmt.Fprintf(&b, "setting '%s': ", e.Setting)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// NotFoundError says that no service directory holds a service.
type NotFoundError struct {
	Name     string
	Searched []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("service '%s' not found (searched: %s)", e.Name, strings.Join(e.Searched, ", "))
}

// Unwrap makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// CycleError is a dependency cycle (Ordering false: depends-on, depends-ms,
// waits-for) or a start-order cycle (Ordering true: before/after together
// with dependencies). Path starts and ends with the same service.
type CycleError struct {
	Ordering bool
	Path     []string
}

func (e *CycleError) Error() string {
	p := "cycle: "
	if e.Ordering {
		p = "ordering cycle: "
	}
	return p + strings.Join(e.Path, " -> ")
}

// Unwrap makes errors.Is(err, ErrCycle) true.
func (e *CycleError) Unwrap() error { return ErrCycle }

// IsNotFound reports whether err says a service has no description.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsLoadError reports whether err is a problem with descriptions (a bad
// file, a missing service or a cycle) rather than, say, an I/O failure of
// the caller.
func IsLoadError(err error) bool {
	var le *Error
	return errors.As(err, &le) || errors.Is(err, ErrCycle) || errors.Is(err, ErrNotFound)
}

func invalid(v string, expected string) error {
	if expected == "" {
		return fmt.Errorf("invalid value %q", v)
	}
	return fmt.Errorf("invalid value %q (expected %s)", v, expected)
}

// ErrorList is several problems in one description, in line order.
// errors.As finds the first *Error in it.
type ErrorList []error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap gives errors.Is and errors.As every problem.
func (l ErrorList) Unwrap() []error { return l }
