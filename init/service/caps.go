package service

import (
	"fmt"
	"strings"
)

// capNames are Linux capability numbers by name (without the cap_ prefix),
// as in <linux/capability.h>.
var capNames = map[string]int{
	"chown": 0, "dac_override": 1, "dac_read_search": 2, "fowner": 3, "fsetid": 4,
	"kill": 5, "setgid": 6, "setuid": 7, "setpcap": 8, "linux_immutable": 9,
	"net_bind_service": 10, "net_broadcast": 11, "net_admin": 12, "net_raw": 13,
	"ipc_lock": 14, "ipc_owner": 15, "sys_module": 16, "sys_rawio": 17, "sys_chroot": 18,
	"sys_ptrace": 19, "sys_pacct": 20, "sys_admin": 21, "sys_boot": 22, "sys_nice": 23,
	"sys_resource": 24, "sys_time": 25, "sys_tty_config": 26, "mknod": 27, "lease": 28,
	"audit_write": 29, "audit_control": 30, "setfcap": 31, "mac_override": 32,
	"mac_admin": 33, "syslog": 34, "wake_alarm": 35, "block_suspend": 36,
	"audit_read": 37, "perfmon": 38, "bpf": 39, "checkpoint_restore": 40,
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
		n, ok := capNames[strings.TrimPrefix(name, "cap_")]
		if !ok || !strings.HasPrefix(name, "cap_") {
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

// Secure bits (prctl PR_SET_SECUREBITS), by the names dinit uses.
var securebitNames = map[string]uint{
	"noroot": 1 << 0, "noroot-locked": 1 << 1,
	"no-setuid-fixup": 1 << 2, "no-setuid-fixup-locked": 1 << 3,
	"keep-caps": 1 << 4, "keep-caps-locked": 1 << 5,
}

// ParseSecurebits reads a space-separated list of secure bit names.
func ParseSecurebits(s string) (uint, error) {
	var bits uint
	for _, f := range strings.Fields(s) {
		b, ok := securebitNames[f]
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
	for n, i := range capNames {
		out[i] = "cap_" + n
	}
	return out
}
