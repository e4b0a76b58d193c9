package sessiond

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// Interface names of login1.
const (
	IfaceManager = "org.freedesktop.login1.Manager"
	IfaceSession = "org.freedesktop.login1.Session"
	IfaceSeat    = "org.freedesktop.login1.Seat"
	IfaceUser    = "org.freedesktop.login1.User"
)

// ifaces are the login1 interfaces bound to one Manager.
type ifaces struct {
	manager, session, seat, user *bus.Interface
}

func a(name, typ string) bus.Arg { return bus.Arg{Name: name, Type: typ} }

// Record types of the list methods; godbus derives their signatures.
type (
	sessionEntry struct {
		ID   string
		UID  uint32
		User string
		Seat string
		Path godbus.ObjectPath
	}
	userEntry struct {
		UID  uint32
		Name string
		Path godbus.ObjectPath
	}
	seatEntry struct {
		ID   string
		Path godbus.ObjectPath
	}
	// inhibitorEntry is ListInhibitors' a(ssssuu).
	inhibitorEntry struct {
		What, Who, Why, Mode string
		UID, PID             uint32
	}
	idPath struct {
		ID   string
		Path godbus.ObjectPath
	}
	uidPath struct {
		UID  uint32
		Path godbus.ObjectPath
	}
	scheduled struct {
		Type string
		USec uint64
	}
)

