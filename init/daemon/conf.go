package daemon

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
)

// ginit.conf holds manager settings that would otherwise be options, one
// "name = value" a line ('#' starts a comment); the names are the long
// options' without the dashes. The command line wins over the file.

// defaultConf is read by the system instance when it exists.
const defaultConf = "/etc/ginit/ginit.conf"

// confNames are the options ginit.conf may set.
const confNames = "max-starting, max-starting-class, starting-grace, start-pressure-cpu, start-pressure-io"

// readConf turns the settings of path into options, each checked, so an
// error names the file and line.
func readConf(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var args []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || !slices.Contains(strings.Split(confNames, ", "), name) {
			return nil, fmt.Errorf("%s:%d: %q is not a setting (%s)", path, n, line, confNames)
		}
		arg := "--" + name + "=" + val
		if _, err := ParseArgs([]string{arg}); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		args = append(args, arg)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return args, nil
}

// loadConf applies c.ConfFile under the command line args (from which c
// was parsed). On an error nothing of the file is applied.
func (c *Config) loadConf(args []string) error {
	if c.ConfFile == "" {
		return nil
	}
	fileArgs, err := readConf(c.ConfFile)
	if err != nil {
		return err
	}
	merged, err := ParseArgs(append(fileArgs, args...))
	if err != nil {
		// Only a PID 1 runs on with a bad command line: the file alone.
		merged, _ = ParseArgs(fileArgs)
	}
	c.StartLimit = merged.StartLimit
	c.ClassLimits = merged.ClassLimits
	return nil
}
