package dbus

import (
	"bytes"
	"net"
	"os"
	"syscall"
	"testing"
)

// rawPair is a connected pair of rawIOs over a socketpair.
func rawPair(t *testing.T) (a, b *rawIO) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ios [2]*rawIO
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		rc, err := c.(*net.UnixConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		ios[i] = newRawIO(rc)
	}
	return ios[0], ios[1]
}

// TestRawIO: a write larger than the socket's buffer goes out whole
// (waiting for the reader, resuming after partial sends), and a
// descriptor sent with it arrives with its first bytes.
func TestRawIO(t *testing.T) {
	a, b := rawPair(t)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	sent := make(chan error, 1)
	go func() { sent <- a.send(msg, syscall.UnixRights(int(w.Fd()))) }()
	var got []byte
	var fds []int
	buf := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	for len(got) < len(msg) {
		n, oobn, err := b.recv(buf, oob)
		if err != nil || n == 0 {
			t.Fatalf("recv after %d bytes: %d, %v", len(got), n, err)
		}
		if oobn > 0 {
			rights, err := parseRights(oob[:oobn])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("descriptor arrived after %d bytes", len(got))
			}
			fds = append(fds, rights...)
		}
		got = append(got, buf[:n]...)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("received %d bytes, not what was sent", len(got))
	}
	if len(fds) != 1 {
		t.Fatalf("received descriptors %v, want one", fds)
	}
	// The received descriptor is the pipe's write end.
	if _, err := syscall.Write(fds[0], []byte("x")); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fds[0])
	one := make([]byte, 1)
	if n, err := r.Read(one); err != nil || n != 1 || one[0] != 'x' {
		t.Fatalf("pipe read %d %q %v", n, one, err)
	}
}