func (m *Manager) buildInterfaces() ifaces {
	const (
		silent = bus.PropSilent
		konst  = bus.PropConst
		emits  = bus.PropEmitChange
		hidden = bus.PropHidden
	)
	mgr := &bus.Interface{
		Name: IfaceManager,
		Methods: []bus.Method{
			{Name: "GetSession", In: []bus.Arg{a("session_id", "s")}, Out: []bus.Arg{a("object_path", "o")}, Handler: m.hGetSession},
			{Name: "GetSessionByPID", In: []bus.Arg{a("pid", "u")}, Out: []bus.Arg{a("object_path", "o")}, Handler: m.hGetSessionByPID},
			{Name: "GetUser", In: []bus.Arg{a("uid", "u")}, Out: []bus.Arg{a("object_path", "o")}, Handler: m.hGetUser},
			{Name: "GetUserByPID", In: []bus.Arg{a("pid", "u")}, Out: []bus.Arg{a("object_path", "o")}, Handler: m.hGetUserByPID},
			{Name: "GetSeat", In: []bus.Arg{a("seat_id", "s")}, Out: []bus.Arg{a("object_path", "o")}, Handler: m.hGetSeat},
			{Name: "ListSessions", Out: []bus.Arg{a("sessions", "a(susso)")}, Handler: m.hListSessions},
			{Name: "ListSessionsEx", Out: []bus.Arg{a("sessions", "a(sussussbto)")}, Handler: m.hListSessionsEx},
			{Name: "ListUsers", Out: []bus.Arg{a("users", "a(uso)")}, Handler: m.hListUsers},
			{Name: "ListSeats", Out: []bus.Arg{a("seats", "a(so)")}, Handler: m.hListSeats},
			{Name: "ListInhibitors", Out: []bus.Arg{a("inhibitors", "a(ssssuu)")}, Handler: m.hListInhibitors},
			{Name: "CreateSession", In: []bus.Arg{
				a("uid", "u"), a("pid", "u"), a("service", "s"), a("type", "s"), a("class", "s"), a("desktop", "s"),
				a("seat_id", "s"), a("vtnr", "u"), a("tty", "s"), a("display", "s"), a("remote", "b"),
				a("remote_user", "s"), a("remote_host", "s"), a("properties", "a(sv)")},
				Out: []bus.Arg{a("session_id", "s"), a("object_path", "o"), a("runtime_path", "s"), a("fifo_fd", "h"),
					a("uid", "u"), a("seat_id", "s"), a("vtnr", "u"), a("existing", "b")},
				Handler: m.hCreateSession},
			{Name: "CreateSessionWithPIDFD", In: []bus.Arg{
				a("uid", "u"), a("pidfd", "h"), a("service", "s"), a("type", "s"), a("class", "s"), a("desktop", "s"),
				a("seat_id", "s"), a("vtnr", "u"), a("tty", "s"), a("display", "s"), a("remote", "b"),
				a("remote_user", "s"), a("remote_host", "s"), a("flags", "t"), a("properties", "a(sv)")},
				Out: []bus.Arg{a("session_id", "s"), a("object_path", "o"), a("runtime_path", "s"), a("fifo_fd", "h"),
					a("uid", "u"), a("seat_id", "s"), a("vtnr", "u"), a("existing", "b")},
				Handler: m.hCreateSessionWithPIDFD},
			{Name: "ReleaseSession", In: []bus.Arg{a("session_id", "s")}, Handler: m.hReleaseSession},
			{Name: "ActivateSession", In: []bus.Arg{a("session_id", "s")}, Handler: m.sessionArgOp(opActivate)},
			{Name: "ActivateSessionOnSeat", In: []bus.Arg{a("session_id", "s"), a("seat_id", "s")}, Handler: m.hActivateSessionOnSeat},
			{Name: "LockSession", In: []bus.Arg{a("session_id", "s")}, Handler: m.sessionArgOp(opLock)},
			{Name: "UnlockSession", In: []bus.Arg{a("session_id", "s")}, Handler: m.sessionArgOp(opUnlock)},
			{Name: "LockSessions", Handler: m.lockAll("Lock")},
			{Name: "UnlockSessions", Handler: m.lockAll("Unlock")},
			{Name: "KillSession", In: []bus.Arg{a("session_id", "s"), a("who", "s"), a("signal_number", "i")}, Handler: m.hKillSession},
			{Name: "KillUser", In: []bus.Arg{a("uid", "u"), a("signal_number", "i")}, Handler: m.hKillUser},
			{Name: "TerminateSession", In: []bus.Arg{a("session_id", "s")}, Handler: m.sessionArgOp(opTerminate)},
			{Name: "TerminateUser", In: []bus.Arg{a("uid", "u")}, Handler: m.hTerminateUser},
			{Name: "TerminateSeat", In: []bus.Arg{a("seat_id", "s")}, Handler: m.hTerminateSeat},
			{Name: "SetUserLinger", In: []bus.Arg{a("uid", "u"), a("enable", "b"), a("interactive", "b")}, Handler: m.hSetUserLinger},
		},
		Properties: []bus.Property{
			{Name: "EnableWallMessages", Type: "b"}, {Name: "WallMessage", Type: "s"},
			{Name: "NAutoVTs", Type: "u", Flags: konst},
			{Name: "KillOnlyUsers", Type: "as", Flags: konst}, {Name: "KillExcludeUsers", Type: "as", Flags: konst},
			{Name: "KillUserProcesses", Type: "b", Flags: konst},
			{Name: "RebootParameter", Type: "s"}, {Name: "RebootToFirmwareSetup", Type: "b"},
			{Name: "RebootToBootLoaderMenu", Type: "t"}, {Name: "RebootToBootLoaderEntry", Type: "s"},
			{Name: "BootLoaderEntries", Type: "as", Flags: konst},
			{Name: "IdleHint", Type: "b", Flags: emits}, {Name: "IdleSinceHint", Type: "t", Flags: emits},
			{Name: "IdleSinceHintMonotonic", Type: "t", Flags: emits},
			{Name: "BlockInhibited", Type: "s", Flags: emits}, {Name: "BlockWeakInhibited", Type: "s", Flags: emits},
			{Name: "DelayInhibited", Type: "s", Flags: emits},
			{Name: "InhibitDelayMaxUSec", Type: "t", Flags: konst}, {Name: "UserStopDelayUSec", Type: "t", Flags: konst},
			{Name: "SleepOperation", Type: "as", Flags: konst},
			{Name: "HandlePowerKey", Type: "s", Flags: konst}, {Name: "HandlePowerKeyLongPress", Type: "s", Flags: konst},
			{Name: "HandleRebootKey", Type: "s", Flags: konst}, {Name: "HandleRebootKeyLongPress", Type: "s", Flags: konst},
			{Name: "HandleSuspendKey", Type: "s", Flags: konst}, {Name: "HandleSuspendKeyLongPress", Type: "s", Flags: konst},
			{Name: "HandleHibernateKey", Type: "s", Flags: konst}, {Name: "HandleHibernateKeyLongPress", Type: "s", Flags: konst},
			{Name: "HandleLidSwitch", Type: "s", Flags: konst}, {Name: "HandleLidSwitchExternalPower", Type: "s", Flags: konst},
			{Name: "HandleLidSwitchDocked", Type: "s", Flags: konst},
			{Name: "HoldoffTimeoutUSec", Type: "t", Flags: konst},
			{Name: "IdleAction", Type: "s", Flags: konst}, {Name: "IdleActionUSec", Type: "t", Flags: konst},
			{Name: "PreparingForShutdown", Type: "b"}, {Name: "PreparingForSleep", Type: "b"},
			{Name: "PreparingForShutdownWithMetadata", Type: "a{sv}"},
			{Name: "ScheduledShutdown", Type: "(st)", Flags: emits},
			{Name: "Docked", Type: "b"}, {Name: "LidClosed", Type: "b"}, {Name: "OnExternalPower", Type: "b"},
			{Name: "RemoveIPC", Type: "b", Flags: konst},
			{Name: "RuntimeDirectorySize", Type: "t", Flags: konst}, {Name: "RuntimeDirectoryInodesMax", Type: "t", Flags: konst},
			{Name: "InhibitorsMax", Type: "t", Flags: konst}, {Name: "NCurrentInhibitors", Type: "t"},
			{Name: "SessionsMax", Type: "t", Flags: konst}, {Name: "NCurrentSessions", Type: "t"},
			{Name: "UserTasksMax", Type: "t", Flags: hidden},
			{Name: "StopIdleSessionUSec", Type: "t", Flags: konst},
		},
		Signals: []bus.Signal{
			{Name: "SessionNew", Args: []bus.Arg{a("session_id", "s"), a("object_path", "o")}},
			{Name: "SessionRemoved", Args: []bus.Arg{a("session_id", "s"), a("object_path", "o")}},
			{Name: "UserNew", Args: []bus.Arg{a("uid", "u"), a("object_path", "o")}},
			{Name: "UserRemoved", Args: []bus.Arg{a("uid", "u"), a("object_path", "o")}},
			{Name: "SeatNew", Args: []bus.Arg{a("seat_id", "s"), a("object_path", "o")}},
			{Name: "SeatRemoved", Args: []bus.Arg{a("seat_id", "s"), a("object_path", "o")}},
			{Name: "PrepareForShutdown", Args: []bus.Arg{a("start", "b")}},
			{Name: "PrepareForShutdownWithMetadata", Args: []bus.Arg{a("start", "b"), a("metadata", "a{sv}")}},
			{Name: "PrepareForSleep", Args: []bus.Arg{a("start", "b")}},
		},
	}
	_ = silent
	mgr.Methods = append(mgr.Methods, m.powerMethods()...)
	sess := &bus.Interface{
		Name: IfaceSession,
		Methods: []bus.Method{
			{Name: "Terminate", Handler: m.sessionObjOp(opTerminate)},
			{Name: "Activate", Handler: m.sessionObjOp(opActivate)},
			{Name: "Lock", Handler: m.sessionObjOp(opLock)},
			{Name: "Unlock", Handler: m.sessionObjOp(opUnlock)},
			{Name: "SetIdleHint", In: []bus.Arg{a("idle", "b")}, Handler: m.hSetIdleHint},
			{Name: "SetLockedHint", In: []bus.Arg{a("locked", "b")}, Handler: m.hSetLockedHint},
			{Name: "Kill", In: []bus.Arg{a("who", "s"), a("signal_number", "i")}, Handler: m.hSessionKill},
			{Name: "TakeControl", In: []bus.Arg{a("force", "b")}, Handler: m.hTakeControl},
			{Name: "ReleaseControl", Handler: m.hReleaseControl},
			{Name: "SetType", In: []bus.Arg{a("type", "s")}, Handler: m.hSetType},
			{Name: "SetDisplay", In: []bus.Arg{a("display", "s")}, Handler: m.hSetDisplay},
			{Name: "SetBrightness", In: []bus.Arg{a("subsystem", "s"), a("name", "s"), a("brightness", "u")}, Handler: m.hSetBrightness},
			{Name: "TakeDevice", In: []bus.Arg{a("major", "u"), a("minor", "u")}, Out: []bus.Arg{a("fd", "h"), a("inactive", "b")}, Handler: m.hTakeDevice},
			{Name: "ReleaseDevice", In: []bus.Arg{a("major", "u"), a("minor", "u")}, Handler: m.hReleaseDevice},
			{Name: "PauseDeviceComplete", In: []bus.Arg{a("major", "u"), a("minor", "u")}, Handler: m.hPauseDeviceComplete},
		},
		Properties: []bus.Property{
			{Name: "Id", Type: "s", Flags: konst}, {Name: "User", Type: "(uo)", Flags: konst},
			{Name: "Name", Type: "s", Flags: konst},
			{Name: "Timestamp", Type: "t"}, {Name: "TimestampMonotonic", Type: "t"},
			{Name: "VTNr", Type: "u", Flags: konst}, {Name: "Seat", Type: "(so)", Flags: konst},
			{Name: "TTY", Type: "s", Flags: emits}, {Name: "Display", Type: "s", Flags: emits},
			{Name: "Remote", Type: "b", Flags: konst}, {Name: "RemoteHost", Type: "s", Flags: konst},
			{Name: "RemoteUser", Type: "s", Flags: konst}, {Name: "Service", Type: "s", Flags: konst},
			{Name: "Desktop", Type: "s", Flags: konst}, {Name: "Scope", Type: "s", Flags: konst},
			{Name: "Leader", Type: "u", Flags: konst}, {Name: "Audit", Type: "u", Flags: konst},
			{Name: "Type", Type: "s", Flags: emits}, {Name: "Class", Type: "s", Flags: emits},
			{Name: "Active", Type: "b", Flags: emits}, {Name: "State", Type: "s", Flags: emits},
			{Name: "IdleHint", Type: "b", Flags: emits}, {Name: "IdleSinceHint", Type: "t", Flags: emits},
			{Name: "IdleSinceHintMonotonic", Type: "t", Flags: emits},
			{Name: "LockedHint", Type: "b", Flags: emits},
		},
		Signals: []bus.Signal{
			{Name: "PauseDevice", Args: []bus.Arg{a("major", "u"), a("minor", "u"), a("type", "s")}},
			{Name: "ResumeDevice", Args: []bus.Arg{a("major", "u"), a("minor", "u"), a("fd", "h")}},
			{Name: "Lock"}, {Name: "Unlock"},
		},
	}
	seat := &bus.Interface{
		Name: IfaceSeat,
		Methods: []bus.Method{
			{Name: "Terminate", Handler: m.hSeatTerminate},
			{Name: "ActivateSession", In: []bus.Arg{a("session_id", "s")}, Handler: m.hSeatActivateSession},
			{Name: "SwitchTo", In: []bus.Arg{a("vtnr", "u")}, Handler: m.hSwitchTo},
			{Name: "SwitchToNext", Handler: m.hSwitchStep(1)},
			{Name: "SwitchToPrevious", Handler: m.hSwitchStep(-1)},
		},
		Properties: []bus.Property{
			{Name: "Id", Type: "s", Flags: konst}, {Name: "ActiveSession", Type: "(so)", Flags: emits},
			{Name: "CanMultiSession", Type: "b", Flags: hidden},
			{Name: "CanTTY", Type: "b", Flags: konst}, {Name: "CanGraphical", Type: "b", Flags: emits},
			{Name: "Sessions", Type: "a(so)"},
			{Name: "IdleHint", Type: "b", Flags: emits}, {Name: "IdleSinceHint", Type: "t", Flags: emits},
			{Name: "IdleSinceHintMonotonic", Type: "t", Flags: emits},
		},
	}
	usr := &bus.Interface{
		Name: IfaceUser,
		Methods: []bus.Method{
			{Name: "Terminate", Handler: m.hUserTerminate},
			{Name: "Kill", In: []bus.Arg{a("signal_number", "i")}, Handler: m.hUserKill},
		},
		Properties: []bus.Property{
			{Name: "UID", Type: "u", Flags: konst}, {Name: "GID", Type: "u", Flags: konst},
			{Name: "Name", Type: "s", Flags: konst},
			{Name: "Timestamp", Type: "t"}, {Name: "TimestampMonotonic", Type: "t"},
			{Name: "RuntimePath", Type: "s", Flags: konst}, {Name: "Service", Type: "s", Flags: konst},
			{Name: "Slice", Type: "s", Flags: konst}, {Name: "Display", Type: "(so)", Flags: emits},
			{Name: "State", Type: "s"}, {Name: "Sessions", Type: "a(so)"},
			{Name: "IdleHint", Type: "b", Flags: emits}, {Name: "IdleSinceHint", Type: "t", Flags: emits},
			{Name: "IdleSinceHintMonotonic", Type: "t", Flags: emits},
			{Name: "Linger", Type: "b"},
		},
	}
	return ifaces{manager: mgr, session: sess, seat: seat, user: usr}
}

