package service

import (
	"fmt"
	"slices"
	"strings"
)

// capNames are Linux capability names (without the cap_ prefix) in number
// order, as in <linux/capability.h>. An array is data in the binary, where a
// map literal was built at every start of each program linking the package.
var capNames = [...]string{
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid",
	"kill", "setgid", "setuid", "setpcap", "linux_immutable",
	"net_bind_service", "net_broadcast", "net_admin", "net_raw",
	"ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot",
	"sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
	"sys_resource", "sys_time", "sys_tty_config", "mknod", "lease",
	"audit_write", "audit_control", "setfcap", "mac_override",
	"mac_admin", "syslog", "wake_alarm", "block_suspend",
	"audit_read", "perfmon", "bpf", "checkpoint_restore",
}

// CapSpec is a parsed `capabilities` setting (libcap's IAB text form):
// "^cap_x" raises cap_x in the ambient (and inheritable) set, so a process
// run as another user keeps it; "!cap_x" drops it from the bounding set, so
// nothing the service runs can ever gain it. Plain "cap_x" (inheritable
// only) has no effect without file capabilities and is refused.
type CapSpec struct {
	Ambient   []int
	BoundDrop []int
}

// ParseCapabilities reads a comma- or space-separated IAB list.
func ParseCapabilities(s string) (CapSpec, error) {
	var c CapSpec
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		kind := f[0]
		name := strings.ToLower(f)
		if kind == '^' || kind == '!' {
			name = name[1:]
		}
		n := slices.Index(capNames[:], strings.TrimPrefix(name, "cap_"))
		if n < 0 || !strings.HasPrefix(name, "cap_") {
			return c, fmt.Errorf("unknown capability %q", f)
		}
		switch kind {
		case '^':
			c.Ambient = append(c.Ambient, n)
		case '!':
			c.BoundDrop = append(c.BoundDrop, n)
		default:
			return c, fmt.Errorf("%q: only ^CAP (ambient) and !CAP (drop from the bounding set) are supported", f)
		}
	}
	return c, nil
}

// securebit is a secure bit (prctl PR_SET_SECUREBITS) by the name dinit
// uses (a switch, not a map literal built at every program start).
func securebit(name string) (uint, bool) {
	switch name {
	case "noroot":
		return 1 << 0, true
	case "noroot-locked":
		return 1 << 1, true
	case "no-setuid-fixup":
		return 1 << 2, true
	case "no-setuid-fixup-locked":
		return 1 << 3, true
	case "keep-caps":
		return 1 << 4, true
	case "keep-caps-locked":
		return 1 << 5, true
	}
	return 0, false
}

// ParseSecurebits reads a space-separated list of secure bit names.
func ParseSecurebits(s string) (uint, error) {
	var bits uint
	for _, f := range strings.Fields(s) {
		b, ok := securebit(f)
		if !ok {
			return 0, fmt.Errorf("unknown secure bit %q (noroot, no-setuid-fixup, keep-caps, each also -locked)", f)
		}
		bits |= b
	}
	return bits, nil
}

// CapabilityNames lists every capability ParseCapabilities knows, as
// "cap_NAME", in number order (for loaders that turn a kept set into drops).
func CapabilityNames() []string {
	out := make([]string, len(capNames))
	for i, n := range capNames {
		out[i] = "cap_" + n
	}
	return out
}
