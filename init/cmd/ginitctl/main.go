// Command ginitctl controls a running ginit over its control socket; it
// takes dinitctl's subcommands and options (see ginitctl --help). Installed
// or linked as shutdown, reboot, poweroff or halt it is those front-ends.
package main

import (
	"context"
	"os"
	"os/signal"

	"ginit/init/ctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	var code int
	if ctl.IsShutdownName(os.Args[0]) {
		code = ctl.RunShutdownCLI(ctx, os.Args[0], os.Args[1:], os.Stdout, os.Stderr, os.Getenv, ctl.RealShutdownSys())
	} else {
		code = ctl.RunCLI(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	}
	stop()
	os.Exit(code)
}
