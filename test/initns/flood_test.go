package initns

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ginit/init/control/server/servertest"
)

// ginitPID is the host pid of the ginit that unshare --fork started.
func (in *instance) ginitPID() int {
	in.t.Helper()
	p := in.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p, p))
	if err != nil {
		in.t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		in.t.Fatalf("unshare (pid %d) has children %q, want just ginit", p, f)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		in.t.Fatal(err)
	}
	return pid
}

// procStatus reads a kB or count field of /proc/PID/status.
func procStatus(t *testing.T, pid int, field string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("%s of pid %d: %q", field, pid, v)
			}
			return n
		}
	}
	t.Fatalf("pid %d has no %s", pid, field)
	return 0
}

// Thousands of control connections that each announce a 1 MiB request and
// send one byte of it leave ginit small, and ginitctl keeps answering
// while they are open and after they close.
func TestControlFlood(t *testing.T) {
	in := newInstance(t, map[string]string{"boot": "type = internal\n"})
	pid := in.ginitPID()
	rssBefore := procStatus(t, pid, "VmRSS")

	// As many as the finding used, if this process may hold them open.
	const workers = 8
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	conns := min(10000, int(lim.Cur)-200) / workers * workers
	if conns < 2000 {
		t.Skipf("needs 2,200 open files for the flood; RLIMIT_NOFILE is %d", lim.Cur)
	}
	frame := servertest.StalledFrame()
	var (
		mu      sync.Mutex
		open    []net.Conn
		fails   int
		lastErr error
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	defer func() { // on any exit: stop the flood before the instance's cleanup
		close(stop)
		wg.Wait()
		for _, c := range open {
			c.Close()
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < conns/workers; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("unix", in.sock, 10*time.Second)
				for tries := 0; errors.Is(err, syscall.EAGAIN) && tries < 1000; tries++ {
					// The backlog is full: wait as a blocking connect would.
					time.Sleep(time.Millisecond)
					c, err = net.DialTimeout("unix", in.sock, 10*time.Second)
				}
				if err == nil {
					// ginit may already have closed it to make room.
					c.SetWriteDeadline(time.Now().Add(10 * time.Second))
					c.Write(frame)
				}
				mu.Lock()
				if err != nil {
					fails++
					lastErr = err
				} else {
					open = append(open, c)
				}
				mu.Unlock()
			}
		}()
	}
	flooding := make(chan struct{})
	go func() { wg.Wait(); close(flooding) }()

	rssPeak, lists := 0, 0
	for done := false; !done; {
		select {
		case <-flooding:
			done = true
		default:
		}
		if r := in.ctl("list"); r.code != 0 || !strings.Contains(r.out, "boot") {
			t.Fatalf("list during the flood: %s", r)
		}
		lists++
		rssPeak = max(rssPeak, procStatus(t, pid, "VmRSS"))
	}
	threads := procStatus(t, pid, "Threads")
	if fails > 0 {
		t.Errorf("%d of %d connections could not be made, the last: %v", fails, conns, lastErr)
	}
	for _, c := range open {
		c.Close()
	}
	open = nil
	// Let ginit see the closes and its runtime give back what it freed.
	time.Sleep(2 * time.Second)
	if r := in.ctl("list"); r.code != 0 || !strings.Contains(r.out, "boot") {
		t.Fatalf("list after the flood: %s", r)
	}
	rssAfter := procStatus(t, pid, "VmRSS")
	t.Logf("ginit VmRSS: %d kB before, %d kB peak during %d stalled 1 MiB frames (%d lists answered, %d threads), %d kB after",
		rssBefore, rssPeak, conns, lists, threads, rssAfter)
	if rssAfter > 40<<10 {
		t.Errorf("ginit holds %d kB after the flood (%d kB before)", rssAfter, rssBefore)
	}
	log, _ := os.ReadFile(in.logf)
	if !bytes.Contains(log, []byte("(the limit)")) {
		t.Errorf("ginit did not log that it reached its connection limit; log:\n%s", log)
	}
}
