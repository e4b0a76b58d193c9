package sys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/control"
	"ginit/internal/cgroup2"
)

// UserInfo names the user whose manager is meant.
type UserInfo struct {
	UID, GID   uint32
	Name       string
	RuntimeDir string // XDG_RUNTIME_DIR, /run/user/UID
}

// UserManagers runs the users' service managers (`ginit --user` as the
// user, whose boot brings up the session bus) for sessiond. With
// GinitSocket set it asks ginit to start and stop the template service
// user@UID (units/user@); without, it runs them as its own children,
// restarted when they crash (a bounded number of times). Either way it
// first makes and delegates the cgroup user.slice/user-UID.slice/
// user@UID.service, and a manager is ready once its own control socket
// ($XDG_RUNTIME_DIR/ginitctl, served by the user's uid) has started its
// boot.
type UserManagers struct {
	// Unified is the cgroup2 directory below which user.slice is (as the
	// sessions' scopes: CgroupRoots.Unified); "" = no cgroups.
	Unified string
	// GinitSocket is the system ginit's control socket; "" = no ginit:
	// supervise the managers here.
	GinitSocket string
	// Command is the manager's argv when supervised here.
	Command []string
	// StartTimeout bounds a start (ginit's answer and the readiness);
	// StopTimeout how long a stopping manager may take before what is
	// left of its cgroup is killed.
	StartTimeout, StopTimeout time.Duration
	Log                       *slog.Logger

	mu    sync.Mutex
	procs map[uint32]*userProc // managers run here, by uid
}

// userProc is one manager run as sessiond's child. starts are the recent
// (re)starts, for the restart limit.
type userProc struct {
	proc     *os.Process
	done     chan struct{} // closed when proc has exited and is reaped
	stopping bool
	starts   []time.Time
}

// Restart limit of managers supervised here: at most restartLimit starts
// within restartWindow, restartDelay apart.
const (
	restartLimit  = 5
	restartWindow = time.Minute
	restartDelay  = time.Second
)

func (um *UserManagers) unit(uid uint32) string { return "user@" + strconv.FormatUint(uint64(uid), 10) }

func (um *UserManagers) sliceDir(uid uint32) string {
	return filepath.Join(um.Unified, "user.slice", "user-"+strconv.FormatUint(uint64(uid), 10)+".slice")
}

func (um *UserManagers) cgroupDir(uid uint32) string {
	return filepath.Join(um.sliceDir(uid), um.unit(uid)+".service")
}

// delegate makes the manager's cgroup and hands it to the user, as
// systemd delegates user@UID.service: the user's ginit makes its own
// subtree below it (init.scope and a cgroup per service) and moves its
// processes within it, which needs the directory and its cgroup.procs,
// cgroup.threads and cgroup.subtree_control.
func (um *UserManagers) delegate(u UserInfo) error {
	if um.Unified == "" {
		return nil
	}
	dir := um.cgroupDir(u.UID)
	if err := cgroup2.CreateAll(dir); err != nil {
		return fmt.Errorf("user %d: cgroup %s: %w", u.UID, dir, err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "cgroup.procs"), filepath.Join(dir, "cgroup.threads"), filepath.Join(dir, "cgroup.subtree_control")} {
		if err := os.Lchown(p, int(u.UID), int(u.GID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("user %d: delegate cgroup: %w", u.UID, err)
		}
	}
	return nil
}

// Start starts u's manager unless it runs and waits until it is ready.
func (um *UserManagers) Start(ctx context.Context, u UserInfo) error {
	if um.StartTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, um.StartTimeout)
		defer cancel()
	}
	if err := um.delegate(u); err != nil {
		return err
	}
	var exited <-chan struct{}
	if um.GinitSocket != "" {
		if err := um.ask(ctx, control.OpStart, u.UID); err != nil {
			return err
		}
	} else {
		var err error
		if exited, err = um.spawnOnce(u); err != nil {
			return err
		}
	}
	return um.waitReady(ctx, u, exited)
}

// ask sends start or stop of user@UID to ginit and waits for its answer.
func (um *UserManagers) ask(ctx context.Context, op control.Op, uid uint32) error {
	c, err := control.Dial(um.GinitSocket)
	if err != nil {
		return fmt.Errorf("ginit control socket %s: %w", um.GinitSocket, err)
	}
	defer c.Close()
	resp, err := c.Do(ctx, control.Request{Op: op, Service: um.unit(uid)})
	if err != nil {
		return fmt.Errorf("ginit control socket %s: %s %s: %w", um.GinitSocket, op, um.unit(uid), err)
	}
	switch {
	case resp.Code == control.OK:
	case op == control.OpStop && (resp.Code == control.NotStarted || resp.Code == control.NoService):
	default:
		return fmt.Errorf("ginit: %s %s: %s", op, um.unit(uid), resp.Message)
	}
	return nil
}

