package initns

import (
	"io"

	"ginit/init/control"
	"net"
	"strings"
	"testing"
	"time"
)

// appendName is a scripted service command that records its start.
func scripted(name string, extra ...string) string {
	return "type = scripted\ncommand = /bin/sh -c \"echo " + name + " >> @OUT@/order\"\n" + strings.Join(extra, "\n") + "\n"
}

func TestDependencyOrder(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\ndepends-on: a\n",
		"a":    scripted("a", "depends-on: b"),
		"b":    scripted("b", "depends-on = c"),
		"c":    scripted("c"),
	})
	in.waitState("boot", "started")
	if got := in.readOut("order"); got != "c\nb\na\n" {
		t.Fatalf("start order %q, want c, b, a", got)
	}
	list := in.mustCtl("list").out
	for _, n := range []string{"boot", "a", "b", "c"} {
		if !strings.Contains(list, n) {
			t.Errorf("list lacks %s:\n%s", n, list)
		}
	}
	if strings.Count(list, "{+}")+strings.Count(list, "[+]") != 4 {
		t.Errorf("list should show four started services:\n%s", list)
	}
}

func TestWaitsForFailureDoesNotFailDependent(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":  "type = internal\nwaits-for: bad\ndepends-on: good\n",
		"bad":   "type = scripted\ncommand = /bin/sh -c \"exit 3\"\n",
		"good":  scripted("good"),
		"needy": "type = internal\ndepends-on: bad\n",
	})
	in.waitState("boot", "started")
	in.waitState("bad", "stopped")
	if r := in.ctl("is-failed", "bad"); r.code != 0 {
		t.Errorf("is-failed bad: %s", r)
	}
	if r := in.ctl("is-started", "boot"); r.code != 0 {
		t.Errorf("is-started boot: %s", r)
	}
	// A hard dependency on the same failing service fails the start.
	r := in.ctl("start", "needy")
	if r.code == 0 {
		t.Fatalf("start needy succeeded: %s", r)
	}
	if !strings.Contains(r.out+r.err, "needy") {
		t.Errorf("error does not name the service: %s", r)
	}
	if r := in.ctl("status", "bad"); !strings.Contains(r.out, "exited 3") {
		t.Errorf("status bad does not show the exit status: %s", r)
	}
}

func TestPins(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"svc":  "type = process\ncommand = /bin/sleep 1000\n",
	})
	in.mustCtl("start", "--pin", "svc")
	if r := in.ctl("stop", "svc"); r.code == 0 {
		t.Fatalf("stop of a start-pinned service succeeded: %s", r)
	}
	in.waitState("svc", "started")
	in.mustCtl("unpin", "svc")
	in.mustCtl("stop", "svc")
	in.waitState("svc", "stopped")
	in.mustCtl("stop", "--pin", "--ignore-unstarted", "svc")
	if r := in.ctl("start", "svc"); r.code == 0 {
		t.Fatalf("start of a stop-pinned service succeeded: %s", r)
	}
	in.mustCtl("unpin", "svc")
	in.mustCtl("start", "svc")
	in.waitState("svc", "started")
}

func TestRestartAndSmoothRecovery(t *testing.T) {
	for _, smooth := range []string{"no", "yes"} {
		t.Run("smooth-recovery="+smooth, func(t *testing.T) {
			in := newInstance(t, map[string]string{
				"boot": "type = internal\ndepends-on: dep\n",
				"svc": "type = process\nrestart = yes\nrestart-delay = 0.1\nsmooth-recovery = " + smooth + "\n" +
					"command = /bin/sh -c \"echo x >> @OUT@/svc; exec sleep 1000\"\n",
				"dep": "type = process\ndepends-on: svc\ncommand = /bin/sh -c \"echo x >> @OUT@/dep; exec sleep 1000\"\n",
			})
			in.waitState("boot", "started")
			in.waitOut("dep", func(s string) bool { return s == "x\n" })
			in.mustCtl("signal", "KILL", "svc")
			in.waitOut("svc", func(s string) bool { return s == "x\nx\n" })
			in.waitState("svc", "started")
			in.waitState("dep", "started")
			want := "x\nx\n" // the dependent was restarted with it
			if smooth == "yes" {
				want = "x\n" // smooth recovery leaves dependents alone
			}
			time.Sleep(300 * time.Millisecond)
			if got := in.readOut("dep"); got != want {
				t.Fatalf("dependent started %d times, want %d", strings.Count(got, "x"), strings.Count(want, "x"))
			}
		})
	}
}

