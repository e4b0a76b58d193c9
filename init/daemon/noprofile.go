//go:build !ginitprof

package daemon

// startProfile profiles only in a binary built with -tags ginitprof
// (profile.go); the shipped ginit links no runtime/pprof.
func startProfile() (stop func()) { return func() {} }