// --- properties -----------------------------------------------------------

func v(x any) godbus.Variant { return godbus.MakeVariant(x) }

const infinity = ^uint64(0)

func (s *state) managerProps() map[string]godbus.Variant {
	idle, rt, mono := s.idle()
	lc := &s.cfg.Login
	preparing := func(w inhibitWhat) bool { return s.power.action != nil && s.power.action.act.what == w }
	prepMeta := map[string]godbus.Variant{"preparing": v(preparing(inhibitShutdown))}
	if preparing(inhibitShutdown) {
		prepMeta["type"] = v(s.power.action.act.name)
	}
	return map[string]godbus.Variant{
		"EnableWallMessages": v(s.power.enableWall), "WallMessage": v(s.power.wallMessage),
		"NAutoVTs":      v(s.cfg.NAutoVTs),
		"KillOnlyUsers": v([]string{}), "KillExcludeUsers": v([]string{"root"}),
		"KillUserProcesses": v(false),
		"RebootParameter":   v(s.power.rebootParam), "RebootToFirmwareSetup": v(false),
		"RebootToBootLoaderMenu": v(infinity), "RebootToBootLoaderEntry": v(""),
		"BootLoaderEntries": v([]string{}),
		"IdleHint":          v(idle), "IdleSinceHint": v(rt), "IdleSinceHintMonotonic": v(mono),
		"BlockInhibited": v(s.inhibited(modeBlock)), "DelayInhibited": v(s.inhibited(modeDelay)),
		"BlockWeakInhibited": v(s.inhibited(modeBlockWeak)),
		"SleepOperation":     v(sleepOperations()), "InhibitDelayMaxUSec": v(usec(lc.InhibitDelayMax)), "UserStopDelayUSec": v(usec(lc.UserStopDelay)),
		"HandlePowerKey": v(lc.HandlePowerKey), "HandlePowerKeyLongPress": v(lc.HandlePowerKeyLongPress),
		"HandleRebootKey": v(lc.HandleRebootKey), "HandleRebootKeyLongPress": v(lc.HandleRebootKeyLongPress),
		"HandleSuspendKey": v(lc.HandleSuspendKey), "HandleSuspendKeyLongPress": v(lc.HandleSuspendKeyLongPress),
		"HandleHibernateKey": v(lc.HandleHibernateKey), "HandleHibernateKeyLongPress": v(lc.HandleHibernateKeyLongPress),
		"HandleLidSwitch": v(lc.HandleLidSwitch), "HandleLidSwitchExternalPower": v(lc.HandleLidSwitchExternalPower), // "": as HandleLidSwitch
		"HandleLidSwitchDocked": v(lc.HandleLidSwitchDocked),
		"HoldoffTimeoutUSec":    v(usec(lc.HoldoffTimeout)),
		"IdleAction":            v(lc.IdleAction), "IdleActionUSec": v(usec(lc.IdleActionTime)),
		"PreparingForShutdown": v(preparing(inhibitShutdown)), "PreparingForSleep": v(preparing(inhibitSleep)),
		"PreparingForShutdownWithMetadata": v(prepMeta),
		"ScheduledShutdown":                v(scheduled{s.power.scheduled.Type, s.power.scheduled.USec}),
		"Docked":                           v(s.power.docked), "LidClosed": v(s.power.lidClosed), "OnExternalPower": v(true),
		"RemoveIPC":            v(false),
		"RuntimeDirectorySize": v(lc.RuntimeDirectorySize), "RuntimeDirectoryInodesMax": v(lc.RuntimeDirectoryInodesMax),
		"InhibitorsMax": v(lc.InhibitorsMax), "NCurrentInhibitors": v(uint64(len(s.inhibitors))),
		"SessionsMax": v(uint64(s.cfg.SessionsMax)), "NCurrentSessions": v(uint64(len(s.sessions))),
		"UserTasksMax":        v(infinity),
		"StopIdleSessionUSec": v(infinity),
	}
}

