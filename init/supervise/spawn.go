package supervise

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"ginit/init/logging"
	"ginit/init/service"
	"ginit/internal/rawsys"
)

// setup collects what one spawn opens: files passed to the child (closed in
// the parent after the fork) and work to start once the pid is registered.
type setup struct {
	// fdv is the child's fds by number (-1: closed in the child); keep
	// holds the files behind them until the fork, so that no finalizer
	// closes one first.
	fdv     []int
	keep    []*os.File
	close   []*os.File // parent copies to close after the fork
	closeFD []int      // the same, held as bare fds (no os.File to make)
	after   []func(p *proc)
	cleanup []func() // undo on failure
	env     []string
	sys     syscall.SysProcAttr
	thread  *threadSetup
	// listenPID: LISTEN_PID is patched in after exec (see listenPIDSlot).
	listenPID bool
	// socketStdio: the first passed socket is also stdin and stdout.
	socketStdio bool
	// spawning: the unit whose cgroup this spawn uses, held from
	// placeCgroup until the fork (unit.spawning).
	spawning *unit
	kind     service.ProcKind
	keptDir  bool // the cgroup dir is the unit's kept one (keepDir)
}

func (st *setup) setFD(n int, f *os.File) {
	st.keep = append(st.keep, f)
	st.setRawFD(n, int(f.Fd()))
}

// setRawFD passes the bare descriptor fd as the child's fd n.
func (st *setup) setRawFD(n, fd int) {
	for len(st.fdv) <= n {
		st.fdv = append(st.fdv, -1)
	}
	st.fdv[n] = fd
}

// has reports whether the child's fd n is set.
func (st *setup) has(n int) bool { return n < len(st.fdv) && st.fdv[n] >= 0 }

func (st *setup) fds() []uintptr {
	out := make([]uintptr, len(st.fdv))
	for i, fd := range st.fdv {
		out[i] = uintptr(fd) // -1 becomes ^0: closed in the child
	}
	return out
}

func (st *setup) closeParent() {
	for _, f := range st.close {
		f.Close()
	}
	for _, fd := range st.closeFD {
		rawsys.Close(fd)
	}
	st.close, st.closeFD, st.keep = nil, nil, nil
}

func (st *setup) fail() {
	st.closeParent()
	for _, f := range st.cleanup {
		f()
	}
}

// Spawn starts one command of a service; see service.Spawner. Errors name
// the failing stage and file; the process never ran in that case.
func (s *Supervisor) Spawn(req service.SpawnRequest, n service.Notifier) (service.Proc, error) {
	d := req.Desc
	if len(req.Argv) == 0 {
		return nil, errors.New("no command")
	}
	st := &setup{env: mergeEnv(req.Env, d.Ext().Env)}
	path, err := lookPath(req.Argv[0], st.env)
	if err != nil {
		return nil, err
	}
	dir := workingDir(d)
	if err := s.prepare(req, st); err != nil {
		st.fail()
		return nil, err
	}
	st.sys.Setpgid = !st.sys.Setsid // a session leader leads its group already
	cgDir, err := s.placeCgroup(d, st)
	if err != nil {
		st.fail()
		return nil, err
	}
	// No pidfd: the child is reaped only by our reaper, which marks it dead
	// under s.mu in the step that reaps it, and Signal holds s.mu, so its
	// pid cannot be reused while it is signalled by number. A pidfd per
	// service doubled the fds every later fork copies and exec closes.
	attr := &syscall.ProcAttr{Dir: dir, Env: st.env, Files: st.fds(), Sys: &st.sys}

	// A child stopped for set-up under ptrace is waited for by the forking
	// thread, so the reaper (wait4(-1)) must not run meanwhile: the registry
	// lock is held across that fork. Other forks run without it, so that
	// several can overlap; an exit the reaper sees before its child is
	// registered is kept in s.early for Spawn to pick up.
	traced := st.thread != nil && st.thread.needStop()
	s.mu.Lock()
	if !traced {
		s.inflight++
		s.mu.Unlock()
	}
	pid, err := forkExec(path, req.Argv, attr, st.thread)
	if !traced {
		s.mu.Lock()
		s.inflight--
	}
	if err != nil {
		s.forgetEarlyLocked()
		s.mu.Unlock()
		st.fail()
		if st.keptDir {
			// Into a cgroup removed by someone else since the exit
			// (clone3 fails): once more, opening or making it anew.
			s.dropKeptDir(d.Name)
			return s.Spawn(req, n)
		}
		if cerr := chdirError(dir, d); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("exec %s: %w", path, err)
	}
	s.doneSpawningLocked(st) // the child is in its cgroup now
	s.kickWaiter()
	p := &proc{s: s, name: d.Name, pid: pid, pgid: pid, n: n,
		signalOnly: d.Options.SignalProcessOnly, pidfd: -1, child: true}
	s.setCgroup(p, cgDir)
	early, died := s.early[pid]
	delete(s.early, pid)
	s.forgetEarlyLocked()
	if !died {
		s.procs[pid] = p
	}
	if req.Kind == service.ProcStart {
		s.unitLocked(d.Name).startPG = pid
	}
	s.mu.Unlock()
	if died {
		// Reported after Spawn returns, as the Notifier contract says, and
		// from another goroutine: the caller may be waiting for this Spawn
		// before it reads notifications.
		p.markDead()
		go s.reportExit(p, early)
	}

	st.closeParent()
	for _, f := range st.after {
		f(p)
	}
	return p, nil
}

