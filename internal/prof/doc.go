// Package prof is the profiling hook of the daemons' ginitprof builds
// (go build -tags ginitprof): ginit and sessiond call Start with their own
// variable prefix, and the benchmarks set the variables of the daemon they
// start. The shipped binaries are built without the tag, where Start does
// nothing and links no runtime/pprof (heavy for PID 1).
package prof
