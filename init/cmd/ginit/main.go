// Command ginit is the init system and service manager: PID 1, a system
// service manager, or a user instance (see ginit(8)).
package main

import (
	"os"

	"ginit/init/daemon"
)

func main() {
	os.Exit(daemon.Main(os.Args[1:], os.Stdout, os.Stderr))
}
