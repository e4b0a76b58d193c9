package sessiond

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
	"ginit/internal/power"
)

// PowerBackend carries power actions out; the daemon uses SysPower, tests
// a fake. Its methods run on a goroutine of their own, never the loop.
type PowerBackend interface {
	// Shutdown hands power.Poweroff, Reboot or Halt to the init system
	// and returns once it accepted (the machine then goes down).
	Shutdown(ctx context.Context, kind power.Kind) error
	// Sleep enters "suspend", "hibernate" or "hybrid-sleep" and returns
	// after the machine resumed.
	Sleep(ctx context.Context, kind string) error
	// CanSleep reports whether the kernel offers kind.
	CanSleep(kind string) bool
}

// Flags of the …WithFlags methods (sd-login.h SD_LOGIND_*).
const (
	flagRootCheckInhibitors  = 1 << 0
	flagRebootViaKexec       = 1 << 1
	flagSoftReboot           = 1 << 2
	flagSoftRebootIfNextroot = 1 << 3
	flagSkipInhibitors       = 1 << 4
	flagsPublic              = flagRootCheckInhibitors | flagRebootViaKexec | flagSoftReboot | flagSoftRebootIfNextroot | flagSkipInhibitors
	flagInteractive          = 1 << 63 // internal: the old methods' interactive argument
)

// powerAction describes one action.
type powerAction struct {
	name   string     // "poweroff", "suspend": ScheduleShutdown type, the sleep verb, logs
	kind   power.Kind // what a shutdown asks of the init system; None for sleeps
	method string     // the bus method, "PowerOff"
	what   inhibitWhat
	polkit string // org.freedesktop.login1.<polkit>[-multiple-sessions|-ignore-inhibit]
}

func (a *powerAction) sleep() bool { return a.what == inhibitSleep }

// shutdownAction is an action the init system carries out.
func shutdownAction(k power.Kind, method, polkit string) *powerAction {
	return &powerAction{name: k.String(), kind: k, method: method, what: inhibitShutdown, polkit: polkit}
}

// sleepAction is an action the kernel carries out and returns from.
func sleepAction(name, method, polkit string) *powerAction {
	return &powerAction{name: name, method: method, what: inhibitSleep, polkit: polkit}
}

var powerActions = []*powerAction{
	shutdownAction(power.Poweroff, "PowerOff", "power-off"),
	shutdownAction(power.Reboot, "Reboot", "reboot"),
	shutdownAction(power.Halt, "Halt", "halt"),
	sleepAction("suspend", "Suspend", "suspend"),
	sleepAction("hibernate", "Hibernate", "hibernate"),
	sleepAction("hybrid-sleep", "HybridSleep", "hibernate"),
	sleepAction("suspend-then-hibernate", "SuspendThenHibernate", "hibernate"),
}

// actionByName finds a shutdown by its internal/power name or a sleep by
// its verb. kexec is a plain reboot: sessiond has no kexec path (logind
// too reboots when no kernel is loaded).
func actionByName(name string) *powerAction {
	if k, err := power.Parse(name); err == nil {
		if k == power.Kexec {
			k = power.Reboot
		}
		name = k.String()
	}
	for _, a := range powerActions {
		if a.name == name {
			return a
		}
	}
	return nil
}

// pendingAction is the one power action under way: announced with
// PrepareFor…(true), waiting for delay locks, then executing.
//
//	requested --no delay locks--> executing --sleep returned / shutdown failed--> (done)
//	    \--delay locks--> delayed --last lock gone / InhibitDelayMax--> executing
type pendingAction struct {
	act       *powerAction
	executing bool
	timer     stopper
}

// scheduledShutdown is ScheduleShutdown's state.
type scheduledShutdown struct {
	Type  string // "poweroff", "dry-reboot", …; "" when none
	USec  uint64 // µs since the epoch
	timer stopper
}

// powerState is the loop's power and inhibitor state.
type powerState struct {
	action         *pendingAction
	scheduled      scheduledShutdown
	inhibitCounter uint64
	rebootParam    string
	wallMessage    string
	enableWall     bool
	lidClosed      bool
	docked         bool
}

