package sdunit

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"ginit/init/service"
	"ginit/internal/calendar"
)

func capList() map[string]bool {
	m := map[string]bool{}
	for _, n := range service.CapabilityNames() {
		m[n] = true
	}
	return m
}

func sortStrings(s []string) { sort.Strings(s) }

// socketsOf lists the socket units a service names: Sockets= and the
// .socket units among its requirements.
func (t *translator) socketsOf(u *unitSet) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range []struct{ sec, key string }{{"Service", "Sockets"}, {"Unit", "Requires"}, {"Unit", "Wants"}, {"Unit", "BindsTo"}} {
		for _, n := range t.names(u.all(k.sec, k.key)) {
			if strings.HasSuffix(n.unit, sufSocket) && !seen[n.unit] {
				seen[n.unit] = true
				out = append(out, n.unit)
			}
		}
	}
	return out
}

// socketSpec is what ginit can take over from a .socket unit.
type socketSpec struct {
	path      string // the one unix stream socket ginit can make
	mode      uint32
	user, grp string
	service   string // the unit it activates
	why       string // why it cannot be passed, when path is ""
}

// readSocket reads a socket unit and says what ginit can make of it.
func (t *translator) readSocket(unitName string) (*socketSpec, []option, bool) {
	path, err := t.s.findUnit(unitName)
	if err != nil {
		return nil, nil, false
	}
	opts, err := t.s.readUnit(unitName, path)
	if err != nil {
		t.warn(nil, "%s: %v", unitName, err)
		return nil, nil, false
	}
	u := collect(opts)
	sp := &socketSpec{mode: 0o666, service: strings.TrimSuffix(unitName, sufSocket) + sufService}
	if o := u.last("Socket", "Service"); o != nil {
		sp.service = o.value
	}
	if o := u.last("Socket", "Accept"); o != nil {
		if b, _ := parseBool(o.value); b {
			sp.why = "Accept=yes (one service instance per connection) is not supported"
			return sp, opts, true
		}
	}
	var listens []string
	for _, k := range []string{"ListenStream", "ListenDatagram", "ListenSequentialPacket", "ListenFIFO",
		"ListenNetlink", "ListenSpecial", "ListenMessageQueue", "ListenUSBFunction"} {
		for _, o := range u.all("Socket", k) {
			listens = append(listens, k+"="+o.value)
			if k == "ListenStream" && filepath.IsAbs(o.value) {
				sp.path = o.value
			}
		}
	}
	if len(listens) != 1 || sp.path == "" {
		sp.path = ""
		sp.why = "ginit passes one unix stream socket; this one has " + strings.Join(listens, ", ")
		return sp, opts, true
	}
	if o := u.last("Socket", "SocketMode"); o != nil {
		if m, err := strconv.ParseUint(o.value, 8, 32); err == nil && m <= 0o777 {
			sp.mode = uint32(m)
		}
	}
	if o := u.last("Socket", "SocketUser"); o != nil {
		sp.user = o.value
	}
	if o := u.last("Socket", "SocketGroup"); o != nil {
		sp.grp = o.value
	}
	return sp, opts, true
}

// attachSocket gives the service the socket of a .socket unit it requires
// when that socket activates it and ginit can make it (one unix stream
// socket, Accept=no). The socket is then made at the service's first start
// and passed with LISTEN_FDS; ginit does not start the service on the first
// connection. A socket ginit cannot make is reported and the service runs
// without it (daemons fall back to making their own).
func (t *translator) attachSocket(unitName string, aliases []string) {
	sp, _, ok := t.readSocket(unitName)
	if !ok {
		t.warn(nil, "socket %s not found: the service runs without it", unitName)
		return
	}
	if sp.service != t.unit && !slices.Contains(aliases, sp.service) {
		// Another service owns it: depend on that one.
		n := serviceName(sp.service)
		if n != t.name && !t.d.DependsOn(n, service.DepRegular) {
			t.d.Deps = append(t.d.Deps, service.Dep{Name: n, Kind: service.DepRegular})
		}
		return
	}
	if sp.path == "" {
		t.warn(nil, "socket %s: %s; the service runs without it", unitName, sp.why)
		return
	}
	if t.d.SocketListen != "" {
		t.warn(nil, "socket %s: ginit passes one socket, %s already; the service runs without it", unitName, t.d.SocketListen)
		return
	}
	t.d.SocketListen, t.d.SocketPermissions = sp.path, sp.mode
	// The socket unit makes the socket's directory (ginit's socket-listen
	// needs it, systemd makes it): started first.
	t.d.Deps = append(t.d.Deps, service.Dep{Name: unitName, Kind: service.DepRegular})
	if sp.user != "" {
		if uid, _, _, _, ok := t.passwdEntry(sp.user); ok {
			t.d.SocketUID, _ = strconv.Atoi(uid)
		} else {
			t.warn(nil, "socket %s: SocketUser %s unknown; the socket stays root's", unitName, sp.user)
		}
	}
	if sp.grp != "" {
		if gid, ok := t.groupID(sp.grp); ok {
			t.d.SocketGID = gid
		} else {
			t.warn(nil, "socket %s: SocketGroup %s unknown; the socket keeps its group", unitName, sp.grp)
		}
	}
}

