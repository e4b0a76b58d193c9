package pam_test

import (
	"debug/elf"
	"path/filepath"
	"testing"

	"ginit/internal/testenv"
)

// TestModuleELF checks the built module's shape: the six PAM entry
// points are exported, it is marked NODELETE (libpam dlcloses modules
// at pam_end; a daemon logging users in keeps it mapped), and it links
// libpam and libc only: no libdbus-1, whose loading was most of the
// module's cost in a login.
func TestModuleELF(t *testing.T) {
	bin := testenv.BinDir()
	if bin == "" {
		t.Skip(testenv.SkipReason())
	}
	f, err := elf.Open(filepath.Join(bin, "pam_sessiond.so"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			exported[s.Name] = true
		}
	}
	for _, name := range []string{"pam_sm_open_session", "pam_sm_close_session", "pam_sm_authenticate",
		"pam_sm_setcred", "pam_sm_acct_mgmt", "pam_sm_chauthtok"} {
		if !exported[name] {
			t.Errorf("%s is not exported", name)
		}
	}
	flags, err := f.DynValue(elf.DT_FLAGS_1)
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) == 0 || flags[0]&uint64(elf.DF_1_NODELETE) == 0 {
		t.Errorf("DT_FLAGS_1 %v lacks NODELETE", flags)
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range libs {
		found = found || l == "libpam.so.0"
		if l != "libpam.so.0" && l != "libc.so.6" {
			t.Errorf("linked against %s (want libpam and libc only)", l)
		}
	}
	if !found {
		t.Errorf("not linked against libpam.so.0: %v", libs)
	}
}
