// Command ginit is the init system and service manager: PID 1, a system
// service manager, or a user instance (see ginit(8)).
//
// PID 1 idles for days: the runtime must not wake to re-read cgroup files
// for GOMAXPROCS (it is sized once, at start).
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"ginit/init/daemon"
)

func main() {
	os.Exit(daemon.Main(os.Args[1:], os.Stdout, os.Stderr))
}