func TestCrashLoopStoppedByRateLimit(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":  "type = internal\n",
		"crash": "type = process\nrestart = yes\nrestart-delay = 0.05\nrestart-limit-count = 3\nrestart-limit-interval = 10\ncommand = /bin/sh -c \"echo x >> @OUT@/crash; exit 1\"\n",
	})
	in.ctl("start", "crash")
	in.waitOut("crash", func(s string) bool { return strings.Count(s, "x") >= 4 })
	in.waitState("crash", "stopped")
	time.Sleep(300 * time.Millisecond)
	if n := strings.Count(in.readOut("crash"), "x"); n != 4 {
		t.Errorf("crash-looping service ran %d times, want 1 + 3 restarts", n)
	}
	r := in.mustCtl("status", "crash")
	if !strings.Contains(r.out, "restart limit") {
		t.Errorf("status does not give the reason: %s", r)
	}
	in.mustCtl("list") // still responsive
}

func TestStopTimeoutEscalatesToKill(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"stubborn": "type = process\nstop-timeout = 1\n" +
			"command = /bin/sh -c \"trap '' TERM; echo up > @OUT@/up; while :; do sleep 0.1; done\"\n",
	})
	in.mustCtl("start", "stubborn")
	in.waitOut("up", func(s string) bool { return s != "" })
	start := time.Now()
	in.mustCtl("stop", "stubborn")
	took := time.Since(start)
	in.waitState("stubborn", "stopped")
	if took < 900*time.Millisecond {
		t.Errorf("stop returned after %v, before the stop timeout", took)
	}
	if r := in.mustCtl("status", "stubborn"); !strings.Contains(r.out, "signal 9") {
		t.Errorf("process was not killed with SIGKILL: %s", r)
	}
}

func TestScriptedOneShot(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":  "type = internal\n",
		"once":  "type = scripted\noptions: run-once\ncommand = /bin/sh -c \"echo ran >> @OUT@/once\"\nstop-command = /bin/sh -c \"echo undo >> @OUT@/once\"\n",
		"twice": "type = scripted\ncommand = /bin/sh -c \"echo ran >> @OUT@/twice\"\nstop-command = /bin/sh -c \"echo undo >> @OUT@/twice\"\n",
	})
	for i := 0; i < 2; i++ {
		for _, s := range []string{"once", "twice"} {
			in.mustCtl("start", s)
			in.mustCtl("stop", s)
		}
	}
	if got := in.readOut("once"); got != "ran\n" {
		t.Errorf("run-once service output %q, want a single run", got)
	}
	if got := in.readOut("twice"); got != "ran\nundo\nran\nundo\n" {
		t.Errorf("plain scripted output %q", got)
	}
}

func TestTriggered(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":    "type = internal\n",
		"trig":    "type = triggered\n",
		"after-t": "type = internal\ndepends-on: trig\n",
	})
	in.mustCtl("start", "--no-wait", "after-t")
	in.waitState("trig", "starting")
	in.waitState("after-t", "starting")
	in.mustCtl("trigger", "trig")
	in.waitState("trig", "started")
	in.waitState("after-t", "started")
}

