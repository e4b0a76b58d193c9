package ctl

import (
	"errors"
	"fmt"
	"io"
	"os"

	"ginit/init/loader"
)

// runOffline is `ginitctl --offline [-d DIR]... enable|disable [--from S] SERVICE`:
// it adds or removes SERVICE's link in the single waits-for.d directory of
// S (default: SERVICE's @meta enable-via, else boot) without asking ginit,
// for machines that are not running (images, chroots, first boot).
func runOffline(a *cliArgs, stdout, stderr io.Writer, env func(string) string) int {
	tr := a.tr
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "ginitctl: %s\n", tr.Tf(format, args...))
		return ExitFail
	}
	if a.cmd != "enable" && a.cmd != "disable" {
		fmt.Fprintf(stderr, "ginitctl: %s\n", tr.Tf("%s: only enable and disable work with --offline", a.cmd))
		return ExitUsage
	}
	dirs := a.dirs
	if len(dirs) == 0 {
		dirs = loader.DefaultDirs(a.user, env)
	}
	l := &loader.Loader{Dirs: dirs, Env: func(k string) (string, bool) { v := env(k); return v, v != "" }}
	name := a.pos[0]
	d, err := l.Load(name)
	if err != nil {
		return fail("%s '%s': %s", a.cmd, name, Plain(err))
	}
	from := loader.EnableSource(a.flags["--from"], d)
	fd, err := l.Load(from)
	if err != nil {
		return fail("%s '%s' from '%s': %s", a.cmd, name, from, Plain(err))
	}
	link, target, err := loader.EnableLink(d, fd)
	if err != nil {
		return fail("%s", Plain(err))
	}
	if a.cmd == "disable" {
		if err := os.Remove(link); errors.Is(err, os.ErrNotExist) {
			return fail("service '%s' is not enabled from '%s' (no %s)", name, from, link)
		} else if err != nil {
			return fail("disable '%s': %s", name, Plain(err))
		}
		if !a.quiet {
			fmt.Fprintln(stdout, tr.Tf("Service '%s' has been disabled.", name))
		}
		return ExitOK
	}
	if _, err := os.Lstat(link); err == nil {
		return fail("service '%s' is already enabled from '%s'", name, from)
	}
	if err := os.Symlink(target, link); err != nil {
		return fail("enable '%s': %s", name, Plain(err))
	}
	if !a.quiet {
		fmt.Fprintln(stdout, tr.Tf("Service '%s' has been enabled.", name))
	}
	return ExitOK
}