// errBlockedByInhibitor is logind's refusal of a power action that a block lock holds.
const errBlockedByInhibitor = "org.freedesktop.login1.BlockedByInhibitorLock"

// scheduled is the ScheduledShutdown property, (st).
type scheduled struct {
	Type string
	USec uint64
}

func prepareSignal(a *powerAction) string {
	if a.sleep() {
		return IfaceManager + ".PrepareForSleep"
	}
	return IfaceManager + ".PrepareForShutdown"
}

// startAction announces a and runs it now or once the delay locks are
// gone (at most InhibitDelayMax later).
func (s *state) startAction(a *powerAction) {
	s.cancelSchedule()
	p := &pendingAction{act: a}
	s.power.action = p
	s.mutated = true
	s.emitPrepare(a, true)
	s.log().Info("power action requested", "action", a.name)
	if limit := s.cfg.Login.InhibitDelayMax; limit > 0 && s.delayedBy(a.what) {
		s.log().Info("waiting for delay inhibitors", "action", a.name, "max", limit)
		p.timer = s.cfg.Clock.AfterFunc(limit, func() {
			s.m.post(func(s *state) {
				if s.power.action == p && !p.executing {
					for _, in := range s.inhibitors {
						if in.Mode == modeDelay && in.What&a.what != 0 {
							s.log().Warn("delay inhibitor still held, going ahead", "who", in.Who, "uid", in.UID, "pid", in.PID)
						}
					}
					s.execute(p)
				}
			})
		})
		return
	}
	s.execute(p)
}

// dispatchDelayed runs a delayed action once its last delay lock is gone.
func (s *state) dispatchDelayed() {
	p := s.power.action
	if p != nil && !p.executing && !s.delayedBy(p.act.what) {
		s.execute(p)
	}
}

// execute hands the action to the backend once this batch is flushed, so
// PrepareFor…(true) is on the bus before anything happens.
func (s *state) execute(p *pendingAction) {
	p.executing = true
	if p.timer != nil {
		p.timer.Stop()
	}
	be, ctx, a := s.cfg.Power, s.m.ctx, p.act
	s.afterFlush(func() {
		go func() {
			var err error
			switch {
			case be == nil: // a restored schedule on a sessiond without power actions
				err = errors.New("power actions are not configured")
			case a.sleep():
				err = be.Sleep(ctx, a.name)
			default:
				err = be.Shutdown(ctx, a.kind)
			}
			s.m.post(func(s *state) { s.actionDone(p, err) })
		}()
	})
}

// actionDone: after a sleep (or a failed shutdown) the action is over and
// PrepareFor…(false) tells clients to take their delay locks again. An
// accepted shutdown stays "preparing" until the machine is gone.
func (s *state) actionDone(p *pendingAction, err error) {
	if s.power.action != p {
		return
	}
	if err != nil {
		s.log().Error("power action failed", "action", p.act.name, "err", err)
	} else if !p.act.sleep() {
		s.log().Info("shutdown handed to the init system", "action", p.act.name)
		return
	} else {
		s.log().Info("resumed", "action", p.act.name)
	}
	s.power.action = nil
	s.mutated = true
	s.emitPrepare(p.act, false)
}

// emitPrepare sends PrepareForSleep or PrepareForShutdown, the latter
// with its …WithMetadata twin (logind 255) carrying the action's type.
func (s *state) emitPrepare(a *powerAction, start bool) {
	s.emit(ManagerPath, prepareSignal(a), start)
	if !a.sleep() {
		s.emit(ManagerPath, IfaceManager+".PrepareForShutdownWithMetadata", start, shutdownMetadata(a))
	}
}

func shutdownMetadata(a *powerAction) map[string]godbus.Variant {
	return map[string]godbus.Variant{"type": godbus.MakeVariant(a.name)}
}

// otherUsersSessions is logind's "multiple sessions": a user session of
// someone else exists.
func (s *state) otherUsersSessions(uid uint32) bool {
	for _, ss := range s.sessions {
		if ss.UID != uid && ss.Class == "user" && !ss.Stopping {
			return true
		}
	}
	return false
}

