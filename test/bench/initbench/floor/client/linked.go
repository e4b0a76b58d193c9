//go:build linked

package main

// Built with -tags linked, the floor client links every package ginitctl
// links (their initialisers run, the binary is ginitctl's size) and still
// does only the round trip: initbench's row beside ginitctl's status
// splits what linking costs from what ginitctl's own run does.
import _ "ginit/init/ctl"
