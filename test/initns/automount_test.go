package initns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ginit/init/fstab"
)

// An x-systemd.automount entry under ginit: the mount point is autofs
// only, the first access from outside mounts the file system, and after
// the idle timeout it is unmounted. Needs autofs in the running kernel
// (the test never loads a module on the host); the qemu boot test covers
// it where the guest kernel has it.
func TestAutomount(t *testing.T) {
	requireRoot(t)
	fss, _ := os.ReadFile("/proc/filesystems")
	if !strings.Contains(string(fss), "\tautofs\n") {
		t.Skip("needs autofs in the running kernel (not in /proc/filesystems; the test does not load modules)")
	}
	dir := t.TempDir()
	lazy := filepath.Join(dir, "lazy")
	fstabPath := filepath.Join(dir, "fstab")
	if err := os.WriteFile(fstabPath, []byte("tmpfs "+lazy+" tmpfs noauto,x-systemd.automount,x-systemd.idle-timeout=2,size=1m 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, map[string]string{"boot": "type = internal\n"}, "--fstab", fstabPath)
	in.mustCtl("start", "fstab")
	name := fstab.UnitName(lazy)
	in.waitState(name, "started")
	mounted := func(typ string) bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mounts", in.ginitPid()))
		return strings.Contains(string(b), " "+lazy+" "+typ+" ")
	}
	waitFor := func(what string, ok func() bool) {
		deadline := time.Now().Add(15 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("autofs on the mount point", func() bool { return mounted("autofs") })
	if mounted("tmpfs") {
		t.Fatal("mounted before any access")
	}
	if out, err := exec.Command("nsenter", "-t", fmt.Sprint(in.ginitPid()), "-m", "--", "ls", "-a", lazy).CombinedOutput(); err != nil {
		t.Fatalf("ls: %v: %s", err, out)
	}
	if !mounted("tmpfs") {
		t.Fatal("the first ls did not mount it")
	}
	waitFor("the idle unmount", func() bool { return !mounted("tmpfs") })
	in.mustCtl("stop", "fstab")
	in.waitState(name, "stopped")
	if mounted("autofs") {
		t.Error("autofs left on the mount point after stop")
	}
}