// powerMethods are the Manager's power and inhibitor methods.
func (m *Manager) powerMethods() []bus.Method {
	var l []bus.Method
	for _, a := range powerActions {
		a := a
		l = append(l,
			bus.Method{Name: a.method, In: []bus.Arg{arg("interactive", "b")}, Handler: func(c *bus.Call) ([]any, error) {
				var interactive bool
				if err := c.Store(&interactive); err != nil {
					return nil, err
				}
				var flags uint64
				if interactive {
					flags = flagInteractive
				}
				return nil, m.doAction(c, a, flags)
			}},
			bus.Method{Name: a.method + "WithFlags", In: []bus.Arg{arg("flags", "t")}, Handler: func(c *bus.Call) ([]any, error) {
				var flags uint64
				if err := c.Store(&flags); err != nil {
					return nil, err
				}
				if flags&^flagsPublic != 0 {
					return nil, bus.Errorf(bus.ErrInvalidArgs, "Invalid flags parameter")
				}
				// The WithFlags forms carry "interactive" in the message
				// header (ALLOW_INTERACTIVE_AUTHORIZATION), which godbus
				// does not expose: they are treated as non-interactive.
				return nil, m.doAction(c, a, flags)
			}},
			bus.Method{Name: "Can" + a.method, Out: []bus.Arg{arg("result", "s")}, Handler: func(c *bus.Call) ([]any, error) {
				r, err := m.canAction(c, a)
				return []any{r}, err
			}},
		)
	}
	// Sleep and CanSleep (logind 257) act on the first operation of
	// SleepOperation= the kernel supports.
	l = append(l,
		bus.Method{Name: "Sleep", In: []bus.Arg{arg("flags", "t")}, Handler: func(c *bus.Call) ([]any, error) {
			var flags uint64
			if err := c.Store(&flags); err != nil {
				return nil, err
			}
			if flags&^flagsPublic != 0 {
				return nil, bus.Errorf(bus.ErrInvalidArgs, "Invalid flags parameter")
			}
			a := m.sleepOperation()
			if a == nil {
				return nil, bus.Errorf(bus.ErrSleepVerbNotSupp, "None of the sleep operations %s is supported", strings.Join(sleepOperations(), ", "))
			}
			return nil, m.doAction(c, a, flags)
		}},
		bus.Method{Name: "CanSleep", Out: []bus.Arg{arg("result", "s")}, Handler: func(c *bus.Call) ([]any, error) {
			a := m.sleepOperation()
			if a == nil {
				return []any{"na"}, nil
			}
			r, err := m.canAction(c, a)
			return []any{r}, err
		}},
	)
	l = append(l,
		bus.Method{Name: "Inhibit", In: []bus.Arg{arg("what", "s"), arg("who", "s"), arg("why", "s"), arg("mode", "s")},
			Out: []bus.Arg{arg("pipe_fd", "h")}, Handler: m.hInhibit},
		bus.Method{Name: "ScheduleShutdown", In: []bus.Arg{arg("type", "s"), arg("usec", "t")}, Handler: m.hScheduleShutdown},
		bus.Method{Name: "CancelScheduledShutdown", Out: []bus.Arg{arg("cancelled", "b")}, Handler: m.hCancelScheduledShutdown},
		bus.Method{Name: "CanRebootParameter", Out: []bus.Arg{arg("result", "s")}, Handler: m.canSetting("set-reboot-parameter")},
		bus.Method{Name: "SetRebootParameter", In: []bus.Arg{arg("parameter", "s")}, Handler: m.hSetRebootParameter},
		bus.Method{Name: "CanRebootToFirmwareSetup", Out: []bus.Arg{arg("result", "s")}, Handler: na},
		bus.Method{Name: "SetRebootToFirmwareSetup", In: []bus.Arg{arg("enable", "b")}, Handler: notSupported("Firmware does not support boot into firmware.")},
		bus.Method{Name: "CanRebootToBootLoaderMenu", Out: []bus.Arg{arg("result", "s")}, Handler: na},
		bus.Method{Name: "SetRebootToBootLoaderMenu", In: []bus.Arg{arg("timeout", "t")}, Handler: notSupported("Boot loader does not support boot into boot loader menu.")},
		bus.Method{Name: "CanRebootToBootLoaderEntry", Out: []bus.Arg{arg("result", "s")}, Handler: na},
		bus.Method{Name: "SetRebootToBootLoaderEntry", In: []bus.Arg{arg("boot_loader_entry", "s")}, Handler: notSupported("Boot loader does not support boot into boot loader entry.")},
		bus.Method{Name: "SetWallMessage", In: []bus.Arg{arg("wall_message", "s"), arg("enable", "b")}, Handler: m.hSetWallMessage},
	)
	return l
}

