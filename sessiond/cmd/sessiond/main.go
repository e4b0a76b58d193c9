// Command sessiond is the logind-compatible session daemon: it owns
// org.freedesktop.login1 on the system bus. See docs/sessiond.8.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"ginit/init/control"
	"ginit/internal/version"
	"ginit/sessiond"
	"ginit/sessiond/sys"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sessiond:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sessiond", flag.ContinueOnError)
	busAddr := fs.String("bus", "", "D-Bus address to serve on (default: $DBUS_SYSTEM_BUS_ADDRESS, else the system bus)")
	runDir := fs.String("run-dir", "/run", "root of the state files (systemd/{sessions,users,seats}) and runtime dirs (user/UID)")
	cgRoot := fs.String("cgroup-root", "auto", "cgroup2 directory under which user.slice is created (auto: PID 1's cgroup; none: no cgroup2)")
	cgLegacy := fs.String("cgroup-legacy-root", "auto", "name=systemd v1 directory for the same layout (auto, none or a path)")
	linger := fs.String("linger-dir", "/var/lib/systemd/linger", "directory of lingering users' marker files")
	stopTimeout := fs.Duration("stop-timeout", 10*time.Second, "SIGTERM to SIGKILL delay when terminating a session")
	runtimeSize := fs.String("runtime-size", "", "size of the tmpfs mounted on each /run/user/UID: bytes, K/M/G or % of RAM (default: -config's RuntimeDirectorySize=, else 10%)")
	vts := fs.String("vts", "auto", "virtual terminals on seat0: auto, on or off")
	nAutoVTs := fs.Uint("n-autovts", 6, "value of the NAutoVTs property")
	debug := fs.Bool("debug", false, "log debug messages")
	configPath := fs.String("config", "/etc/systemd/logind.conf", "logind.conf-style file whose [Login] section sets the power keys, InhibitDelayMaxSec, … (missing: logind's defaults)")
	ginitSock := fs.String("ginit-socket", control.DefaultSystemSocket(), "ginit's control socket, asked to power off, reboot or halt")
	rebootFallback := fs.Bool("reboot-fallback", false, "call reboot(2) itself when no ginit answers on -ginit-socket (only where sessiond runs under another init)")
	powerDir := fs.String("sys-power", "/sys/power", "directory of the kernel's sleep files (state, disk)")
	wtmp := fs.String("wtmp", "/var/log/wtmp", "wtmp file that gets the shutdown record (empty: none)")
	udevDir := fs.String("udev-dir", "/run/udev", "udev's database: seats, CanGraphical and uaccess devices from it, followed through udev's netlink monitor (empty: no udev; seat0's graphics are polled from sysfs)")
	rulesDir := fs.String("udev-rules-dir", "/etc/udev/rules.d", "where AttachDevice writes its 72-seat-*.rules")
	inputDir := fs.String("input-dir", "/dev/input", "evdev devices watched for power/reboot/suspend/hibernate keys and the lid switch (empty: none)")
	readyFD := fs.Int("ready-fd", -1, "write a newline to this fd once serving (dinit ready-notification = pipefd:N); $NOTIFY_SOCKET gets READY=1 too")
	showVersion := fs.Bool("version", false, "print the release and the commit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *showVersion {
		_, err := fmt.Fprintln(stdout, version.Line("sessiond"))
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	roots := sys.DetectCgroupRoots()
	switch *cgRoot {
	case "auto":
	case "none":
		roots.Unified = ""
	default:
		roots.Unified = filepath.Clean(*cgRoot)
	}
	switch *cgLegacy {
	case "auto":
	case "none":
		roots.Legacy = ""
	default:
		roots.Legacy = filepath.Clean(*cgLegacy)
	}
	login, err := sessiond.LoadLoginConfig(*configPath)
	if err != nil {
		return err
	}
	if *runtimeSize != "" {
		n, err := sessiond.ParseRuntimeSize(*runtimeSize)
		if err != nil {
			return fmt.Errorf("-runtime-size %s: %w", *runtimeSize, err)
		}
		login.RuntimeDirectorySize = n
	}
	host := &sys.Host{Roots: roots,
		RuntimeSize: login.RuntimeDirectorySize, RuntimeInodes: login.RuntimeDirectoryInodesMax}
	cfg := sessiond.Config{
		Login: login,
		Power: &sys.Power{ControlSocket: *ginitSock, RebootFallback: *rebootFallback,
			PowerDir: *powerDir, Wtmp: *wtmp, Log: log},
		RunDir:       *runDir,
		LingerDir:    *linger,
		StopTimeout:  *stopTimeout,
		NAutoVTs:     uint32(*nAutoVTs),
		Host:         host,
		ACL:          host,
		Clock:        sessiond.SystemClock{},
		Log:          log,
		CanGraphical: sys.HaveGraphics,
	}
	switch *vts {
	case "on":
		cfg.VTs = sys.VTs{ActiveFile: "/sys/class/tty/tty0/active", Console: "/dev/tty0"}
	case "auto":
		if sys.HaveVTs() {
			cfg.VTs = sys.VTs{ActiveFile: "/sys/class/tty/tty0/active", Console: "/dev/tty0"}
		}
	case "off":
	default:
		return fmt.Errorf("-vts: want auto, on or off, not %q", *vts)
	}
	if *udevDir != "" {
		cfg.Udev = &sys.Udev{RunDir: *udevDir, Sys: "/sys", Dev: "/dev", RulesDir: *rulesDir}
	}
	if *inputDir != "" {
		cfg.Buttons = &sys.Buttons{Dir: *inputDir, Log: log}
	}
	cfg.Ready = func() { notifyReady(*readyFD, log) }
	log.Info("cgroup placement", "unified", roots.Unified, "legacy", roots.Legacy)
	return sessiond.Serve(ctx, cfg, *busAddr)
}

// notifyReady tells the service manager that login1 is being served:
// through an inherited pipe (dinit's pipefd) and/or sd_notify's socket.
func notifyReady(fd int, log *slog.Logger) {
	if fd >= 0 {
		f := os.NewFile(uintptr(fd), "ready-fd")
		if _, err := f.Write([]byte("\n")); err != nil {
			log.Warn("ready notification", "fd", fd, "err", err)
		}
		f.Close()
	}
	if sock := os.Getenv("NOTIFY_SOCKET"); sock != "" {
		if sock[0] == '@' {
			sock = "\x00" + sock[1:]
		}
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
		if err != nil {
			log.Warn("sd_notify", "err", err)
			return
		}
		defer c.Close()
		if _, err := c.Write([]byte("READY=1")); err != nil {
			log.Warn("sd_notify", "err", err)
		}
	}
}
