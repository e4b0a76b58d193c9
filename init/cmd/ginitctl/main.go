// Command ginitctl controls a running ginit over its control socket; it
// takes dinitctl's subcommands and options (see ginitctl --help).
package main

import (
	"context"
	"os"
	"os/signal"

	"ginit/init/control"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := control.RunCLI(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