func (s *state) sessionProps(ss *session) map[string]godbus.Variant {
	seatRef := idPath{Path: "/"}
	if ss.Seat != "" {
		seatRef = idPath{ID: ss.Seat, Path: seatPath(ss.Seat)}
	}
	return map[string]godbus.Variant{
		"Id": v(ss.ID), "User": v(uidPath{ss.UID, userPath(ss.UID)}), "Name": v(ss.UserName),
		"Timestamp": v(ss.Realtime), "TimestampMonotonic": v(ss.Monotonic),
		"VTNr": v(ss.VTNr), "Seat": v(seatRef), "TTY": v(ss.TTY), "Display": v(ss.Display),
		"Remote": v(ss.Remote), "RemoteHost": v(ss.RemoteHost), "RemoteUser": v(ss.RemoteUser),
		"Service": v(ss.Service), "Desktop": v(ss.Desktop),
		// No unit: a Scope makes loginctl ask org.freedesktop.systemd1
		// about it (elogind leaves it empty too); sd-login finds the
		// session from the cgroup path, which stays.
		"Scope":  v(""),
		"Leader": v(ss.Leader), "Audit": v(ss.Audit), "Type": v(ss.Type), "Class": v(ss.Class),
		"Active": v(s.sessionActive(ss)), "State": v(s.sessionState(ss)),
		"IdleHint": v(ss.IdleHint), "IdleSinceHint": v(ss.IdleRealtime),
		"IdleSinceHintMonotonic": v(ss.IdleMonotonic), "LockedHint": v(ss.LockedHint),
	}
}

func (s *state) sessionList(ids []string) []idPath {
	out := make([]idPath, 0, len(ids))
	for _, id := range ids {
		out = append(out, idPath{id, sessionPath(id)})
	}
	return out
}

func (s *state) seatProps(st *seat) map[string]godbus.Variant {
	active := idPath{Path: "/"}
	if st.Active != "" {
		active = idPath{st.Active, sessionPath(st.Active)}
	}
	idle, rt, mono := true, uint64(0), uint64(0)
	for _, id := range st.Sessions {
		ss := s.sessions[id]
		if !ss.IdleHint {
			idle, rt, mono = false, 0, 0
			break
		}
		rt, mono = max(rt, ss.IdleRealtime), max(mono, ss.IdleMonotonic)
	}
	return map[string]godbus.Variant{
		"Id": v(st.ID), "ActiveSession": v(active), "CanMultiSession": v(true),
		"CanTTY": v(st.HasVTs), "CanGraphical": v(st.CanGraph),
		"Sessions": v(s.sessionList(st.Sessions)),
		"IdleHint": v(idle), "IdleSinceHint": v(rt), "IdleSinceHintMonotonic": v(mono),
	}
}

func (s *state) userProps(u *user) map[string]godbus.Variant {
	display := idPath{Path: "/"}
	if u.Display != "" {
		display = idPath{u.Display, sessionPath(u.Display)}
	}
	idle, rt, mono := true, uint64(0), uint64(0)
	for _, id := range u.Sessions {
		ss := s.sessions[id]
		if !ss.IdleHint {
			idle, rt, mono = false, 0, 0
			break
		}
		rt, mono = max(rt, ss.IdleRealtime), max(mono, ss.IdleMonotonic)
	}
	return map[string]godbus.Variant{
		"UID": v(u.UID), "GID": v(u.GID), "Name": v(u.Name),
		"Timestamp": v(u.Realtime), "TimestampMonotonic": v(u.Monotonic),
		"RuntimePath": v(s.cfg.runtimePath(u.UID)), "Service": v(""),
		"Slice": v("user-" + utoa(u.UID) + ".slice"), "Display": v(display),
		"State": v(s.userState(u)), "Sessions": v(s.sessionList(u.Sessions)),
		"IdleHint": v(idle), "IdleSinceHint": v(rt), "IdleSinceHintMonotonic": v(mono),
		"Linger": v(u.Linger),
	}
}

// --- object tree ----------------------------------------------------------

// Lookup resolves object paths for the dbus.Tree.
func (m *Manager) Lookup(path godbus.ObjectPath) (*bus.Object, bool) {
	p := string(path)
	switch p {
	case "/":
		return &bus.Object{Children: []string{"org"}}, true
	case "/org":
		return &bus.Object{Children: []string{"freedesktop"}}, true
	case "/org/freedesktop":
		return &bus.Object{Children: []string{"login1"}}, true
	case string(ManagerPath):
		return &bus.Object{Interfaces: []*bus.Interface{m.ifc.manager}, Props: m.props, Children: []string{"seat", "session", "user"}}, true
	case sessionDir, seatDir, userDir:
		var kids []string
		err := m.do(func(s *state) error {
			switch p {
			case sessionDir:
				for id := range s.sessions {
					kids = append(kids, bus.EscapeLabel(id))
				}
			case seatDir:
				for id := range s.seats {
					kids = append(kids, bus.EscapeLabel(id))
				}
			default:
				for uid := range s.users {
					kids = append(kids, "_"+utoa(uid))
				}
			}
			return nil
		})
		if err != nil {
			return nil, false
		}
		sortStrings(kids)
		return &bus.Object{Children: kids}, true
	}
	dir, label := filepath.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	var ifc *bus.Interface
	switch dir {
	case sessionDir:
		ifc = m.ifc.session
	case seatDir:
		ifc = m.ifc.seat
	case userDir:
		ifc = m.ifc.user
	default:
		return nil, false
	}
	if label != "self" && label != "auto" {
		exists := false
		_ = m.do(func(s *state) error {
			switch dir {
			case sessionDir:
				id, ok := bus.UnescapeLabel(label)
				exists = ok && s.sessions[id] != nil
			case seatDir:
				id, ok := bus.UnescapeLabel(label)
				exists = ok && s.seats[id] != nil
			default:
				uid, ok := parseUserLabel(label)
				exists = ok && s.users[uid] != nil
			}
			return nil
		})
		if !exists {
			return nil, false
		}
	}
	return &bus.Object{Interfaces: []*bus.Interface{ifc}, Props: m.props}, true
}

