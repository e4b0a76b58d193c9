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
	"syscall"

	"ginit/init/ctl"
)

func main() {
	// SIGINT (shutdown -c sends it) and SIGTERM end a waiting shutdown
	// cleanly: its nologin and schedule record are removed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var code int
	if ctl.IsShutdownName(os.Args[0]) {
		code = ctl.RunShutdownCLI(ctx, os.Args[0], os.Args[1:], os.Stdout, os.Stderr, os.Getenv, ctl.RealShutdownSys())
	} else {
		code = ctl.RunCLI(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	}
	stop()
	os.Exit(code)
}
