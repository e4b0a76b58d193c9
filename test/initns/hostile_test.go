package initns

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A service whose file @includes a named pipe is refused with the file and
// line, and ginit goes on answering list and the start of another service.
// (Before, loading blocked in open(2) on the pipe inside the manager's
// loop, and every later request went unanswered.) ctl's 10 s limit only
// guards against such a hang.
func TestHostileIncludeDoesNotStallManager(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":    "type = internal\n",
		"hostile": "type = internal\n@include pipe\n",
		"other":   "type = process\ncommand = /bin/sleep 1000\n",
	})
	pipe := filepath.Join(in.sd, "pipe")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	// Release a reader left blocked on the pipe, so that shutdown works
	// even on a ginit that has the bug.
	t.Cleanup(func() {
		if f, err := os.OpenFile(pipe, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	in.waitState("boot", "started")

	// The hostile start first, then the others: had the manager blocked on
	// the pipe, they would wait behind it (in order, so no race decides).
	r := in.ctl("start", "hostile")
	if r.code == 0 {
		t.Fatalf("hostile started: %s", r)
	}
	msg := r.out + r.err
	for _, w := range []string{filepath.Join(in.sd, "hostile") + ":2:", "@include", "named pipe"} {
		if !strings.Contains(msg, w) {
			t.Errorf("start hostile: %s lacks %q", r, w)
		}
	}
	if list := in.ctl("list"); list.code != 0 || !strings.Contains(list.out, "boot") {
		t.Errorf("list after the hostile start: %s", list)
	}
	if r := in.ctl("start", "other"); r.code != 0 {
		t.Errorf("start other after the hostile start: %s", r)
	}
	in.waitState("other", "started")
}
