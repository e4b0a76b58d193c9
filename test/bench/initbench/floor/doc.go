// Package floor holds the Go runtime floors initbench prints beside ginit
// and dinit: daemon is the least a Go service manager's daemon can be (a
// unix socket listener that says it is ready as ginit does and exits on
// the shutdown request), client the least a Go control client can be (one
// connect, one request, one reply, in ginit's framing). What they cost is
// what any Go program pays: runtime start, threads, heap arenas.
package floor
