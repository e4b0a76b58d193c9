package supervise

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"ginit/init/logging"
	"ginit/init/service"
	"ginit/internal/cgroup2"
)

// notifyMax is the largest sd_notify datagram accepted, as in systemd.
const notifyMax = 4096

// notifySock is the sd_notify socket of one service (ready-notification =
// notify). It is made at the first start that needs it and kept across
// restarts until Release; each datagram is acted on for the service's
// current start process.
//
// Who may send: like systemd's NotifyAccess=all, any process of the
// service: the main process, a member of its cgroup, or (without cgroups)
// of its process group or a descendant of the main process. The sender is
// known from SCM_CREDENTIALS (SO_PASSCRED), which the kernel fills in, so
// the socket itself can be writable by everyone (services that drop root
// must still reach it).
type notifySock struct {
	s    *Supervisor
	name string
	path string
	file *sockFile
	conn *net.UnixConn

	mu     sync.Mutex
	cond   *sync.Cond
	cur    *proc // nil while a start is being forked: messages wait for it
	closed bool
}

// notifySocket sets up sd_notify for ready-notification = notify: the
// child gets NOTIFY_SOCKET, and READY=1, STATUS=, MAINPID=, STOPPING=1 and
// ERRNO= from it are acted on.
func (s *Supervisor) notifySocket(d *service.Description, st *setup) error {
	if s.cfg.RuntimeDir == "" {
		return fmt.Errorf("ready-notification %q: no runtime directory for notify sockets", d.Ext().ReadyNotification)
	}
	s.mu.Lock()
	u := s.unitLocked(d.Name)
	ns := u.notify
	s.mu.Unlock()
	if ns == nil {
		var err error
		if ns, err = s.openNotify(d.Name); err != nil {
			return err
		}
		keepUntilRelease(s, d.Name, &u.notify, ns, ns.close)
		go ns.serve()
	}
	// A message sent by the new child before Spawn has registered it must
	// not be taken for one of the previous process: hold messages until
	// the new process is known.
	ns.setProc(nil)
	st.env = mergeEnv(st.env, []string{"NOTIFY_SOCKET=" + ns.path})
	st.after = append(st.after, func(p *proc) { ns.setProc(p) })
	return nil
}

// openNotify binds the service's socket in RuntimeDir/notify. Services
// that drop root must reach it, so it is writable by everyone; the
// directory must be ginit's alone, or a name in it could be swapped.
func (s *Supervisor) openNotify(name string) (*notifySock, error) {
	dirPath := filepath.Join(s.cfg.RuntimeDir, "notify")
	if err := os.MkdirAll(dirPath, 0o755); err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	path := filepath.Join(dirPath, cgroup2.Name(name))
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
		// Too long for sun_path: a fixed-size name derived from the service.
		h := fnv.New64a()
		h.Write([]byte(name))
		path = filepath.Join(dirPath, fmt.Sprintf("h-%016x", h.Sum64()))
	}
	fail := func(err error) (*notifySock, error) {
		return nil, fmt.Errorf("notify socket %s: %w", path, err)
	}
	dir, err := logging.OpenDir(dirPath)
	if err != nil {
		return fail(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(dir.Fd(), &st); err != nil {
		dir.Close()
		return fail(err)
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		dir.Close()
		return fail(fmt.Errorf("directory %s is owned by uid %d with mode %04o, not ginit's alone", dirPath, st.Uid, st.Mode&0o7777))
	}
	fd, sf, err := bindSocket(dir, filepath.Base(path), unix.SOCK_DGRAM, 0o666, -1, -1)
	if err != nil {
		dir.Close()
		return fail(err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(fd)
		_ = sf.remove()
		return fail(fmt.Errorf("SO_PASSCRED: %w", err))
	}
	f := os.NewFile(uintptr(fd), path)
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		_ = sf.remove()
		return fail(err)
	}
	ns := &notifySock{s: s, name: name, path: path, file: sf, conn: c.(*net.UnixConn)}
	ns.cond = sync.NewCond(&ns.mu)
	return ns, nil
}

func (ns *notifySock) setProc(p *proc) {
	ns.mu.Lock()
	ns.cur = p
	ns.mu.Unlock()
	ns.cond.Broadcast()
}

// current waits until the process of the running start is known; nil
// once the socket is closed.
func (ns *notifySock) current() *proc {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for ns.cur == nil && !ns.closed {
		ns.cond.Wait()
	}
	if ns.closed {
		return nil
	}
	return ns.cur
}

func (ns *notifySock) close() {
	ns.mu.Lock()
	already := ns.closed
	ns.closed = true
	ns.mu.Unlock()
	ns.cond.Broadcast()
	if already {
		return
	}
	ns.conn.Close()
	if err := ns.file.remove(); err != nil {
		ns.s.cfg.Logger.Printf("service '%s': notify socket %s: %v", ns.name, ns.path, err)
	}
}

// serve reads datagrams until the socket is closed.
func (ns *notifySock) serve() {
	buf := make([]byte, notifyMax)
	// Room for the credentials and a few descriptors; descriptors that do
	// not fit are closed by the kernel (MSG_CTRUNC).
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(16*4))
	for {
		n, oobn, flags, _, err := ns.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				ns.s.cfg.Logger.Printf("service '%s': notify socket: %v", ns.name, err)
			}
			return
		}
		pid, fds := parseCmsgs(oob[:oobn])
		if flags&unix.MSG_TRUNC != 0 {
			ns.s.cfg.Logger.Printf("service '%s': sd_notify message over %d bytes ignored", ns.name, notifyMax)
		} else if pid > 0 {
			ns.handle(string(buf[:n]), pid)
		}
		// Descriptors (FDSTORE, or BARRIER=1's pipe) are not kept. Closing
		// them only after the message and all before it are handled is what
		// sd_notify_barrier waits for.
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

