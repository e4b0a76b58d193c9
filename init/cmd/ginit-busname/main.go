// Command ginit-busname makes a Type=dbus service ready (see
// ginit-busname(8)): it writes one byte to fd N once NAME has an owner on
// the system bus, then exits.
//
//	ginit-busname --fd N NAME
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"ginit/init/busname"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "ginit-busname: %v\n", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: ginit-busname --fd N NAME")

// retry is how often a bus that is not there yet is tried again; the
// service's start timeout decides when to give up.
const retry = 250 * time.Millisecond

func run(args []string) error {
	if len(args) != 3 || args[0] != "--fd" {
		return errUsage
	}
	fd, err := strconv.Atoi(args[1])
	if err != nil || fd < 3 {
		return fmt.Errorf("--fd %q: not a file descriptor above 2", args[1])
	}
	name := args[2]
	if len(name) > 255 || name == "" {
		return fmt.Errorf("bad bus name %q", name)
	}
	ready := os.NewFile(uintptr(fd), "readiness")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	said := false
	for {
		conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
		if err == nil {
			err = busname.Wait(ctx, conn, name)
			conn.Close()
			if err == nil {
				if _, err := ready.Write([]byte{'\n'}); err != nil {
					return fmt.Errorf("fd %d: %w", fd, err)
				}
				return nil
			}
		}
		if ctx.Err() != nil {
			return err
		}
		if !said {
			fmt.Fprintf(os.Stderr, "ginit-busname: %s: %v; trying again\n", name, err)
			said = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", name, ctx.Err())
		case <-time.After(retry):
		}
	}
}
