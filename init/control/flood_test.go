package control

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// stalledFrame is a request header announcing a 1 MiB payload followed by
// one byte of it: the flood that used to cost a megabyte per connection.
func stalledFrame() []byte {
	b := []byte{'g', 'C', ProtocolVersion, kindRequest, 0, 0, 0, 0, tqOp}
	binary.BigEndian.PutUint32(b[4:8], MaxRequestSize)
	return b
}

// allocated returns the bytes the process allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// An announced length is not allocated before its bytes arrive.
func TestReadFrameAllocatesOnlyWhatArrives(t *testing.T) {
	const runs = 20
	var err error
	n := allocated(func() {
		for i := 0; i < runs; i++ {
			_, err = readFrame(bytes.NewReader(stalledFrame()), nil, kindRequest, MaxRequestSize, nil)
		}
	})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated frame: %v, want unexpected EOF", err)
	}
	t.Logf("%d truncated 1 MiB frames allocated %d bytes", runs, n)
	if n > runs*64<<10 {
		t.Errorf("%d truncated frames allocated %d bytes: the announced length was allocated", runs, n)
	}
	// A real big frame still arrives whole, through any read sizes.
	big := AppendRequest(nil, &Request{Op: OpSetEnv, Env: []string{string(bytes.Repeat([]byte("x"), 300000))}})
	for _, r := range []io.Reader{bytes.NewReader(big), iotest.OneByteReader(bytes.NewReader(big)), iotest.HalfReader(bytes.NewReader(big))} {
		p, err := readFrame(r, nil, kindRequest, MaxRequestSize, nil)
		if err != nil || !bytes.Equal(p, big[HeaderSize:]) {
			t.Fatalf("big frame: %d bytes, %v", len(p), err)
		}
	}
}

// newTestServer starts a server whose limits tweak may change.
func newTestServer(t *testing.T, b Backend, tweak func(*Server)) (*Server, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ginitctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	s, err := NewServer(path, b, tlog{t})
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, path
}

func dialRaw(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed fails unless the server closes c within 10 s.
func waitClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// A close with our bytes unread reaches us as a reset.
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("%s: the server did not close the connection: %v", what, err)
	}
}

// A server reading connections that announce 1 MiB and send one byte
// allocates nothing like a megabyte each.
func TestServerStalledFramesCostNoAnnouncedBuffer(t *testing.T) {
	_, path := newTestServer(t, &fakeBackend{}, nil)
	const conns = 32
	n := allocated(func() {
		for i := 0; i < conns; i++ {
			c := dialRaw(t, path)
			if _, err := c.Write(stalledFrame()); err != nil {
				t.Fatal(err)
			}
			c.CloseWrite() // the server reads the header, then EOF mid-payload
			waitClosed(t, c, "truncated frame")
			c.Close()
		}
	})
	t.Logf("%d connections with a stalled 1 MiB frame: %d bytes allocated", conns, n)
	if n > 8<<20 {
		t.Errorf("%d stalled frames cost %d bytes: announced lengths were allocated", conns, n)
	}
}

// A frame that has begun must finish within frameTimeout; an accepted
// connection idle for idleTimeout is closed; a pass-cs-fd connection may
// idle for ever.
func TestServerTimeouts(t *testing.T) {
	s, path := newTestServer(t, &fakeBackend{}, func(s *Server) {
		s.frameTimeout, s.idleTimeout = 50*time.Millisecond, 200*time.Millisecond
	})
	stalled := dialRaw(t, path)
	if _, err := stalled.Write(stalledFrame()); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, stalled, "stalled frame")
	waitClosed(t, dialRaw(t, path), "idle accepted connection")

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := unixConn(t, fds[0]), unixConn(t, fds[1])
	if err := s.ServeConn(context.Background(), theirs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * s.idleTimeout)
	if r := rawExchange(t, mine, AppendRequest(nil, &Request{Op: OpStatus, Service: "p"})); r.Message != "status p" {
		t.Fatalf("pass-cs-fd connection after idling: %+v", r)
	}
}

func unixConn(t *testing.T, fd int) *net.UnixConn {
	t.Helper()
	f := os.NewFile(uintptr(fd), "pair")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UnixConn)
}

