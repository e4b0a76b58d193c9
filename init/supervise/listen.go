package supervise

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"ginit/init/logging"
	"ginit/init/service"
)

// sockSet is what a started socket service holds: its listening sockets
// (fd 3 on in its target, in Listen order), their LISTEN_FDNAMES, the
// paths it made, and the armed watch.
type sockSet struct {
	files []*os.File
	fds   []int // the same descriptors, for poll and accept (File.Fd would make them blocking)
	names []string
	made  []*sockFile // unix sockets and FIFOs bound here, for RemoveOnStop
	watch *sockWatch
}

// Open makes every socket of a socket service; see service.Sockets.
func (s *Supervisor) Open(d *service.Description) error {
	if d.Socket == nil {
		return errors.New("no sockets described")
	}
	set := &sockSet{}
	for _, l := range d.Socket.Listen {
		f, sf, err := openOne(l)
		if err != nil {
			set.close(false, s.cfg.Logger, d.Name)
			return fmt.Errorf("listen %s %s: %w", l.Kind, l.Addr, err)
		}
		set.files = append(set.files, f)
		set.fds = append(set.fds, int(f.Fd()))
		if d.Socket.Accept {
			// ginit accepts on it (never a service): accept must not
			// block when a client went away between poll and accept.
			if err := unix.SetNonblock(int(f.Fd()), true); err != nil {
				set.close(false, s.cfg.Logger, d.Name)
				return fmt.Errorf("listen %s %s: %w", l.Kind, l.Addr, err)
			}
		}
		name := l.Name
		if name == "" {
			name = d.Name
		}
		set.names = append(set.names, name)
		if sf != nil {
			set.made = append(set.made, sf)
		}
	}
	s.mu.Lock()
	old := s.socks[d.Name]
	s.socks[d.Name] = set
	s.mu.Unlock()
	if old != nil {
		old.close(d.Socket.RemoveOnStop, s.cfg.Logger, d.Name)
	}
	return nil
}

// Watch arms the one-shot watch of a socket service; see service.Sockets.
func (s *Supervisor) Watch(d *service.Description, readable func()) {
	s.mu.Lock()
	set := s.socks[d.Name]
	s.mu.Unlock()
	if set == nil {
		return
	}
	set.watch.stop()
	w, err := watchFDs(set.fds, readable)
	if err != nil {
		s.cfg.Logger.Printf("service '%s': cannot watch its sockets: %v", d.Name, err)
		return
	}
	set.watch = w
}

// Unwatch disarms the watch of a socket service.
func (s *Supervisor) Unwatch(d *service.Description) {
	s.mu.Lock()
	set := s.socks[d.Name]
	s.mu.Unlock()
	if set != nil {
		set.watch.stop()
		set.watch = nil
	}
}

// Close closes the sockets of a socket service.
func (s *Supervisor) Close(d *service.Description) {
	s.mu.Lock()
	set := s.socks[d.Name]
	delete(s.socks, d.Name)
	s.mu.Unlock()
	if set != nil {
		set.close(d.Socket != nil && d.Socket.RemoveOnStop, s.cfg.Logger, d.Name)
	}
}

func (set *sockSet) close(remove bool, log interface{ Printf(string, ...any) }, name string) {
	set.watch.stop()
	set.watch = nil
	for _, f := range set.files {
		f.Close()
	}
	for _, sf := range set.made {
		if !remove {
			sf.dir.Close()
			continue
		}
		if err := sf.remove(); err != nil {
			log.Printf("service '%s': remove %s: %v", name, sf.base, err)
		}
	}
}

// passSockets gives a start command the sockets of the socket services
// named by req.Sockets, in that order, as fd 3 on with LISTEN_FDS,
// LISTEN_FDNAMES and LISTEN_PID (sd_listen_fds(3)). They stay the socket
// services'.
func (s *Supervisor) passSockets(names []string, st *setup) error {
	var files []*os.File
	var fdNames []string
	s.mu.Lock()
	for _, name := range names {
		set := s.socks[name]
		if set == nil {
			s.mu.Unlock()
			return fmt.Errorf("socket service '%s' holds no sockets", name)
		}
		files = append(files, set.files...)
		fdNames = append(fdNames, set.names...)
	}
	s.mu.Unlock()
	if len(files) == 0 {
		return nil
	}
	for i, f := range files {
		st.setFD(listenFD+i, f)
	}
	if st.socketStdio {
		st.setFD(0, files[0])
		st.setFD(1, files[0])
	}
	st.env = mergeEnv(st.env, []string{"LISTEN_FDS=" + strconv.Itoa(len(files)),
		"LISTEN_FDNAMES=" + strings.Join(fdNames, ":"), listenPIDKey + listenPIDSlot})
	st.listenPID = true
	return nil
}

