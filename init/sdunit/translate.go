package sdunit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/loader"
	"ginit/init/service"
	"ginit/internal/calendar"
)

// systemd's defaults where they differ from dinit's.
const (
	defaultTimeout      = 90 * time.Second
	defaultRestartDelay = 100 * time.Millisecond
	defaultStartLimit   = 10 * time.Second
	defaultStartBurst   = 5
	defaultRuntimeMode  = 0o755
	maxExecLinesPerUnit = 256
)

// translator carries one unit's state while its options are mapped.
type translator struct {
	s        *Source
	name     string // the ginit name
	unit     string // the unit name (ssh.service, getty@tty1.service)
	file     string
	log      service.Logger
	spec     specifiers
	errs     loader.ErrorList
	d        *service.Description
	env      envList
	user     string
	group    string
	busName  string // Type=dbus: the BusName= ginit-busname waits for
	lastUser *option
}

func newTranslator(s *Source, name, u, file string, log service.Logger) *translator {
	prefix, inst, _, _ := splitTemplate(u)
	base := strings.TrimSuffix(u, filepath.Ext(u))
	host := ""
	hostname := s.cfg.Hostname
	if hostname == nil {
		hostname = os.Hostname
	}
	if h, err := hostname(); err == nil {
		host = h
	}
	t := &translator{s: s, name: name, unit: u, file: file, log: log}
	t.spec = specifiers{
		'n': u, 'N': base, 'p': prefix, 'P': unescapeName(prefix),
		'i': inst, 'I': unescapeName(inst), 'j': lastDash(prefix), 'J': unescapeName(lastDash(prefix)),
		'f': "/" + strings.TrimPrefix(unescapePath(inst), "/"),
		'H': host, 'l': strings.SplitN(host, ".", 2)[0],
		't': "/run", 'S': "/var/lib", 'C': "/var/cache", 'L': "/var/log", 'E': "/etc",
		'T': "/tmp", 'V': "/var/tmp", 'y': file, 'Y': filepath.Dir(file),
		'u': "root", 'U': "0", 'g': "root", 'G': "0", 'h': "/root", 's': "/bin/sh",
	}
	if inst == "" {
		t.spec['f'] = "/" + unescapePath(prefix)
	}
	machineSpecifiers(t.spec)
	t.d = &service.Description{
		Name: name, File: file,
		Type:                 service.TypeInternal,
		Restart:              service.RestartNo,
		RestartDelay:         defaultRestartDelay,
		RestartLimitInterval: defaultStartLimit,
		RestartLimitCount:    defaultStartBurst,
		StartTimeout:         defaultTimeout,
		StopTimeout:          defaultTimeout,
		TermSignal:           int32(unix.SIGTERM),
		SocketPermissions:    0o666,
		SocketUID:            -1, SocketGID: -1,
		LogType:            service.LogTail,
		LogFilePermissions: 0o600, LogFileUID: -1, LogFileGID: -1,
		LogBufferSize: 4096,
	}
	return t
}

// machineSpecifiers adds the specifiers that describe the machine: %m
// machine id, %b boot id, %v kernel release, %a architecture, and the
// os-release fields %o %w %B %W %A %M. One that cannot be read stays unset,
// so a unit using it is refused rather than given a wrong value.
func machineSpecifiers(sp specifiers) {
	first := func(path string) (string, bool) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", false
		}
		v := strings.TrimSpace(string(b))
		return v, v != ""
	}
	if v, ok := first("/etc/machine-id"); ok {
		sp['m'] = v
	}
	if v, ok := first("/proc/sys/kernel/random/boot_id"); ok {
		sp['b'] = strings.ReplaceAll(v, "-", "")
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		sp['v'] = unix.ByteSliceToString(u.Release[:])
	}
	if a, ok := map[string]string{"amd64": "x86-64", "386": "x86", "arm64": "arm64", "arm": "arm",
		"riscv64": "riscv64", "ppc64le": "ppc64-le", "s390x": "s390x", "loong64": "loongarch64"}[runtime.GOARCH]; ok {
		sp['a'] = a
	}
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		data, err = os.ReadFile("/usr/lib/os-release")
	}
	if err != nil {
		return
	}
	fields := map[string]byte{"ID": 'o', "VERSION_ID": 'w', "BUILD_ID": 'B', "VARIANT_ID": 'W', "IMAGE_ID": 'M', "IMAGE_VERSION": 'A'}
	for _, l := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if c, known := fields[k]; ok && known {
			sp[c] = strings.Trim(v, `"'`)
		}
	}
}

