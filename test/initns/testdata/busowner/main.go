// Command busowner waits DELAY, then owns NAME on the system bus until it
// is killed: a stand-in daemon for Type=dbus tests.
//
//	busowner DELAY NAME
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "busowner: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: busowner DELAY NAME")
	}
	d, err := time.ParseDuration(args[0])
	if err != nil {
		return err
	}
	time.Sleep(d)
	c, err := dbus.ConnectSystemBus()
	if err != nil {
		return err
	}
	if r, err := c.RequestName(args[1], 0); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("RequestName %s: %v %v", args[1], r, err)
	}
	select {}
}