// parseCmsgs returns the sender pid (0 if the kernel attached none) and
// the descriptors of a message.
func parseCmsgs(oob []byte) (pid int, fds []int) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, nil
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch m.Header.Type {
		case unix.SCM_CREDENTIALS:
			if c, err := unix.ParseUnixCredentials(m); err == nil {
				pid = int(c.Pid)
			}
		case unix.SCM_RIGHTS:
			if f, err := unix.ParseUnixRights(m); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	return pid, fds
}

// handle acts on one message from pid: MAINPID first, so that a READY=1 in
// the same message refers to the new main process (as in systemd).
func (ns *notifySock) handle(msg string, pid int) {
	p := ns.current()
	if p == nil {
		return
	}
	log := ns.s.cfg.Logger
	if !ns.s.member(p, pid) {
		log.Printf("service '%s': sd_notify message from pid %d, not a process of the service, ignored", ns.name, pid)
		return
	}
	kv := map[string]string{}
	for _, line := range strings.Split(msg, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k != "" {
			kv[k] = v
		}
	}
	if v, ok := kv["MAINPID"]; ok {
		if err := ns.s.setMainPID(p, v); err != nil {
			log.Printf("service '%s': sd_notify MAINPID=%s: %v", ns.name, v, err)
		}
	}
	if v, ok := kv["STATUS"]; ok {
		p.n.StatusText(p, v)
	}
	if v, ok := kv["ERRNO"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			log.Printf("service '%s': reports error: %v (errno %d)", ns.name, unix.Errno(n), n)
		}
	}
	if kv["READY"] == "1" {
		p.n.Ready(p)
	}
	if kv["STOPPING"] == "1" {
		// Nothing to do: the manager learns of the stop from the exit; the
		// line helps to explain a stop nobody asked for.
		log.Printf("service '%s': reports it is stopping", ns.name)
	}
}

// setMainPID handles MAINPID=: the new main process must be alive and
// part of the service (it is signalled and watched from now on).
func (s *Supervisor) setMainPID(p *proc, v string) error {
	pid, err := strconv.Atoi(v)
	if err != nil || pid <= 1 || pid == os.Getpid() {
		return fmt.Errorf("invalid pid %q", v)
	}
	if pid == p.Pid() {
		return nil
	}
	if !s.member(p, pid) {
		return fmt.Errorf("process %d is not a process of the service", pid)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return s.attach(p, pid, pidfd)
}

// member reports whether pid is a process of p's service: the main process,
// in its cgroup, or without a cgroup in its process group or below the
// main process.
func (s *Supervisor) member(p *proc, pid int) bool {
	main := p.Pid()
	if pid == main {
		return true
	}
	if p.cg != "" {
		return cgroup2.Contains(p.cg, pid)
	}
	if p.pgid != 0 {
		if pg, err := unix.Getpgid(pid); err == nil && pg == p.pgid {
			return true
		}
	}
	// Walk up the parents; a bound guards against a loop through pid reuse.
	for i, cur := 0, pid; i < 64 && cur > 1; i++ {
		ppid, err := parentOf(cur)
		if err != nil {
			return false
		}
		if ppid == main {
			return true
		}
		cur = ppid
	}
	return false
}