// sleepOperations is logind's default SleepOperation=, in order of
// preference.
func sleepOperations() []string { return []string{"suspend-then-hibernate", "suspend", "hibernate"} }

// sleepOperation is the action Sleep() runs: the first of
// sleepOperations the kernel offers, nil if none.
func (m *Manager) sleepOperation() *powerAction {
	if m.cfg.Power == nil {
		return nil
	}
	for _, name := range sleepOperations() {
		if m.cfg.Power.CanSleep(name) {
			return actionByName(name)
		}
	}
	return nil
}

const polkitPrefix = "org.freedesktop.login1."

// verifyShutdown is logind's verify_shutdown_creds: other users' sessions
// need the -multiple-sessions action; a block lock refuses outright unless
// SKIP_INHIBITORS is given (then -ignore-inhibit decides); a block-weak
// lock of another user only needs -ignore-inhibit, except for root asking
// with ROOT_CHECK_INHIBITORS.
func (m *Manager) verifyShutdown(c *bus.Call, cl *caller, a *powerAction, flags uint64) error {
	interactive := flags&flagInteractive != 0
	var multiple bool
	var off *inhibitor
	if err := m.do(func(s *state) error {
		multiple = s.otherUsersSessions(cl.UID)
		if in := s.blockedBy(a.what, cl.UID); in != nil {
			cp := *in
			off = &cp
		}
		return nil
	}); err != nil {
		return err
	}
	if multiple {
		if err := m.authorize(c, cl, actionRule(polkitPrefix+a.polkit+"-multiple-sessions"), interactive); err != nil {
			return err
		}
	}
	if off != nil {
		if flags&flagSkipInhibitors == 0 && (off.Mode == modeBlock || (cl.UID == 0 && flags&flagRootCheckInhibitors != 0)) {
			return bus.Errorf(errBlockedByInhibitor, "Operation denied due to active block inhibitor")
		}
		if err := m.authorize(c, cl, actionRule(polkitPrefix+a.polkit+"-ignore-inhibit"), interactive); err != nil {
			return err
		}
	}
	if !multiple && off == nil {
		return m.authorize(c, cl, actionRule(polkitPrefix+a.polkit), interactive)
	}
	return nil
}

func (m *Manager) doAction(c *bus.Call, a *powerAction, flags uint64) error {
	if flags&(flagSoftReboot|flagSoftRebootIfNextroot) != 0 && a.kind != power.Reboot {
		return bus.Errorf(bus.ErrInvalidArgs, "Soft reboot option is only applicable with reboot operations")
	}
	if flags&flagRebootViaKexec != 0 && a.kind != power.Reboot {
		return bus.Errorf(bus.ErrInvalidArgs, "Reboot via kexec option is only applicable with reboot operations")
	}
	if flags&flagSoftReboot != 0 {
		return bus.Errorf(bus.ErrNotSupported, "Soft reboot is not supported")
	}
	// kexec without a loaded kernel is a plain reboot in logind too; ginit
	// has no kexec path, so the flag always means that here.
	if m.cfg.Power == nil {
		return bus.Errorf(bus.ErrNotSupported, "Power actions are not configured")
	}
	if a.sleep() && !m.cfg.Power.CanSleep(a.name) {
		return bus.Errorf(bus.ErrSleepVerbNotSupp, "Sleep verb '%s' is not configured or configuration is not supported by kernel", a.name)
	}
	cl, err := m.caller(c)
	if err != nil {
		return err
	}
	if err := m.verifyShutdown(c, &cl, a, flags); err != nil {
		return err
	}
	return m.do(func(s *state) error {
		if p := s.power.action; p != nil {
			return bus.Errorf(bus.ErrOperationInProgress, "Action %s already in progress, refusing requested %s operation.", p.act.name, a.name)
		}
		// A block lock taken while polkit was asked still counts.
		if in := s.blockedBy(a.what, cl.UID); in != nil && in.Mode == modeBlock && flags&flagSkipInhibitors == 0 {
			return bus.Errorf(errBlockedByInhibitor, "Operation denied due to active block inhibitor")
		}
		s.startAction(a)
		return nil
	})
}

