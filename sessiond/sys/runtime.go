package sys

import (
	"errors"
	"fmt"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// CreateRuntimeDir makes path a user's runtime directory: a tmpfs of
// mode 0700 owned by uid:gid, of h.RuntimeSize bytes and h.RuntimeInodes
// inodes; when mounting is not permitted, a plain directory.
func (h *Host) CreateRuntimeDir(path string, uid, gid uint32) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("runtime dir parent: %w", err)
	}
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("runtime dir: %w", err)
	}
	var st unix.Statfs_t
	mounted := unix.Statfs(path, &st) == nil && st.Type == unix.TMPFS_MAGIC && isMountPoint(path)
	if !mounted {
		opts := fmt.Sprintf("mode=0700,uid=%d,gid=%d", uid, gid)
		if h.RuntimeSize > 0 {
			opts += fmt.Sprintf(",size=%d", h.RuntimeSize)
		}
		if h.RuntimeInodes > 0 {
			opts += fmt.Sprintf(",nr_inodes=%d", h.RuntimeInodes)
		}
		if err := unix.Mount("tmpfs", path, "tmpfs", unix.MS_NODEV|unix.MS_NOSUID, opts); err != nil {
			// Not allowed to mount (unprivileged test, container): a
			// directory still gives the user a private XDG_RUNTIME_DIR.
			if !errors.Is(err, syscall.EPERM) {
				return fmt.Errorf("mount tmpfs on %s: %w", path, err)
			}
		}
	}
	if err := os.Chown(path, int(uid), int(gid)); err != nil {
		return fmt.Errorf("runtime dir owner: %w", err)
	}
	return os.Chmod(path, 0o700)
}

// isMountPoint compares the device of path and its parent.
func isMountPoint(path string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(path, &a) != nil || unix.Lstat(filepath.Dir(path), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// RemoveRuntimeDir unmounts and removes a runtime directory.
func (h *Host) RemoveRuntimeDir(path string) error {
	if isMountPoint(path) {
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// LookupUser returns the name and primary group of uid from the system
// user database.
func (h *Host) LookupUser(uid uint32) (string, uint32, error) {
	u, err := osuser.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return "", 0, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return "", 0, fmt.Errorf("user %d: bad gid %q", uid, u.Gid)
	}
	return u.Username, uint32(gid), nil
}

// LookupName returns the uid of a user name.
func (h *Host) LookupName(name string) (uint32, error) {
	u, err := osuser.Lookup(name)
	if err != nil {
		return 0, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %s: bad uid %q", name, u.Uid)
	}
	return uint32(uid), nil
}
