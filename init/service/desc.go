package service

import (
	"fmt"
	"time"

	"ginit/internal/calendar"
)

// Type is the kind of a service (dinit's `type` setting).
type Type uint8

// Service types, as in dinit.
const (
	TypeInternal  Type = iota // no process: a grouping or milestone
	TypeProcess               // a supervised long-running process
	TypeBGProcess             // a launcher that forks a daemon and leaves a pid file
	TypeScripted              // start command that runs to completion, optional stop-command
	TypeTriggered             // like internal, but started only once triggered
	TypeTimer                 // ginit: no process; starts Timer.Target on a schedule (timer.go)
	TypeSocket                // ginit: no process; holds listening sockets and starts Socket.Target on demand (activation.go)
)

var typeNames = [...]string{"internal", "process", "bgprocess", "scripted", "triggered", "timer", "socket"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// ParseType maps a `type` value to a Type.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), true
		}
	}
	return 0, false
}

// DepKind is the kind of a dependency edge (a byte: see TestRecordSizes).
type DepKind uint8

// Dependency kinds: the first three make the target start; before/after only order.
const (
	DepRegular   DepKind = iota // depends-on: target must start and stay up
	DepMilestone                // depends-ms: target must start; may stop afterwards
	DepWaitsFor                 // waits-for: target is started and waited for; its failure is tolerated
	DepBefore                   // before: ordering only; this service starts before the target
	DepAfter                    // after: ordering only; this service starts after the target
)

var depNames = [...]string{"depends-on", "depends-ms", "waits-for", "before", "after"}

func (k DepKind) String() string {
	if int(k) < len(depNames) {
		return depNames[k]
	}
	return fmt.Sprintf("dep(%d)", int(k))
}

// Dep is one dependency edge from the described service to Name.
type Dep struct {
	Name string
	Kind DepKind
	// Prepared (dinit's prepared-by, always with Kind DepRegular): when
	// the dependent restarts, the dependency is restarted first (clean-up
	// or preparation that must run before each run of the dependent).
	Prepared bool
}

// RestartMode is the `restart` setting.
type RestartMode uint8

// Restart modes.
const (
	RestartNo RestartMode = iota
	RestartYes
	RestartOnFailure
)

// LogType is the `log-type` setting.
type LogType uint8

// Log types.
const (
	LogNone LogType = iota
	LogFile
	LogBuffer
	LogPipe
	// LogTail is the default when log-type is not set: the last output is
	// kept in memory, so a failed start can be explained (catlog, status).
	LogTail
)

// Rlimit is one `rlimit-*` setting. Unlimited is represented by RlimInfinity.
type Rlimit struct {
	Soft, Hard uint64
}

// RlimInfinity means "no limit" (matches RLIM_INFINITY on Linux).
const RlimInfinity = ^uint64(0)

// Options are the flags of dinit's `options` setting plus ginit's additions.
type Options struct {
	RunsOnConsole      bool
	StartsOnConsole    bool
	SharesConsole      bool
	UnmaskIntr         bool
	StartsRWFS         bool
	StartsLog          bool
	PassCSFD           bool
	StartInterruptible bool
	Skippable          bool
	SignalProcessOnly  bool
	AlwaysChain        bool
	KillAllOnStop      bool
	NoNewPrivs         bool
	// UserGroups (ginit extension, `options: user-groups`): a numeric
	// run-as uid gets its primary group and supplementary groups from the
	// user database, as a user name does (dinit keeps ginit's gid), so a
	// template run-as = $1 instantiated with a uid (user@1000) runs with
	// the user's groups.
	UserGroups bool
	// RunOnce (ginit extension, `options: run-once`): a scripted service whose
	// start command has succeeded once is never run again; later starts
	// succeed at once (for mounts and other one-time set-up).
	RunOnce bool
}

// LoadOptions is the `load-options` setting.
type LoadOptions struct {
	ExportPasswdVars  bool
	ExportServiceName bool
}

