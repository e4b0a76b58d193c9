package control_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"ginit/init/control"
	"ginit/init/control/server/servertest"
)

// An announced length is not allocated before its bytes arrive.
func TestReadFrameAllocatesOnlyWhatArrives(t *testing.T) {
	const runs = 20
	var err error
	n := servertest.Allocated(func() {
		for i := 0; i < runs; i++ {
			_, err = control.ReadRequest(bytes.NewReader(servertest.StalledFrame()), nil, nil)
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
	big := control.AppendRequest(nil, &control.Request{Op: control.OpSetEnv, Env: []string{string(bytes.Repeat([]byte("x"), 300000))}})
	for _, r := range []io.Reader{bytes.NewReader(big), iotest.OneByteReader(bytes.NewReader(big)), iotest.HalfReader(bytes.NewReader(big))} {
		p, err := control.ReadRequest(r, nil, nil)
		if err != nil || !bytes.Equal(p, big[control.HeaderSize:]) {
			t.Fatalf("big frame: %d bytes, %v", len(p), err)
		}
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
	two := control.AppendRequest(nil, &control.Request{Op: control.OpStart, Service: "s", Env: []string{"A=1"}, Signal: 3})
	two = append(two, control.AppendRequest(nil, &control.Request{Op: control.OpList})...)
	f.Add(two, uint8(7))
	f.Add(servertest.StalledFrame(), uint8(1))
	f.Add([]byte("gC\x02Q\x00\x00\x00\x02\x01\x00gC\x01Q\x00\x00\x00\x03\x01\x01x"), uint8(3))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"), uint8(255))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		r := &chunkReader{b: stream, n: int(chunk) + 1}
		var buf []byte
		for frames := 0; ; frames++ {
			p, err := control.ReadRequest(r, buf, nil)
			// The buffer is reused across frames; size classes round it up.
			if arrived := len(stream) - len(r.b); cap(p) > 2*arrived+2*control.FirstChunk {
				t.Fatalf("frame %d: a %d-byte buffer for %d bytes that arrived", frames, cap(p), arrived)
			}
			buf = p
			switch {
			case err == nil:
				if req, err := control.DecodeRequestPayload(p); err == nil {
					if _, err := control.DecodeRequest(control.AppendRequest(nil, &req)); err != nil {
						t.Fatalf("re-encoding %+v: %v", req, err)
					}
				}
			case errors.Is(err, control.ErrVersion), errors.Is(err, control.ErrBadKind):
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
		c, err := control.Dial(path)
		if err == nil {
			c.Close()
		}
		dialed <- err
	}()
	time.Sleep(50 * time.Millisecond) // control.Dial has met the full backlog
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

// Recycle keeps a buffer for the next message unless it outgrew 64 KiB.
func TestRecycle(t *testing.T) {
	for _, tc := range []struct {
		cap  int
		kept bool
	}{{0, true}, {4 << 10, true}, {64 << 10, true}, {64<<10 + 1, false}, {1 << 20, false}} {
		got := control.Recycle(make([]byte, 0, tc.cap))
		if kept := got != nil; kept != tc.kept {
			t.Errorf("cap %d: kept %v, want %v", tc.cap, kept, tc.kept)
		}
	}
}
