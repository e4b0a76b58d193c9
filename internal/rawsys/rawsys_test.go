package rawsys

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFileCalls: a file made, written, read back, chmodded, renamed and
// removed through the raw calls, relative to the working dir and to a
// dirfd, and the errno each failing call gives.
func TestFileCalls(t *testing.T) {
	dir := t.TempDir()
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	for _, tc := range []struct {
		name  string
		dirfd int
		path  func(string) string
	}{
		{"cwd", unix.AT_FDCWD, func(n string) string { return filepath.Join(dir, n) }},
		{"dirfd", dfd, func(n string) string { return n }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.path("a-"+tc.name), tc.path("b-"+tc.name)
			fd, err := Openat(tc.dirfd, a, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteAll(fd, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if err := Fchmod(fd, 0o640); err != nil {
				t.Fatal(err)
			}
			if err := Close(fd); err != nil {
				t.Fatal(err)
			}
			if _, err := Openat(tc.dirfd, a, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600); !errors.Is(err, unix.EEXIST) {
				t.Fatalf("exclusive open of an existing file: %v, want EEXIST", err)
			}
			if err := Renameat(tc.dirfd, a, tc.dirfd, b); err != nil {
				t.Fatal(err)
			}
			fd, err = Openat(tc.dirfd, b, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			n, err := Read(fd, buf)
			if err != nil || string(buf[:n]) != "hello" {
				t.Fatalf("read %q, %v; want hello", buf[:n], err)
			}
			if n, err := Read(fd, buf); n != 0 || err != nil {
				t.Fatalf("read at end: %d, %v; want 0, nil", n, err)
			}
			if n, err := Pread(fd, buf, 1); err != nil || string(buf[:n]) != "ello" {
				t.Fatalf("pread at 1 after the end: %q, %v; want ello", buf[:n], err)
			}
			if _, err := Pread(fd, buf, -1); !errors.Is(err, unix.EINVAL) {
				t.Fatalf("pread at -1: %v, want EINVAL", err)
			}
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil || st.Mode&0o777 != 0o640 {
				t.Fatalf("mode %o, %v; want 640", st.Mode&0o777, err)
			}
			Close(fd)
			if err := Close(fd); !errors.Is(err, unix.EBADF) {
				t.Fatalf("second close: %v, want EBADF", err)
			}
			if err := Unlinkat(tc.dirfd, b, 0); err != nil {
				t.Fatal(err)
			}
			if err := Unlinkat(tc.dirfd, b, 0); !errors.Is(err, unix.ENOENT) {
				t.Fatalf("unlink of a removed file: %v, want ENOENT", err)
			}
			if _, err := Openat(tc.dirfd, "bad\x00name", unix.O_RDONLY, 0); err == nil {
				t.Fatal("a path with a NUL opened")
			}
		})
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Unlinkat(unix.AT_FDCWD, sub, 0); !errors.Is(err, unix.EISDIR) {
		t.Fatalf("unlink of a dir without AT_REMOVEDIR: %v, want EISDIR", err)
	}
	if err := Unlinkat(unix.AT_FDCWD, sub, unix.AT_REMOVEDIR); err != nil {
		t.Fatal(err)
	}
}

// TestWait4NoHang: nothing to reap is pid 0 at once, even with a child
// still running; an exited child is reaped with its status.
func TestWait4NoHang(t *testing.T) {
	cmd := exec.Command("sh", "-c", "read x; exit 7")
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ws unix.WaitStatus
	if pid, err := Wait4NoHang(&ws); pid != 0 || err != nil {
		t.Fatalf("with a running child: %d, %v; want 0, nil", pid, err)
	}
	w.Close()
	for {
		pid, err := Wait4NoHang(&ws)
		if err != nil {
			t.Fatal(err)
		}
		if pid == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		if pid != cmd.Process.Pid || !ws.Exited() || ws.ExitStatus() != 7 {
			t.Fatalf("reaped %d with %v; want %d exit 7", pid, ws, cmd.Process.Pid)
		}
		break
	}
	if _, err := Wait4NoHang(&ws); !errors.Is(err, unix.ECHILD) {
		t.Fatalf("no children: %v, want ECHILD", err)
	}
}

// TestPipeCalls: a pipe's read end made nonblocking, polled through an
// epoll set (nothing, then data, then the writer's hang-up), and read.
func TestPipeCalls(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w := p[0], p[1]
	defer Close(r)
	if err := SetNonblock(r); err != nil {
		t.Fatal(err)
	}
	d, err := Dup(w)
	if err != nil || d < 3 || d == w {
		t.Fatalf("Dup = %d, %v", d, err)
	}
	if fl, err := unix.FcntlInt(uintptr(d), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Fatalf("dup flags %#x, %v: want FD_CLOEXEC", fl, err)
	}
	Close(d)
	if _, err := Dup(-1); !errors.Is(err, unix.EBADF) {
		t.Fatalf("Dup(-1): %v, want EBADF", err)
	}
	if fl, err := unix.FcntlInt(uintptr(r), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Fatalf("flags %#x, %v: want O_NONBLOCK", fl, err)
	}
	if _, err := Read(r, make([]byte, 8)); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("read of an empty nonblocking pipe: %v, want EAGAIN", err)
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(ep)
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, r, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(r)}); err != nil {
		t.Fatal(err)
	}
	ev := make([]unix.EpollEvent, 4)
	for _, tc := range []struct {
		name  string
		act   func()
		n     int
		flags uint32
	}{
		{"idle", func() {}, 0, 0},
		{"data", func() { _ = WriteAll(w, []byte("x")) }, 1, unix.EPOLLIN},
		{"hang-up", func() { Close(w) }, 1, unix.EPOLLHUP},
	} {
		tc.act()
		n, err := EpollPoll(ep, ev)
		if err != nil || n != tc.n {
			t.Fatalf("%s: EpollPoll = %d, %v; want %d", tc.name, n, err, tc.n)
		}
		if n > 0 && (ev[0].Fd != int32(r) || ev[0].Events&tc.flags == 0) {
			t.Fatalf("%s: event fd %d events %#x, want fd %d with %#x", tc.name, ev[0].Fd, ev[0].Events, r, tc.flags)
		}
	}
	if n, err := EpollPoll(ep, nil); n != 0 || err != nil {
		t.Fatalf("EpollPoll with no room: %d, %v", n, err)
	}
	if n, err := EpollPoll(-1, ev); !errors.Is(err, unix.EBADF) {
		t.Fatalf("EpollPoll(-1) = %d, %v; want EBADF", n, err)
	}
}
