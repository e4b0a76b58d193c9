package supervise

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/service"
)

// TestSocketServiceOpen: every listen kind opens, the watch fires on a
// connection (or datagram, or FIFO write), the target's start command gets
// the sockets as fd 3 on with LISTEN_FDS and LISTEN_FDNAMES, and Close
// removes the paths made with RemoveOnStop.
func TestSocketServiceOpen(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		l    service.Listen
		poke func(t *testing.T) // makes the socket readable
	}{
		{"unix-stream", service.Listen{Kind: service.ListenStream, Addr: filepath.Join(dir, "a", "stream.sock"), Mode: 0o600}, func(t *testing.T) {
			c, err := net.Dial("unix", filepath.Join(dir, "a", "stream.sock"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
		}},
		{"unix-datagram", service.Listen{Kind: service.ListenDatagram, Addr: filepath.Join(dir, "dgram.sock")}, func(t *testing.T) {
			c, err := net.Dial("unixgram", filepath.Join(dir, "dgram.sock"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}},
		{"seqpacket", service.Listen{Kind: service.ListenSeqPacket, Addr: filepath.Join(dir, "seq.sock")}, func(t *testing.T) {
			c, err := net.Dial("unixpacket", filepath.Join(dir, "seq.sock"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
		}},
		{"fifo", service.Listen{Kind: service.ListenFIFO, Addr: filepath.Join(dir, "fifo"), Mode: 0o620}, func(t *testing.T) {
			f, err := os.OpenFile(filepath.Join(dir, "fifo"), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}},
		{"tcp-loopback", service.Listen{Kind: service.ListenStream, Addr: "127.0.0.1:0"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSup(t, "")
			l := c.l
			l.UID, l.GID, l.Name = -1, -1, "main"
			var tcp net.Listener
			if c.poke == nil {
				// A free port: taken, then handed over.
				var err error
				if tcp, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
					t.Fatal(err)
				}
				l.Addr = tcp.Addr().String()
				tcp.Close()
				c.poke = func(t *testing.T) {
					conn, err := net.Dial("tcp4", l.Addr)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { conn.Close() })
				}
			}
			d := &service.Description{Name: c.name + ".socket", Type: service.TypeSocket,
				Socket: &service.SocketSpec{Target: "svc", Listen: []service.Listen{l}, RemoveOnStop: true}}
			if err := s.Open(d); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l.Addr, "/") && l.Mode != 0 {
				var st unix.Stat_t
				if err := unix.Lstat(l.Addr, &st); err != nil || st.Mode&0o777 != l.Mode {
					t.Fatalf("%s: mode %o, %v; want %o", l.Addr, st.Mode&0o777, err, l.Mode)
				}
			}
			fired := make(chan struct{})
			s.Watch(d, func() { close(fired) })
			c.poke(t)
			select {
			case <-fired:
			case <-time.After(5 * time.Second):
				t.Fatal("no readable event")
			}
			target := desc("svc")
			target.LogType = service.LogBuffer
			target.LogBufferSize = 1 << 16
			r := newRecorder()
			p, err := s.Spawn(service.SpawnRequest{Desc: target, Argv: []string{"sh", "-c", `echo "$LISTEN_PID $$ $LISTEN_FDS $LISTEN_FDNAMES"; readlink /proc/self/fd/3; echo end`},
				Env: []string{"PATH=/usr/bin:/bin"}, Sockets: []string{d.Name}}, r)
			if err != nil {
				t.Fatal(err)
			}
			if e := r.next(t, "exited"); !e.st.Success() {
				t.Fatalf("exit %+v", e.st)
			}
			out := catLogWhen(t, s, "svc", func(b []byte) bool { return strings.HasSuffix(string(b), "end\n") })
			lines := strings.Split(out, "\n")
			f := strings.Fields(lines[0])
			if len(f) != 4 || f[0] != f[1] || f[2] != "1" || f[3] != "main" || f[0] == "" {
				t.Fatalf("LISTEN_PID $$ LISTEN_FDS LISTEN_FDNAMES = %q (pid %d)", lines[0], p.Pid())
			}
			kind := "socket:["
			if l.Kind == service.ListenFIFO {
				kind = l.Addr
			}
			if !strings.HasPrefix(lines[1], kind) {
				t.Fatalf("fd 3 = %q, want %s…", lines[1], kind)
			}
			s.Unwatch(d)
			s.Close(d)
			if strings.HasPrefix(l.Addr, "/") {
				if _, err := os.Lstat(l.Addr); !os.IsNotExist(err) {
					t.Fatalf("%s left after Close: %v", l.Addr, err)
				}
			}
		})
	}
}

// TestSocketServiceUnwatch: a watch stopped before any client never fires.
func TestSocketServiceUnwatch(t *testing.T) {
	s := newSup(t, "")
	path := filepath.Join(t.TempDir(), "s.sock")
	d := &service.Description{Name: "u.socket", Type: service.TypeSocket,
		Socket: &service.SocketSpec{Target: "svc", Listen: []service.Listen{{Kind: service.ListenStream, Addr: path, UID: -1, GID: -1}}}}
	if err := s.Open(d); err != nil {
		t.Fatal(err)
	}
	fired := make(chan struct{}, 1)
	s.Watch(d, func() { fired <- struct{}{} })
	s.Unwatch(d)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.Close(d)
	select {
	case <-fired:
		t.Fatal("an unwatched socket fired")
	default:
	}
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("without RemoveOnStop the path stays: %v", err)
	}
}

// TestSocketServiceAccept: an Accept socket's pending connection is taken
// without blocking, named after its peer, and passed to the instance as
// fd 3 and, with SocketStdio, as its stdin and stdout; with nothing
// pending Accept returns "".
func TestSocketServiceAccept(t *testing.T) {
	s := newSup(t, "")
	path := filepath.Join(t.TempDir(), "a.sock")
	d := &service.Description{Name: "a.socket", Type: service.TypeSocket,
		Socket: &service.SocketSpec{Target: "a", Accept: true, Listen: []service.Listen{{Kind: service.ListenStream, Addr: path, UID: -1, GID: -1}}}}
	if err := s.Open(d); err != nil {
		t.Fatal(err)
	}
	defer s.Close(d)
	name := func(local, remote string) string { return "a@1-" + local + "-" + remote }
	if n, err := s.Accept(d, name); n != "" || err != nil {
		t.Fatalf("nothing pending: %q %v", n, err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inst, err := s.Accept(d, name)
	if want := "a@1-" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(os.Getuid()); inst != want || err != nil {
		t.Fatalf("Accept = %q, %v; want %q", inst, err, want)
	}
	target := desc(inst)
	target.SocketStdio = true
	r := newRecorder()
	if _, err := s.Spawn(service.SpawnRequest{Desc: target, Argv: []string{"sh", "-c", `read line; echo "got $line fds=$LISTEN_FDS names=$LISTEN_FDNAMES"`},
		Env: []string{"PATH=/usr/bin:/bin"}, Sockets: []string{inst}}, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if e := r.next(t, "exited"); !e.st.Success() {
		t.Fatalf("exit %+v", e.st)
	}
	s.Close(target) // ginit's copy of the connection: the client sees the end
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(c)
	if string(out) != "got ping fds=1 names=connection\n" {
		t.Fatalf("client read %q", out)
	}
}
