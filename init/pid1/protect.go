package pid1

import (
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"time"
)

// Protect runs the manager. When we are PID 1 a panic or an error from run
// must not end the process (the kernel would panic): it is logged and an
// emergency shell is offered on the console, again each time it exits.
// Protect then never returns. When not PID 1 it returns run's error (a
// panic becomes an error carrying the stack).
func Protect(run func() error, log Logger) error {
	return protect(run, log, protectEnv{pid1: os.Getpid() == 1, shell: consoleShell, sleep: time.Sleep})
}

type protectEnv struct {
	pid1  bool
	shell func() error // runs the emergency shell until it exits
	sleep func(time.Duration)
	// rounds bounds the shell loop in tests (0: forever).
	rounds int
}

func protect(run func() error, log Logger, env protectEnv) error {
	err := runCatching(run)
	if !env.pid1 {
		return err
	}
	if err == nil {
		err = fmt.Errorf("manager returned without shutting the system down")
	}
	log.Printf("pid1: fatal: %v", err)
	for i := 0; env.rounds == 0 || i < env.rounds; i++ {
		log.Printf("pid1: starting emergency shell /bin/sh on the console; exit it to get another")
		if serr := env.shell(); serr != nil {
			log.Printf("pid1: emergency shell: %v", serr)
		}
		// Do not spin if /bin/sh is missing or dies at once.
		env.sleep(time.Second)
	}
	return err
}

func runCatching(run func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return run()
}

// consoleShell runs /bin/sh on /dev/console (falling back to our stdio).
func consoleShell() error {
	cmd := exec.Command("/bin/sh")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=linux", "HOME=/"}
	if f, err := os.OpenFile("/dev/console", os.O_RDWR, 0); err == nil {
		defer f.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	}
	return cmd.Run()
}
