package initns

import (
	"os"
	"strings"
	"testing"
	"time"
)

// Without options start-interruptible a start script that runs when a
// shutdown begins is not signalled: it runs to its end, then the service
// stops and ginit finishes (with the option, TestShutdownInterruptsStartScript).
func TestShutdownWaitsForUninterruptibleStart(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":     "type = internal\n",
		"slow.sh":  "trap 'echo term >> \"$1\"; exit 143' TERM\necho begun >> \"$1\"\nsleep 1.5\necho done >> \"$1\"\n",
		"slowinit": "type = scripted\ncommand = /bin/sh @DIR@/sd/slow.sh @OUT@/slow\n",
	})
	in.mustCtl("start", "--no-wait", "slowinit")
	in.waitOut("slow", func(s string) bool { return s == "begun\n" })
	t0 := time.Now()
	in.mustCtl("shutdown", "halt")
	select {
	case err := <-in.done:
		in.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("ginit did not finish its shutdown after the start script ended")
	}
	took := time.Since(t0)
	if got := in.readOut("slow"); got != "begun\ndone\n" {
		t.Errorf("start script output %q, want it to run to its end", got)
	}
	if took < time.Second {
		t.Errorf("shutdown took %v, less than the rest of the script", took)
	}
	log, _ := os.ReadFile(in.logf)
	if !strings.Contains(string(log), "service 'slowinit' started") || !strings.Contains(string(log), "service 'slowinit' stopped (normal)") {
		t.Errorf("the log does not show slowinit finish its start and stop:\n%s", log)
	}
}
