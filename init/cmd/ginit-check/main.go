// Command ginit-check lints service descriptions offline (see ginit-check(8)).
package main

import (
	"os"

	"ginit/init/loader"
	"ginit/init/sdunit"
)

func main() {
	os.Exit(loader.CheckMainUnits(os.Args[1:], os.Stdout, os.Stderr, os.Environ(), os.Getuid(), sdunit.Fallback))
}