// groupID looks a group up in the group file next to the passwd file.
func (t *translator) groupID(name string) (int, bool) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, true
	}
	path := "/etc/group"
	if t.s.cfg.PasswdFile != "" {
		path = filepath.Join(filepath.Dir(t.s.cfg.PasswdFile), "group")
	}
	data, err := readFile(path)
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 3 && f[0] == name {
			n, err := strconv.Atoi(f[2])
			return n, err == nil
		}
	}
	return 0, false
}

// socketUnit maps a .socket unit loaded by its own name. A socket ginit
// can make (one unix stream socket, Accept=no) is made by its service
// (attachSocket), which depends on this unit: this one makes the socket's
// directory (DirectoryMode=, default 0755), as systemd does before it
// binds. Any other socket is a service with no process. Either way a
// connection does not start the service: ginit has no activation on the
// first connection.
func (t *translator) socketUnit(opts []option) *service.Description {
	u := collect(opts)
	t.known(u, map[string]bool{"Unit": true, "Socket": true, "Install": true})
	sp, _, _ := t.readSocket(t.unit)
	if sp == nil {
		t.fail(nil, "cannot read the socket unit")
		return t.d
	}
	if strings.HasPrefix(sp.why, "Accept") {
		t.fail(u.last("Socket", "Accept"), "%s", sp.why)
		return t.d
	}
	if sp.path == "" {
		t.warn(nil, "%s; the unit does nothing under ginit", sp.why)
		return t.d
	}
	mode := uint64(0o755)
	if o := u.last("Socket", "DirectoryMode"); o != nil {
		m, err := strconv.ParseUint(o.value, 8, 32)
		if err != nil || m > 0o7777 {
			t.fail(o, "bad mode %q", o.value)
			return t.d
		}
		mode = m
	}
	t.warn(nil, "%s makes the socket when it starts; this unit makes its directory, and a connection does not start %s", sp.service, sp.service)
	dir := filepath.Dir(sp.path)
	t.d.Type = service.TypeScripted
	t.d.Command = []string{"/bin/sh", "-c", fmt.Sprintf("mkdir -p %s && chmod %04o %s", shQuote(dir), mode, shQuote(dir)), t.unit}
	return t.d
}

// target maps a .target unit: a service with no process that starts the
// services linked in its .wants/.requires directories and the services it
// names (targets it names are dropped: their graph is systemd's own boot).
func (t *translator) target(opts []option) *service.Description {
	u := collect(opts)
	t.known(u, map[string]bool{"Unit": true, "Install": true})
	t.deps(u)
	names, required := t.s.wants(t.unit)
	for _, n := range names {
		k := service.DepWaitsFor
		if required[n] {
			k = service.DepRegular
		}
		if !t.d.DependsOn(n, k) {
			t.d.Deps = append(t.d.Deps, service.Dep{Name: n, Kind: k})
		}
	}
	return t.d
}

// timerUnit maps a .timer unit onto a ginit timer (type timer): its Unit=
// (default: the service of the same name) is the target; OnCalendar=,
// OnBootSec= and OnStartupSec= (the same for a system instance),
// OnActiveSec=, OnUnitInactiveSec=, RandomizedDelaySec= and Persistent=
// are its triggers. OnUnitActiveSec= has no ginit trigger and is refused.
func (t *translator) timerUnit(opts []option) *service.Description {
	u := collect(opts)
	t.known(u, map[string]bool{"Unit": true, "Timer": true, "Install": true})
	t.deps(u)
	d := t.d
	d.Type = service.TypeTimer
	tm := &service.TimerSpec{Target: serviceName(strings.TrimSuffix(t.unit, sufTimer) + sufService)}
	if o := u.last("Timer", "Unit"); o != nil {
		if v, ok := t.value(o); ok {
			if !strings.HasSuffix(v, sufService) {
				t.fail(o, "%s: a timer under ginit starts a service", v)
			}
			tm.Target = serviceName(v)
		}
	}
	for _, o := range u.all("Timer", "OnCalendar") {
		v, ok := t.value(o)
		if !ok {
			continue
		}
		sp, err := calendar.Parse(v)
		if err != nil {
			t.fail(o, "%v", err)
			continue
		}
		tm.Triggers.Calendar = append(tm.Triggers.Calendar, sp)
	}
	spans := []struct {
		key string
		dst *[]time.Duration
	}{{"OnBootSec", &tm.Triggers.OnBoot}, {"OnStartupSec", &tm.Triggers.OnBoot},
		{"OnActiveSec", &tm.Triggers.OnActive}, {"OnUnitInactiveSec", &tm.Triggers.OnUnitInactive}}
	for _, sp := range spans {
		for _, o := range u.all("Timer", sp.key) {
			var v time.Duration
			t.durationOf(o, &v)
			*sp.dst = append(*sp.dst, v)
		}
	}
	if o := u.last("Timer", "OnUnitActiveSec"); o != nil {
		t.fail(o, "OnUnitActiveSec has no ginit trigger (OnUnitInactiveSec has)")
	}
	t.durationOf(u.last("Timer", "RandomizedDelaySec"), &tm.Triggers.RandomizedDelay)
	tm.Triggers.Persistent = t.boolOf(u.last("Timer", "Persistent"))
	tr := tm.Triggers
	if len(tr.Calendar)+len(tr.OnBoot)+len(tr.OnActive)+len(tr.OnUnitInactive) == 0 && len(t.errs) == 0 {
		t.fail(nil, "the timer has no trigger ginit knows")
	}
	d.Timer = tm
	return d
}
