package initns

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// log-type = pipe and consumer-of: the consumer reads the producer's
// output on its stdin, and a restart of the consumer loses no line and does
// not disturb the producer (ginit keeps both ends of the pipe).
func TestConsumerOfPipe(t *testing.T) {
	// The consumer restarts while the producer is idle: a reader killed in
	// the middle of a line would take the bytes it had read with it.
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"producer": "type = process\nrestart = no\nlog-type = pipe\n" +
			`command = /bin/sh -c "i=0; while [ $$i -lt 400 ]; do echo line-$$i; i=$$((i+1)); if [ $$i = 200 ]; then while [ ! -e @OUT@/go ]; do sleep 0.02; done; fi; done; sleep 100000"` + "\n",
		"consumer": "type = process\nrestart = no\nconsumer-of = producer\n" +
			`command = /bin/sh -c "while read l; do echo $$l >> @OUT@/consumed; done"` + "\n",
	})
	in.mustCtl("start", "consumer")
	in.mustCtl("start", "producer")
	in.waitOut("consumed", func(s string) bool { return strings.Contains(s, "line-199\n") })
	in.mustCtl("restart", "consumer")
	if err := os.WriteFile(filepath.Join(in.out, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := in.waitOut("consumed", func(s string) bool { return strings.Contains(s, "line-399\n") })
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("consumer got %d lines, want 400", len(lines))
	}
	for i, l := range lines {
		if l != "line-"+strconv.Itoa(i) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
	if st := in.state("producer"); st != "started" {
		t.Errorf("producer is %s after the consumer restarted", st)
	}
	// Stopping the producer must not end the consumer's input either.
	before := in.mustCtl("status", "consumer").out
	in.mustCtl("stop", "producer")
	in.waitState("producer", "stopped")
	if after := in.mustCtl("status", "consumer").out; after != before || in.state("consumer") != "started" {
		t.Errorf("the consumer changed when the producer stopped:\n%s\nthen\n%s", before, after)
	}
}