func parseUserLabel(l string) (uint32, bool) {
	n, ok := strings.CutPrefix(l, "_")
	if !ok || n == "" {
		return 0, false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	u := parseU64(n)
	if u > 0xfffffffe {
		return 0, false
	}
	return uint32(u), true
}

// props serves Properties.Get/GetAll for every login1 object.
func (m *Manager) props(c *bus.Call, iface string) (map[string]godbus.Variant, error) {
	var out map[string]godbus.Variant
	switch iface {
	case IfaceManager:
		err := m.do(func(s *state) error { out = s.managerProps(); return nil })
		return out, err
	case IfaceSession:
		err := m.withSessionObj(c, func(s *state, ss *session) error { out = s.sessionProps(ss); return nil })
		return out, err
	case IfaceSeat:
		err := m.withSeatObj(c, func(s *state, st *seat) error { out = s.seatProps(st); return nil })
		return out, err
	case IfaceUser:
		err := m.withUserObj(c, func(s *state, u *user) error { out = s.userProps(u); return nil })
		return out, err
	}
	return nil, bus.Errorf(bus.ErrUnknownInterface, "Unknown interface '%s'.", iface)
}

// --- resolution of ids, "self" and "auto" ---------------------------------

// caller is the sender's credentials plus the session its pid is in.
type caller struct {
	bus.Creds
	session string // from the cgroup; may be unknown to us
}

func (m *Manager) caller(c *bus.Call) (caller, error) {
	cr, err := m.cfg.PeerCreds(c)
	if err != nil {
		return caller{}, bus.Errorf(bus.ErrFailed, "cannot identify caller: %v", err)
	}
	id, _ := m.cfg.Host.SessionOfPID(int(cr.PID))
	return caller{Creds: cr, session: id}, nil
}

// findSession resolves a session id argument ("", "self", "auto" mean
// the caller's session; "auto" falls back to the user's display session).
func (s *state) findSession(id string, cl *caller) (*session, error) {
	switch id {
	case "", "self", "auto":
		if cl == nil {
			return nil, bus.Errorf(bus.ErrNoSuchSession, "Caller does not belong to any known session")
		}
		if ss := s.sessions[cl.session]; ss != nil {
			return ss, nil
		}
		if id == "auto" {
			if u := s.users[cl.UID]; u != nil && s.sessions[u.Display] != nil {
				return s.sessions[u.Display], nil
			}
		}
		return nil, bus.Errorf(bus.ErrNoSuchSession, "Caller does not belong to any known session")
	}
	if ss := s.sessions[id]; ss != nil {
		return ss, nil
	}
	return nil, bus.Errorf(bus.ErrNoSuchSession, "No session '%s' known", id)
}

func isSelfish(id string) bool { return id == "" || id == "self" || id == "auto" }

// withSession runs f on the session named by id (an argument).
func (m *Manager) withSession(c *bus.Call, id string, needCaller bool, f func(s *state, ss *session, cl *caller) error) error {
	var cl *caller
	if needCaller || isSelfish(id) {
		x, err := m.caller(c)
		if err != nil {
			return err
		}
		cl = &x
	}
	return m.do(func(s *state) error {
		ss, err := s.findSession(id, cl)
		if err != nil {
			return err
		}
		return f(s, ss, cl)
	})
}

// pathLabel returns the last element of the call's path, unescaped
// unless it is "self"/"auto".
func pathLabel(c *bus.Call) string {
	l := string(c.Path[strings.LastIndexByte(string(c.Path), '/')+1:])
	if l == "self" || l == "auto" {
		return l
	}
	if id, ok := bus.UnescapeLabel(l); ok {
		return id
	}
	return "\x00invalid"
}

func (m *Manager) withSessionObj(c *bus.Call, f func(s *state, ss *session) error) error {
	return m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error { return f(s, ss) })
}

func (m *Manager) withSeatObj(c *bus.Call, f func(s *state, st *seat) error) error {
	id := pathLabel(c)
	var cl *caller
	if isSelfish(id) {
		x, err := m.caller(c)
		if err != nil {
			return err
		}
		cl = &x
	}
	return m.do(func(s *state) error {
		st, err := s.findSeat(id, cl)
		if err != nil {
			return err
		}
		return f(s, st)
	})
}

func (s *state) findSeat(id string, cl *caller) (*seat, error) {
	if isSelfish(id) {
		ss, err := s.findSession(id, cl)
		if err != nil {
			return nil, err
		}
		if ss.Seat == "" {
			return nil, bus.Errorf(bus.ErrNoSuchSeat, "Session '%s' has no seat", ss.ID)
		}
		id = ss.Seat
	}
	if st := s.seats[id]; st != nil {
		return st, nil
	}
	return nil, bus.Errorf(bus.ErrNoSuchSeat, "No seat '%s' known", id)
}

func (m *Manager) withUserObj(c *bus.Call, f func(s *state, u *user) error) error {
	l := string(c.Path[strings.LastIndexByte(string(c.Path), '/')+1:])
	var uid uint32
	if l == "self" || l == "auto" {
		cl, err := m.caller(c)
		if err != nil {
			return err
		}
		uid = cl.UID
	} else {
		var ok bool
		if uid, ok = parseUserLabel(l); !ok {
			return bus.Errorf(bus.ErrNoSuchUser, "Invalid user path %s", c.Path)
		}
	}
	return m.do(func(s *state) error {
		u := s.users[uid]
		if u == nil {
			return bus.Errorf(bus.ErrNoSuchUser, "User ID %d is not logged in or lingering", uid)
		}
		return f(s, u)
	})
}

// --- authorization --------------------------------------------------------

// ownerOrRoot: root may do everything, a user what concerns their own
// sessions. (polkit is not consulted.)
func ownerOrRoot(cl *caller, uid uint32, what string) error {
	if cl.UID == 0 || cl.UID == uid {
		return nil
	}
	return bus.Errorf(bus.ErrAccessDenied, "Access denied: %s", what)
}

func rootOnly(cl caller, what string) error {
	if cl.UID == 0 {
		return nil
	}
	return bus.Errorf(bus.ErrAccessDenied, "Access denied: %s requires root", what)
}

// --- manager handlers -----------------------------------------------------

func (m *Manager) hGetSession(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	var p godbus.ObjectPath
	err := m.withSession(c, id, false, func(s *state, ss *session, _ *caller) error { p = sessionPath(ss.ID); return nil })
	return []any{p}, err
}

func (m *Manager) pidArg(c *bus.Call) (uint32, error) {
	var pid uint32
	if err := c.Store(&pid); err != nil {
		return 0, err
	}
	if pid == 0 {
		cl, err := m.cfg.PeerCreds(c)
		if err != nil {
			return 0, bus.Errorf(bus.ErrFailed, "cannot identify caller: %v", err)
		}
		pid = cl.PID
	}
	return pid, nil
}

func (m *Manager) hGetSessionByPID(c *bus.Call) ([]any, error) {
	pid, err := m.pidArg(c)
	if err != nil {
		return nil, err
	}
	id, _ := m.cfg.Host.SessionOfPID(int(pid))
	var p godbus.ObjectPath
	err = m.do(func(s *state) error {
		if s.sessions[id] == nil {
			return bus.Errorf(bus.ErrNoSessionForPID, "PID %d does not belong to any known session", pid)
		}
		p = sessionPath(id)
		return nil
	})
	return []any{p}, err
}

func (m *Manager) hGetUser(c *bus.Call) ([]any, error) {
	var uid uint32
	if err := c.Store(&uid); err != nil {
		return nil, err
	}
	err := m.do(func(s *state) error {
		if s.users[uid] == nil {
			return bus.Errorf(bus.ErrNoSuchUser, "User ID %d is not logged in or lingering", uid)
		}
		return nil
	})
	return []any{userPath(uid)}, err
}

func (m *Manager) hGetUserByPID(c *bus.Call) ([]any, error) {
	pid, err := m.pidArg(c)
	if err != nil {
		return nil, err
	}
	id, _ := m.cfg.Host.SessionOfPID(int(pid))
	var p godbus.ObjectPath
	err = m.do(func(s *state) error {
		if ss := s.sessions[id]; ss != nil {
			p = userPath(ss.UID)
			return nil
		}
		return bus.Errorf(bus.ErrNoUserForPID, "PID %d does not belong to any logged in user or lingering user", pid)
	})
	return []any{p}, err
}

func (m *Manager) hGetSeat(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	var cl *caller
	if isSelfish(id) {
		x, err := m.caller(c)
		if err != nil {
			return nil, err
		}
		cl = &x
	}
	var p godbus.ObjectPath
	err := m.do(func(s *state) error {
		st, err := s.findSeat(id, cl)
		if err == nil {
			p = seatPath(st.ID)
		}
		return err
	})
	return []any{p}, err
}

