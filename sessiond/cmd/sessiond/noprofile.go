//go:build !ginitprof

package main

// startProfile profiles only in a binary built with -tags ginitprof
// (profile.go); the shipped sessiond links no runtime/pprof.
func startProfile() (stop func()) { return func() {} }
