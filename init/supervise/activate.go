package supervise

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"ginit/init/logging"
	"ginit/init/service"
)

// listenFD is the descriptor of the socket-listen socket in the child
// (SD_LISTEN_FDS_START).
const listenFD = 3

// listenPIDKey and listenPIDSlot: LISTEN_PID must hold the child's own
// pid, which exists only after the fork, and syscall.ForkExec runs no code
// of ours in the child. So the child is started with LISTEN_PID set to a
// fixed-width placeholder and with PTRACE_TRACEME (see forkOnThread): it
// stops right after execve, before the first instruction of the new
// program; we then write the pid, NUL-terminated, over the placeholder in
// the child's environment block (/proc/PID/mem, between env_start and
// env_end of /proc/PID/stat) and let it go. Nothing depends on a shell or
// a helper binary being present (chroots included). The bytes after the
// NUL are never seen: environment strings end at their first NUL.
//
// Wider than any pid (pid_max is at most 2^22, 7 digits).
const (
	listenPIDKey  = "LISTEN_PID="
	listenPIDSlot = "XXXXXXXXXX"
)

// socketActivation passes the service's socket-listen socket to a start
// command as fd 3 with LISTEN_FDS=1 and LISTEN_PID. The socket is made at
// the first start and kept open across restarts until Release, so
// connections made while the service restarts wait in its backlog.
func (s *Supervisor) socketActivation(d *service.Description, st *setup) error {
	s.mu.Lock()
	u := s.unitLocked(d.Name)
	f := u.listen
	s.mu.Unlock()
	if f == nil {
		var sf *sockFile
		var err error
		if f, sf, err = openListen(d); err != nil {
			return err
		}
		path := d.Ext().SocketListen
		keepUntilRelease(s, d.Name, &u.listen, f, func() {
			f.Close()
			if err := sf.remove(); err != nil {
				s.cfg.Logger.Printf("service '%s': socket-listen %s: %v", d.Name, path, err)
			}
		})
	}
	st.setFD(listenFD, f)
	st.env = mergeEnv(st.env, []string{"LISTEN_FDS=1", listenPIDKey + listenPIDSlot})
	st.listenPID = true
	return nil
}

// openListen creates the listening unix socket of socket-listen with its
// permissions and owner (see bindSocket: the path never exists with other
// ones, and nothing in a directory the service user can write redirects
// it). Only a stale socket is replaced.
func openListen(d *service.Description) (*os.File, *sockFile, error) {
	path := d.Ext().SocketListen
	fail := func(err error) (*os.File, *sockFile, error) {
		return nil, nil, fmt.Errorf("socket-listen %s: %w", path, err)
	}
	// Clients connect by the full path.
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
		return fail(fmt.Errorf("path too long for a unix socket"))
	}
	dir, base, err := logging.OpenParent(path)
	if err != nil {
		return fail(err)
	}
	perm := d.SocketPermissions
	if perm == 0 {
		perm = 0o666
	}
	fd, sf, err := bindSocket(dir, base, unix.SOCK_STREAM, uint32(perm), int(d.SocketUID), int(d.SocketGID))
	if err != nil {
		dir.Close()
		return fail(err)
	}
	return os.NewFile(uintptr(fd), path), sf, nil
}

// patchListenPID writes the pid of the stopped child, as the child sees it
// (the last NSpid, which differs with unshare = pid), into its LISTEN_PID.
func patchListenPID(pid int) error {
	f, err := procStat(pid)
	if err != nil {
		return err
	}
	// env_start and env_end are fields 50 and 51 of proc(5); f[0] is field 3.
	if len(f) < 49 {
		return fmt.Errorf("/proc/%d/stat: no env_start", pid)
	}
	start, err1 := strconv.ParseInt(f[47], 10, 64)
	end, err2 := strconv.ParseInt(f[48], 10, 64)
	if err1 != nil || err2 != nil || end <= start || end-start > 1<<24 {
		return fmt.Errorf("/proc/%d/stat: bad environment range %s-%s", pid, f[47], f[48])
	}
	inner := pid
	if v, err := procStatus(pid, "NSpid"); err == nil {
		if ids := strings.Fields(v); len(ids) > 0 {
			if n, err := strconv.Atoi(ids[len(ids)-1]); err == nil {
				inner = n
			}
		}
	}
	val := strconv.Itoa(inner)
	if len(val) > len(listenPIDSlot) {
		return fmt.Errorf("pid %s too long", val)
	}
	mem, err := os.OpenFile("/proc/"+strconv.Itoa(pid)+"/mem", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer mem.Close()
	env := make([]byte, end-start)
	if _, err := mem.ReadAt(env, start); err != nil {
		return fmt.Errorf("read environment: %w", err)
	}
	off := -1
	want := []byte(listenPIDKey + listenPIDSlot + "\x00")
	for i := 0; i < len(env); {
		j := bytes.IndexByte(env[i:], 0)
		if j < 0 {
			break
		}
		if bytes.Equal(env[i:i+j+1], want) {
			off = i + len(listenPIDKey)
			break
		}
		i += j + 1
	}
	if off < 0 {
		return fmt.Errorf("no %s placeholder in the environment", listenPIDKey)
	}
	if _, err := mem.WriteAt(append([]byte(val), 0), start+int64(off)); err != nil {
		return fmt.Errorf("write environment: %w", err)
	}
	return nil
}