func (m *Manager) hListSessions(c *bus.Call) ([]any, error) {
	var out []sessionEntry
	err := m.do(func(s *state) error {
		out = make([]sessionEntry, 0, len(s.sessions))
		for _, ss := range s.sessions {
			out = append(out, sessionEntry{ss.ID, ss.UID, ss.UserName, ss.Seat, sessionPath(ss.ID)})
		}
		return nil
	})
	sortBy(out, func(e sessionEntry) string { return e.ID })
	return []any{out}, err
}

// sessionExEntry is ListSessionsEx's (sussussbto): id, uid, user, seat,
// leader, class, tty, idle, idle since (monotonic µs), path.
type sessionExEntry struct {
	ID         string
	UID        uint32
	User, Seat string
	Leader     uint32
	Class, TTY string
	Idle       bool
	IdleSince  uint64
	Path       godbus.ObjectPath
}

func (m *Manager) hListSessionsEx(c *bus.Call) ([]any, error) {
	var out []sessionExEntry
	err := m.do(func(s *state) error {
		out = make([]sessionExEntry, 0, len(s.sessions))
		for _, ss := range s.sessions {
			out = append(out, sessionExEntry{ss.ID, ss.UID, ss.UserName, ss.Seat, ss.Leader, ss.Class, ss.TTY,
				ss.IdleHint, ss.IdleMonotonic, sessionPath(ss.ID)})
		}
		return nil
	})
	sortBy(out, func(e sessionExEntry) string { return e.ID })
	return []any{out}, err
}

func (m *Manager) hListUsers(c *bus.Call) ([]any, error) {
	var out []userEntry
	err := m.do(func(s *state) error {
		out = make([]userEntry, 0, len(s.users))
		for _, u := range s.users {
			out = append(out, userEntry{u.UID, u.Name, userPath(u.UID)})
		}
		return nil
	})
	sortBy(out, func(e userEntry) string { return fmt.Sprintf("%010d", e.UID) })
	return []any{out}, err
}

func (m *Manager) hListSeats(c *bus.Call) ([]any, error) {
	var out []seatEntry
	err := m.do(func(s *state) error {
		out = make([]seatEntry, 0, len(s.seats))
		for _, st := range s.seats {
			out = append(out, seatEntry{st.ID, seatPath(st.ID)})
		}
		return nil
	})
	sortBy(out, func(e seatEntry) string { return e.ID })
	return []any{out}, err
}

func (m *Manager) hListInhibitors(c *bus.Call) ([]any, error) {
	var out []inhibitorEntry
	err := m.do(func(s *state) error { out = s.inhibitorList(); return nil })
	return []any{out}, err
}

func (m *Manager) hCreateSession(c *bus.Call) ([]any, error) {
	var r CreateRequest
	if err := c.Store(&r.UID, &r.PID, &r.Service, &r.Type, &r.Class, &r.Desktop, &r.Seat, &r.VTNr,
		&r.TTY, &r.Display, &r.Remote, &r.RemoteUser, &r.RemoteHost, &r.Properties); err != nil {
		return nil, err
	}
	return m.createSession(c, &r)
}

// hCreateSessionWithPIDFD is the variant pam_systemd >= 255 tries first:
// the leader comes as a pidfd (we only need its pid) and there are flags
// (none defined).
func (m *Manager) hCreateSessionWithPIDFD(c *bus.Call) ([]any, error) {
	var r CreateRequest
	var fd godbus.UnixFD
	var flags uint64
	if err := c.Store(&r.UID, &fd, &r.Service, &r.Type, &r.Class, &r.Desktop, &r.Seat, &r.VTNr,
		&r.TTY, &r.Display, &r.Remote, &r.RemoteUser, &r.RemoteHost, &flags, &r.Properties); err != nil {
		return nil, err
	}
	pid, err := pidOfPidfd(int(fd))
	_ = syscall.Close(int(fd))
	if err != nil {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Invalid leader pidfd: %v", err)
	}
	if flags != 0 {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Flags 0x%x not supported", flags)
	}
	r.PID = pid
	return m.createSession(c, &r)
}

// pidOfPidfd reads the pid a pidfd refers to from its fdinfo.
func pidOfPidfd(fd int) (uint32, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "Pid:"); ok {
			n := parseU64(strings.TrimSpace(v))
			if n == 0 || n > 0x7fffffff {
				return 0, fmt.Errorf("process gone")
			}
			return uint32(n), nil
		}
	}
	return 0, fmt.Errorf("not a pidfd")
}

func (m *Manager) createSession(c *bus.Call, rq *CreateRequest) ([]any, error) {
	r := *rq
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if err := rootOnly(cl, "CreateSession"); err != nil {
		return nil, err
	}
	if r.PID == 0 {
		r.PID = cl.PID
	}
	var rep *CreateReply
	err = m.do(func(s *state) error {
		var err error
		rep, err = s.create(&r)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.AfterReply(func() { _ = rep.FIFO.Close() })
	return []any{rep.ID, rep.Path, rep.Runtime, godbus.UnixFD(rep.FIFO.Fd()), rep.UID, rep.Seat, rep.VTNr, rep.Existing}, nil
}

func (m *Manager) hReleaseSession(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, id, true, func(s *state, ss *session, cl *caller) error {
		if err := rootOnly(*cl, "ReleaseSession"); err != nil {
			return err
		}
		s.stopSession(ss, false)
		return nil
	})
}

type sessionOp int

const (
	opActivate sessionOp = iota
	opLock
	opUnlock
	opTerminate
)

func (s *state) applyOp(op sessionOp, ss *session) error {
	switch op {
	case opActivate:
		if ss.Seat == "" {
			return bus.Errorf(bus.ErrNotSupported, "Session has no seat")
		}
		return s.activate(ss)
	case opLock:
		s.emit(sessionPath(ss.ID), IfaceSession+".Lock")
	case opUnlock:
		s.emit(sessionPath(ss.ID), IfaceSession+".Unlock")
	case opTerminate:
		s.stopSession(ss, true)
	}
	return nil
}

var opNames = map[sessionOp]string{opActivate: "activate session", opLock: "lock session", opUnlock: "unlock session", opTerminate: "terminate session"}

// sessionArgOp serves the Manager methods taking a session id.
func (m *Manager) sessionArgOp(op sessionOp) func(c *bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		var id string
		if err := c.Store(&id); err != nil {
			return nil, err
		}
		return nil, m.withSession(c, id, true, func(s *state, ss *session, cl *caller) error {
			if err := ownerOrRoot(cl, ss.UID, opNames[op]); err != nil {
				return err
			}
			return s.applyOp(op, ss)
		})
	}
}

// sessionObjOp serves the same operations on the Session object.
func (m *Manager) sessionObjOp(op sessionOp) func(c *bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		return nil, m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
			if err := ownerOrRoot(cl, ss.UID, opNames[op]); err != nil {
				return err
			}
			return s.applyOp(op, ss)
		})
	}
}