// Description is a fully parsed service description: what the loader
// produces and the manager consumes. Durations of zero mean "none" where
// dinit says 0 disables a timer; the loader fills dinit's defaults.
//
// It holds what most services set; the settings few set are in Extra,
// behind one pointer that stays nil when none is: a description of 704
// bytes for every loaded service was mostly empty strings and slices.
type Description struct {
	Name string // service name, including any @argument
	File string // the file it was loaded from (empty for built-ins)

	Command []string // argv after substitution
	RunAs   string   // user or uid, optionally ":group"

	RestartDelay         time.Duration // default 200ms
	RestartLimitInterval time.Duration // default 10s
	StartTimeout         time.Duration // default 60s; 0 = none
	StopTimeout          time.Duration // default 10s; 0 = none

	Deps []Dep // after expanding the .d directories

	// The numbers with a default other than zero stay here, so that a
	// description without Extra reads as the loader fills it.
	RestartLimitCount int    // default 3; 0 = unlimited
	SocketPermissions uint32 // default 0666
	SocketUID         int32  // -1 = unchanged
	SocketGID         int32  // -1 = unchanged
	// LogFilePermissions is of log-file, default 0600.
	LogFilePermissions uint32
	LogFileUID         int32 // -1 = unchanged
	LogFileGID         int32 // -1 = unchanged
	LogBufferSize      int   // default 4096
	TermSignal         int32 // signal number; 0 = none (do not signal); default SIGTERM (15)

	Type           Type
	Restart        RestartMode
	LogType        LogType
	Terminal       TerminalKind
	Options        Options
	LoadOptions    LoadOptions
	SmoothRecovery bool
	// SocketStdio: the start command's stdin and stdout are its first
	// passed socket (systemd's StandardInput=socket: an Accept=yes
	// instance talks to its client on them, as under inetd).
	SocketStdio bool

	// Timer is the schedule of a type timer service; nil for every other type.
	Timer *TimerSpec
	// Socket is what a type socket service listens on and activates; nil
	// for every other type.
	Socket *SocketSpec

	// More holds the settings few services have; nil when none is set.
	// Read it through Ext, set it through ExtMut.
	More *Extra
}

// Extra is the part of a Description that most services leave unset.
type Extra struct {
	Env         []string // KEY=VALUE from env-file and load-options, in priority order
	WorkingDir  string
	StopCommand []string
	// ReloadCommand lists the commands reload-service runs, in order;
	// $MAINPID and ${MAINPID} in them become the main process's pid.
	ReloadCommand [][]string
	EnvFile       string

	PIDFile string // bgprocess
	// StartClass (ginit: start-class = NAME) puts the service under the
	// manager's per-class limit on parallel starts (--max-starting-class).
	StartClass string
	// Conditions are checked each time the service is about to run
	// (condition.go); a failed one skips the start, a failed Assert fails it.
	Conditions []Condition
	ChainTo    string

	// WaitsForDirs are the waits-for.d directories named by the file, as
	// resolved paths; `enable`/`disable` edit the single one (dinit rule).
	WaitsForDirs []string
	// EnableVia is `@meta enable-via SVC`: the default --from for enable.
	EnableVia string

	SocketListen      string
	VT                int32  // the N of vt:N (Terminal)
	ReadyNotification string // "", "pipefd:N", "pipevar:VAR" or "notify" (sd_notify)

	LogFile    string
	LogMaxSize int64 // ginit: rotate the log file past this size; 0 = never
	ConsumerOf string

	InittabID   string
	InittabLine string

	Rlimits     map[string]Rlimit // keys: "nofile", "core", "data", "addrspace"
	Nice        *int
	IOPrio      string // "", "none", "idle", "realtime:N", "best-effort:N"
	OOMScoreAdj *int
	Umask       *uint32

	RunInCgroup  string
	Chroot       string
	Unshare      []string // ginit: "pid", "mount", "net", "uts", "ipc"
	MemoryMax    int64    // ginit: cgroup memory.max in bytes; 0 = unset
	PidsMax      int64    // ginit: cgroup pids.max; 0 = unset
	CPUWeight    int64    // ginit: cgroup cpu.weight; 0 = unset
	Capabilities string
	Securebits   string
}