// At the connection limit the longest-stalled connection makes room, so a
// flood of stalled peers neither grows the goroutine count nor locks a
// real client out; a connection whose request is being carried out is
// never the one closed.
func TestServerConnectionLimit(t *testing.T) {
	release := make(chan struct{})
	b := &fakeBackend{fn: func(r Request) Response {
		if r.Op == OpStart {
			<-release
		}
		return Response{Message: string(r.Op) + " " + r.Service}
	}}
	const limit = 4
	s, path := newTestServer(t, b, func(s *Server) { s.maxConns = limit })
	released := false
	t.Cleanup(func() { // before the server's cleanup, which waits for the request
		if !released {
			close(release)
		}
	})

	busy := dialRaw(t, path)
	if _, err := busy.Write(AppendRequest(nil, &Request{Op: OpStart, Service: "slow"})); err != nil {
		t.Fatal(err)
	}
	for b.last().Op != OpStart {
		time.Sleep(time.Millisecond)
	}
	var flood []*net.UnixConn
	for i := 0; i < 50; i++ {
		c := dialRaw(t, path)
		if _, err := c.Write(stalledFrame()); err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
	}
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r, err := cl.Do(ctx, Request{Op: OpList}); err != nil || r.Message != "list " {
		t.Fatalf("list during the flood: %+v, %v", r, err)
	}
	s.mu.Lock()
	n := s.accepted
	s.mu.Unlock()
	if n > limit {
		t.Errorf("%d connections served at once, limit %d", n, limit)
	}
	for _, c := range flood[:len(flood)-limit] {
		waitClosed(t, c, "stalled flood connection")
	}
	close(release)
	released = true
	if r := rawExchange(t, busy, nil); r.Message != "start slow" {
		t.Fatalf("the busy connection's answer: %+v", r)
	}
	if r := rawExchange(t, busy, AppendRequest(nil, &Request{Op: OpVersion})); r.Message != "version " {
		t.Fatalf("the busy connection was closed: %+v", r)
	}
}

// chunkReader returns at most n bytes per Read, as a socket may.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.b))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

// FuzzReadFrames drives the server's frame reader as serveConn does: frames
// one after another from a stream delivered in chunks, each payload
// decoded. It must not panic, must keep the stream in sync after a version
// or kind mismatch, and must never hold a buffer much larger than the bytes
// that actually arrived.
func FuzzReadFrames(f *testing.F) {
	two := AppendRequest(nil, &Request{Op: OpStart, Service: "s", Env: []string{"A=1"}, Signal: 3})
	two = append(two, AppendRequest(nil, &Request{Op: OpList})...)
	f.Add(two, uint8(7))
	f.Add(stalledFrame(), uint8(1))
	f.Add([]byte("gC\x02Q\x00\x00\x00\x02\x01\x00gC\x01Q\x00\x00\x00\x03\x01\x01x"), uint8(3))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"), uint8(255))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		r := &chunkReader{b: stream, n: int(chunk) + 1}
		var buf []byte
		for frames := 0; ; frames++ {
			p, err := readFrame(r, buf, kindRequest, MaxRequestSize, nil)
			// The buffer is reused across frames; size classes round it up.
			if arrived := len(stream) - len(r.b); cap(p) > 2*arrived+2*firstChunk {
				t.Fatalf("frame %d: a %d-byte buffer for %d bytes that arrived", frames, cap(p), arrived)
			}
			buf = p
			switch {
			case err == nil:
				if req, err := DecodeRequestPayload(p); err == nil {
					if _, err := DecodeRequest(AppendRequest(nil, &req)); err != nil {
						t.Fatalf("re-encoding %+v: %v", req, err)
					}
				}
			case errors.Is(err, ErrVersion), errors.Is(err, ErrBadKind):
				// the payload was consumed: the next frame follows
			default:
				return
			}
		}
	})
}

// Dial waits while the server's backlog is full, as a blocking connect
// would, instead of failing with EAGAIN at once.
func TestDialWaitsForFullBacklog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		c, err := net.Dial("unix", path)
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err != nil || i > 100 {
			t.Fatalf("filling the backlog: %d connections, %v", i, err)
		}
		defer c.Close()
	}
	dialed := make(chan error, 1)
	go func() {
		c, err := Dial(path)
		if err == nil {
			c.Close()
		}
		dialed <- err
	}()
	time.Sleep(50 * time.Millisecond) // Dial has met the full backlog
	nfd, _, err := syscall.Accept(fd) // room for one more
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(nfd)
	select {
	case err := <-dialed:
		if err != nil {
			t.Fatalf("Dial with the backlog full: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Dial did not return once there was room")
	}
}
