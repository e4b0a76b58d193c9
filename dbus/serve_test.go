package dbus

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"

	godbus "github.com/godbus/dbus/v5"
)

// BenchmarkServeInline is the reader's work for one inline call, from
// the framed message to the written reply, on a socket pair: what one
// GetSessionByPID costs sessiond beyond the wake-ups.
func BenchmarkServeInline(b *testing.B) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	defer theirs.Close()
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer fc.Close()
	go func() { _, _ = io.Copy(io.Discard, theirs) }()
	iface := &Interface{Name: "org.example.M", Methods: []Method{{Name: "ByPID", In: []Arg{{"pid", "u"}}, Out: []Arg{{"p", "o"}}, Inline: true,
		Handler: func(c *Call) ([]any, error) {
			var pid uint32
			if err := c.Store(&pid); err != nil {
				return nil, err
			}
			return []any{godbus.ObjectPath("/org/example/s/c1")}, nil
		}}}}
	obj := &Object{Interfaces: []*Interface{iface}}
	tree := NewTree(context.Background(), func(godbus.ObjectPath) (*Object, bool) { return obj, true }, slog.New(slog.DiscardHandler))
	c := &Conn{uc: fc.(*net.UnixConn), tree: tree, log: slog.New(slog.DiscardHandler), pending: map[uint32]chan *godbus.Message{}}
	msg := &godbus.Message{Type: godbus.TypeMethodCall, Headers: map[godbus.HeaderField]godbus.Variant{
		godbus.FieldPath:        godbus.MakeVariant(godbus.ObjectPath("/org/example")),
		godbus.FieldInterface:   godbus.MakeVariant("org.example.M"),
		godbus.FieldMember:      godbus.MakeVariant("ByPID"),
		godbus.FieldSender:      godbus.MakeVariant(":1.7"),
		godbus.FieldDestination: godbus.MakeVariant("org.example"),
		godbus.FieldSignature:   godbus.MakeVariant(godbus.SignatureOf(uint32(0))),
	}, Body: []any{uint32(4242)}}
	m := encodeMessage(b, msg)
	b.ReportAllocs()
	for b.Loop() {
		c.handle(m, nil)
	}
}

func encodeMessage(tb testing.TB, msg *godbus.Message) []byte {
	var w byteSink
	if err := msg.EncodeTo(&w, binary.LittleEndian); err != nil {
		tb.Fatal(err)
	}
	binary.LittleEndian.PutUint32(w.b[8:12], 9)
	return w.b
}

type byteSink struct{ b []byte }

func (s *byteSink) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

// TestBatchedReplies: what is sent while the reader works through one
// read waits in the batch and goes out, in serial order, when the
// reader is done with it.
func TestBatchedReplies(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours := os.NewFile(uintptr(fds[0]), "ours")
	defer syscall.Close(fds[1])
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	uc := fc.(*net.UnixConn)
	rc, err := uc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c := &Conn{uc: uc, io: newRawIO(rc), log: slog.New(slog.DiscardHandler)}
	c.setBatching(true)
	for _, v := range []uint32{1, 2} {
		if err := c.sendReply(":1.5", v, []any{v}, nil); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4096)
	if n, err := syscall.Read(fds[1], buf); err != syscall.EAGAIN {
		t.Fatalf("a batched reply was written before the batch ended: %d bytes, %v", n, err)
	}
	c.setBatching(false)
	n, err := syscall.Read(fds[1], buf)
	if err != nil {
		t.Fatal(err)
	}
	for want := uint32(1); want <= 2; want++ {
		l, err := frameLen(buf[:n])
		if err != nil || l == 0 || l > n {
			t.Fatalf("reply %d: frame %d of %d bytes: %v", want, l, n, err)
		}
		msg, err := godbus.DecodeMessage(bytes.NewReader(buf[:l]))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Serial() != want || msg.Headers[godbus.FieldReplySerial].Value() != want || msg.Body[0] != want {
			t.Errorf("reply %d: serial %d, %v %v", want, msg.Serial(), msg.Headers, msg.Body)
		}
		buf, n = buf[l:], n-l
	}
	if n != 0 {
		t.Errorf("%d bytes after the replies", n)
	}
}
