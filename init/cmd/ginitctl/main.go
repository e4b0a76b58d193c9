// Command ginitctl controls a running ginit over its control socket; it
// takes dinitctl's subcommands and options (see ginitctl --help). Installed
// or linked as shutdown, reboot, poweroff or halt it is those front-ends.
//
// It lives for one request: the runtime need not read the cgroup files
// that size GOMAXPROCS at start, nor look at them again later.
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