// canAction is logind's method_can_shutdown_or_sleep (systemd 252
// answers: yes, no, challenge, na).
func (m *Manager) canAction(c *bus.Call, a *powerAction) (string, error) {
	if m.cfg.Power == nil || (a.sleep() && !m.cfg.Power.CanSleep(a.name)) {
		return "na", nil
	}
	cl, err := m.caller(c)
	if err != nil {
		return "", err
	}
	var multiple, blocked bool
	if err := m.do(func(s *state) error {
		multiple = s.otherUsersSessions(cl.UID)
		blocked = s.blockedBy(a.what, cl.UID) != nil
		return nil
	}); err != nil {
		return "", err
	}
	r, err := m.check(c, &cl, actionRule(polkitPrefix+a.polkit), false)
	if err != nil {
		return "", err
	}
	result := r.String()
	narrow := func(action string) error {
		r, err := m.check(c, &cl, actionRule(action), false)
		switch {
		case err != nil:
			return err
		case r == authChallenge && result == "yes":
			result = "challenge"
		case r == authNo:
			result = "no"
		}
		return nil
	}
	if multiple {
		if err := narrow(polkitPrefix + a.polkit + "-multiple-sessions"); err != nil {
			return "", err
		}
	}
	if blocked {
		if err := narrow(polkitPrefix + a.polkit + "-ignore-inhibit"); err != nil {
			return "", err
		}
	}
	return result, nil
}

func (m *Manager) canSetting(action string) func(c *bus.Call) ([]any, error) {
	return func(c *bus.Call) ([]any, error) {
		cl, err := m.caller(c)
		if err != nil {
			return nil, err
		}
		r, err := m.check(c, &cl, actionRule(polkitPrefix+action), false)
		return []any{r.String()}, err
	}
}