// Accept takes one pending connection of an Accept socket service; see
// service.Sockets. The listening sockets are non-blocking, so no call
// here waits for a client.
func (s *Supervisor) Accept(d *service.Description, name func(local, remote string) string) (string, error) {
	s.mu.Lock()
	set := s.socks[d.Name]
	s.mu.Unlock()
	if set == nil {
		return "", fmt.Errorf("no sockets open")
	}
	for _, fd := range set.fds {
		nfd, sa, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) || errors.Is(err, unix.EINVAL) {
			continue // nothing here (EINVAL: a datagram socket or FIFO)
		}
		if err != nil {
			return "", err
		}
		local, remote := connNames(nfd, sa)
		inst := name(local, remote)
		f := os.NewFile(uintptr(nfd), inst)
		s.mu.Lock()
		old := s.socks[inst]
		s.socks[inst] = &sockSet{files: []*os.File{f}, fds: []int{nfd}, names: []string{"connection"}}
		s.mu.Unlock()
		if old != nil {
			old.close(false, s.cfg.Logger, inst)
		}
		return inst, nil
	}
	return "", nil
}

// connNames names the ends of an accepted connection as systemd does in
// instance names: ADDR:PORT of each end, or for a unix socket the peer's
// pid and uid.
func connNames(fd int, peer unix.Sockaddr) (local, remote string) {
	str := func(sa unix.Sockaddr) string {
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			return netipAddrPort(a.Addr[:], a.Port)
		case *unix.SockaddrInet6:
			return netipAddrPort(a.Addr[:], a.Port)
		}
		return ""
	}
	if sa, err := unix.Getsockname(fd); err == nil {
		local = str(sa)
	}
	remote = str(peer)
	if local == "" {
		if cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			return strconv.Itoa(int(cred.Pid)), strconv.Itoa(int(cred.Uid))
		}
	}
	return local, remote
}

func netipAddrPort(ip []byte, port int) string {
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), uint16(port)).String()
}

// openOne makes one listening socket or FIFO.
func openOne(l service.Listen) (*os.File, *sockFile, error) {
	in, inet, err := service.ParseListen(l.Kind, l.Addr)
	if err != nil {
		return nil, nil, err
	}
	typ := unix.SOCK_STREAM
	switch l.Kind {
	case service.ListenDatagram:
		typ = unix.SOCK_DGRAM
	case service.ListenSeqPacket:
		typ = unix.SOCK_SEQPACKET
	}
	backlog := l.Backlog
	if backlog <= 0 {
		backlog = unix.SOMAXCONN
	}
	switch {
	case inet:
		fd, err := inetSocket(in, typ, l, backlog)
		if err != nil {
			return nil, nil, err
		}
		return os.NewFile(uintptr(fd), l.Addr), nil, nil
	case strings.HasPrefix(l.Addr, "@"):
		fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, nil, err
		}
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: l.Addr}); err != nil {
			unix.Close(fd)
			return nil, nil, err
		}
		if typ != unix.SOCK_DGRAM {
			if err := unix.Listen(fd, backlog); err != nil {
				unix.Close(fd)
				return nil, nil, err
			}
		}
		return os.NewFile(uintptr(fd), l.Addr), nil, nil
	}
	dirMode := l.DirMode
	if dirMode == 0 {
		dirMode = 0o755
	}
	if err := os.MkdirAll(filepath.Dir(l.Addr), os.FileMode(dirMode)); err != nil {
		return nil, nil, err
	}
	dir, base, err := logging.OpenParent(l.Addr)
	if err != nil {
		return nil, nil, err
	}
	perm := l.Mode
	if perm == 0 {
		perm = 0o666
	}
	if l.Kind == service.ListenFIFO {
		f, sf, err := makeFIFO(dir, base, perm, l.UID, l.GID)
		if err != nil {
			dir.Close()
		}
		return f, sf, err
	}
	fd, sf, err := bindSocket(dir, base, typ, perm, l.UID, l.GID)
	if err != nil {
		dir.Close()
		return nil, nil, err
	}
	if typ == unix.SOCK_SEQPACKET || (typ == unix.SOCK_STREAM && backlog != unix.SOMAXCONN) {
		// bindSocket listens on stream sockets only, with SOMAXCONN.
		if err := unix.Listen(fd, backlog); err != nil {
			unix.Close(fd)
			_ = sf.remove()
			return nil, nil, err
		}
	}
	return os.NewFile(uintptr(fd), l.Addr), sf, nil
}

