package initns

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// run-as and rlimits are applied to the process itself.
func TestRunAsNobodyWithLimits(t *testing.T) {
	m := fmt.Sprintf("%d.%d", 30000+os.Getpid()%10000, time.Now().UnixNano()%100000)
	in := newInstance(t, map[string]string{
		"boot": "type = internal\n",
		"limited": "type = process\nrestart = no\nrun-as = nobody\nworking-dir = /\n" +
			"rlimit-nofile = 123:456\nrlimit-core = 0\nnice = 7\n" +
			"command = /bin/sleep " + m + "\n",
	})
	in.mustCtl("start", "limited")
	pids := waitMarker(t, m, 1)
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pids[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{{"Max open files", "123", "456"}, {"Max core file size", "0", "0"}} {
		found := false
		for _, line := range strings.Split(string(limits), "\n") {
			if strings.HasPrefix(line, want[0]) {
				f := strings.Fields(strings.TrimPrefix(line, want[0]))
				found = len(f) >= 2 && f[0] == want[1] && f[1] == want[2]
			}
		}
		if !found {
			t.Errorf("/proc/%d/limits lacks %v:\n%s", pids[0], want, limits)
		}
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pids[0]))
	if !strings.Contains(string(status), "Uid:\t65534\t65534\t65534\t65534") {
		t.Errorf("not running as nobody:\n%s", status)
	}
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pids[0]))
	if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:])); len(f) < 17 || f[16] != "7" {
		t.Errorf("nice is not 7: stat fields %v", f)
	}
	in.mustCtl("stop", "limited")
}
