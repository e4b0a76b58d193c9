package cgroup2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// LimitControllers are the controllers whose limits Limits can set.
var LimitControllers = [...]string{"memory", "pids", "cpu"}

// Limits are the resource limits of one cgroup; 0 leaves a limit alone.
type Limits struct {
	MemoryMax int64 // memory.max, bytes
	PidsMax   int64 // pids.max
	CPUWeight int64 // cpu.weight, 1..10000
}

// Apply writes the non-zero limits into dir. A missing controller fails
// only its own limit: the error joins one error per limit not applied,
// each naming its file.
func (l Limits) Apply(dir string) error {
	var errs []error
	for _, f := range []struct {
		file string
		v    int64
	}{{"memory.max", l.MemoryMax}, {"pids.max", l.PidsMax}, {"cpu.weight", l.CPUWeight}} {
		if f.v == 0 {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, f.file), []byte(strconv.FormatInt(f.v, 10)), 0); err != nil {
			errs = append(errs, fmt.Errorf("%s not applied: %w", f.file, err))
		}
	}
	return errors.Join(errs...)
}

// EnableControllers turns on, in each dir's cgroup.subtree_control in
// order, those of want that the dir offers (a parent must enable a
// controller before its child can). Failures are not errors: they only
// mean that some limits will not apply.
func EnableControllers(want []string, dirs ...string) {
	for _, dir := range dirs {
		avail, err := readFile(filepath.Join(dir, "cgroup.controllers"))
		if err != nil {
			continue
		}
		have := strings.Fields(string(avail))
		for _, c := range want {
			if slices.Contains(have, c) {
				_ = os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0)
			}
		}
	}
}

// Name turns any string (a service name) into a safe cgroup directory
// name: '/', '\\', control characters, '%' and spaces are %-escaped, and
// names that could clash with interface files or "."/".." get their first
// byte escaped.
func Name(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == '%' || c == '\\' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	if out == "" {
		return "%00"
	}
	if out == "." || out == ".." || strings.HasPrefix(out, "cgroup.") || strings.Contains(out, ".") && isInterfaceName(out) {
		out = fmt.Sprintf("%%%02X", out[0]) + out[1:]
	}
	return out
}

// isInterfaceName reports names like "memory.max" that look like
// controller interface files.
func isInterfaceName(n string) bool {
	pre, _, _ := strings.Cut(n, ".")
	switch pre {
	case "cgroup", "memory", "pids", "cpu", "cpuset", "io", "hugetlb", "rdma", "misc", "irq":
		return true
	}
	return false
}