// inetSocket binds an internet socket. A bare port binds every address:
// [::] (with the kernel's dual-stack default unless BindIPv6Only says
// otherwise), or 0.0.0.0 where IPv6 is unavailable.
func inetSocket(in service.InetAddr, typ int, l service.Listen, backlog int) (int, error) {
	var sa unix.Sockaddr
	fam := unix.AF_INET6
	switch {
	case !in.Addr.IsValid():
		sa = &unix.SockaddrInet6{Port: int(in.Port)}
	case in.Addr.Is4() || in.Addr.Is4In6():
		fam = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: int(in.Port), Addr: in.Addr.Unmap().As4()}
	default:
		sa = &unix.SockaddrInet6{Port: int(in.Port), Addr: in.Addr.As16()}
	}
	fd, err := unix.Socket(fam, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil && fam == unix.AF_INET6 && !in.Addr.IsValid() {
		fam, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(in.Port)}
		fd, err = unix.Socket(fam, typ|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return -1, err
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("SO_REUSEADDR", err)
	}
	if l.ReusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("SO_REUSEPORT", err)
		}
	}
	if fam == unix.AF_INET6 && (l.IPv6Only == "both" || l.IPv6Only == "ipv6-only") {
		v := 0
		if l.IPv6Only == "ipv6-only" {
			v = 1
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v); err != nil {
			return fail("IPV6_V6ONLY", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.Listen(fd, backlog); err != nil {
			return fail("listen", err)
		}
	}
	return fd, nil
}

// makeFIFO makes (or reuses) a FIFO at base in dir and opens it for
// reading and writing without blocking, as systemd does, so that it never
// reports end of file while no writer is there.
func makeFIFO(dir *logging.Dir, base string, perm uint32, uid, gid int) (*os.File, *sockFile, error) {
	dfd := dir.Fd()
	var st unix.Stat_t
	err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		if err := unix.Mkfifoat(dfd, base, 0o600); err != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, err
	case st.Mode&unix.S_IFMT != unix.S_IFIFO:
		return nil, nil, errors.New("exists and is not a FIFO")
	}
	fd, err := unix.Openat(dfd, base, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, err
	}
	// Through the descriptor: the name may be swapped meanwhile.
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		return nil, nil, errors.New("replaced while it was opened")
	}
	if err := unix.Fchmod(fd, perm&0o7777); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("chmod: %w", err)
	}
	if uid >= 0 || gid >= 0 {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			unix.Close(fd)
			return nil, nil, fmt.Errorf("chown: %w", err)
		}
	}
	return os.NewFile(uintptr(fd), base), &sockFile{dir: dir, base: base, dev: st.Dev, ino: st.Ino}, nil
}

// sockWatch is one armed watch: a goroutine in poll(2) on the sockets and
// the read end of a pipe that stop closes the other end of.
type sockWatch struct {
	wake int // write end
	done chan struct{}
}

// watchFDs calls readable once when one of fds is readable, unless
// stopped first.
func watchFDs(socks []int, readable func()) (*sockWatch, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, err
	}
	fds := make([]unix.PollFd, 0, len(socks)+1)
	fds = append(fds, unix.PollFd{Fd: int32(p[0]), Events: unix.POLLIN})
	for _, fd := range socks {
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	w := &sockWatch{wake: p[1], done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer unix.Close(p[0])
		for {
			_, err := unix.Poll(fds, -1)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || fds[0].Revents != 0 {
				return
			}
			for _, f := range fds[1:] {
				if f.Revents != 0 {
					readable()
					return
				}
			}
		}
	}()
	return w, nil
}

// stop ends the watch and waits for its goroutine, which wakes at once,
// so the sockets may be closed afterwards. A nil watch is a no-op.
func (w *sockWatch) stop() {
	if w == nil {
		return
	}
	unix.Close(w.wake)
	<-w.done
}
