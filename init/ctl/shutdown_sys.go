package ctl

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/power"
	"ginit/internal/utmp"
)

// Files of the shutdown front-ends.
const (
	wtmpPath      = "/var/log/wtmp"
	utmpPath      = "/run/utmp"
	noLoginPath   = "/run/nologin"
	scheduledPath = "/run/ginit/shutdown.scheduled"
)

// RealShutdownSys is ShutdownSys with the real system calls and files:
// reboot(2), sync(2), /var/log/wtmp, the terminals in /run/utmp,
// /run/nologin and the schedule record for shutdown -c.
func RealShutdownSys() ShutdownSys {
	return ShutdownSys{
		Sync: unix.Sync,
		Reboot: func(kind power.Kind) error {
			cmd, ok := kind.RebootCmd()
			if !ok {
				return fmt.Errorf("%s ends no machine", kind)
			}
			return unix.Reboot(cmd)
		},
		Record: func() error {
			return utmp.AppendWtmp(wtmpPath, utmp.ShutdownRecord(time.Now(), utmp.KernelRelease()))
		},
		Wall: func(msg string) error { return wall(utmpPath, "/dev", msg, time.Now()) },
		NoLogin: func(msg string) error {
			return os.WriteFile(noLoginPath, []byte(msg+"\n"), 0o644)
		},
		ClearNoLogin: func() error {
			if err := os.Remove(noLoginPath); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		},
		Schedule: func(s Scheduled) (func(), error) { return schedule(scheduledPath, s) },
		Cancel:   func() (Scheduled, error) { return cancelScheduled(scheduledPath) },
	}
}

// wall writes msg, with wall(1)'s header, to the terminal of every user
// process in the utmp file. A terminal that would block is skipped: a
// shutdown never waits for one stalled terminal.
func wall(utmpFile, devDir, msg string, now time.Time) error {
	recs, err := utmp.ReadAll(utmpFile)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	from := "root"
	if os.Geteuid() != 0 {
		from = strconv.Itoa(os.Geteuid())
	}
	text := fmt.Sprintf("\r\n\aBroadcast message from %s@%s (%s):\r\n\r\n%s\r\n",
		from, host, now.Format("Mon 2006-01-02 15:04:05 MST"), strings.ReplaceAll(msg, "\n", "\r\n"))
	seen := map[string]bool{}
	var errs []error
	for _, r := range recs {
		// A line is a name below /dev (tty1, pts/3); never a way out of it.
		if r.Type != utmp.UserProcess || r.Line == "" || seen[r.Line] || filepath.IsAbs(r.Line) || strings.Contains(r.Line, "..") {
			continue
		}
		seen[r.Line] = true
		if err := writeTerminal(filepath.Join(devDir, r.Line), text); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 && len(errs) == len(seen) {
		return errs[0]
	}
	return nil
}

func writeTerminal(path, text string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return fmt.Errorf("%s: not a terminal", path)
	}
	_, err = unix.Write(fd, []byte(text))
	return err
}

// schedule records s (with this process's pid) at path until release.
func schedule(path string, s Scheduled) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	body := fmt.Sprintf("PID=%d\nWHEN=%d\nMODE=%s\nMESSAGE=%s\n", os.Getpid(), s.When.Unix(), s.Kind,
		strings.ReplaceAll(s.Message, "\n", " "))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		if old, rerr := readScheduled(path); rerr == nil && alive(old.PID) {
			return nil, fmt.Errorf("a shutdown is already scheduled for %s by process %d (shutdown -c cancels it)",
				old.When.Format("Mon 2006-01-02 15:04 MST"), old.PID)
		}
		// A record left by a process that is gone.
		os.Remove(path)
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return func() { os.Remove(path) }, nil
}

// readScheduled parses a schedule record.
func readScheduled(path string) (Scheduled, error) {
	var s Scheduled
	f, err := os.Open(path)
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "PID":
			s.PID, _ = strconv.Atoi(v)
		case "WHEN":
			n, _ := strconv.ParseInt(v, 10, 64)
			s.When = time.Unix(n, 0)
		case "MODE":
			s.Kind, _ = power.Parse(v)
		case "MESSAGE":
			s.Message = v
		}
	}
	if s.PID <= 1 {
		return s, fmt.Errorf("%s: no valid PID", path)
	}
	return s, sc.Err()
}

// alive reports whether pid is a shutdown front-end still waiting: the
// same executable as this one, so a recycled pid is never signalled.
// One we may not look at counts as alive: its record is not ours to drop.
func alive(pid int) bool {
	self, err1 := os.Stat("/proc/self/exe")
	other, err2 := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	if errors.Is(err2, os.ErrPermission) {
		return true
	}
	return err1 == nil && err2 == nil && os.SameFile(self, other)
}

// cancelScheduled interrupts the waiting shutdown recorded at path.
func cancelScheduled(path string) (Scheduled, error) {
	s, err := readScheduled(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, errors.New("no shutdown is scheduled")
	}
	if err != nil {
		return s, err
	}
	if !alive(s.PID) {
		os.Remove(path)
		return s, errors.New("no shutdown is scheduled (the process that scheduled one is gone)")
	}
	if err := syscall.Kill(s.PID, syscall.SIGINT); err != nil {
		return s, fmt.Errorf("process %d: %w", s.PID, err)
	}
	return s, nil
}