func (m *Manager) hSetRebootParameter(c *bus.Call) ([]any, error) {
	var p string
	if err := c.Store(&p); err != nil {
		return nil, err
	}
	for _, ch := range p {
		if ch < ' ' || ch == 0x7f {
			return nil, bus.Errorf(bus.ErrInvalidArgs, "Invalid reboot parameter '%s'.", p)
		}
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if err := m.authorize(c, &cl, actionRule(polkitPrefix+"set-reboot-parameter"), false); err != nil {
		return nil, err
	}
	return nil, m.do(func(s *state) error { s.power.rebootParam = p; return nil })
}

func (m *Manager) hSetWallMessage(c *bus.Call) ([]any, error) {
	var msg string
	var enable bool
	if err := c.Store(&msg, &enable); err != nil {
		return nil, err
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if err := m.authorize(c, &cl, actionRule(polkitPrefix+"set-wall-message"), false); err != nil {
		return nil, err
	}
	return nil, m.do(func(s *state) error {
		s.power.wallMessage, s.power.enableWall = msg, enable
		return nil
	})
}

func (m *Manager) hScheduleShutdown(c *bus.Call) ([]any, error) {
	var typ string
	var at uint64
	if err := c.Store(&typ, &at); err != nil {
		return nil, err
	}
	a := scheduleAction(typ)
	if a == nil {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Unsupported shutdown type: %s", typ)
	}
	if m.cfg.Power == nil {
		return nil, bus.Errorf(bus.ErrNotSupported, "Power actions are not configured")
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if err := m.verifyShutdown(c, &cl, a, 0); err != nil {
		return nil, err
	}
	return nil, m.do(func(s *state) error { s.schedule(typ, at, a); return nil })
}

// schedule arms the ScheduleShutdown timer: at (µs since the epoch) the
// action starts, unless typ is a dry run, which only logs.
func (s *state) schedule(typ string, at uint64, a *powerAction) {
	if at == infinity {
		// The shutdown command's default: one minute from now.
		at = uint64(s.cfg.Clock.Now().Add(time.Minute).UnixMicro())
	}
	s.cancelSchedule()
	sc := &s.power.scheduled
	sc.Type, sc.USec = typ, at
	dry := strings.HasPrefix(typ, "dry-")
	wait := max(time.UnixMicro(int64(at)).Sub(s.cfg.Clock.Now()), 0)
	sc.timer = s.cfg.Clock.AfterFunc(wait, func() {
		s.m.post(func(s *state) {
			if s.power.scheduled.Type != typ || s.power.scheduled.USec != at {
				return // cancelled or replaced meanwhile
			}
			s.cancelSchedule()
			switch {
			case dry:
				s.log().Info("scheduled shutdown elapsed (dry run)", "type", typ)
			case s.power.action != nil:
				s.log().Warn("scheduled shutdown elapsed while another action runs", "type", typ, "running", s.power.action.act.name)
			default:
				s.startAction(a)
			}
		})
	})
	s.mutated = true
	s.saveSchedule()
	s.log().Info("shutdown scheduled", "type", typ, "usec", at)
}

// scheduleAction maps ScheduleShutdown's types (poweroff, reboot, halt,
// kexec and their dry- forms) to actions; kexec is a plain reboot here.
func scheduleAction(typ string) *powerAction {
	if a := actionByName(strings.TrimPrefix(typ, "dry-")); a != nil && !a.sleep() {
		return a
	}
	return nil
}

// cancelSchedule forgets a scheduled shutdown.
func (s *state) cancelSchedule() {
	sc := &s.power.scheduled
	if sc.Type == "" {
		return
	}
	if sc.timer != nil {
		sc.timer.Stop()
	}
	*sc = scheduledShutdown{}
	s.mutated = true
	_ = os.Remove(s.cfg.scheduleFile())
}

// scheduleFile is logind's record of a scheduled shutdown; sessiond
// reads it back after a restart.
func (c *Config) scheduleFile() string {
	return filepath.Join(c.RunDir, "systemd", "shutdown", "scheduled")
}

func (s *state) saveSchedule() {
	sc := &s.power.scheduled
	if err := os.MkdirAll(filepath.Dir(s.cfg.scheduleFile()), 0o755); err != nil {
		s.log().Warn("save scheduled shutdown", "err", err)
		return
	}
	if err := writeEnvFile(s.cfg.scheduleFile(), []kv{{"USEC", strconv.FormatUint(sc.USec, 10)}, {"WARN_WALL", "0"}, {"MODE", sc.Type}}); err != nil {
		s.log().Warn("save scheduled shutdown", "err", err)
	}
}

// restoreSchedule re-arms a shutdown scheduled before a restart.
func (s *state) restoreSchedule() {
	vals, err := readEnvFile(s.cfg.scheduleFile())
	if err != nil {
		return
	}
	typ, at := vals["MODE"], parseU64(vals["USEC"])
	a := scheduleAction(typ)
	if a == nil || at == 0 {
		s.log().Warn("dropping unreadable scheduled shutdown", "file", s.cfg.scheduleFile())
		_ = os.Remove(s.cfg.scheduleFile())
		return
	}
	s.schedule(typ, at, a)
}

func (m *Manager) hCancelScheduledShutdown(c *bus.Call) ([]any, error) {
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	var typ string
	if err := m.do(func(s *state) error { typ = s.power.scheduled.Type; return nil }); err != nil {
		return nil, err
	}
	if typ == "" {
		return []any{false}, nil
	}
	if err := m.authorize(c, &cl, actionRule(polkitPrefix+scheduleAction(typ).polkit), false); err != nil {
		return nil, err
	}
	var cancelled bool
	err = m.do(func(s *state) error {
		if s.power.scheduled.Type != "" {
			s.cancelSchedule()
			cancelled = true
		}
		// A shutdown still waiting for delay locks is called off too.
		if p := s.power.action; p != nil && !p.executing && !p.act.sleep() {
			if p.timer != nil {
				p.timer.Stop()
			}
			s.power.action = nil
			s.mutated = true
			s.emitPrepare(p.act, false)
			cancelled = true
		}
		return nil
	})
	return []any{cancelled}, err
}