func (m *Manager) hActivateSessionOnSeat(c *bus.Call) ([]any, error) {
	var id, seatID string
	if err := c.Store(&id, &seatID); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, id, true, func(s *state, ss *session, cl *caller) error {
		st, err := s.findSeat(seatID, cl)
		if err != nil {
			return err
		}
		if ss.Seat != st.ID {
			return bus.Errorf(bus.ErrSessionNotOnSeat, "Session %s not on seat %s", ss.ID, st.ID)
		}
		if err := ownerOrRoot(cl, ss.UID, "activate session"); err != nil {
			return err
		}
		return s.activate(ss)
	})
}

func (m *Manager) lockAll(sig string) func(c *bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		cl, err := m.caller(c)
		if err != nil {
			return nil, err
		}
		if err := rootOnly(cl, "lock sessions"); err != nil {
			return nil, err
		}
		return nil, m.do(func(s *state) error {
			for _, ss := range s.sessions {
				s.emit(sessionPath(ss.ID), IfaceSession+"."+sig)
			}
			return nil
		})
	}
}

func checkSignal(sig int32) error {
	if sig <= 0 || sig >= 65 {
		return bus.Errorf(bus.ErrInvalidArgs, "Invalid signal %d", sig)
	}
	return nil
}

func (s *state) killSession(ss *session, who string, sig int32) error {
	switch who {
	case "leader":
		if err := s.cfg.Host.Kill(int(ss.Leader), syscall.Signal(sig)); err != nil && !errors.Is(err, syscall.ESRCH) {
			return bus.Errorf(bus.ErrFailed, "kill leader of %s: %v", ss.ID, err)
		}
	case "", "all":
		if ss.Scope == "" {
			return s.cfg.Host.Kill(int(ss.Leader), syscall.Signal(sig))
		}
		if err := s.cfg.Host.KillScope(ss.UID, ss.ID, syscall.Signal(sig)); err != nil {
			return bus.Errorf(bus.ErrFailed, "kill session %s: %v", ss.ID, err)
		}
	default:
		return bus.Errorf(bus.ErrInvalidArgs, "Invalid kill parameter '%s'", who)
	}
	return nil
}

func (m *Manager) hKillSession(c *bus.Call) ([]any, error) {
	var id, who string
	var sig int32
	if err := c.Store(&id, &who, &sig); err != nil {
		return nil, err
	}
	if err := checkSignal(sig); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, id, true, func(s *state, ss *session, cl *caller) error {
		if err := ownerOrRoot(cl, ss.UID, "kill session"); err != nil {
			return err
		}
		return s.killSession(ss, who, sig)
	})
}

func (m *Manager) hSessionKill(c *bus.Call) ([]any, error) {
	var who string
	var sig int32
	if err := c.Store(&who, &sig); err != nil {
		return nil, err
	}
	if err := checkSignal(sig); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
		if err := ownerOrRoot(cl, ss.UID, "kill session"); err != nil {
			return err
		}
		return s.killSession(ss, who, sig)
	})
}

// withUserArg runs f for the user uid after checking owner-or-root.
func (m *Manager) withUserArg(c *bus.Call, uid uint32, what string, f func(s *state, u *user) error) error {
	cl, err := m.caller(c)
	if err != nil {
		return err
	}
	return m.do(func(s *state) error {
		u := s.users[uid]
		if u == nil {
			return bus.Errorf(bus.ErrNoSuchUser, "User ID %d is not logged in or lingering", uid)
		}
		if err := ownerOrRoot(&cl, uid, what); err != nil {
			return err
		}
		return f(s, u)
	})
}

func (s *state) terminateUser(u *user) {
	for _, id := range append([]string(nil), u.Sessions...) {
		if ss := s.sessions[id]; ss != nil {
			s.stopSession(ss, true)
		}
	}
}

func (s *state) killUser(u *user, sig int32) error {
	for _, id := range u.Sessions {
		if err := s.killSession(s.sessions[id], "all", sig); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) hKillUser(c *bus.Call) ([]any, error) {
	var uid uint32
	var sig int32
	if err := c.Store(&uid, &sig); err != nil {
		return nil, err
	}
	if err := checkSignal(sig); err != nil {
		return nil, err
	}
	return nil, m.withUserArg(c, uid, "kill user", func(s *state, u *user) error { return s.killUser(u, sig) })
}

func (m *Manager) hTerminateUser(c *bus.Call) ([]any, error) {
	var uid uint32
	if err := c.Store(&uid); err != nil {
		return nil, err
	}
	return nil, m.withUserArg(c, uid, "terminate user", func(s *state, u *user) error { s.terminateUser(u); return nil })
}

func (m *Manager) hUserTerminate(c *bus.Call) ([]any, error) {
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	return nil, m.withUserObj(c, func(s *state, u *user) error {
		if err := ownerOrRoot(&cl, u.UID, "terminate user"); err != nil {
			return err
		}
		s.terminateUser(u)
		return nil
	})
}

func (m *Manager) hUserKill(c *bus.Call) ([]any, error) {
	var sig int32
	if err := c.Store(&sig); err != nil {
		return nil, err
	}
	if err := checkSignal(sig); err != nil {
		return nil, err
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	return nil, m.withUserObj(c, func(s *state, u *user) error {
		if err := ownerOrRoot(&cl, u.UID, "kill user"); err != nil {
			return err
		}
		return s.killUser(u, sig)
	})
}

func (s *state) terminateSeat(st *seat) {
	for _, id := range append([]string(nil), st.Sessions...) {
		if ss := s.sessions[id]; ss != nil {
			s.stopSession(ss, true)
		}
	}
}

func (m *Manager) hTerminateSeat(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	return nil, m.do(func(s *state) error {
		st, err := s.findSeat(id, &cl)
		if err != nil {
			return err
		}
		if err := rootOnly(cl, "terminate seat"); err != nil {
			return err
		}
		s.terminateSeat(st)
		return nil
	})
}

func (m *Manager) hSeatTerminate(c *bus.Call) ([]any, error) {
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if err := rootOnly(cl, "terminate seat"); err != nil {
		return nil, err
	}
	return nil, m.withSeatObj(c, func(s *state, st *seat) error { s.terminateSeat(st); return nil })
}

func (m *Manager) hSetUserLinger(c *bus.Call) ([]any, error) {
	var uid uint32
	var enable, interactive bool
	if err := c.Store(&uid, &enable, &interactive); err != nil {
		return nil, err
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if uid == 0xffffffff {
		uid = cl.UID
	}
	if err := ownerOrRoot(&cl, uid, "set user linger"); err != nil {
		return nil, err
	}
	if m.cfg.LingerDir == "" {
		return nil, bus.Errorf(bus.ErrNotSupported, "Lingering is not configured")
	}
	return nil, m.do(func(s *state) error { return s.setLinger(uid, enable) })
}

func (s *state) setLinger(uid uint32, enable bool) error {
	name, _, err := s.cfg.Host.LookupUser(uid)
	if err != nil {
		return bus.Errorf(bus.ErrNoSuchUser, "User ID %d unknown: %v", uid, err)
	}
	path := filepath.Join(s.cfg.LingerDir, name)
	if enable {
		if err := os.MkdirAll(s.cfg.LingerDir, 0o755); err != nil {
			return fmt.Errorf("linger dir: %w", err)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			return fmt.Errorf("linger: %w", err)
		}
		u, _, err := s.getUser(uid)
		if err != nil {
			return err
		}
		u.Linger = true
		s.dirtyUser[uid] = true
		s.mutated = true
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("linger: %w", err)
	}
	if u := s.users[uid]; u != nil {
		u.Linger = false
		s.dirtyUser[uid] = true
		s.mutated = true
		s.maybeRemoveUser(u)
	}
	return nil
}

// --- session object handlers ---------------------------------------------

func (m *Manager) hSetIdleHint(c *bus.Call) ([]any, error) {
	var b bool
	if err := c.Store(&b); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
		if err := ownerOrRoot(cl, ss.UID, "set idle hint"); err != nil {
			return err
		}
		if !isGraphical(ss.Type) {
			return bus.Errorf(bus.ErrNotSupported, "Idle hint control is not supported on non-graphical sessions.")
		}
		if ss.IdleHint != b {
			ss.IdleHint = b
			ss.IdleRealtime, ss.IdleMonotonic = s.now()
			s.touchSession(ss)
		}
		return nil
	})
}

func (m *Manager) hSetLockedHint(c *bus.Call) ([]any, error) {
	var b bool
	if err := c.Store(&b); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
		if err := ownerOrRoot(cl, ss.UID, "set locked hint"); err != nil {
			return err
		}
		if ss.LockedHint != b {
			ss.LockedHint = b
			s.touchSession(ss)
		}
		return nil
	})
}

