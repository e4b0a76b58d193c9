package sessiond

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"ginit/internal/cgroup2"
)

// CgroupRoots says where session scopes are created.
type CgroupRoots struct {
	// Unified is the directory on the cgroup2 hierarchy under which
	// user.slice is created ("" = no cgroup2). libsystemd reads the "0::"
	// line of /proc/PID/cgroup whenever /sys/fs/cgroup is cgroup2 or has
	// cgroup2 mounted at /sys/fs/cgroup/unified (hybrid), so this is the
	// placement that makes sd_pid_get_session work.
	Unified string
	// Legacy is the same on the name=systemd v1 hierarchy, written too
	// when present so legacy-only readers agree ("" = none).
	Legacy string
}

// DetectCgroupRoots finds the hierarchies the way libsystemd 252 does and
// roots the placement at PID 1's cgroup minus a trailing /init.scope,
// which is the root libsystemd strips before parsing.
func DetectCgroupRoots() CgroupRoots {
	var r CgroupRoots
	v2, v1 := pidCgroupPaths(1)
	if mount2, err := cgroup2.UnifiedMount(); err == nil {
		r.Unified = filepath.Join(mount2, strings.TrimSuffix(v2, "/init.scope"))
	}
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup/systemd", &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC {
		r.Legacy = filepath.Join("/sys/fs/cgroup/systemd", strings.TrimSuffix(v1, "/init.scope"))
	}
	return r
}

// pidCgroupPaths returns pid's path on the unified hierarchy and on the
// name=systemd hierarchy ("" when absent).
func pidCgroupPaths(pid int) (unified, legacy string) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			unified = parts[2]
		case parts[1] == "name=systemd":
			legacy = parts[2]
		}
	}
	return unified, legacy
}

// sessionFromCgroupPath extracts the session id from a cgroup path that
// contains .../user-UID.slice/session-ID.scope, as sd_pid_get_session
// would (leading slices skipped, the unit must be a session scope).
func sessionFromCgroupPath(p string) (string, bool) {
	comps := strings.Split(strings.Trim(p, "/"), "/")
	for i, c := range comps {
		if !strings.HasSuffix(c, ".slice") {
			rest, ok := strings.CutPrefix(c, "session-")
			if !ok {
				continue
			}
			id, ok := strings.CutSuffix(rest, ".scope")
			if !ok || !validSessionID(id) || i == 0 || !strings.HasPrefix(comps[i-1], "user-") {
				continue
			}
			return id, true
		}
	}
	return "", false
}

// SysHost is the real Host.
type SysHost struct {
	Roots CgroupRoots
	// RuntimeSize and RuntimeInodes are the size= (bytes) and nr_inodes=
	// of runtime directories' tmpfs (0: the kernel's defaults).
	RuntimeSize, RuntimeInodes uint64

	mu     sync.Mutex // guards ino and inoErr
	ino    *cgroup2.Watcher
	inoErr error
}

func (h *SysHost) scopeDirs(uid uint32, id string) (unified, legacy string) {
	rel := filepath.Join("user.slice", "user-"+utoa(uid)+".slice", "session-"+id+".scope")
	if h.Roots.Unified != "" {
		unified = filepath.Join(h.Roots.Unified, rel)
	}
	if h.Roots.Legacy != "" {
		legacy = filepath.Join(h.Roots.Legacy, rel)
	}
	return
}

// PlaceInScope implements Host.
func (h *SysHost) PlaceInScope(uid uint32, id string, pid int) error {
	u, l := h.scopeDirs(uid, id)
	if u == "" && l == "" {
		return errors.New("no cgroup hierarchy configured")
	}
	for _, d := range []string{u, l} {
		if d == "" {
			continue
		}
		if err := cgroup2.CreateAll(d); err != nil {
			return fmt.Errorf("create scope: %w", err)
		}
		if err := cgroup2.Move(d, pid); err != nil {
			return err
		}
	}
	return nil
}

// ScopePopulated implements Host.
func (h *SysHost) ScopePopulated(uid uint32, id string) bool {
	u, l := h.scopeDirs(uid, id)
	if u != "" {
		pop, err := cgroup2.Populated(u)
		return err == nil && pop
	}
	pids, err := cgroup2.Pids(l)
	return err == nil && len(pids) > 0
}

// WatchScope implements Host, with inotify on cgroup.events.
func (h *SysHost) WatchScope(uid uint32, id string, changed func()) (func(), error) {
	u, _ := h.scopeDirs(uid, id)
	if u == "" {
		return func() {}, errors.New("no cgroup2 hierarchy to watch")
	}
	h.mu.Lock()
	if h.ino == nil && h.inoErr == nil {
		h.ino, h.inoErr = cgroup2.NewWatcher()
	}
	ino, err := h.ino, h.inoErr
	h.mu.Unlock()
	if err != nil {
		return func() {}, err
	}
	stop, err := ino.Watch(u, changed)
	if err != nil {
		return func() {}, err
	}
	return stop, nil
}

// KillScope implements Host: SIGKILL through cgroup.kill where the scope
// is on cgroup2, else (and for other signals) each process listed.
func (h *SysHost) KillScope(uid uint32, id string, sig syscall.Signal) error {
	u, l := h.scopeDirs(uid, id)
	dir := u
	if dir == "" {
		dir = l
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("list scope processes: %w", err)
	}
	return cgroup2.Kill(dir, sig)
}

// RemoveScope implements Host.
func (h *SysHost) RemoveScope(uid uint32, id string) {
	u, l := h.scopeDirs(uid, id)
	for _, d := range []string{u, l} {
		if d == "" {
			continue
		}
		_ = cgroup2.Remove(d, 0, false)
		_ = cgroup2.Remove(filepath.Dir(d), 0, false) // the user slice, when this was its last scope
	}
}

// SessionOfPID implements Host.
func (h *SysHost) SessionOfPID(pid int) (string, bool) {
	u, l := pidCgroupPaths(pid)
	if h.Roots.Unified != "" {
		return sessionFromCgroupPath(u)
	}
	return sessionFromCgroupPath(l)
}

// AuditSessionID implements Host.
func (h *SysHost) AuditSessionID(pid int) (uint32, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/sessionid", pid))
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32)
	if err != nil || n == 0 || n == 0xffffffff {
		return 0, false
	}
	return uint32(n), true
}

// Kill implements Host.
func (h *SysHost) Kill(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }
