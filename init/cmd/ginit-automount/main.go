// Command ginit-automount mounts one file system lazily through the
// kernel's autofs protocol (see ginit-automount(8)):
//
//	ginit-automount [--timeout DURATION] -- DIR MOUNT-COMMAND...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"ginit/init/automount"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "ginit-automount: %v\n", err)
		os.Exit(1)
	}
}

// errUsage is the synopsis, for a bad command line.
var errUsage = errors.New("usage: ginit-automount [--timeout DURATION] -- DIR MOUNT-COMMAND")

func run(args []string) error {
	timeout := time.Duration(0)
	for len(args) > 0 && args[0] != "--" {
		switch {
		case args[0] == "--timeout" && len(args) > 1:
			d, err := time.ParseDuration(args[1])
			if err != nil || d < 0 {
				return fmt.Errorf("--timeout %q: want a duration such as 90s", args[1])
			}
			timeout, args = d, args[2:]
		default:
			return errUsage
		}
	}
	if len(args) < 3 || args[0] != "--" || args[1] == "" || args[1][0] != '/' {
		return errUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return automount.Run(ctx, automount.Config{Dir: args[1], Timeout: timeout, Mount: args[2:],
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "ginit-automount: "+f+"\n", a...) }})
}
