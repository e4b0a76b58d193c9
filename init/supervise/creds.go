package supervise

import (
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"ginit/init/service"
)

// threadSetup is child state that syscall.SysProcAttr cannot express.
//
// How each is applied, soundly and without touching the rest of ginit:
//   - no-new-privs, nice and ioprio are per-thread and inherited by fork, and
//     umask becomes per-thread after unshare(CLONE_FS): they are set on a
//     fresh locked OS thread that forks the child and is then thrown away
//     (its goroutine exits without UnlockOSThread, so Go ends the thread).
//   - rlimits and oom_score_adj are per-process, and LISTEN_PID needs the
//     child's pid: the child is started with PTRACE_TRACEME, so it stops
//     right after execve, before running a single instruction of the new
//     program; the forking thread (the tracer) applies prlimit(2),
//     /proc/PID/oom_score_adj and LISTEN_PID (patchListenPID), and detaches
//     it. (Set-user-ID programs keep their privileges: the tracer is root,
//     which the kernel accepts as a tracer of privileged programs.)
type threadSetup struct {
	noNewPrivs bool
	bsetDrop   []int // capabilities to drop from the bounding set (per-thread, inherited)
	securebits *uint // prctl(PR_SET_SECUREBITS) (per-thread credentials, inherited)
	umask      *uint32
	nice       *int
	ioprio     int // ioprio_set value; -1 = unchanged
	rlimits    map[int]unix.Rlimit
	oomAdj     *int
	listenPID  bool // socket-listen: patch LISTEN_PID (see listenPIDSlot)
}

func (t *threadSetup) needThread() bool {
	return t.noNewPrivs || t.umask != nil || t.nice != nil || t.ioprio >= 0 || len(t.bsetDrop) > 0 || t.securebits != nil || t.needStop()
}

func (t *threadSetup) needStop() bool { return len(t.rlimits) > 0 || t.oomAdj != nil || t.listenPID }

var rlimitNames = map[string]int{
	"nofile":    unix.RLIMIT_NOFILE,
	"core":      unix.RLIMIT_CORE,
	"data":      unix.RLIMIT_DATA,
	"addrspace": unix.RLIMIT_AS,
}

var namespaceFlags = map[string]uintptr{
	"pid":    unix.CLONE_NEWPID,
	"mount":  unix.CLONE_NEWNS,
	"net":    unix.CLONE_NEWNET,
	"uts":    unix.CLONE_NEWUTS,
	"ipc":    unix.CLONE_NEWIPC,
	"cgroup": unix.CLONE_NEWCGROUP,
}

// credentials fills in run-as, chroot, namespaces and the thread set-up.
func (s *Supervisor) credentials(d *service.Description, st *setup) error {
	if d.RunAs != "" {
		// load-options export-passwd-vars was applied by the loader, in
		// d.Env, where the service's env-file takes precedence over it.
		cred, _, err := lookupRunAs(d.RunAs, d.Options.UserGroups)
		if err != nil {
			return err
		}
		st.sys.Credential = cred
	}
	st.sys.Chroot = d.Ext().Chroot
	for _, ns := range d.Ext().Unshare {
		f, ok := namespaceFlags[ns]
		if !ok {
			return fmt.Errorf("unshare %q: unknown namespace", ns)
		}
		st.sys.Cloneflags |= f
	}
	t := &threadSetup{noNewPrivs: d.Options.NoNewPrivs, umask: d.Ext().Umask, nice: d.Ext().Nice, ioprio: -1, oomAdj: d.Ext().OOMScoreAdj}
	if d.Ext().IOPrio != "" {
		v, err := parseIOPrio(d.Ext().IOPrio)
		if err != nil {
			return err
		}
		t.ioprio = v
	}
	for name, l := range d.Ext().Rlimits {
		r, ok := rlimitNames[name]
		if !ok {
			return fmt.Errorf("rlimit-%s: unknown limit", name)
		}
		if t.rlimits == nil {
			t.rlimits = map[int]unix.Rlimit{}
		}
		t.rlimits[r] = unix.Rlimit{Cur: l.Soft, Max: l.Hard}
	}
	if d.Ext().Capabilities != "" {
		c, err := service.ParseCapabilities(d.Ext().Capabilities)
		if err != nil {
			return fmt.Errorf("capabilities: %w", err)
		}
		// Ambient capabilities survive the switch to run-as and execve;
		// the child sets them itself (SysProcAttr.AmbientCaps).
		for _, n := range c.Ambient {
			st.sys.AmbientCaps = append(st.sys.AmbientCaps, uintptr(n))
		}
		t.bsetDrop = c.BoundDrop
	}
	if d.Ext().Securebits != "" {
		b, err := service.ParseSecurebits(d.Ext().Securebits)
		if err != nil {
			return fmt.Errorf("securebits: %w", err)
		}
		t.securebits = &b
	}
	st.thread = t
	return nil
}

