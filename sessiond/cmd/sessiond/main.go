// Command sessiond is the logind-compatible session daemon: it owns
// org.freedesktop.login1 on the system bus. See docs/sessiond.8.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ginit/init/control"
	"ginit/internal/i18n"
	"ginit/internal/opts"
	"ginit/internal/prof"
	"ginit/internal/version"
	"ginit/sessiond"
	"ginit/sessiond/sys"
)

// gcPercent is sessiond's GOGC unless the environment sets one: its
// heap is a few MiB of long-lived records, so collecting at +25% instead
// of +100% costs little CPU and keeps its resident size near its live
// size (Go's default headroom doubled it).
const gcPercent = 25

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	// One P unless GOMAXPROCS says otherwise: the state has one owner and
	// a call is a few microseconds of work, so more Ps only add thread
	// hand-offs (futex wake-ups) between the bus reader, the handler and
	// the owner; measured against elogind, read calls answered faster.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	// The heap's free pages go back once work pauses (sessiond.MemoryTrim).
	sessiond.NewMemoryTrim(sessiond.SystemClock{}, sessiond.DefaultTrimDelay, debug.FreeOSMemory, nil).Start()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	tr := i18n.ForEnv(os.Getenv)
	stopProfile := prof.Start("SESSIOND", false)
	err := run(ctx, os.Args[1:], os.Stdout, tr)
	stopProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessiond:", err)
		var ue usageError
		if errors.As(err, &ue) {
			tr.Fprintf(os.Stderr, "Try '%s --help' for more information.\n", "sessiond")
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a bad command line (exit status 2).
type usageError struct{ error }

// options is sessiond's command line.
type options struct {
	busAddr, runDir, cgRoot, cgLegacy, linger string
	stopTimeout                               time.Duration
	runtimeSize, vts                          string
	nAutoVTs                                  uint
	debug                                     bool
	configPath, ginitSock                     string
	rebootFallback                            bool
	powerDir, wtmp, inputDir                  string
	udevDir, rulesDir, udevSys, udevDev       string
	readyFD                                   int
	userMgrs, userCmd                         string
	userWait                                  time.Duration
	help, version                             bool
}

// flags declares sessiond's options (long only, as before; the single-dash
// spellings of Go's flag package are still read: opts.GoStyle).
func flags(tr *i18n.Printer) (*options, *pflag.FlagSet) {
	o := &options{}
	fs := opts.New("sessiond")
	fs.StringVar(&o.busAddr, "bus", "", tr.T("D-Bus `ADDRESS` to serve on (default: $DBUS_SYSTEM_BUS_ADDRESS, else the system bus)"))
	fs.StringVar(&o.runDir, "run-dir", "/run", tr.T("root of the state files (systemd/{sessions,users,seats}) and runtime dirs (user/UID)"))
	fs.StringVar(&o.cgRoot, "cgroup-root", "auto", tr.T("cgroup2 `DIR` under which user.slice is created (auto: PID 1's cgroup; none: no cgroup2)"))
	fs.StringVar(&o.cgLegacy, "cgroup-legacy-root", "auto", tr.T("name=systemd v1 `DIR` for the same layout (auto, none or a path)"))
	fs.StringVar(&o.linger, "linger-dir", "/var/lib/systemd/linger", tr.T("`DIR` of lingering users' marker files"))
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 10*time.Second, tr.T("SIGTERM to SIGKILL `DELAY` when terminating a session"))
	fs.StringVar(&o.runtimeSize, "runtime-size", "", tr.T("`SIZE` of the tmpfs mounted on each /run/user/UID: bytes, K/M/G or % of RAM (default: the config's RuntimeDirectorySize=, else 10%)"))
	fs.StringVar(&o.vts, "vts", "auto", tr.T("virtual terminals on seat0: `auto`, on or off"))
	fs.UintVar(&o.nAutoVTs, "n-autovts", 6, tr.T("`N`, the value of the NAutoVTs property"))
	opts.Switch(fs, &o.debug, "debug", "", tr.T("log debug messages"))
	fs.StringVar(&o.configPath, "config", "/etc/systemd/logind.conf", tr.T("logind.conf-style `FILE` whose [Login] section sets the power keys, InhibitDelayMaxSec, ... (missing: logind's defaults)"))
	fs.StringVar(&o.ginitSock, "ginit-socket", control.DefaultSystemSocket(), tr.T("ginit's control socket `PATH`, asked to power off, reboot or halt"))
	opts.Switch(fs, &o.rebootFallback, "reboot-fallback", "", tr.T("call reboot(2) itself when no ginit answers on --ginit-socket (only where sessiond runs under another init)"))
	fs.StringVar(&o.powerDir, "sys-power", "/sys/power", tr.T("`DIR` of the kernel's sleep files (state, disk)"))
	fs.StringVar(&o.wtmp, "wtmp", "/var/log/wtmp", tr.T("wtmp `FILE` that gets the shutdown record (empty: none)"))
	fs.StringVar(&o.udevDir, "udev-dir", "/run/udev", tr.T("udev's database `DIR`: seats, CanGraphical and uaccess devices from it, followed through udev's netlink monitor (empty: no udev; seat0's graphics are polled from sysfs)"))
	fs.StringVar(&o.rulesDir, "udev-rules-dir", "/etc/udev/rules.d", tr.T("`DIR` where AttachDevice writes its 72-seat-*.rules"))
	fs.StringVar(&o.udevSys, "udev-sys", "/sys", tr.T("sysfs `DIR` as seen for udev's devices (their nodes, AttachDevice's paths and triggers); for tests"))
	fs.StringVar(&o.udevDev, "udev-dev", "/dev", tr.T("`DIR` of the seats' device nodes (uaccess ACLs); for tests"))
	fs.StringVar(&o.inputDir, "input-dir", "/dev/input", tr.T("`DIR` of evdev devices watched for power/reboot/suspend/hibernate keys and the lid switch (empty: none)"))
	fs.IntVar(&o.readyFD, "ready-fd", -1, tr.T("write a newline to this `FD` once serving (dinit ready-notification = pipefd:N); $NOTIFY_SOCKET gets READY=1 too"))
	fs.StringVar(&o.userMgrs, "user-managers", "auto", tr.T("who runs the users' service managers (user@UID): ginit (start/stop over --ginit-socket), self (sessiond's children), none, or `auto` (ginit when --ginit-socket answers at start, else self if its command exists)"))
	fs.StringVar(&o.userCmd, "user-manager-command", "/usr/sbin/ginit --user", tr.T("the manager's `COMMAND` line when sessiond runs it itself (words split at spaces)"))
	fs.DurationVar(&o.userWait, "user-start-wait", sessiond.DefaultUserStartWait, tr.T("how long CreateSession waits for the manager of a user's first session (never longer, never failing the login): a `DELAY`"))
	opts.Switch(fs, &o.help, "help", "h", tr.T("print this text"))
	opts.Switch(fs, &o.version, "version", "", tr.T("print the release and the commit"))
	return o, fs
}

