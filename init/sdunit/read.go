package sdunit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"ginit/init/loader"
	"ginit/init/logging"
)

// Limits on what one unit may make the loader read: a unit and its drop-ins
// are small text files; anything bigger is a mistake or an attack.
const (
	maxUnitFile = 256 << 10
	maxDropIns  = 64
	maxOptions  = 4096
)

// option is one assignment of a unit file or drop-in, with where it was.
type option struct {
	section, key, value string
	file                string
	line                int
}

// readFile reads one unit file or drop-in: regular files only, opened as
// the loader opens descriptions (loader.OpenRegular: a fifo or device
// would block the loader, even one swapped in after the check), at most
// maxUnitFile bytes.
func readFile(path string) ([]byte, error) {
	f, _, err := loader.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return readLimited(path, f)
}

// readEnvFile reads an EnvironmentFile as the loader reads env-files
// (logging.OpenRegular: only links owned by root or ginit's user are
// followed, so one the service user planted to /etc/shadow is refused).
func readEnvFile(path string) ([]byte, error) {
	f, err := logging.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	return readLimited(path, f)
}

// readLimited reads f to its end, at most maxUnitFile bytes, and closes it.
func readLimited(path string, f *os.File) ([]byte, error) {
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUnitFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxUnitFile {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", path, maxUnitFile, loader.ErrTooLarge)
	}
	return data, nil
}

// parseOptions parses unit text with go-systemd's deserializer and gives
// each option the line it starts on (the deserializer keeps none), found by
// a scan of the same text that only tracks sections, comments and
// continuations.
func parseOptions(file string, data []byte) ([]option, error) {
	opts, err := unit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		return nil, &loader.Error{File: file, Err: fmt.Errorf("unit syntax: %w", err)}
	}
	if len(opts) > maxOptions {
		return nil, &loader.Error{File: file, Err: fmt.Errorf("more than %d assignments: %w", maxOptions, loader.ErrTooLarge)}
	}
	starts := assignmentLines(data)
	out := make([]option, 0, len(opts))
	j := 0
	for _, o := range opts {
		line := 0
		for k := j; k < len(starts); k++ {
			if starts[k].section == o.Section && starts[k].key == o.Name {
				line, j = starts[k].line, k+1
				break
			}
		}
		// A continued value keeps "\\\n" from the deserializer; systemd
		// joins continued lines with a space.
		v := strings.TrimSpace(strings.ReplaceAll(o.Value, "\\\n", " "))
		out = append(out, option{section: o.Section, key: o.Name, value: v, file: file, line: line})
	}
	return out, nil
}

type lineStart struct {
	section, key string
	line         int
}

// assignmentLines lists where each assignment starts.
func assignmentLines(data []byte) []lineStart {
	var out []lineStart
	section := ""
	cont := false
	for i, raw := range strings.Split(string(data), "\n") {
		l := strings.TrimRight(raw, "\r")
		if cont {
			cont = strings.HasSuffix(l, "\\")
			continue
		}
		t := strings.TrimSpace(l)
		switch {
		case t == "" || t[0] == '#' || t[0] == ';':
		case t[0] == '[':
			if end := strings.IndexByte(t, ']'); end > 0 {
				section = t[1:end]
			}
		default:
			k, _, ok := strings.Cut(t, "=")
			if ok {
				out = append(out, lineStart{section, strings.TrimSpace(k), i + 1})
				cont = strings.HasSuffix(l, "\\")
			}
		}
	}
	return out
}

// errMasked is the cause for a unit linked to /dev/null.
var errMasked = errors.New("unit is masked (linked to /dev/null)")
