// Command client is initbench's Go client floor: "client -p SOCKET OP
// [SERVICE]" connects, sends one request frame of ginit's control
// protocol (op, service) and reads one response frame, with blocking
// system calls and nothing else linked: what ginitctl could cost if it
// did nothing but the round trip. Exit status 0 when a response came.
package main

import (
	"encoding/binary"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) < 4 || os.Args[1] != "-p" {
		os.Stderr.WriteString("usage: client -p SOCKET OP [SERVICE]\n")
		os.Exit(2)
	}
	payload := field(nil, 1, os.Args[3])
	if len(os.Args) > 4 {
		payload = field(payload, 2, os.Args[4])
	}
	frame := append([]byte{'g', 'C', 1, 'Q', 0, 0, 0, 0}, payload...)
	binary.BigEndian.PutUint32(frame[4:], uint32(len(payload)))

	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err == nil {
		err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: os.Args[2]})
	}
	if err == nil {
		_, err = syscall.Write(fd, frame)
	}
	if err != nil {
		fail(err)
	}
	var hdr [8]byte
	readFull(fd, hdr[:])
	body := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
	readFull(fd, body)
	os.Exit(0)
}

// field appends one tag-length-value field (lengths under 128 bytes).
func field(b []byte, tag byte, v string) []byte {
	if len(v) > 127 {
		fail(syscall.EINVAL)
	}
	return append(append(b, tag, byte(len(v))), v...)
}

func readFull(fd int, b []byte) {
	for len(b) > 0 {
		n, err := syscall.Read(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			fail(syscall.ECONNRESET)
		}
		b = b[n:]
	}
}

func fail(err error) {
	os.Stderr.WriteString("floor client: " + err.Error() + "\n")
	os.Exit(1)
}