// waitReady waits until the manager's own control socket answers (served
// by u's uid, so that a socket the user put there for another server is
// never taken for it) and has started its boot. exited, if not nil, is
// closed when the process started for it ends.
func (um *UserManagers) waitReady(ctx context.Context, u UserInfo, exited <-chan struct{}) error {
	sock := filepath.Join(u.RuntimeDir, "ginitctl")
	wait := 5 * time.Millisecond
	for {
		c, _, err := dialAs(sock, u.UID)
		if err == nil {
			resp, err := c.Do(ctx, control.Request{Op: control.OpStart, Service: "boot"})
			c.Close()
			if err != nil {
				return fmt.Errorf("user %d: %s: start boot: %w", u.UID, sock, err)
			}
			if resp.Code != control.OK {
				return fmt.Errorf("user %d: start boot: %s", u.UID, resp.Message)
			}
			return nil
		}
		if errors.Is(err, errWrongPeer) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("user %d: manager not ready (%s: %v): %w", u.UID, sock, err, ctx.Err())
		case <-exited:
			return fmt.Errorf("user %d: manager exited before it was ready", u.UID)
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

var errWrongPeer = errors.New("served by another user")

// dialAs connects to a control socket that uid must serve and returns a
// client and the server's pid.
func dialAs(path string, uid uint32) (*control.Client, int, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, 0, err
	}
	var cred *unix.Ucred
	dup := -1
	cerr := raw.Control(func(fd uintptr) {
		if cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			dup, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		}
	})
	if cerr != nil {
		return nil, 0, cerr
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	if cred.Uid != uid {
		unix.Close(dup)
		return nil, 0, fmt.Errorf("%s: %w (uid %d, not %d)", path, errWrongPeer, cred.Uid, uid)
	}
	cl, err := control.FromFD(dup)
	if err != nil {
		return nil, 0, err
	}
	return cl, int(cred.Pid), nil
}

// Stop stops u's manager and removes its cgroup with whatever is left.
func (um *UserManagers) Stop(ctx context.Context, u UserInfo) error {
	var err error
	if um.GinitSocket != "" {
		ctx, cancel := context.WithTimeout(ctx, um.StopTimeout+5*time.Second)
		err = um.ask(ctx, control.OpStop, u.UID)
		cancel()
	} else {
		um.stopOwn(u)
	}
	if um.Unified != "" {
		if rerr := cgroup2.RemoveTree(um.cgroupDir(u.UID), 2*time.Second); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		// The slice goes too once its sessions are gone: they may not be.
		_ = unix.Rmdir(um.sliceDir(u.UID))
	}
	return err
}

// stopOwn ends a manager supervised here with SIGTERM (ginit --user then
// stops its services and exits), or one a previous sessiond started
// (found by its control socket's peer), and waits StopTimeout for it.
func (um *UserManagers) stopOwn(u UserInfo) {
	um.mu.Lock()
	p := um.procs[u.UID]
	if p != nil {
		p.stopping = true
	}
	um.mu.Unlock()
	deadline := time.Now().Add(um.StopTimeout)
	if p != nil {
		_ = p.proc.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(um.StopTimeout):
			um.Log.Warn("user manager did not stop in time; killing its cgroup", "uid", u.UID)
		}
		um.mu.Lock()
		if um.procs[u.UID] == p {
			delete(um.procs, u.UID)
		}
		um.mu.Unlock()
		return
	}
	if c, pid, err := dialAs(filepath.Join(u.RuntimeDir, "ginitctl"), u.UID); err == nil {
		c.Close()
		if um.Unified == "" || cgroup2.Contains(um.cgroupDir(u.UID), pid) {
			_ = unix.Kill(pid, unix.SIGTERM)
		}
	}
	for um.Unified != "" && time.Now().Before(deadline) {
		if pop, err := cgroup2.Populated(um.cgroupDir(u.UID)); err != nil || !pop {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spawnOnce starts u's manager here unless one runs: a child of ours, or
// one a previous sessiond started, still in its cgroup. It returns a
// channel closed when the child it started ends (nil for an adopted one).
func (um *UserManagers) spawnOnce(u UserInfo) (<-chan struct{}, error) {
	um.mu.Lock()
	defer um.mu.Unlock()
	if p := um.procs[u.UID]; p != nil {
		select {
		case <-p.done:
		default:
			p.stopping = false
			return p.done, nil
		}
	}
	if um.Unified != "" {
		if pop, err := cgroup2.Populated(um.cgroupDir(u.UID)); err == nil && pop {
			return nil, nil // left by a previous sessiond: waitReady finds it
		}
	}
	p := &userProc{}
	if err := um.spawnLocked(u, p); err != nil {
		return nil, err
	}
	if um.procs == nil {
		um.procs = map[uint32]*userProc{}
	}
	um.procs[u.UID] = p
	return p.done, nil
}

// spawnLocked starts the manager process for p and its watcher, which
// restarts it after a crash within the restart limit. um.mu is held.
func (um *UserManagers) spawnLocked(u UserInfo, p *userProc) error {
	attr, closers, err := um.procAttr(u)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	proc, err := os.StartProcess(um.Command[0], um.Command, attr)
	if err != nil {
		return fmt.Errorf("user %d: start %s: %w", u.UID, um.Command[0], err)
	}
	p.proc, p.done = proc, make(chan struct{})
	now := time.Now()
	p.starts = append(p.starts, now)
	for len(p.starts) > 0 && now.Sub(p.starts[0]) > restartWindow {
		p.starts = p.starts[1:]
	}
	um.Log.Info("user manager started", "uid", u.UID, "pid", proc.Pid)
	go um.watch(u, p, proc, p.done)
	return nil
}

func (um *UserManagers) watch(u UserInfo, p *userProc, proc *os.Process, done chan struct{}) {
	st, err := proc.Wait()
	close(done)
	um.mu.Lock()
	defer um.mu.Unlock()
	if um.procs[u.UID] != p || p.stopping {
		return
	}
	if len(p.starts) >= restartLimit {
		um.Log.Error("user manager keeps failing; not restarted", "uid", u.UID, "status", st, "err", err, "starts", len(p.starts), "within", restartWindow)
		delete(um.procs, u.UID)
		return
	}
	um.Log.Warn("user manager exited; restarting", "uid", u.UID, "status", st, "err", err)
	um.mu.Unlock()
	// What the dead manager left (its bus, its services) goes first, so
	// that the new one starts them afresh.
	if um.Unified != "" {
		if err := cgroup2.RemoveTree(um.cgroupDir(u.UID), 2*time.Second); err != nil {
			um.Log.Warn("user manager cgroup", "uid", u.UID, "err", err)
		}
	}
	time.Sleep(restartDelay)
	um.mu.Lock()
	if um.procs[u.UID] != p || p.stopping {
		return
	}
	if err := um.delegate(u); err != nil {
		um.Log.Error("user manager restart", "uid", u.UID, "err", err)
		delete(um.procs, u.UID)
		return
	}
	if err := um.spawnLocked(u, p); err != nil {
		um.Log.Error("user manager restart", "uid", u.UID, "err", err)
		delete(um.procs, u.UID)
	}
}

// procAttr is the manager's process: as the user with its groups, a
// login-like environment, in its cgroup (created there), in a session
// of its own. The caller closes closers once the process is started.
func (um *UserManagers) procAttr(u UserInfo) (attr *os.ProcAttr, closers []*os.File, err error) {
	pw, err := osuser.LookupId(strconv.FormatUint(uint64(u.UID), 10))
	if err != nil {
		return nil, nil, fmt.Errorf("user %d: %w", u.UID, err)
	}
	gids, err := pw.GroupIds()
	if err != nil {
		return nil, nil, fmt.Errorf("user %d: groups: %w", u.UID, err)
	}
	var groups []uint32
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			groups = append(groups, uint32(n))
		}
	}
	shell := loginShell(pw.Username)
	if shell == "" {
		shell = "/bin/sh"
	}
	env := []string{
		"HOME=" + pw.HomeDir, "USER=" + pw.Username, "LOGNAME=" + pw.Username, "SHELL=" + shell,
		"PATH=/usr/local/bin:/usr/bin:/bin", "XDG_RUNTIME_DIR=" + u.RuntimeDir,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(u.RuntimeDir, "bus"),
	}
	dir := pw.HomeDir
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = "/"
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	sys := &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: groups},
		Setsid:     true,
	}
	closers = []*os.File{null}
	if um.Unified != "" {
		cg, err := os.Open(um.cgroupDir(u.UID))
		if err != nil {
			null.Close()
			return nil, nil, fmt.Errorf("user %d: %w", u.UID, err)
		}
		sys.UseCgroupFD, sys.CgroupFD = true, int(cg.Fd())
		closers = append(closers, cg)
	}
	return &os.ProcAttr{Dir: dir, Env: env, Files: []*os.File{null, os.Stderr, os.Stderr}, Sys: sys}, closers, nil
}

// loginShell reads the user's shell from /etc/passwd (os/user does not
// report it).
func loginShell(name string) string {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 7 && f[0] == name {
			return f[6]
		}
	}
	return ""
}
