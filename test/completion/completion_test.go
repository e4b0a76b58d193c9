// Package completion_test drives the shipped bash completion of ginitctl in
// a real bash, with the built ginitctl answering `list` from a control
// server, as on a machine: commands, options, then service names.
package completion_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ginit/init/control"
	"ginit/init/control/server/servertest"
)

func complete(t *testing.T, bin, sock string, words ...string) []string {
	t.Helper()
	root, _ := filepath.Abs("../..")
	var q []string
	for _, w := range words {
		q = append(q, "'"+w+"'")
	}
	script := `source "$1/completion/ginitctl.bash"; COMP_WORDS=(` + strings.Join(q, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _ginitctl; printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script, "bash", root)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "GINIT_SOCKET_PATH="+sock)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%q: %v\n%s", words, err, out)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	return got
}

func TestGinitctlCompletion(t *testing.T) {
	bin := os.Getenv("GINIT_BIN")
	if bin == "" {
		t.Skip("GINIT_BIN is not set (make build, then GINIT_BIN=$PWD/bin)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	b := &servertest.Backend{Fn: func(r control.Request) control.Response {
		return control.Response{Services: []control.ServiceInfo{
			{Name: "boot", State: "started", Active: true}, {Name: "sshd", State: "started", PID: 7},
			{Name: "sessiond", State: "stopped", Failed: true, ExitStatus: "exited 1"},
		}}
	}}
	_, sock := servertest.Start(t, b, nil)
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"ginitctl", "re"}, []string{"release", "reload", "reload-service", "restart"}},
		{[]string{"ginitctl", "start", "s"}, []string{"sessiond", "sshd"}},
		{[]string{"ginitctl", "-p", sock, "status", ""}, []string{"boot", "sessiond", "sshd"}},
		{[]string{"ginitctl", "stop", "--f"}, []string{"--force"}},
		{[]string{"ginitctl", "add-dep", "w"}, []string{"waits-for"}},
		{[]string{"ginitctl", "shutdown", "p"}, []string{"poweroff"}},
		{[]string{"ginitctl", "start", "sshd", ""}, nil},
		{[]string{"ginitctl", "--q"}, []string{"--quiet"}},
	} {
		if got := complete(t, bin, sock, tc.words...); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.words, got, tc.want)
		}
	}
}
