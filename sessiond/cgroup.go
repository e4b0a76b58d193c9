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
	var st unix.Statfs_t
	mount2 := ""
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		mount2 = "/sys/fs/cgroup"
	} else if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		mount2 = "/sys/fs/cgroup/unified"
	}
	v2, v1 := pidCgroupPaths(1)
	if mount2 != "" {
		r.Unified = filepath.Join(mount2, strings.TrimSuffix(v2, "/init.scope"))
	}
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

	mu     sync.Mutex // guards ino and watch
	ino    *inotifier
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
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create scope: %w", err)
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("move pid %d into %s: %w", pid, d, err)
		}
	}
	return nil
}

// ScopePopulated implements Host.
func (h *SysHost) ScopePopulated(uid uint32, id string) bool {
	u, l := h.scopeDirs(uid, id)
	if u != "" {
		data, err := os.ReadFile(filepath.Join(u, "cgroup.events"))
		if err != nil {
			return false
		}
		return bytes.Contains(data, []byte("populated 1"))
	}
	data, err := os.ReadFile(filepath.Join(l, "cgroup.procs"))
	return err == nil && len(bytes.TrimSpace(data)) > 0
}

// WatchScope implements Host, with inotify on cgroup.events.
func (h *SysHost) WatchScope(uid uint32, id string, changed func()) (func(), error) {
	u, _ := h.scopeDirs(uid, id)
	if u == "" {
		return func() {}, errors.New("no cgroup2 hierarchy to watch")
	}
	h.mu.Lock()
	if h.ino == nil && h.inoErr == nil {
		h.ino, h.inoErr = newInotifier()
	}
	ino, err := h.ino, h.inoErr
	h.mu.Unlock()
	if err != nil {
		return func() {}, err
	}
	return ino.add(filepath.Join(u, "cgroup.events"), changed)
}

// KillScope implements Host.
func (h *SysHost) KillScope(uid uint32, id string, sig syscall.Signal) error {
	u, l := h.scopeDirs(uid, id)
	if sig == syscall.SIGKILL && u != "" {
		if err := os.WriteFile(filepath.Join(u, "cgroup.kill"), []byte("1"), 0o644); err == nil {
			return nil
		}
	}
	dir := u
	if dir == "" {
		dir = l
	}
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return fmt.Errorf("list scope processes: %w", err)
	}
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			_ = syscall.Kill(pid, sig)
		}
	}
	return nil
}

// RemoveScope implements Host.
func (h *SysHost) RemoveScope(uid uint32, id string) {
	u, l := h.scopeDirs(uid, id)
	for _, d := range []string{u, l} {
		if d == "" {
			continue
		}
		_ = os.Remove(d)
		_ = os.Remove(filepath.Dir(d)) // the user slice, when this was its last scope
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

// inotifier multiplexes inotify watches onto one fd and one goroutine.
type inotifier struct {
	f  *os.File
	fd int

	mu sync.Mutex // guards cbs
	cb map[int32][]*func()
}

func newInotifier() (*inotifier, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	in := &inotifier{f: os.NewFile(uintptr(fd), "inotify"), fd: fd, cb: map[int32][]*func(){}}
	go in.run()
	return in, nil
}

func (in *inotifier) add(path string, f func()) (func(), error) {
	wd, err := unix.InotifyAddWatch(in.fd, path, unix.IN_MODIFY)
	if err != nil {
		return func() {}, fmt.Errorf("watch %s: %w", path, err)
	}
	p := &f
	in.mu.Lock()
	in.cb[int32(wd)] = append(in.cb[int32(wd)], p)
	in.mu.Unlock()
	return func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		l := in.cb[int32(wd)]
		for i, q := range l {
			if q == p {
				l = append(l[:i], l[i+1:]...)
				break
			}
		}
		if len(l) == 0 {
			delete(in.cb, int32(wd))
			_, _ = unix.InotifyRmWatch(in.fd, uint32(wd))
		} else {
			in.cb[int32(wd)] = l
		}
	}, nil
}

func (in *inotifier) run() {
	buf := make([]byte, 4096)
	for {
		n, err := in.f.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafePointer(buf[off:]))
			in.mu.Lock()
			cbs := append([]*func(){}, in.cb[ev.Wd]...)
			in.mu.Unlock()
			for _, f := range cbs {
				(*f)()
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}
