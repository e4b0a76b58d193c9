package power

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestKinds(t *testing.T) {
	for _, tc := range []struct {
		k     Kind
		name  string
		cmd   int
		ends  bool
		parse bool // Parse(name) gives k back
	}{
		{None, "none", 0, false, false},
		{Remain, "remain", 0, false, true},
		{Halt, "halt", unix.LINUX_REBOOT_CMD_HALT, true, true},
		{Poweroff, "poweroff", unix.LINUX_REBOOT_CMD_POWER_OFF, true, true},
		{Reboot, "reboot", unix.LINUX_REBOOT_CMD_RESTART, true, true},
		{Kexec, "kexec", unix.LINUX_REBOOT_CMD_KEXEC, true, true},
		{Kind(-1), "Kind(-1)", 0, false, false},
		{Kind(6), "Kind(6)", 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.k.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
			cmd, ok := tc.k.RebootCmd()
			if cmd != tc.cmd || ok != tc.ends || tc.k.EndsMachine() != tc.ends {
				t.Errorf("RebootCmd() = %#x, %v; EndsMachine() = %v; want %#x, %v", cmd, ok, tc.k.EndsMachine(), tc.cmd, tc.ends)
			}
			k, err := Parse(tc.name)
			if tc.parse != (err == nil) || tc.parse && k != tc.k {
				t.Errorf("Parse(%q) = %v, %v", tc.name, k, err)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"", "none", "Reboot", "power-off", "dry-poweroff", " halt", "Kind(2)"} {
		k, err := Parse(s)
		if err == nil || k != None {
			t.Errorf("Parse(%q) = %v, %v; want an error", s, k, err)
			continue
		}
		if want := `unknown shutdown type "` + s + `" (` + Names + `)`; err.Error() != want {
			t.Errorf("Parse(%q): %q, want %q", s, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"halt", "poweroff", "reboot", "kexec", "remain", "none", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s)
		if err != nil {
			return
		}
		if k.String() != s || k == None {
			t.Errorf("Parse(%q) = %v, which prints as %q", s, k, k.String())
		}
	})
}
