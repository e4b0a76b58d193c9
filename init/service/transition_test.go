package service

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var phaseNames = map[phase]string{
	phNone: "none", phWaitDeps: "wait-deps", phExec: "exec", phWaitDepnts: "wait-dependents",
	phExecStop: "exec-stop", phRestartDelay: "restart-delay", phKillAll: "kill-all",
}

func (st stage) String() string { return st.state.String() + "/" + phaseNames[st.ph] }

// diagramEdges reads the edges the package doc's diagram allows, so that
// the doc and what the tests hold the manager to cannot drift apart.
func diagramEdges(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`^//\t(\w+)?\s+([\w-]+)?\s+→\s+(\w+)/([\w-]+)\s`)
	edges := map[string]bool{}
	state, ph := "", ""
	for _, line := range strings.Split(string(src), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if m[1] != "" {
			state = strings.ToLower(m[1])
		}
		if m[2] != "" {
			ph = m[2]
		}
		edges[state+"/"+ph+" → "+strings.ToLower(m[3])+"/"+m[4]] = true
	}
	if len(edges) < 10 {
		t.Fatalf("doc.go: read only %d edges of the state diagram", len(edges))
	}
	return edges
}

// transitions records what setState reports.
type transitions struct {
	mu   sync.Mutex
	seen []string // "name: from → to"
}

func (tr *transitions) record(name string, from, to stage) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seen = append(tr.seen, fmt.Sprintf("%s: %s → %s", name, from, to))
}

func (tr *transitions) of(name string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, s := range tr.seen {
		if rest, ok := strings.CutPrefix(s, name+": "); ok {
			out = append(out, rest)
		}
	}
	return out
}

// checkLegal fails t for every recorded transition the diagram lacks.
func (tr *transitions) checkLegal(t *testing.T) {
	t.Helper()
	edges := diagramEdges(t)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, s := range tr.seen {
		if _, edge, _ := strings.Cut(s, ": "); !edges[edge] {
			t.Errorf("transition not in the state diagram: %s", s)
		}
	}
}

// TestTransitionsGoThroughTheSetter follows a service through its life:
// every step of the way is reported by setState, in order.
func TestTransitionsGoThroughTheSetter(t *testing.T) {
	upAndDown := []string{
		"stopped/none → starting/wait-deps",
		"starting/wait-deps → starting/exec",
		"starting/exec → started/none",
		"started/none → stopping/wait-dependents",
		"stopping/wait-dependents → stopping/exec-stop",
		"stopping/exec-stop → stopped/none",
	}
	stop := func(h *harness) {
		ch := make(chan error, 1)
		go func() { ch <- h.m.Stop(h.ctx, "a", StopOpts{}) }()
		h.waitFor("a", func(in Info) bool { return in.State != Started })
		if in := h.status("a"); in.State == Stopping {
			h.exit("a", ProcStart, killedBy(sigterm))
		}
		if err := recv(h.t, ch); err != nil {
			h.t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		typ  Type
		run  func(h *harness)
		want []string
	}{
		{"process", TypeProcess, stop, upAndDown},
		{"internal", TypeInternal, stop, upAndDown},
		{"exec failure", TypeProcess, func(h *harness) {}, []string{
			"stopped/none → starting/wait-deps",
			"starting/wait-deps → starting/exec",
			"starting/exec → stopped/none",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, svcDesc("a", tc.typ))
			h.sp.failExec["a"] = tc.name == "exec failure"
			_ = h.m.Start(h.ctx, "a", StartOpts{})
			tc.run(h)
			if got := h.trans.of("a"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("transitions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