// Ext is d's rarely set settings (all unset when d has none): a copy, to
// read. Nil-safe, so a Description built without them reads as unset.
func (d *Description) Ext() Extra {
	if d.More == nil {
		return Extra{}
	}
	return *d.More
}

// ExtMut is d's rarely set settings, to set: made at the first use.
func (d *Description) ExtMut() *Extra {
	if d.More == nil {
		d.More = new(Extra)
	}
	return d.More
}

// TerminalKind is the `terminal` setting.
type TerminalKind uint8

// Terminal kinds.
const (
	TerminalNone TerminalKind = iota
	TerminalPTY
	TerminalVT
)

// TimerSpec is what a timer service runs and when (ginit extension:
// timer-target, on-calendar, on-boot, on-active, on-unit-inactive,
// randomized-delay, persistent).
type TimerSpec struct {
	Target   string // the service each elapse starts
	Triggers calendar.Triggers
	// Run is the target the loader made from the timer's own command
	// (a timer with `command` and no timer-target): a scripted service
	// named Target with the timer's process settings. It is installed
	// with the timer; nil when timer-target names a service.
	Run *Description
}

// DependsOn reports whether d has an edge of kind k to name.
func (d *Description) DependsOn(name string, k DepKind) bool {
	for _, e := range d.Deps {
		if e.Name == name && e.Kind == k {
			return true
		}
	}
	return false
}

// ListenKind is the kind of one listening socket of a socket service.
type ListenKind int

// Listen kinds (systemd's ListenStream, ListenDatagram,
// ListenSequentialPacket, ListenFIFO).
const (
	ListenStream ListenKind = iota
	ListenDatagram
	ListenSeqPacket
	ListenFIFO
)

var listenNames = [...]string{"stream", "datagram", "seqpacket", "fifo"}

func (k ListenKind) String() string {
	if int(k) < len(listenNames) {
		return listenNames[k]
	}
	return fmt.Sprintf("listen(%d)", int(k))
}

// Listen is one socket a socket service makes at its start and keeps
// until it stops.
type Listen struct {
	Kind ListenKind
	// Addr is an absolute path (a unix socket, or the FIFO), "@name" (an
	// abstract unix socket), a port, "ADDR:PORT" or "[V6ADDR]:PORT".
	Addr    string
	Mode    uint32 // of a unix socket or FIFO; 0: 0666
	UID     int    // owner of a unix socket or FIFO; -1: ginit's
	GID     int
	DirMode uint32 // parents made for a path; 0: 0755
	Backlog int    // 0: SOMAXCONN
	// IPv6Only is BindIPv6Only: "" or "default" (the kernel's setting),
	// "both" or "ipv6-only".
	IPv6Only  string
	ReusePort bool
	Name      string // FileDescriptorName (LISTEN_FDNAMES); "": the service's name
}

// SocketSpec is what a type socket service listens on and which service
// a connection starts (ginit: socket-listen with socket-activation =
// on-demand; systemd .socket units with Accept=no).
type SocketSpec struct {
	// Target is the service started on the first connection; it gets
	// the sockets as LISTEN_FDS. With Accept it is a template's name:
	// each connection starts the instance Target@N-LOCAL-REMOTE with that
	// connection alone (LISTEN_FDS=1).
	Target string
	Accept bool
	// MaxConnections bounds the instances of an Accept socket running at
	// once; a client beyond it waits in the backlog. 0: 64.
	MaxConnections int
	Listen         []Listen
	// RemoveOnStop unlinks the unix socket and FIFO paths made when the
	// service stops.
	RemoveOnStop bool
	// TriggerBurst starts of Target within TriggerInterval stop the
	// socket service (ReasonRestartLimit): a target that never serves the
	// waiting client would otherwise be started again at once, for ever.
	// Zero values: 200 in 2s (systemd's default); an Accept socket has
	// no limit unless TriggerBurst is set (each trigger consumes a
	// connection, so nothing spins).
	TriggerInterval time.Duration
	TriggerBurst    int
}
