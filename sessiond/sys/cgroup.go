package sys

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	data, err := readProcFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
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
			if !ok || !ValidSessionID(id) || i == 0 || !strings.HasPrefix(comps[i-1], "user-") {
				continue
			}
			return id, true
		}
	}
	return "", false
}

func (h *Host) scopeDirs(uid uint32, id string) (unified, legacy string) {
	rel := filepath.Join("user.slice", "user-"+strconv.FormatUint(uint64(uid), 10)+".slice", "session-"+id+".scope")
	if h.Roots.Unified != "" {
		unified = filepath.Join(h.Roots.Unified, rel)
	}
	if h.Roots.Legacy != "" {
		legacy = filepath.Join(h.Roots.Legacy, rel)
	}
	return
}

// PlaceInScope creates user.slice/user-UID.slice/session-ID.scope and
// moves pid into it, so that its future children are in the session.
func (h *Host) PlaceInScope(uid uint32, id string, pid int) error {
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

// ScopePopulated reports whether any process is left in the scope.
func (h *Host) ScopePopulated(uid uint32, id string) bool {
	u, l := h.scopeDirs(uid, id)
	if u != "" {
		pop, err := cgroup2.Populated(u)
		return err == nil && pop
	}
	pids, err := cgroup2.Pids(l)
	return err == nil && len(pids) > 0
}

// WatchScope calls changed whenever the scope's populated state may have
// changed, with inotify on cgroup.events.
func (h *Host) WatchScope(uid uint32, id string, changed func()) (func(), error) {
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

// KillScope sends sig to the scope: SIGKILL through cgroup.kill where the scope
// is on cgroup2, else (and for other signals) each process listed.
func (h *Host) KillScope(uid uint32, id string, sig syscall.Signal) error {
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

// RemoveScope removes the (empty) scope, and the user slice if it is
// empty too.
func (h *Host) RemoveScope(uid uint32, id string) {
	u, l := h.scopeDirs(uid, id)
	for _, d := range []string{u, l} {
		if d == "" {
			continue
		}
		_ = cgroup2.Remove(d, 0, false)
		_ = cgroup2.Remove(filepath.Dir(d), 0, false) // the user slice, when this was its last scope
	}
}

// SessionOfPID finds the session id in pid's cgroup path.
func (h *Host) SessionOfPID(pid int) (string, bool) {
	u, l := pidCgroupPaths(pid)
	if h.Roots.Unified != "" {
		return sessionFromCgroupPath(u)
	}
	return sessionFromCgroupPath(l)
}

// ValidSessionID is what sd-login accepts as a session id.
func ValidSessionID(id string) bool {
	if id == "" {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