// lookupRunAs resolves run-as = user[:group]. A user name gives its uid,
// primary gid and supplementary groups; a numeric uid keeps ginit's gid and
// gets no supplementary groups (as dinit) unless userGroups (options:
// user-groups), when it must name a known user and gets what a name gets.
// It also returns USER, LOGNAME, HOME and SHELL for load-options
// export-passwd-vars when the user is known.
func lookupRunAs(spec string, userGroups bool) (*syscall.Credential, []string, error) {
	name, group, hasGroup := strings.Cut(spec, ":")
	cred := &syscall.Credential{Gid: uint32(os.Getgid())}
	var vars []string
	if uid, err := strconv.ParseUint(name, 10, 32); err == nil && !userGroups {
		cred.Uid = uint32(uid)
		if u, err := user.LookupId(name); err == nil {
			vars = passwdVars(u)
		}
	} else {
		look := user.Lookup
		if err == nil {
			look = user.LookupId
		}
		u, err := look(name)
		if err != nil {
			return nil, nil, fmt.Errorf("run-as %q: %w", spec, err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cred.Uid, cred.Gid = uint32(uid), uint32(gid)
		ids, err := u.GroupIds()
		if err != nil {
			return nil, nil, fmt.Errorf("run-as %q: groups: %w", spec, err)
		}
		for _, g := range ids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
		vars = passwdVars(u)
	}
	if hasGroup {
		if gid, err := strconv.ParseUint(group, 10, 32); err == nil {
			cred.Gid = uint32(gid)
		} else {
			g, err := user.LookupGroup(group)
			if err != nil {
				return nil, nil, fmt.Errorf("run-as %q: %w", spec, err)
			}
			n, _ := strconv.ParseUint(g.Gid, 10, 32)
			cred.Gid = uint32(n)
		}
	}
	return cred, vars, nil
}

func passwdVars(u *user.User) []string {
	v := []string{"USER=" + u.Username, "LOGNAME=" + u.Username, "HOME=" + u.HomeDir}
	if sh := loginShell(u.Username); sh != "" {
		v = append(v, "SHELL="+sh)
	}
	return v
}

// loginShell reads the shell field of /etc/passwd (os/user does not expose it).
func loginShell(name string) string {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[0] == name {
			return f[6]
		}
	}
	return ""
}

// parseIOPrio maps "none", "idle", "realtime:N", "best-effort:N" to an
// ioprio_set(2) value.
func parseIOPrio(s string) (int, error) {
	const shift = 13
	class, lvl, hasLvl := strings.Cut(s, ":")
	n := 0
	if hasLvl {
		v, err := strconv.Atoi(lvl)
		if err != nil || v < 0 || v > 7 {
			return 0, fmt.Errorf("ioprio %q: level must be 0-7", s)
		}
		n = v
	}
	switch class {
	case "none":
		return 0, nil
	case "realtime":
		return 1<<shift | n, nil
	case "best-effort":
		return 2<<shift | n, nil
	case "idle":
		return 3 << shift, nil
	}
	return 0, fmt.Errorf("ioprio %q: unknown class", s)
}

// forkExec starts the child, on a throw-away thread when t needs one.
func forkExec(path string, argv []string, attr *syscall.ProcAttr, t *threadSetup) (int, error) {
	if t == nil || !t.needThread() {
		return syscall.ForkExec(path, argv, attr)
	}
	var pid int
	var err error
	onThrowawayThread(func() { pid, err = forkOnThread(path, argv, attr, t) })
	return pid, err
}

// onThrowawayThread runs f on an OS thread that ends with it: f may change
// per-thread state (umask, nice, ioprio, no-new-privs, credentials) that
// must not leak into the rest of ginit. Go ends a thread whose goroutine
// exits locked to it, except the main thread, which it keeps (wedged) for
// the life of the process, and whose credentials are the ones the kernel
// shows and checks for ginit as a whole. So f never runs there: a goroutine
// that finds itself on the main thread holds it while another goroutine,
// which therefore gets another thread, runs f.
func onThrowawayThread(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			onThrowawayThread(f)
			runtime.UnlockOSThread()
			close(done)
			return
		}
		f()
		close(done) // and exit still locked: the thread ends
	}()
	<-done
}

