package control

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"ginit/init/loader"
)

// runOffline is `ginitctl --offline [-d DIR]... enable|disable [--from S] SERVICE`:
// it adds or removes SERVICE's link in the single waits-for.d directory of
// S (default: SERVICE's @meta enable-via, else boot) without asking ginit,
// for machines that are not running (images, chroots, first boot).
func runOffline(a *cliArgs, stdout, stderr io.Writer, env func(string) string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "ginitctl: "+format+"\n", args...)
		return ExitFail
	}
	if a.cmd != "enable" && a.cmd != "disable" {
		fmt.Fprintf(stderr, "ginitctl: %s: only enable and disable work with --offline\n", a.cmd)
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
		return fail("%s '%s': %v", a.cmd, name, err)
	}
	from := a.flags["--from"]
	if from == "" {
		from = d.EnableVia
	}
	if from == "" {
		from = "boot"
	}
	fd, err := l.Load(from)
	if err != nil {
		return fail("%s '%s' from '%s': %v", a.cmd, name, from, err)
	}
	if len(fd.WaitsForDirs) != 1 {
		return fail("service '%s' must have exactly one waits-for.d directory to %s '%s' (it has %d)", from, a.cmd, name, len(fd.WaitsForDirs))
	}
	link := filepath.Join(fd.WaitsForDirs[0], name)
	if a.cmd == "disable" {
		if err := os.Remove(link); errors.Is(err, os.ErrNotExist) {
			return fail("service '%s' is not enabled from '%s' (no %s)", name, from, link)
		} else if err != nil {
			return fail("disable '%s': %v", name, err)
		}
		if !a.quiet {
			fmt.Fprintf(stdout, "Service '%s' has been disabled.\n", name)
		}
		return ExitOK
	}
	if _, err := os.Lstat(link); err == nil {
		return fail("service '%s' is already enabled from '%s'", name, from)
	}
	// A relative link survives moving the whole directory (an image
	// mounted elsewhere) when the file sits beside the waits-for.d.
	target := d.File
	if filepath.Dir(d.File) == filepath.Dir(fd.WaitsForDirs[0]) {
		target = filepath.Join("..", filepath.Base(d.File))
	}
	if err := os.Symlink(target, link); err != nil {
		return fail("enable '%s': %v", name, err)
	}
	if !a.quiet {
		fmt.Fprintf(stdout, "Service '%s' has been enabled.\n", name)
	}
	return ExitOK
}