// chdirError names the working directory when it is what failed a spawn:
// the child's chdir reports only an errno. It is looked at after a failure
// rather than before each spawn, which a respawn would pay for.
func chdirError(dir string, d *service.Description) error {
	if dir == "" || d.Ext().Chroot != "" {
		return nil
	}
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("chdir %s: %w", dir, unwrapPath(err))
	} else if !fi.IsDir() {
		return fmt.Errorf("chdir %s: %w", dir, syscall.ENOTDIR)
	}
	return nil
}

// prepare sets up stdio, readiness and the rest of the child's state.
func (s *Supervisor) prepare(req service.SpawnRequest, st *setup) error {
	st.kind = req.Kind
	stdio := s.stdio
	if req.Kind == service.ProcStart && req.Desc.Terminal != service.TerminalNone {
		stdio = s.terminalStdio // pty.go
	}
	if err := stdio(req.Desc, st); err != nil {
		return err
	}
	if req.Kind == service.ProcStart {
		// The socket first: it is fd 3, and pipevar takes the next free fd.
		if len(req.Sockets) > 0 {
			st.socketStdio = req.Desc.SocketStdio
			if err := s.passSockets(req.Sockets, st); err != nil {
				return err
			}
		} else if req.Desc.Ext().SocketListen != "" {
			if err := s.socketActivation(req.Desc, st); err != nil {
				return err
			}
		}
		if err := s.readiness(req.Desc, st); err != nil {
			return err
		}
		if req.Desc.Options.PassCSFD {
			if err := s.passControl(st); err != nil {
				return err
			}
		}
	}
	if err := s.credentials(req.Desc, st); err != nil {
		return err
	}
	st.thread.listenPID = st.listenPID
	return nil
}

func onConsole(d *service.Description) bool {
	o := d.Options
	return o.RunsOnConsole || o.StartsOnConsole || o.SharesConsole
}

