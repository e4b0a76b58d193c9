// Package power is the one spelling of how a manager or a machine ends:
// the names used on the control socket, by ginitctl's shutdown front-ends
// and by sessiond, and the reboot(2) command behind each.
package power

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Kind is how a manager ends its run and, for a machine, how the machine
// ends. None and Remain end no machine.
type Kind int

// Kinds. The zero value is None, so an unset Kind asks for nothing.
const (
	None     Kind = iota // no end asked for: an idle exit, or a context that ended
	Remain               // stop every service and keep running (dinit's "remain")
	Halt                 // halt the machine
	Poweroff             // power it off
	Reboot               // reboot it
	Kexec                // reboot into a kernel loaded earlier (kexec -l)
)

// kinds holds each kind's name and reboot(2) command (0: none), indexed by Kind.
var kinds = [...]struct {
	name string
	cmd  int
}{
	None:     {"none", 0},
	Remain:   {"remain", 0},
	Halt:     {"halt", unix.LINUX_REBOOT_CMD_HALT},
	Poweroff: {"poweroff", unix.LINUX_REBOOT_CMD_POWER_OFF},
	Reboot:   {"reboot", unix.LINUX_REBOOT_CMD_RESTART},
	Kexec:    {"kexec", unix.LINUX_REBOOT_CMD_KEXEC},
}

// Names lists the kinds Parse accepts, for messages.
const Names = "halt, poweroff, reboot, kexec or remain"

func (k Kind) valid() bool { return k >= 0 && int(k) < len(kinds) }

func (k Kind) String() string {
	if !k.valid() {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kinds[k].name
}

// Parse reads a kind by its name. "none" is not accepted: nobody asks for
// nothing.
func Parse(s string) (Kind, error) {
	for k, v := range kinds {
		if v.name == s && Kind(k) != None {
			return Kind(k), nil
		}
	}
	return None, fmt.Errorf("unknown shutdown type %q (%s)", s, Names)
}

// EndsMachine reports whether k halts, powers off or reboots the machine.
func (k Kind) EndsMachine() bool { return k.valid() && kinds[k].cmd != 0 }

// RebootCmd is k's reboot(2) command; ok is false for kinds that end no
// machine.
func (k Kind) RebootCmd() (cmd int, ok bool) {
	if !k.EndsMachine() {
		return 0, false
	}
	return kinds[k].cmd, true
}