func lastDash(p string) string {
	if i := strings.LastIndexByte(p, '-'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// unescapeName undoes systemd's \xHH escaping of unit name parts.
func unescapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unescapePath is systemd-escape --path -u: '-' separates directories.
func unescapePath(s string) string {
	return unescapeName(strings.ReplaceAll(s, "-", "/"))
}

func (t *translator) fail(o *option, format string, args ...any) {
	e := &loader.Error{File: t.file, Service: t.name, Err: fmt.Errorf(format, args...)}
	if o != nil {
		e.File, e.Line, e.Setting = o.file, o.line, o.key
	}
	t.errs = append(t.errs, e)
}

func (t *translator) warn(o *option, format string, args ...any) {
	if t.log == nil {
		return
	}
	e := &loader.Error{File: t.file, Service: t.name, Err: fmt.Errorf(format, args...)}
	if o != nil {
		e.File, e.Line, e.Setting = o.file, o.line, o.key
	}
	t.log.Printf("%v", e)
}

// warnAt is warn naming the line only, not one setting.
func (t *translator) warnAt(o *option, format string, args ...any) {
	if t.log != nil {
		t.log.Printf("%v", &loader.Error{File: o.file, Line: o.line, Service: t.name, Err: fmt.Errorf(format, args...)})
	}
}

// value expands the specifiers of an option's value.
func (t *translator) value(o *option) (string, bool) {
	v, err := t.spec.expand(o.value)
	if err != nil {
		t.fail(o, "%v", err)
		return "", false
	}
	return v, true
}

// unitSet collects the options by section and key with systemd's
// assignment rules: list keys add, an empty assignment resets; other keys
// are overwritten by later assignments.
type unitSet struct {
	by    map[string][]*option
	order []*option // every option in file order, for the unknown-key pass
}

func collect(opts []option) *unitSet {
	u := &unitSet{by: map[string][]*option{}}
	for i := range opts {
		o := &opts[i]
		k := o.section + "/" + o.key
		u.order = append(u.order, o)
		if o.value == "" {
			u.by[k] = nil
			continue
		}
		u.by[k] = append(u.by[k], o)
	}
	return u
}

func (u *unitSet) all(section, key string) []*option { return u.by[section+"/"+key] }

func (u *unitSet) last(section, key string) *option {
	l := u.by[section+"/"+key]
	if len(l) == 0 {
		return nil
	}
	return l[len(l)-1]
}

// keyClass says what the translator does with a key.
type keyClass int

const (
	keyUnknown keyClass = iota
	keyMapped           // mapped onto the description
	keyInfo             // meaning nothing to a service manager at run time
	keyIgnored          // safe to ignore: reported, the unit loads
	keyRefused          // ignoring it would change behaviour: the unit is refused
)

// classify is the table of every key ginit knows in the sections it reads,
// with why an ignored or refused key is so.
func classify(section, key string) (keyClass, string) {
	if section == "Unit" && conditionKind(key) != "" {
		return keyMapped, ""
	}
	switch section + "/" + key {
	case "Unit/Description", "Unit/Documentation", "Unit/DefaultDependencies", "Unit/SourcePath",
		"Install/Alias", "Install/Also", "Install/DefaultInstance", "Install/WantedBy", "Install/RequiredBy",
		"Install/UpheldBy", "Unit/RefuseManualStart", "Unit/RefuseManualStop", "Unit/AllowIsolate",
		"Unit/IgnoreOnIsolate", "Unit/CollectMode", "Service/SyslogIdentifier", "Service/SyslogFacility",
		"Service/SyslogLevel", "Service/SyslogLevelPrefix", "Service/LogLevelMax", "Service/LogExtraFields",
		"Service/LogRateLimitIntervalSec", "Service/LogRateLimitBurst", "Service/LogNamespace",
		"Service/IgnoreSIGPIPE", "Service/RemainAfterExit", "Service/GuessMainPID", "Service/SendSIGHUP",
		"Service/SendSIGKILL", "Service/FinalKillSignal", "Service/TimeoutAbortSec", "Service/WatchdogSignal",
		"Service/NotifyAccess", "Service/FileDescriptorStoreMax", "Service/FileDescriptorStorePreserve",
		"Service/RuntimeDirectoryPreserve", "Service/KeyringMode", "Service/OOMPolicy",
		"Unit/StopWhenUnneeded", "Unit/JobTimeoutSec", "Unit/JobRunningTimeoutSec", "Unit/JobTimeoutAction":
		return keyInfo, ""
	case "Unit/Requires", "Unit/Wants", "Unit/BindsTo", "Unit/Requisite", "Unit/After", "Unit/Before",
		"Unit/PartOf", "Unit/Upholds", "Unit/Conflicts", "Unit/OnFailure", "Unit/StartLimitIntervalSec",
		"Unit/StartLimitInterval", "Unit/StartLimitBurst",
		"Service/Type", "Service/ExecStart", "Service/ExecStartPre", "Service/ExecStartPost",
		"Service/ExecStop", "Service/ExecStopPost", "Service/ExecReload", "Service/ExecCondition",
		"Service/Restart", "Service/RestartSec", "Service/TimeoutSec", "Service/TimeoutStartSec",
		"Service/TimeoutStopSec", "Service/User", "Service/Group",
		"Service/WorkingDirectory", "Service/RootDirectory", "Service/Environment", "Service/EnvironmentFile",
		"Service/PIDFile", "Service/RuntimeDirectory", "Service/StateDirectory", "Service/LogsDirectory",
		"Service/CacheDirectory", "Service/ConfigurationDirectory", "Service/RuntimeDirectoryMode",
		"Service/StateDirectoryMode", "Service/LogsDirectoryMode", "Service/CacheDirectoryMode",
		"Service/ConfigurationDirectoryMode", "Service/KillMode", "Service/KillSignal",
		"Service/NoNewPrivileges", "Service/CapabilityBoundingSet", "Service/AmbientCapabilities",
		"Service/UMask", "Service/Nice", "Service/OOMScoreAdjust", "Service/IOSchedulingClass",
		"Service/IOSchedulingPriority", "Service/StandardInput", "Service/StandardOutput",
		"Service/StandardError", "Service/TTYPath", "Service/MemoryMax", "Service/TasksMax",
		"Service/CPUWeight", "Service/PrivateNetwork", "Service/BusName", "Service/Sockets",
		"Service/StartLimitIntervalSec", "Service/StartLimitBurst", "Service/ReloadSignal":
		return keyMapped, ""
	case "Socket/DirectoryMode", "Socket/ListenStream", "Socket/Accept", "Socket/SocketMode", "Socket/SocketUser", "Socket/SocketGroup",
		"Socket/Service", "Socket/ListenDatagram", "Socket/ListenSequentialPacket", "Socket/ListenFIFO",
		"Socket/ListenNetlink", "Socket/ListenSpecial", "Socket/ListenMessageQueue", "Socket/ListenUSBFunction",
		"Socket/RemoveOnStop", "Socket/Backlog", "Socket/FileDescriptorName", "Socket/BindIPv6Only", "Socket/ReusePort",
		"Socket/TriggerLimitIntervalSec", "Socket/TriggerLimitBurst", "Socket/MaxConnections":
		return keyMapped, ""
	case "Socket/SocketGroupMode", "Socket/PassCredentials",
		"Socket/PassSecurity", "Socket/PassPacketInfo", "Socket/ReceiveBuffer", "Socket/SendBuffer",
		"Socket/Symlinks", "Socket/KeepAlive", "Socket/NoDelay",
		"Socket/MaxConnectionsPerSource", "Socket/Priority",
		"Socket/Timestamping", "Socket/Writable", "Socket/FlushPending", "Socket/PollLimitIntervalSec", "Socket/PollLimitBurst", "Socket/SELinuxContextFromNet":
		return keyIgnored, "socket tuning ginit does not apply"
	case "Unit/ConditionSecurity",
		"Unit/ConditionCapability", "Unit/ConditionFirstBoot", "Unit/ConditionNeedsUpdate", "Unit/ConditionACPower",
		"Unit/ConditionControlGroupController", "Unit/ConditionMemory", "Unit/ConditionCPUs", "Unit/ConditionHost",
		"Unit/ConditionArchitecture", "Unit/ConditionKernelVersion", "Unit/ConditionCredential",
		"Unit/ConditionEnvironment", "Unit/ConditionOSRelease", "Unit/ConditionUser", "Unit/ConditionGroup",
		"Unit/ConditionFirmware", "Unit/ConditionCPUFeature", "Unit/ConditionMemoryPressure",
		"Unit/ConditionCPUPressure", "Unit/ConditionIOPressure", "Unit/ConditionPathIsEncrypted":
		return keyIgnored, "condition not evaluated by ginit: assumed true"
	case "Unit/RequiresMountsFor", "Unit/WantsMountsFor", "Unit/OnSuccess", "Unit/OnFailureJobMode",
		"Unit/PropagatesReloadTo", "Unit/ReloadPropagatedFrom", "Unit/PropagatesStopTo", "Unit/StopPropagatedFrom",
		"Unit/JoinsNamespaceOf", "Unit/FailureAction", "Unit/SuccessAction", "Unit/StartLimitAction",
		"Unit/RebootArgument":
		return keyIgnored, "unit relation or action ginit does not model"
	case "Service/WatchdogSec", "Service/RuntimeMaxSec", "Service/RuntimeRandomizedExtraSec",
		"Service/TimeoutStartFailureMode", "Service/TimeoutStopFailureMode", "Service/RestartMode",
		"Service/RestartSteps", "Service/RestartMaxDelaySec", "Service/ExitType", "Service/RestartForceExitStatus",
		"Service/RestartKillSignal", "Service/USBFunctionDescriptors", "Service/USBFunctionStrings",
		"Service/OpenFile", "Service/Delegate", "Service/DelegateSubgroup", "Service/Slice",
		"Service/CPUAccounting", "Service/MemoryAccounting", "Service/IOAccounting", "Service/TasksAccounting",
		"Service/IPAccounting", "Service/BlockIOAccounting", "Service/MemoryLow", "Service/MemoryHigh",
		"Service/MemoryMin", "Service/MemorySwapMax", "Service/CPUQuota", "Service/CPUShares",
		"Service/StartupCPUWeight", "Service/IOWeight", "Service/StartupIOWeight", "Service/BlockIOWeight",
		"Service/ManagedOOMSwap", "Service/ManagedOOMMemoryPressure", "Service/ManagedOOMPreference",
		"Service/MemoryPressureWatch", "Service/CoredumpFilter", "Service/CoredumpReceive", "Service/TimerSlackNSec",
		"Service/CPUSchedulingPolicy", "Service/CPUSchedulingPriority", "Service/CPUSchedulingResetOnFork",
		"Service/CPUAffinity", "Service/NUMAPolicy", "Service/NUMAMask", "Service/Personality",
		"Service/SetCredential", "Service/SetCredentialEncrypted", "Service/LoadCredential",
		"Service/LoadCredentialEncrypted", "Service/ImportCredential", "Service/UtmpIdentifier", "Service/UtmpMode",
		"Service/TTYReset", "Service/TTYVHangup", "Service/TTYVTDisallocate", "Service/TTYRows", "Service/TTYColumns",
		"Service/StandardInputText", "Service/StandardInputData", "Service/RestartPreventExitStatus",
		"Service/SuccessExitStatus", "Service/PassEnvironment", "Service/UnsetEnvironment",
		"Service/SupplementaryGroups":
		return keyIgnored, "accounting, tuning or credential setting ginit does not apply"
	case "Service/ProtectSystem", "Service/ProtectHome", "Service/PrivateTmp":
		return keyMapped, ""
	case "Service/PrivateDevices",
		"Service/PrivateUsers", "Service/PrivateMounts", "Service/PrivateIPC", "Service/PrivatePIDs",
		"Service/ProtectKernelTunables", "Service/ProtectKernelModules", "Service/ProtectKernelLogs",
		"Service/ProtectControlGroups", "Service/ProtectClock", "Service/ProtectHostname", "Service/ProtectProc",
		"Service/ProcSubset", "Service/RestrictNamespaces", "Service/RestrictRealtime", "Service/RestrictSUIDSGID",
		"Service/RestrictAddressFamilies", "Service/RestrictFileSystems", "Service/RestrictNetworkInterfaces",
		"Service/LockPersonality", "Service/MemoryDenyWriteExecute", "Service/SystemCallFilter",
		"Service/SystemCallArchitectures", "Service/SystemCallErrorNumber", "Service/SystemCallLog",
		"Service/ReadWritePaths", "Service/ReadOnlyPaths", "Service/InaccessiblePaths", "Service/ExecPaths",
		"Service/NoExecPaths", "Service/TemporaryFileSystem", "Service/BindPaths", "Service/BindReadOnlyPaths",
		"Service/DevicePolicy", "Service/DeviceAllow", "Service/IPAddressAllow", "Service/IPAddressDeny",
		"Service/IPIngressFilterPath", "Service/IPEgressFilterPath", "Service/SocketBindAllow",
		"Service/SocketBindDeny", "Service/RemoveIPC", "Service/SecureBits", "Service/SELinuxContext",
		"Service/AppArmorProfile", "Service/SmackProcessLabel", "Service/NetworkNamespacePath",
		"Service/IPCNamespacePath", "Service/MountFlags", "Service/PrivateNetworkNamespacePath",
		"Service/ProtectSystemMode", "Service/MountAPIVFS", "Service/BPFProgram", "Service/NFTSet":
		return keyIgnored, "sandboxing ginit does not apply: the service runs less confined"
	case "Service/DynamicUser", "Service/RootImage", "Service/RootImageOptions", "Service/RootHash",
		"Service/RootVerity", "Service/ExtensionImages", "Service/ExtensionDirectories", "Service/MountImages",
		"Service/PAMName", "Service/ExecSearchPath":
		return keyRefused, "not supported: ignoring it would change what runs or as whom"
	case "Timer/OnCalendar", "Timer/OnBootSec", "Timer/OnStartupSec", "Timer/OnActiveSec",
		"Timer/OnUnitInactiveSec", "Timer/RandomizedDelaySec", "Timer/Persistent", "Timer/Unit",
		"Timer/OnUnitActiveSec":
		return keyMapped, ""
	case "Timer/AccuracySec", "Timer/RemainAfterElapse":
		return keyInfo, ""
	case "Timer/WakeSystem", "Timer/FixedRandomDelay", "Timer/OnClockChange", "Timer/OnTimezoneChange":
		return keyIgnored, "timer option ginit does not apply"
	}
	if strings.HasPrefix(key, "Limit") {
		return keyMapped, ""
	}
	return keyUnknown, ""
}

// known checks every key of the unit and reports the ones not mapped.
func (t *translator) known(u *unitSet, sections map[string]bool) {
	warned := map[string]bool{}
	// Ignored keys of one reason are reported once, on the first line,
	// naming them all.
	type group struct {
		first *option
		keys  []string
	}
	groups := map[string]*group{}
	var reasons []string
	defer func() {
		for _, why := range reasons {
			g := groups[why]
			t.warnAt(g.first, "ignored (%s): %s", why, strings.Join(g.keys, ", "))
		}
	}()
	for _, o := range u.order {
		if strings.HasPrefix(o.section, "X-") || strings.HasPrefix(o.key, "X-") {
			continue // extensions are ignored by systemd too
		}
		if !sections[o.section] {
			if !warned["["+o.section+"]"] {
				warned["["+o.section+"]"] = true
				t.warn(o, "section [%s] ignored", o.section)
			}
			continue
		}
		c, why := classify(o.section, o.key)
		switch c {
		case keyIgnored:
			if !warned[o.key] {
				warned[o.key] = true
				g := groups[why]
				if g == nil {
					g = &group{first: o}
					groups[why] = g
					reasons = append(reasons, why)
				}
				g.keys = append(g.keys, fmt.Sprintf("%s (line %d)", o.key, o.line))
			}
		case keyRefused:
			t.fail(o, "%s", why)
		case keyUnknown:
			if o.section == "Unit" || o.section == "Install" {
				t.warn(o, "unknown key in [%s], ignored", o.section)
			} else {
				t.fail(o, "unknown key in [%s]: refused, ignoring it could change what the service does", o.section)
			}
		}
	}
}

// duration parses a systemd time span; "infinity" (and 0) is none.
func duration(v string) (time.Duration, error) {
	if v == "infinity" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(v, 10, 63); err == nil {
		return time.Duration(n) * time.Second, nil // a bare number is seconds
	}
	return calendar.ParseDuration(v)
}

func (t *translator) durationOf(o *option, dst *time.Duration) {
	if o == nil {
		return
	}
	v, ok := t.value(o)
	if !ok {
		return
	}
	d, err := duration(v)
	if err != nil {
		t.fail(o, "bad time span %q: %v", v, err)
		return
	}
	*dst = d
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "yes", "true", "on", "y", "t":
		return true, nil
	case "0", "no", "false", "off", "n", "f":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", v)
}

func (t *translator) boolOf(o *option) bool {
	if o == nil {
		return false
	}
	b, err := parseBool(o.value)
	if err != nil {
		t.fail(o, "%v", err)
	}
	return b
}

// names splits a unit list (Requires=, After=, …) with specifiers.
func (t *translator) names(list []*option) []struct {
	unit string
	o    *option
} {
	var out []struct {
		unit string
		o    *option
	}
	for _, o := range list {
		v, ok := t.value(o)
		if !ok {
			continue
		}
		for _, w := range strings.Fields(v) {
			out = append(out, struct {
				unit string
				o    *option
			}{w, o})
		}
	}
	return out
}

// deps maps the [Unit] relations onto ginit edges. Services become edges
// to their ginit names; sockets to the services that own them (their
// socket moves into that service: see sockets); targets, mounts, devices,
// slices and paths name nothing ginit manages and are dropped: ordering
// against them is what ginit's boot order already gives, and a hard
// requirement on one is reported.
func (t *translator) deps(u *unitSet) (sockets []string) {
	add := func(unitName string, o *option, k service.DepKind) {
		switch {
		case strings.HasSuffix(unitName, sufService):
			n := serviceName(unitName)
			if n == t.name || unitName == t.unit {
				return
			}
			if k == service.DepWaitsFor && !t.s.exists(n) {
				return // systemd ignores a wanted unit that does not exist
			}
			if !t.d.DependsOn(n, k) {
				t.d.Deps = append(t.d.Deps, service.Dep{Name: n, Kind: k})
			}
		case strings.HasSuffix(unitName, sufSocket):
			if k != service.DepBefore && k != service.DepAfter {
				sockets = append(sockets, unitName)
			}
		case k == service.DepRegular && !strings.HasSuffix(unitName, sufTarget):
			t.warn(o, "requirement on %s dropped: ginit does not manage that kind of unit", unitName)
		}
	}
	for _, r := range []struct {
		key  string
		kind service.DepKind
	}{
		{"Requires", service.DepRegular}, {"BindsTo", service.DepRegular}, {"Requisite", service.DepRegular},
		{"Wants", service.DepWaitsFor}, {"Upholds", service.DepWaitsFor},
		{"After", service.DepAfter}, {"Before", service.DepBefore},
	} {
		for _, n := range t.names(u.all("Unit", r.key)) {
			if strings.Contains(n.unit, "@.") {
				t.fail(n.o, "%s names a template without an instance", n.unit)
				continue
			}
			add(n.unit, n.o, r.kind)
		}
	}
	// Conflicts with and OnFailure of targets (shutdown.target, rescue,
	// emergency) are systemd's own boot and shutdown, which ginit does
	// itself; with services they would change what runs.
	for _, k := range []string{"PartOf", "Conflicts", "OnFailure"} {
		for _, n := range t.names(u.all("Unit", k)) {
			switch {
			case k == "PartOf":
				t.warn(n.o, "a stop of %s does not stop this service under ginit", n.unit)
			case strings.HasSuffix(n.unit, sufTarget) && k == "Conflicts":
			case k == "Conflicts":
				t.warn(n.o, "not enforced: starting this service does not stop %s", n.unit)
			case strings.HasSuffix(n.unit, sufTarget):
				t.warn(n.o, "%s is not started when the service fails", n.unit)
			default:
				t.fail(n.o, "%s with %s is not supported: ignoring it would change what runs", k, n.unit)
			}
		}
	}
	return sockets
}

// evaluatedConditions are the Condition*/Assert* kinds the service
// manager checks at each start (service.OSConditions).
var evaluatedConditions = []string{"PathExists", "PathExistsGlob", "PathIsDirectory", "PathIsSymbolicLink",
	"PathIsMountPoint", "PathIsReadWrite", "FileNotEmpty", "DirectoryNotEmpty", "FileIsExecutable",
	"KernelCommandLine", "Virtualization"}

// conditionKind is the evaluated kind a Condition*/Assert* key names, or "".
func conditionKind(key string) string {
	k, ok := strings.CutPrefix(key, "Condition")
	if !ok {
		k, ok = strings.CutPrefix(key, "Assert")
	}
	if ok && slices.Contains(evaluatedConditions, k) {
		return k
	}
	return ""
}

// conditionOptions are the unit's evaluated Condition*/Assert* options,
// each key's in file order.
func (u *unitSet) conditionOptions() []*option {
	var l []*option
	for _, pre := range []string{"Assert", "Condition"} {
		for _, k := range evaluatedConditions {
			l = append(l, u.all("Unit", pre+k)...)
		}
	}
	return l
}

// conditions translates the evaluated conditions and assertions; the
// manager checks them each time the service is about to run, so a path
// made after boot counts (a failed condition skips that start, a failed
// assertion fails it).
func (t *translator) conditions(u *unitSet) []service.Condition {
	var cs []service.Condition
	for _, o := range u.conditionOptions() {
		kind := conditionKind(o.key)
		v, ok := t.value(o)
		if !ok {
			continue
		}
		c := service.Condition{Kind: kind, Assert: strings.HasPrefix(o.key, "Assert"), Source: fmt.Sprintf("%s:%d", o.file, o.line)}
		v = strings.TrimSpace(v)
		if v == "" {
			// An empty value resets the list, as in systemd.
			cs = slices.DeleteFunc(cs, func(e service.Condition) bool { return e.Kind == kind && e.Assert == c.Assert })
			continue
		}
		c.Trigger = strings.HasPrefix(v, "|") && !c.Assert
		v = strings.TrimPrefix(v, "|")
		c.Negate = strings.HasPrefix(v, "!")
		c.Arg = strings.TrimPrefix(v, "!")
		if strings.HasPrefix(kind, "Path") || strings.HasPrefix(kind, "File") || strings.HasPrefix(kind, "Directory") {
			if !filepath.IsAbs(c.Arg) {
				t.fail(o, "%q is not an absolute path", c.Arg)
				continue
			}
		}
		cs = append(cs, c)
	}
	return cs
}

// errNoCommand is the cause for a service unit with nothing to run.
var errNoCommand = errors.New("no ExecStart (and not Type=oneshot)")
