package pam_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msteinert/pam/v2"

	"ginit/internal/testenv"
)

// goAppEnv makes the test binary a PAM application instead of a test run:
// a login program written in Go (a display manager, greetd-like) driving
// the PAM stack in its own process through msteinert/pam's application API.
const goAppEnv = "GINIT_PAM_GOAPP"

// goPAMApp opens a session of $GINIT_PAM_SERVICE for $GINIT_PAM_USER on
// $GINIT_PAM_TTY, prints the variables the stack exported, holds the
// session until a line arrives on stdin, then closes it.
func goPAMApp() int {
	tx, err := pam.StartFunc(os.Getenv("GINIT_PAM_SERVICE"), os.Getenv("GINIT_PAM_USER"), func(pam.Style, string) (string, error) { return "", nil })
	if err != nil {
		fmt.Println("start:", err)
		return 1
	}
	defer tx.End()
	if err := tx.SetItem(pam.Tty, os.Getenv("GINIT_PAM_TTY")); err != nil {
		fmt.Println("tty:", err)
		return 1
	}
	if err := tx.OpenSession(0); err != nil {
		fmt.Println("open_session:", err)
		return 1
	}
	env, err := tx.GetEnvList()
	if err != nil {
		fmt.Println("getenvlist:", err)
		return 1
	}
	for _, k := range []string{"XDG_SESSION_ID", "XDG_RUNTIME_DIR", "XDG_SESSION_TYPE"} {
		fmt.Printf("%s=%s\n", k, env[k])
	}
	fmt.Println("opened")
	bufio.NewReader(os.Stdin).ReadString('\n')
	if err := tx.CloseSession(0); err != nil {
		fmt.Println("close_session:", err)
		return 1
	}
	fmt.Println("closed")
	return 0
}

// TestGoPAMApplication: a Go program drives the PAM stack in-process,
// with pam_sessiond.so and with systemd's own pam_systemd.so, against
// sessiond; loginctl sees the session while it is open and not after.
func TestGoPAMApplication(t *testing.T) {
	e := newEnv(t, true)
	e.WritePAM(map[string]string{
		"goapp-sessiond": "auth required pam_permit.so\naccount required pam_permit.so\nsession required " + e.module + "\n",
		"goapp-systemd":  "auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_systemd.so\n",
	})
	for _, service := range []string{"goapp-sessiond", "goapp-systemd"} {
		t.Run(service, func(t *testing.T) {
			if service == "goapp-systemd" && !haveModule("pam_systemd.so") {
				t.Skip("pam_systemd.so is not installed")
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = e.CmdEnv(goAppEnv+"=1", "GINIT_PAM_SERVICE="+service, "GINIT_PAM_USER=nobody", "GINIT_PAM_TTY=pts/3")
			stdin, err := cmd.StdinPipe()
			e.Must(err, "stdin")
			stdout, err := cmd.StdoutPipe()
			e.Must(err, "stdout")
			cmd.Stderr = os.Stderr
			e.Must(cmd.Start(), "start the Go PAM application")
			defer testenv.Stop(cmd)
			lines := make(chan string, 16)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			vars := map[string]string{}
			expect := func(want string) {
				t.Helper()
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							t.Fatalf("the application ended before %q (vars %v)", want, vars)
						}
						if l == want {
							return
						}
						k, v, ok := strings.Cut(l, "=")
						if !ok {
							t.Fatalf("the application said %q, want %q", l, want)
						}
						vars[k] = v
					case <-time.After(20 * time.Second):
						t.Fatalf("no %q from the application", want)
					}
				}
			}
			expect("opened")
			id := vars["XDG_SESSION_ID"]
			if id == "" || vars["XDG_RUNTIME_DIR"] != "/run/user/65534" {
				t.Fatalf("exported %v\nsyslog:\n%s\nsessiond:\n%s", vars, e.sys.text(), e.Log())
			}
			if got := e.OK("loginctl", "show-session", id, "-p", "Name", "-p", "TTY", "-p", "State", "--value"); got != "nobody\npts/3\nactive\n" && got != "nobody\npts/3\nonline\n" {
				t.Errorf("loginctl show-session %s: %q", id, got)
			}
			io.WriteString(stdin, "close\n")
			expect("closed")
			e.Must(cmd.Wait(), "the Go PAM application")
			e.WaitFor("session "+id+" to go", func() bool {
				_, err := os.Stat(filepath.Join("/run/systemd/sessions", id))
				return os.IsNotExist(err)
			})
		})
	}
}

// haveModule reports whether PAM can load a module by its bare name.
func haveModule(name string) bool {
	for _, d := range []string{"/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security", "/lib/security", "/usr/lib/security"} {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return true
		}
	}
	return false
}
