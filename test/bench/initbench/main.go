// Command initbench measures ginit beside dinit on the same generated
// service sets: each figure runs both, interleaved round by round, each
// daemon as PID 1 of its own PID and mount namespace (unshare), and prints
// the medians and the median of the paired ratios (ginit/dinit). Without a
// dinit directory it prints ginit's figures alone. It asserts nothing; it
// is what `make bench` prints for the service manager.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "initbench: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("initbench", flag.ContinueOnError)
	ginitDir := fs.String("ginit", "bin", "directory holding ginit and ginitctl")
	dinitDir := fs.String("dinit", "", "directory holding dinit and dinitctl (empty: ginit only)")
	rounds := fs.Int("rounds", 5, "paired rounds per figure")
	only := fs.String("only", "", "comma-separated figure keys to run (empty: all)")
	scale := fs.Bool("scale", true, "also print the per-service cost curve for 100/1000/10000 services")
	curveRounds := fs.Int("curve-rounds", 3, "paired rounds per point of the curve")
	floor := fs.Bool("floor", true, "also build and measure the Go runtime floor (floor/daemon, floor/client)")
	verbose := fs.Bool("v", false, "print every sample to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		fmt.Println("initbench: needs root (each daemon runs as PID 1 of a private namespace): skipped")
		return nil
	}
	// ginit holds two descriptors per running service (its pidfd and
	// the read end of its output pipe): 10,000 services need more than
	// a 20,000 limit. Both daemons inherit the raised one.
	if err := raiseNoFile(1 << 16); err != nil {
		fmt.Fprintf(os.Stderr, "initbench: RLIMIT_NOFILE: %v (the 10000-service figures may fail)\n", err)
	}
	impls, err := findImpls(*ginitDir, *dinitDir)
	if err != nil {
		return err
	}
	if *floor {
		fl, cleanup, err := buildFloor()
		if err != nil {
			fmt.Fprintf(os.Stderr, "initbench: Go floor not built (its column is left out): %v\n", err)
		} else {
			defer cleanup()
			impls = append(impls, fl)
		}
	}
	// Private_Dirty counts a mapped file's pages that are dirty in the
	// page cache: a binary built a moment ago (make build) showed ~4 MB of
	// its own text and rodata as the daemon's memory until writeback.
	// Write them back first so that the figure is what the daemon dirtied.
	syscall.Sync()
	b := &bench{impls: impls, rounds: *rounds, curveRounds: *curveRounds, verbose: *verbose}
	if *only != "" {
		b.only = map[string]bool{}
		for _, k := range strings.Split(*only, ",") {
			b.only[strings.TrimSpace(k)] = true
		}
	}
	if len(impls) == 1 || impls[1].floor {
		fmt.Println("(dinit not given: ginit's figures only; test/bench/dinit.sh builds the anchor)")
	}
	b.figures()
	if *scale && (b.only == nil || b.only["scale"]) {
		b.curve([]int{100, 1000, 10000})
	}
	if b.failed > 0 {
		return fmt.Errorf("%d rounds failed (see above); their figures are left out", b.failed)
	}
	return nil
}

// raiseNoFile lifts the soft and hard RLIMIT_NOFILE to at least n.
func raiseNoFile(n uint64) error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return err
	}
	if r.Cur >= n && r.Max >= n {
		return nil
	}
	r.Cur, r.Max = max(r.Cur, n), max(r.Max, n)
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
}
