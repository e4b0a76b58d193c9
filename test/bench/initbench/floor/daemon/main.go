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
// With --burst=N among its arguments it first allocates and drops what
// a load of N services might (loadBurst); with --respawn it runs
// "/bin/sh -c 'echo >> count'" in its working directory again each time
// it exits (respawn), the crash loop's floor.
package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	var sock string
	readyFD, burst, again := -1, 0, false
	for i := 1; i < len(os.Args); i++ {
		if n, ok := strings.CutPrefix(os.Args[i], "--burst="); ok {
			burst, _ = strconv.Atoi(n)
		}
		again = again || os.Args[i] == "--respawn"
		if i+1 == len(os.Args) {
			break
		}
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
	loadBurst(burst)
	if again {
		go respawn()
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

// loadBurst stands for what loading and starting n services costs the
// runtime, keeping nothing of it: ginit's GOGC of 50 and n times 20 KB
// allocated across the small size classes (16 B to 2 KB, pointer-free and
// pointerful) and dropped, at most 2 MB live at a time. ginit's load and
// start of 1000 services allocate about 20 MB over some 15 collections of
// a 2-4 MB heap (gctrace). What the process holds after it and
// FreeOSMemory is the runtime's: chiefly the GC metadata it keeps once it
// has collected a heap of a few MB.
func loadBurst(n int) {
	if n <= 0 {
		return
	}
	debug.SetGCPercent(50)
	var bytes [][]byte
	var ptrs [][]*int
	var live int
	for i, total := 0, 0; total < n*20<<10; i++ {
		// Pointer-free and pointerful objects: the GC keeps the two
		// kinds in spans of their own.
		size := 16 + i%128*16
		if i%2 == 0 {
			bytes = append(bytes, make([]byte, size))
		} else {
			ptrs = append(ptrs, make([]*int, size/8))
		}
		live += size
		total += size
		if live > 2<<20 {
			bytes, ptrs, live = nil, nil, 0
		}
	}
	runtime.KeepAlive(bytes)
	runtime.KeepAlive(ptrs)
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

// respawn is the least a Go supervisor does per crash-loop respawn: a
// fork/exec of the command (the syscall package's vfork and exec, its
// stdio /dev/null) and a blocking wait4 for it, on one goroutine; no
// cgroup, no output pipe, no log line, no signal.
func respawn() {
	argv := []string{"/bin/sh", "-c", "echo >> count"}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		os.Stderr.WriteString("floor daemon: " + err.Error() + "\n")
		os.Exit(1)
	}
	attr := &syscall.ProcAttr{Files: []uintptr{null.Fd(), null.Fd(), null.Fd()}}
	for {
		pid, err := syscall.ForkExec(argv[0], argv, attr)
		if err != nil {
			os.Stderr.WriteString("floor daemon: " + err.Error() + "\n")
			os.Exit(1)
		}
		var ws syscall.WaitStatus
		for {
			if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
				break
			}
		}
	}
}