func TestBadFilesAndCycles(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":   "type = internal\n",
		"ok":     "type = process\ncommand = /bin/sleep 1000\n",
		"bad":    "# a comment\ntype = process\nrestart = maybe\ncommand = /bin/true\n",
		"cyc-a":  "type = internal\ndepends-on: cyc-b\n",
		"cyc-b":  "type = internal\ndepends-on: cyc-a\n",
		"nosuch": "type = internal\ndepends-on: missing\n",
	})
	in.mustCtl("start", "ok")
	r := in.ctl("start", "bad")
	if r.code == 0 || !strings.Contains(r.out+r.err, "bad:3") || !strings.Contains(r.out+r.err, "restart") {
		t.Errorf("bad setting: want file:line and setting in the error: %s", r)
	}
	r = in.ctl("start", "cyc-a")
	msg := r.out + r.err
	if r.code == 0 || !strings.Contains(msg, "cycle") || !strings.Contains(msg, "cyc-a") || !strings.Contains(msg, "cyc-b") {
		t.Errorf("cycle: want the services in the error: %s", r)
	}
	r = in.ctl("start", "nosuch")
	if r.code == 0 || !strings.Contains(r.out+r.err, "missing") {
		t.Errorf("missing dependency: %s", r)
	}
	// Nothing already loaded changed; the bad services were not loaded.
	in.waitState("ok", "started")
	list := in.mustCtl("list").out
	for _, n := range []string{"bad", "cyc-a", "cyc-b", "nosuch"} {
		if strings.Contains(list, n) {
			t.Errorf("%s was loaded despite its error:\n%s", n, list)
		}
	}
}

func TestGarbageControlPacket(t *testing.T) {
	in := newInstance(t, map[string]string{"boot": "type = internal\n"})
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.0\r\n\r\n"),
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3},
		make([]byte, 4096),
	} {
		c, err := net.Dial("unix", in.sock)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(junk)
		reply, _ := io.ReadAll(c)
		c.Close()
		resp, err := control.DecodeResponse(reply)
		if err != nil {
			t.Errorf("garbage %q: reply %q is not a protocol response: %v", junk[:min(len(junk), 8)], reply, err)
			continue
		}
		if resp.Code != control.BadRequest || resp.Message == "" {
			t.Errorf("garbage %q: want a BadRequest error with a message, got %+v", junk[:min(len(junk), 8)], resp)
		}
	}
	if r := in.mustCtl("list"); !strings.Contains(r.out, "boot") {
		t.Fatalf("daemon stopped serving after garbage: %s", r)
	}
}

func TestCatLog(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot":   "type = internal\n",
		"chatty": "type = scripted\nlog-type = buffer\ncommand = /bin/sh -c \"echo hello; echo world >&2\"\n",
	})
	in.mustCtl("start", "chatty")
	r := in.mustCtl("catlog", "chatty")
	if !strings.Contains(r.out, "hello") || !strings.Contains(r.out, "world") {
		t.Fatalf("catlog: %s", r)
	}
	in.mustCtl("catlog", "--clear", "chatty")
	if r := in.mustCtl("catlog", "chatty"); strings.Contains(r.out, "hello") {
		t.Fatalf("catlog after --clear: %s", r)
	}
}

// prepared-by: restarting the service runs its preparation again first.
func TestPreparedByRestart(t *testing.T) {
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"prep": "type = scripted\ncommand = /bin/sh -c \"echo prep >> @OUT@/runs\"\n",
		"app":  "type = process\nrestart = no\nprepared-by: prep\ncommand = /bin/sh -c \"echo app >> @OUT@/runs; exec sleep 100000\"\n",
	})
	in.mustCtl("start", "app")
	in.waitOut("runs", func(s string) bool { return s == "prep\napp\n" })
	in.mustCtl("restart", "app")
	got := in.waitOut("runs", func(s string) bool { return strings.Count(s, "app") == 2 })
	if got != "prep\napp\nprep\napp\n" {
		t.Errorf("runs = %q, want prep before each app", got)
	}
}
