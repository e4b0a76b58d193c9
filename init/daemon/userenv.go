package daemon

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// userSessionEnv is what a user instance adds to its environment when it
// is missing, so that it and its services find the login's directories
// even when started by a system manager (user@UID) rather than from a
// login shell: XDG_RUNTIME_DIR is /run/user/UID when that is a directory
// owned by uid (as pam_systemd and pam_sessiond set it), and
// DBUS_SESSION_BUS_ADDRESS the session bus in it, where the shipped dbus
// user service listens. owner reports a directory's owner (ok false: no
// such directory).
func userSessionEnv(getenv func(string) string, uid int, owner func(dir string) (int, bool)) []string {
	var add []string
	rt := getenv("XDG_RUNTIME_DIR")
	if rt == "" {
		dir := filepath.Join("/run/user", strconv.Itoa(uid))
		if o, ok := owner(dir); ok && o == uid {
			rt = dir
			add = append(add, "XDG_RUNTIME_DIR="+dir)
		}
	}
	if rt != "" && getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		add = append(add, "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(rt, "bus"))
	}
	return add
}

// dirOwner is userSessionEnv's owner on the real file system.
func dirOwner(dir string) (int, bool) {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