// stdio gives the child /dev/null as stdin and its output per log-type.
func (s *Supervisor) stdio(d *service.Description, st *setup) error {
	if onConsole(d) {
		in, out := os.Stdin, os.Stdout
		if s.cfg.Console != nil {
			in, out = s.cfg.Console, s.cfg.Console
		}
		st.setFD(0, in)
		st.setFD(1, out)
		st.setFD(2, out)
		return nil
	}
	if d.Ext().ConsumerOf != "" {
		r, _, err := s.outputPipe(d.Ext().ConsumerOf, d.Name)
		if err != nil {
			return fmt.Errorf("consumer-of %s: %w", d.Ext().ConsumerOf, err)
		}
		st.setFD(0, r) // kept open by the supervisor: not in st.close
	} else {
		in, err := s.devNull()
		if err != nil {
			return err
		}
		st.setFD(0, in) // shared: not in st.close
	}

	var out *os.File
	var err error
	switch d.LogType {
	case service.LogBuffer, service.LogTail:
		s.mu.Lock()
		u := s.unitLocked(d.Name)
		b := u.log
		if b == nil {
			if d.LogType == service.LogTail {
				b = logging.NewTail(logging.TailSize)
			} else {
				b = logging.NewBuffer(d.LogBufferSize)
			}
			u.log = b
		}
		kept := int(u.tailW) - 1
		// A start after an earlier one with no Release between is a
		// restart: one may well follow, so its pipe is kept.
		restart := st.kind == service.ProcStart && u.startPG != 0
		s.mu.Unlock()
		if kept >= 0 {
			st.setRawFD(1, kept)
			st.setRawFD(2, kept)
			return nil
		}
		w, err := s.out.pipe(b)
		if err != nil {
			return err
		}
		st.setRawFD(1, w)
		st.setRawFD(2, w)
		if restart && s.keepTail(d.Name, u, w) {
			return nil
		}
		// A bare fd: an os.File would cost an fcntl and a finalizer.
		st.closeFD = append(st.closeFD, w)
		return nil
	case service.LogFile:
		if d.Ext().LogFile == "" {
			out, err = s.devNull()
			if err != nil {
				return err
			}
			st.setFD(1, out) // shared: not in st.close
			st.setFD(2, out)
			return nil
		}
		if d.Ext().LogMaxSize > 0 {
			var rf *logging.RotatingFile
			rf, err = logging.OpenRotating(d.Ext().LogFile, os.FileMode(d.LogFilePermissions), int(d.LogFileUID), int(d.LogFileGID), d.Ext().LogMaxSize, 3)
			if err == nil {
				out, err = s.pipeTo(st, rf, rf)
			}
			break
		}
		out, err = logging.OpenFile(d.Ext().LogFile, os.FileMode(d.LogFilePermissions), int(d.LogFileUID), int(d.LogFileGID))
	case service.LogPipe:
		var w *os.File
		if _, w, err = s.outputPipe(d.Name, d.Name); err != nil {
			return fmt.Errorf("log-type pipe: %w", err)
		}
		st.setFD(1, w) // kept open by the supervisor: not in st.close
		st.setFD(2, w)
		return nil
	default: // none
		if out, err = s.devNull(); err != nil {
			return err
		}
		st.setFD(1, out) // shared: not in st.close
		st.setFD(2, out)
		return nil
	}
	if err != nil {
		return err
	}
	st.close = append(st.close, out)
	st.setFD(1, out)
	st.setFD(2, out)
	return nil
}

// keepTail keeps w, the write end of a restarting service's tail pipe,
// for its later starts until Release closes it: a crash loop's respawn
// then makes no pipe (pipe2, fcntl, epoll_ctl, close) and its exit ends
// no read of it (a wake-up, the EOF read, epoll_ctl, close). The reader
// sees EOF once Release has closed it and the service's last process
// has gone. It reports false if another spawn kept one first.
func (s *Supervisor) keepTail(name string, u *unit, w int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.units[name] != u || u.tailW != 0 {
		return false
	}
	u.tailW = int32(w) + 1
	return true
}

// pipeTo returns the write end of a pipe whose output is copied into w by a
// goroutine started after the fork; c (if any) is closed when it ends. It
// is for writers that may block (a rotating log file); memory buffers share
// the one reader of s.out.
func (s *Supervisor) pipeTo(st *setup, w io.Writer, c io.Closer) (*os.File, error) {
	r, wr, err := os.Pipe()
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	st.cleanup = append(st.cleanup, func() {
		r.Close()
		if c != nil {
			c.Close()
		}
	})
	st.after = append(st.after, func(*proc) {
		go func() {
			logging.Pump(w, r)
			if c != nil {
				c.Close()
			}
		}()
	})
	return wr, nil
}

