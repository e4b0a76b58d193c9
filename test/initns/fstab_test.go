package initns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ginit/init/fstab"
)

// ginit serves an fstab (--fstab) as services: `ginitctl start fstab`
// mounts every entry without noauto, a nested mount after the one holding
// it, tolerating a nofail entry that fails; stopping it unmounts them. The
// mounts are tmpfs in the instance's own mount namespace.
func TestFstabMounts(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	m := filepath.Join(dir, "m")
	fstabPath := filepath.Join(dir, "fstab")
	text := fmt.Sprintf("# test\ntmpfs %[1]s/a/b tmpfs size=1m 0 0\ntmpfs %[1]s/a tmpfs size=2m,mode=0755 0 0\n"+
		"tmpfs %[1]s/c tmpfs noauto 0 0\n/dev/nonexistent-ginit-test %[1]s/d ext4 nofail 0 0\n", m)
	if err := os.WriteFile(fstabPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, map[string]string{"boot": "type = internal\n"}, "--fstab", fstabPath)
	in.mustCtl("start", "fstab")
	in.waitState("fstab", "started")
	mounts := func() string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", in.ginitPid()))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	mi := mounts()
	ia, ib := strings.Index(mi, " "+m+"/a "), strings.Index(mi, " "+m+"/a/b ")
	if ia < 0 || ib < 0 || ib < ia {
		t.Fatalf("want %s/a mounted, then %s/a/b on it:\n%s", m, m, mi)
	}
	if strings.Contains(mi, " "+m+"/c ") {
		t.Errorf("the noauto entry was mounted")
	}
	if st := in.state(fstab.UnitName(m + "/d")); st != "stopped" {
		t.Errorf("the failing nofail entry is %s", st)
	}
	// The nested mount is visible through the outer one.
	if out, err := exec.Command("nsenter", "-t", fmt.Sprint(in.ginitPid()), "-m", "--", "sh", "-c",
		"touch "+m+"/a/b/x && ls "+m+"/a/b && mountpoint "+m+"/a/b").CombinedOutput(); err != nil {
		t.Errorf("nested mount: %v: %s", err, out)
	}
	in.mustCtl("stop", "fstab")
	in.waitState(fstab.UnitName(m+"/a"), "stopped")
	in.waitState(fstab.UnitName(m+"/a/b"), "stopped")
	if mi := mounts(); strings.Contains(mi, " "+m+"/a") {
		t.Errorf("still mounted after stop:\n%s", mi)
	}
}
