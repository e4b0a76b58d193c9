// Command ginitctl controls a running ginit over its control socket; it
// takes dinitctl's subcommands and options (see ginitctl --help). Installed
// or linked as shutdown, reboot, poweroff or halt it is those front-ends.
//
// It lives for one request: the runtime need not size GOMAXPROCS by the
// cgroup's CPU limit, nor look at the limit again later (it still reads
// the cgroup files once at start, to count the setting's use).
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"ginit/init/ctl"
)

func main() {
	growStack()
	// One request and out: collecting garbage is wasted work (at list of
	// 5000 services, a tenth of the run), unless a huge answer makes the
	// heap big.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(64 << 20)
	if !ctl.IsShutdownName(os.Args[0]) {
		// No signal handling: SIGINT ends a waiting command as it ends
		// dinitctl, and signal.Notify would start a goroutine (and a
		// thread to run it) in every run. attach handles its own.
		os.Exit(ctl.RunCLI(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
	}
	// SIGINT (shutdown -c sends it) and SIGTERM end a waiting shutdown
	// cleanly: its nologin and schedule record are removed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ctl.RunShutdownCLI(ctx, os.Args[0], os.Args[1:], os.Stdout, os.Stderr, os.Getenv, ctl.RealShutdownSys())
	stop()
	os.Exit(code)
}

// growStack grows the main goroutine's stack, while it holds only main's
// frame, to the size a status call ends up needing (its deepest frames are
// fmt's and the time zone file's 4 kB read buffer). Grown where it is
// needed instead, the stack was copied twice from deep call chains, and
// each copy looks up every frame's tables: a tenth of ginitctl's
// instructions.
//
//go:noinline
func growStack() {
	var frame [stackNeed]byte
	keep(&frame)
}

// stackNeed is the frame that takes the stack from its initial 2 kB (or
// the 4 kB that package initialisation leaves it) to 16 kB in one copy.
const stackNeed = 7 << 10

// keep makes the frame's array live, so that the compiler keeps it.
//
//go:noinline
func keep(b *[stackNeed]byte) { b[0] = 1 }