// readiness sets up ready-notification = pipefd:N or pipevar:VAR: any byte
// written means ready. If the pipe is closed before a byte arrives the
// service failed to start: it is logged and the process group gets SIGTERM,
// so the manager sees it exit before it was ready.
func (s *Supervisor) readiness(d *service.Description, st *setup) error {
	rn := d.Ext().ReadyNotification
	if rn == "" {
		return nil
	}
	if rn == "notify" || rn == "sd_notify" {
		return s.notifySocket(d, st)
	}
	kind, arg, _ := strings.Cut(rn, ":")
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("ready-notification pipe: %w", err)
	}
	st.cleanup = append(st.cleanup, func() { r.Close() })
	st.close = append(st.close, w)
	switch kind {
	case "pipefd":
		fd, err := strconv.Atoi(arg)
		if err != nil || fd < 3 || fd > 1024 {
			return fmt.Errorf("ready-notification %q: bad fd", rn)
		}
		if st.has(fd) {
			return fmt.Errorf("ready-notification %q: fd %d is the socket-listen socket", rn, fd)
		}
		st.setFD(fd, w)
	case "pipevar":
		if arg == "" {
			return fmt.Errorf("ready-notification %q: no variable", rn)
		}
		fd := max(len(st.fdv), 3)
		st.setFD(fd, w)
		st.env = mergeEnv(st.env, []string{arg + "=" + strconv.Itoa(fd)})
	default:
		return fmt.Errorf("ready-notification %q: unknown kind", rn)
	}
	st.after = append(st.after, func(p *proc) {
		go func() {
			defer r.Close()
			var b [1]byte
			n, _ := r.Read(b[:])
			if n > 0 {
				p.n.Ready(p)
				return
			}
			if p.alive() {
				s.cfg.Logger.Printf("service '%s': readiness pipe closed before ready; stopping it", p.name)
				_ = p.Signal(int(syscall.SIGTERM))
			}
		}()
	})
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// outPipe is the pipe from a log-type = pipe service to its consumer.
type outPipe struct {
	r, w  *os.File
	users map[string]bool // services holding it: the producer and/or its consumer
}

// outputPipe is the pipe from a log-type = pipe service to its consumer
// (consumer-of), for user (one of the two). It is made at first use by
// either side and kept until both have been released, so either may
// restart or stop without the other seeing EOF or EPIPE, and nothing
// written is lost; output waits in the pipe (the producer blocks once it
// is full) while no consumer runs.
func (s *Supervisor) outputPipe(producer, user string) (r, w *os.File, err error) {
	s.mu.Lock()
	pu := s.unitLocked(producer)
	p := pu.pipe
	s.mu.Unlock()
	if p == nil {
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		s.mu.Lock()
		if p = pu.pipe; p != nil { // made meanwhile by the other side
			pr.Close()
			pw.Close()
		} else {
			p = &outPipe{r: pr, w: pw, users: map[string]bool{}}
			pu.pipe = p
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	first := !p.users[user]
	p.users[user] = true
	s.mu.Unlock()
	if first {
		s.onRelease(user, func() {
			s.mu.Lock()
			delete(p.users, user)
			last := len(p.users) == 0 && pu.pipe == p
			if last {
				pu.pipe = nil
				s.dropIfIdleLocked(producer, pu)
			}
			s.mu.Unlock()
			if last {
				p.r.Close()
				p.w.Close()
			}
		})
	}
	return p.r, p.w, nil
}

// passControl gives the child an open control connection on the next free
// fd and names it in DINIT_CS_FD (and GINIT_CS_FD); ginitctl in the service
// uses it without a socket path (options pass-cs-fd).
func (s *Supervisor) passControl(st *setup) error {
	if s.cfg.ControlConn == nil {
		return errors.New("options pass-cs-fd: no control connection to pass")
	}
	f, err := s.cfg.ControlConn()
	if err != nil {
		return fmt.Errorf("options pass-cs-fd: %w", err)
	}
	st.close = append(st.close, f)
	fd := max(len(st.fdv), 3)
	st.setFD(fd, f)
	n := strconv.Itoa(fd)
	st.env = mergeEnv(st.env, []string{"DINIT_CS_FD=" + n, "GINIT_CS_FD=" + n})
	return nil
}
