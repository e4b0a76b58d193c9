package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// SessionBusConfig is a dbus-daemon configuration for a throw-away bus that
// listens on the unix socket at path and lets every client do everything
// (tests of programs that merely need some bus).
func SessionBusConfig(path string) string {
	return fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`, path)
}

// PrivateBus starts a throw-away dbus-daemon (SessionBusConfig; no root
// needed), stopped when the test ends, and returns its address once it
// accepts connections. It skips the test when dbus-daemon is missing.
func PrivateBus(tb testing.TB) string {
	tb.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		tb.Skip("dbus-daemon not installed")
	}
	dir := tb.TempDir()
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(SessionBusConfig(sock)), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--nofork", "--nopidfile", "--config-file="+conf)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { Stop(cmd) })
	if !Listening(sock, 5*time.Second) {
		tb.Fatal("dbus-daemon did not come up")
	}
	return "unix:path=" + sock
}

// Listening waits up to within for a unix socket at path to accept a
// connection. The socket file appears at bind(2), before listen(2):
// waiting for the file alone let clients in too early (connection
// refused).
func Listening(path string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
