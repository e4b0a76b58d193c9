// Command pingsvc is the session service the user-session tests have
// dbus-daemon activate: it owns org.ginit.Test1 on the session bus and
// answers org.ginit.Test1.Ping with "pong <its pid>" until the bus goes.
package main

import (
	"fmt"
	"os"

	godbus "github.com/godbus/dbus/v5"
)

type ping struct{}

func (ping) Ping() (string, *godbus.Error) { return fmt.Sprintf("pong %d", os.Getpid()), nil }

func main() {
	conn, err := godbus.ConnectSessionBus()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pingsvc:", err)
		os.Exit(1)
	}
	if err := conn.Export(ping{}, "/org/ginit/Test1", "org.ginit.Test1"); err != nil {
		fmt.Fprintln(os.Stderr, "pingsvc:", err)
		os.Exit(1)
	}
	if r, err := conn.RequestName("org.ginit.Test1", godbus.NameFlagDoNotQueue); err != nil || r != godbus.RequestNameReplyPrimaryOwner {
		fmt.Fprintln(os.Stderr, "pingsvc: name not owned:", r, err)
		os.Exit(1)
	}
	<-conn.Context().Done()
}
