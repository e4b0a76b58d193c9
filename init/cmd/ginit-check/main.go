// Command ginit-check lints service descriptions offline (see ginit-check(8)).
package main

import (
	"os"

	"ginit/init/loader"
)

func main() {
	os.Exit(loader.CheckMain(os.Args[1:], os.Stdout, os.Stderr, os.Environ(), os.Getuid()))
}