func forkOnThread(path string, argv []string, attr *syscall.ProcAttr, t *threadSetup) (int, error) {
	if t.umask != nil {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return 0, fmt.Errorf("umask: unshare(CLONE_FS): %w", err)
		}
		unix.Umask(int(*t.umask))
	}
	if t.nice != nil {
		if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), *t.nice); err != nil {
			return 0, fmt.Errorf("nice %d: %w", *t.nice, err)
		}
	}
	if t.ioprio >= 0 {
		const ioprioWhoProcess = 1
		if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(t.ioprio)); e != 0 {
			return 0, fmt.Errorf("ioprio: %w", e)
		}
	}
	if t.noNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return 0, fmt.Errorf("no-new-privs: %w", err)
		}
	}
	for _, c := range t.bsetDrop {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return 0, fmt.Errorf("capabilities: dropping %d from the bounding set: %w", c, err)
		}
	}
	if t.securebits != nil {
		if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(*t.securebits), 0, 0, 0); err != nil {
			return 0, fmt.Errorf("securebits: %w", err)
		}
	}
	if !t.needStop() {
		return syscall.ForkExec(path, argv, attr)
	}
	sys := *attr.Sys
	sys.Ptrace = true
	a := *attr
	a.Sys = &sys
	pid, err := syscall.ForkExec(path, argv, &a)
	if err != nil {
		return 0, err
	}
	// The child stops with SIGTRAP after execve. The caller holds the
	// registry lock, so the reaper cannot take this stop from us.
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, unix.WALL, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil || !ws.Stopped() {
		return 0, fmt.Errorf("exec: child did not stop for set-up (%v)", err)
	}
	serr := applyStopped(pid, t, attr.Sys.Credential)
	if serr != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	if err := unix.PtraceDetach(pid); err != nil && serr == nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		serr = fmt.Errorf("ptrace detach: %w", err)
	}
	if serr != nil {
		return 0, serr
	}
	return pid, nil
}

// applyStopped sets up the child stopped after execve. It runs on the
// throw-away forking thread, which it may leave with the child's uid.
func applyStopped(pid int, t *threadSetup, cred *syscall.Credential) error {
	if t.listenPID {
		if err := patchListenPID(pid); err != nil {
			return fmt.Errorf("LISTEN_PID: %w", err)
		}
	}
	if t.oomAdj != nil {
		p := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
		if err := os.WriteFile(p, []byte(strconv.Itoa(*t.oomAdj)), 0); err != nil {
			return fmt.Errorf("oom-score-adj: %w", err)
		}
	}
	var denied []int
	for r, l := range t.rlimits {
		l := l
		err := unix.Prlimit(pid, r, &l, nil)
		if err == unix.EPERM && cred != nil {
			denied = append(denied, r)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", rlimitName(r), err)
		}
	}
	if len(denied) == 0 {
		return nil
	}
	// prlimit(2) on a process of another user needs CAP_SYS_RESOURCE,
	// which ginit may lack (in a container); a process of the same uid and
	// gid may always lower its limits. So this thread takes the child's
	// ids, with raw syscalls that change this thread only (Go's
	// syscall.Setuid would change every thread of ginit), and tries again.
	// The thread is never used again.
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(cred.Gid), uintptr(cred.Gid), uintptr(cred.Gid)); e != 0 {
		return fmt.Errorf("rlimit: setresgid: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(cred.Uid), uintptr(cred.Uid), uintptr(cred.Uid)); e != 0 {
		return fmt.Errorf("rlimit: setresuid: %w", e)
	}
	for _, r := range denied {
		l := t.rlimits[r]
		if err := unix.Prlimit(pid, r, &l, nil); err != nil {
			return fmt.Errorf("%s: %w", rlimitName(r), err)
		}
	}
	return nil
}

// rlimitName maps a resource back to its setting name for errors.
func rlimitName(r int) string {
	for n, v := range rlimitNames {
		if v == r {
			return "rlimit-" + n
		}
	}
	return strconv.Itoa(r)
}
