package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reload-service runs a started service's reload-command lines one after
// another as processes of the service, as systemd runs ExecReload. It is a
// request on the manager goroutine like any verb: the run is kept in the
// record (svc.reload) and the caller's reply is answered when the last
// command has ended or one has failed. The service's state is not touched:
// a failed reload leaves it running. Each command gets start-timeout (as
// systemd gives ExecReload TimeoutStartSec), so none can block reloads for
// ever.

// reloadRun is a reload in progress.
type reloadRun struct {
	step     int  // index into ReloadCommand of the running command
	proc     Proc // the running command
	argv     []string
	reply    chan error
	timer    Timer // start-timeout for each command, as systemd times ExecReload
	timedOut bool
}

// ReloadError is a reload command that did not succeed.
type ReloadError struct {
	Service string
	Argv    []string // the command, after $MAINPID substitution
	Step    int      // 1-based line of reload-command
	Steps   int
	Status  ExitStatus
	Timeout time.Duration // non-zero: killed when the command ran this long
}

func (e *ReloadError) Error() string {
	which := ""
	if e.Steps > 1 {
		which = fmt.Sprintf(" %d of %d", e.Step, e.Steps)
	}
	how := e.Status.String()
	if e.Timeout > 0 {
		how = fmt.Sprintf("timed out after %v (%s)", e.Timeout, how)
	}
	return fmt.Sprintf("reload of service '%s' failed: reload command%s (%s) %s; the service keeps running",
		e.Service, which, strings.Join(e.Argv, " "), how)
}

// ReloadService runs name's reload-command and waits for it. The service
// must be started; its state is unchanged whatever the outcome.
func (m *Manager) ReloadService(ctx context.Context, name string) error {
	return m.request(ctx, name, loadedOnly, func(s *svc) (chan error, error) {
		switch {
		case len(s.desc.Ext().ReloadCommand) == 0:
			return nil, fmt.Errorf("cannot reload service '%s': %w", name, ErrNoReloadCommand)
		case s.state != Started:
			return nil, fmt.Errorf("cannot reload service '%s' (%s): %w", name, s.state, ErrNotStarted)
		case s.reload != nil:
			return nil, fmt.Errorf("cannot reload service '%s': %w", name, ErrReloadRunning)
		}
		r := &reloadRun{reply: make(chan error, 1)}
		s.reload = r
		m.reloadStep(s)
		return r.reply, nil
	})
}

// reloadStep starts the command at s.reload.step.
func (m *Manager) reloadStep(s *svc) {
	r := s.reload
	pid := 0
	if s.proc != nil {
		pid = s.proc.Pid()
	}
	r.argv = substMainPID(s.desc.Ext().ReloadCommand[r.step], pid)
	if len(r.argv) == 0 {
		m.endReload(s, fmt.Errorf("cannot reload service '%s': reload command %d is empty once $MAINPID (none) is removed: %w",
			s.name(), r.step+1, ErrBadArgument))
		return
	}
	p, err := m.spawn(s, ProcReload, r.argv)
	if err != nil {
		m.endReload(s, &ReloadError{Service: s.name(), Argv: r.argv, Step: r.step + 1,
			Steps: len(s.desc.Ext().ReloadCommand), Status: ExitStatus{ExecErr: err}})
		return
	}
	r.proc = p
	if t := s.desc.StartTimeout; t > 0 {
		r.timer = m.timer(t, func() {
			if s.reload != r || r.proc != p {
				return
			}
			// Its own process group only: KillTree would take the
			// service's cgroup, the daemon with it.
			m.logf("service '%s': reload command timed out after %v; sending SIGKILL", s.name(), t)
			r.timedOut = true
			_ = p.Signal(int(syscall.SIGKILL))
		})
	}
}

// reloadExited goes on with the next command or answers the caller.
func (m *Manager) reloadExited(s *svc, st ExitStatus) {
	r := s.reload
	r.proc = nil
	m.stopTimer(&r.timer)
	n := len(s.desc.Ext().ReloadCommand)
	switch {
	case !st.Success():
		err := &ReloadError{Service: s.name(), Argv: r.argv, Step: r.step + 1, Steps: n, Status: st}
		if r.timedOut {
			err.Timeout = s.desc.StartTimeout
		}
		m.logf("%v", err)
		m.endReload(s, err)
	case r.step+1 >= n:
		m.logf("service '%s': reloaded", s.name())
		m.endReload(s, nil)
	case s.state != Started:
		// Stopped between two commands: the rest would act on nothing.
		m.endReload(s, fmt.Errorf("reload of service '%s' ended after command %d of %d (%s): %w",
			s.name(), r.step+1, n, s.state, ErrNotStarted))
	default:
		r.step++
		m.reloadStep(s)
	}
}

// stopReload ends a reload command when its service stops: what it would
// reload is going away. Its exit answers the reload as a failure.
func (m *Manager) stopReload(s *svc) {
	if r := s.reload; r != nil && r.proc != nil {
		m.logf("service '%s': stopping: ending its reload command", s.name())
		_ = r.proc.Signal(int(syscall.SIGTERM))
	}
}

func (m *Manager) endReload(s *svc, err error) {
	s.reload.reply <- err
	s.reload = nil
}

// mainPIDEnv is the environment of a reload command: MAINPID as systemd
// sets it, when there is a main process.
func (m *Manager) mainPIDEnv(s *svc) []string {
	if s.proc == nil {
		return m.env
	}
	return append(slices.Clip(m.env), "MAINPID="+strconv.Itoa(s.proc.Pid()))
}

// substMainPID replaces $MAINPID and ${MAINPID} in argv with pid. With no
// main process (pid 0) a word that is just $MAINPID is dropped and the
// name elsewhere becomes empty, as systemd does for an empty variable.
func substMainPID(argv []string, pid int) []string {
	val := ""
	if pid > 0 {
		val = strconv.Itoa(pid)
	}
	out := make([]string, 0, len(argv))
	for _, w := range argv {
		if (w == "$MAINPID" || w == "${MAINPID}") && val == "" {
			continue
		}
		out = append(out, replaceMainPID(w, val))
	}
	return out
}

func replaceMainPID(w, val string) string {
	if !strings.Contains(w, "MAINPID") {
		return w
	}
	w = strings.ReplaceAll(w, "${MAINPID}", val)
	var b strings.Builder
	for {
		i := strings.Index(w, "$MAINPID")
		if i < 0 {
			b.WriteString(w)
			return b.String()
		}
		end := i + len("$MAINPID")
		if end < len(w) && isNameByte(w[end]) {
			// $MAINPIDX is another variable: leave it.
			b.WriteString(w[:end])
		} else {
			b.WriteString(w[:i] + val)
		}
		w = w[end:]
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