func (m *Manager) hTakeControl(c *bus.Call) ([]any, error) {
	var force bool
	if err := c.Store(&force); err != nil {
		return nil, err
	}
	err := m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
		if cl.UID != 0 && (force || cl.UID != ss.UID) {
			return bus.Errorf(bus.ErrAccessDenied, "Access denied: take control of session %s", ss.ID)
		}
		return s.takeControl(ss, c.Sender, force)
	})
	if err != nil {
		return nil, err
	}
	// The controller may have left the bus before its NameOwnerChanged
	// could find it in control (the signal and this call race to the
	// loop): ask the bus, so no session keeps a dead controller.
	if c.Conn != nil {
		var has bool
		if e := c.Conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, c.Sender).Store(&has); e == nil && !has {
			sender := c.Sender
			m.post(func(s *state) { s.nameGone(sender) })
		}
	}
	return nil, nil
}

func (m *Manager) hReleaseControl(c *bus.Call) ([]any, error) {
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		if ss.Controller != c.Sender {
			return bus.Errorf(bus.ErrNotInControl, "You are not in control of this session")
		}
		s.releaseControl(ss)
		return nil
	})
}

func (m *Manager) hSetType(c *bus.Call) ([]any, error) {
	var t string
	if err := c.Store(&t); err != nil {
		return nil, err
	}
	if !validTypes[t] {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Invalid session type '%s'", t)
	}
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		if ss.Controller != c.Sender {
			return bus.Errorf(bus.ErrNotInControl, "You must be in control of this session to set type")
		}
		if ss.Type != t {
			ss.Type = t
			s.touchSession(ss)
		}
		return nil
	})
}

func (m *Manager) devArgs(c *bus.Call) (devKey, error) {
	var k devKey
	if err := c.Store(&k.major, &k.minor); err != nil {
		return k, err
	}
	return k, nil
}

func (m *Manager) hTakeDevice(c *bus.Call) ([]any, error) {
	k, err := m.devArgs(c)
	if err != nil {
		return nil, err
	}
	var f *os.File
	var inactive bool
	err = m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		var err error
		f, inactive, err = s.takeDevice(ss, c.Sender, k)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.AfterReply(func() { _ = f.Close() })
	return []any{godbus.UnixFD(f.Fd()), inactive}, nil
}

func (m *Manager) hReleaseDevice(c *bus.Call) ([]any, error) {
	k, err := m.devArgs(c)
	if err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		return s.releaseDevice(ss, c.Sender, k)
	})
}

func (m *Manager) hPauseDeviceComplete(c *bus.Call) ([]any, error) {
	k, err := m.devArgs(c)
	if err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		return s.pauseComplete(ss, c.Sender, k)
	})
}

// --- seat object handlers -------------------------------------------------

func (m *Manager) hSeatActivateSession(c *bus.Call) ([]any, error) {
	var id string
	if err := c.Store(&id); err != nil {
		return nil, err
	}
	seatID := pathLabel(c)
	return nil, m.withSession(c, id, true, func(s *state, ss *session, cl *caller) error {
		st, err := s.findSeat(seatID, cl)
		if err != nil {
			return err
		}
		if ss.Seat != st.ID {
			return bus.Errorf(bus.ErrSessionNotOnSeat, "Session %s not on seat %s", ss.ID, st.ID)
		}
		if err := ownerOrRoot(cl, ss.UID, "activate session"); err != nil {
			return err
		}
		return s.activate(ss)
	})
}

// switchTo activates VT n (seats with VTs) or the session at position n.
func (s *state) switchTo(st *seat, n uint32) error {
	if n == 0 {
		return bus.Errorf(bus.ErrInvalidArgs, "Invalid virtual terminal")
	}
	if st.HasVTs && s.cfg.VTs != nil {
		if n > 63 {
			return bus.Errorf(bus.ErrInvalidArgs, "Invalid virtual terminal %d", n)
		}
		if err := s.cfg.VTs.Activate(n); err != nil {
			return bus.Errorf(bus.ErrFailed, "%v", err)
		}
		s.vtChanged(n)
		return nil
	}
	if int(n) > len(st.Sessions) {
		return bus.Errorf(bus.ErrInvalidArgs, "No session at position %d", n)
	}
	s.setActive(st, st.Sessions[n-1])
	return nil
}

// authorizeChvt: switching a seat's VT takes the screen and keyboard from
// whoever is on it, so like logind it needs org.freedesktop.login1.chvt
// (by default: root, or a user of an active local session).
func (m *Manager) authorizeChvt(c *bus.Call) error {
	cl, err := m.caller(c)
	if err != nil {
		return err
	}
	return m.authorize(c, &cl, "org.freedesktop.login1.chvt", false)
}

func (m *Manager) hSwitchTo(c *bus.Call) ([]any, error) {
	var n uint32
	if err := c.Store(&n); err != nil {
		return nil, err
	}
	if err := m.authorizeChvt(c); err != nil {
		return nil, err
	}
	return nil, m.withSeatObj(c, func(s *state, st *seat) error { return s.switchTo(st, n) })
}

func (m *Manager) hSwitchStep(dir int) func(c *bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		if err := m.authorizeChvt(c); err != nil {
			return nil, err
		}
		return nil, m.withSeatObj(c, func(s *state, st *seat) error {
			if st.HasVTs && s.cfg.VTs != nil {
				cur := uint32(1)
				if a := s.sessions[st.Active]; a != nil {
					cur = a.VTNr
				} else if n, err := s.cfg.VTs.Active(); err == nil {
					cur = n
				}
				next := int(cur) + dir
				if next < 1 {
					next = 63
				} else if next > 63 {
					next = 1
				}
				return s.switchTo(st, uint32(next))
			}
			if len(st.Sessions) == 0 {
				return nil
			}
			pos := 0
			for i, id := range st.Sessions {
				if id == st.Active {
					pos = i
				}
			}
			pos = (pos + dir + len(st.Sessions)) % len(st.Sessions)
			return s.switchTo(st, uint32(pos+1))
		})
	}
}