func run(ctx context.Context, args []string, stdout io.Writer, tr *i18n.Printer) error {
	o, fs := flags(tr)
	if err := opts.Parse(fs, opts.GoStyle(fs, args), tr); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{tr.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if o.help {
		opts.Help(stdout, tr, tr.T("sessiond [OPTION]..."),
			tr.T("The logind-compatible session daemon: it owns org.freedesktop.login1 on the system bus."), fs, "")
		return nil
	}
	if o.version {
		_, err := fmt.Fprintln(stdout, version.Line("sessiond"))
		return err
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	roots := sys.DetectCgroupRoots()
	switch o.cgRoot {
	case "auto":
	case "none":
		roots.Unified = ""
	default:
		roots.Unified = filepath.Clean(o.cgRoot)
	}
	switch o.cgLegacy {
	case "auto":
	case "none":
		roots.Legacy = ""
	default:
		roots.Legacy = filepath.Clean(o.cgLegacy)
	}
	login, err := sessiond.LoadLoginConfig(o.configPath)
	if err != nil {
		return err
	}
	if o.runtimeSize != "" {
		n, err := sessiond.ParseRuntimeSize(o.runtimeSize)
		if err != nil {
			return usageError{tr.Errorf("option --runtime-size: %q: %v", o.runtimeSize, err)}
		}
		login.RuntimeDirectorySize = n
	}
	host := &sys.Host{Roots: roots,
		RuntimeSize: login.RuntimeDirectorySize, RuntimeInodes: login.RuntimeDirectoryInodesMax}
	cfg := sessiond.Config{
		Login: login,
		Power: &sys.Power{ControlSocket: o.ginitSock, RebootFallback: o.rebootFallback,
			PowerDir: o.powerDir, Wtmp: o.wtmp, Log: log},
		RunDir:       o.runDir,
		LingerDir:    o.linger,
		StopTimeout:  o.stopTimeout,
		NAutoVTs:     uint32(o.nAutoVTs),
		Host:         host,
		ACL:          host,
		Clock:        sessiond.SystemClock{},
		Log:          log,
		CanGraphical: sys.HaveGraphics,
	}
	switch o.vts {
	case "on":
		cfg.VTs = sys.VTs{ActiveFile: "/sys/class/tty/tty0/active", Console: "/dev/tty0"}
	case "auto":
		if sys.HaveVTs() {
			cfg.VTs = sys.VTs{ActiveFile: "/sys/class/tty/tty0/active", Console: "/dev/tty0"}
		}
	case "off":
	default:
		return usageError{tr.Errorf("option --vts: want auto, on or off, not %q", o.vts)}
	}
	if o.udevDir != "" {
		cfg.Udev = &sys.Udev{RunDir: o.udevDir, Sys: o.udevSys, Dev: o.udevDev, RulesDir: o.rulesDir}
	}
	if o.inputDir != "" {
		cfg.Buttons = &sys.Buttons{Dir: o.inputDir, Log: log}
	}
	um, err := userManagers(o.userMgrs, o.userCmd, o.ginitSock, roots.Unified, o.stopTimeout, log)
	if err != nil {
		return err
	}
	if um != nil {
		cfg.UserManagers = um
	}
	cfg.UserStartWait = o.userWait
	cfg.Ready = func() { notifyReady(o.readyFD, log) }
	log.Info("cgroup placement", "unified", roots.Unified, "legacy", roots.Legacy)
	return sessiond.Serve(ctx, cfg, o.busAddr)
}

// userManagers chooses who runs the users' managers (--user-managers).
func userManagers(mode, command, ginitSock, unified string, stopTimeout time.Duration, log *slog.Logger) (*sys.UserManagers, error) {
	um := &sys.UserManagers{Unified: unified, Command: strings.Fields(command),
		StartTimeout: 30 * time.Second, StopTimeout: stopTimeout + 5*time.Second, Log: log}
	switch mode {
	case "none":
		return nil, nil
	case "ginit":
		um.GinitSocket = ginitSock
	case "self":
	case "auto":
		if c, err := control.Dial(ginitSock); err == nil {
			c.Close()
			um.GinitSocket = ginitSock
			break
		}
		// Without ginit and without its binary there is nothing to run.
		if len(um.Command) == 0 {
			return nil, nil
		}
		if _, err := exec.LookPath(um.Command[0]); err != nil {
			log.Info("user managers: none", "reason", err)
			return nil, nil
		}
	default:
		return nil, usageError{fmt.Errorf("option --user-managers: want auto, ginit, self or none, not %q", mode)}
	}
	if um.GinitSocket == "" && len(um.Command) == 0 {
		return nil, usageError{fmt.Errorf("option --user-manager-command is empty")}
	}
	by := "sessiond"
	if um.GinitSocket != "" {
		by = "ginit at " + um.GinitSocket
	}
	log.Info("user managers", "run by", by)
	return um, nil
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
