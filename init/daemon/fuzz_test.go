package daemon

import (
	"path/filepath"
	"strings"
	"testing"
)

// A -b path accepted by ParseArgs never leads out of the cgroup2 mount.
func FuzzCgroupPath(f *testing.F) {
	for _, s := range []string{"/", "ginit.slice", "/a/b/", "a/../../etc", "./a", "a//b", "..", "/x/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		c, err := ParseArgs([]string{"-b", path})
		if err != nil {
			return
		}
		const mount = "/sys/fs/cgroup"
		dir := filepath.Join(mount, c.CgroupPath)
		if dir != mount && !strings.HasPrefix(dir, mount+"/") {
			t.Fatalf("-b %q -> %q leads to %s", path, c.CgroupPath, dir)
		}
		if c.CgroupPath[0] != '/' || c.CgroupPath != "/" && strings.HasSuffix(c.CgroupPath, "/") {
			t.Fatalf("-b %q -> %q is not a clean absolute path", path, c.CgroupPath)
		}
		if filepath.Clean(c.CgroupPath) != c.CgroupPath {
			t.Fatalf("-b %q -> %q is not clean", path, c.CgroupPath)
		}
	})
}
