// Command daemon is initbench's Go daemon floor. It takes ginit's command
// line as initbench gives it (-p SOCKET, -F FD; the rest is ignored),
// takes the signals an init must answer (os/signal, as ginit: the only
// way a Go program can, and it costs three threads: the signal receiver
// blocked in the runtime, the locked thread keeping the signal mask and
// the template thread that locking starts), listens on the socket through
// package net (the runtime's poller, as ginit's control server), writes
// the socket path and a newline to FD once it accepts connections, and
// answers each request frame of ginit's control protocol with an empty OK
// response; after a "shutdown" request, or SIGTERM, it answers and exits.
package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
)

func main() {
	var sock string
	readyFD := -1
	for i := 1; i+1 < len(os.Args); i++ {
		switch os.Args[i] {
		case "-p":
			sock = os.Args[i+1]
		case "-F":
			readyFD, _ = strconv.Atoi(os.Args[i+1])
		}
	}
	if sock == "" {
		os.Stderr.WriteString("floor daemon: -p SOCKET needed\n")
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP)
	signal.Ignore(syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPIPE)
	go func() {
		for s := range sigs {
			if s == syscall.SIGTERM {
				os.Exit(0)
			}
		}
	}()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		os.Stderr.WriteString("floor daemon: " + err.Error() + "\n")
		os.Exit(1)
	}
	if readyFD >= 0 {
		f := os.NewFile(uintptr(readyFD), "ready")
		_, _ = f.WriteString(sock + "\n")
		f.Close()
	}
	// Idle from here on: give back what start-up left, as ginit does
	// once it has settled.
	debug.FreeOSMemory()
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		if serve(c) {
			os.Exit(0)
		}
	}
}

// ok is a response frame with an empty payload: code OK.
var ok = []byte{'g', 'C', 1, 'R', 0, 0, 0, 0}

// serve answers c's requests until it closes; true after a shutdown.
func serve(c net.Conn) bool {
	defer c.Close()
	var hdr [8]byte
	buf := make([]byte, 0, 512)
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return false
		}
		n := binary.BigEndian.Uint32(hdr[4:])
		if hdr[0] != 'g' || hdr[1] != 'C' || hdr[3] != 'Q' || n > 1<<20 {
			return false
		}
		buf = buf[:n]
		if _, err := io.ReadFull(c, buf); err != nil {
			return false
		}
		if _, err := c.Write(ok); err != nil {
			return false
		}
		// The op is the first field: tag 1, length, "shutdown".
		if bytes.HasPrefix(buf, []byte("\x01\x08shutdown")) {
			return true
		}
	}
}
