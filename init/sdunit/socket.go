package sdunit

import (
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

// socketRef is what a service needs to know of a socket unit it names:
// the service it activates, whether it is inetd style, and why ginit
// cannot make its sockets ("" when it can).
type socketRef struct {
	service string
	accept  bool
	why     string
}

// readSocket reads a socket unit for a service that names it.
func (t *translator) readSocket(unitName string) (*socketRef, bool) {
	path, err := t.s.findUnit(unitName)
	if err != nil {
		return nil, false
	}
	opts, err := t.s.readUnit(unitName, path)
	if err != nil {
		t.warn(nil, "%s: %v", unitName, err)
		return nil, false
	}
	u := collect(opts)
	ref := &socketRef{service: strings.TrimSuffix(unitName, sufSocket) + sufService}
	if o := u.last("Socket", "Service"); o != nil {
		ref.service = o.value
	}
	if o := u.last("Socket", "Accept"); o != nil {
		ref.accept, _ = parseBool(o.value)
	}
	for _, k := range unsupportedListens {
		if o := u.last("Socket", k); o != nil {
			ref.why = k + " is not supported"
		}
	}
	return ref, true
}

// unsupportedListens are the Listen kinds ginit cannot make.
var unsupportedListens = []string{"ListenNetlink", "ListenSpecial", "ListenMessageQueue", "ListenUSBFunction"}

// attachSocket links a service to a .socket unit it names. When that
// socket activates this service, the service depends on it: started by
// hand, the socket unit opens the sockets first and the service's start
// gets them (LISTEN_FDS), as it does when a connection starts it. A
// socket that activates another service makes this one depend on that
// service. A socket ginit cannot make is reported and the service runs
// without it (daemons fall back to making their own).
func (t *translator) attachSocket(unitName string, aliases []string) {
	ref, ok := t.readSocket(unitName)
	if !ok {
		t.warn(nil, "socket %s not found: the service runs without it", unitName)
		return
	}
	if ref.service != t.unit && !slices.Contains(aliases, ref.service) {
		// Another service owns it: depend on that one.
		n := serviceName(ref.service)
		if n != t.name && !t.d.DependsOn(n, service.DepRegular) {
			t.d.Deps = append(t.d.Deps, service.Dep{Name: n, Kind: service.DepRegular})
		}
		return
	}
	switch {
	case ref.why != "":
		t.warn(nil, "socket %s: %s; the service runs without it", unitName, ref.why)
	case ref.service != t.unit:
		// The socket activates an alias (syslog.service): under ginit
		// that is another record, so the service runs without it.
		t.warn(nil, "socket %s activates %s, an alias of this service; the service runs without it", unitName, ref.service)
	case ref.accept:
		t.warn(nil, "socket %s has Accept=yes: it starts instances of a template, not this service", unitName)
	case !t.d.DependsOn(unitName, service.DepRegular):
		t.d.Deps = append(t.d.Deps, service.Dep{Name: unitName, Kind: service.DepRegular})
	}
}

// owner resolves SocketUser=/SocketGroup= to ids (-1: unchanged).
func (t *translator) owner(u *unitSet) (uid, gid int) {
	uid, gid = -1, -1
	if o := u.last("Socket", "SocketUser"); o != nil {
		if v, ok := t.value(o); ok {
			if id, _, _, _, found := t.passwdEntry(v); found {
				uid, _ = strconv.Atoi(id)
			} else {
				t.fail(o, "unknown user %q", v)
			}
		}
	}
	if o := u.last("Socket", "SocketGroup"); o != nil {
		if v, ok := t.value(o); ok {
			if id, found := t.groupID(v); found {
				gid = id
			} else {
				t.fail(o, "unknown group %q", v)
			}
		}
	}
	return uid, gid
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

// socketUnit maps a .socket unit onto a ginit socket service (type
// socket): ListenStream=, ListenDatagram=, ListenSequentialPacket= and
// ListenFIFO= with their modes, owner, Backlog=, BindIPv6Only=,
// ReusePort= and FileDescriptorName=; its Service= (default: the service
// of the same name) is started on the first connection and gets the
// sockets. A Listen kind ginit cannot make, or a bad address, is a load
// error at its line. With Accept=yes each connection starts an instance
// of NAME@.service (MaxConnections= at once) with that connection.
func (t *translator) socketUnit(opts []option) *service.Description {
	u := collect(opts)
	t.known(u, map[string]bool{"Unit": true, "Socket": true, "Install": true})
	t.deps(u)
	d := t.d
	d.Type = service.TypeSocket
	d.Command = nil
	target := strings.TrimSuffix(t.unit, sufSocket) + sufService
	if o := u.last("Socket", "Service"); o != nil {
		if v, ok := t.value(o); ok {
			if !strings.HasSuffix(v, sufService) || strings.Contains(v, "@.") {
				t.fail(o, "%s: a socket activates a service instance", v)
			}
			target = v
		}
	}
	spec := &service.SocketSpec{Target: serviceName(target)}
	if o := u.last("Socket", "Accept"); o != nil {
		if b, err := parseBool(o.value); err != nil {
			t.fail(o, "bad boolean %q", o.value)
		} else if b {
			// Each connection starts an instance of NAME@.service.
			spec.Accept = true
			spec.Target = strings.TrimSuffix(t.unit, sufSocket)
			if so := u.last("Socket", "Service"); so != nil {
				t.fail(so, "Service= is not allowed with Accept=yes (the template NAME@.service is started)")
			}
			if !t.s.exists(spec.Target + "@") {
				t.fail(o, "Accept=yes needs the template %s@.service", spec.Target)
			}
		}
	}
	if o := u.last("Socket", "MaxConnections"); o != nil {
		n, err := strconv.ParseUint(o.value, 10, 31)
		if err != nil || n == 0 {
			t.fail(o, "bad count %q", o.value)
		}
		spec.MaxConnections = int(n)
	}
	for _, k := range unsupportedListens {
		if o := u.last("Socket", k); o != nil {
			t.fail(o, "%s is not supported: the service would miss that descriptor", k)
		}
	}
	mode := func(key string, def uint32) uint32 {
		o := u.last("Socket", key)
		if o == nil {
			return def
		}
		m, err := strconv.ParseUint(o.value, 8, 32)
		if err != nil || m > 0o7777 {
			t.fail(o, "bad mode %q", o.value)
			return def
		}
		return uint32(m)
	}
	base := service.Listen{Mode: mode("SocketMode", 0o666), DirMode: mode("DirectoryMode", 0o755)}
	base.UID, base.GID = t.owner(u)
	if o := u.last("Socket", "Backlog"); o != nil {
		n, err := strconv.ParseUint(o.value, 10, 31)
		if err != nil {
			t.fail(o, "bad backlog %q", o.value)
		}
		base.Backlog = int(n)
	}
	if o := u.last("Socket", "BindIPv6Only"); o != nil {
		switch o.value {
		case "default", "both", "ipv6-only":
			base.IPv6Only = o.value
		default:
			t.fail(o, "bad BindIPv6Only %q (default, both or ipv6-only)", o.value)
		}
	}
	base.ReusePort = t.boolOf(u.last("Socket", "ReusePort"))
	if o := u.last("Socket", "FileDescriptorName"); o != nil {
		if v, ok := t.value(o); ok {
			if v == "" || len(v) > 255 || strings.ContainsAny(v, ": \t\n") {
				t.fail(o, "bad descriptor name %q", v)
			}
			base.Name = v
		}
	}
	spec.RemoveOnStop = t.boolOf(u.last("Socket", "RemoveOnStop"))
	t.durationOf(u.last("Socket", "TriggerLimitIntervalSec"), &spec.TriggerInterval)
	if o := u.last("Socket", "TriggerLimitBurst"); o != nil {
		n, err := strconv.ParseUint(o.value, 10, 31)
		if err != nil || n == 0 {
			t.fail(o, "bad count %q", o.value)
		}
		spec.TriggerBurst = int(n)
	}
	kinds := []struct {
		key  string
		kind service.ListenKind
	}{{"ListenStream", service.ListenStream}, {"ListenDatagram", service.ListenDatagram},
		{"ListenSequentialPacket", service.ListenSeqPacket}, {"ListenFIFO", service.ListenFIFO}}
	// In file order: the order of the descriptors the service gets.
	for _, o := range u.order {
		if o.section != "Socket" {
			continue
		}
		for _, k := range kinds {
			if o.key != k.key {
				continue
			}
			v, ok := t.value(o)
			if !ok {
				break
			}
			if v == "" {
				spec.Listen = nil // an empty assignment resets the list
				break
			}
			if _, _, err := service.ParseListen(k.kind, v); err != nil {
				t.fail(o, "%v", err)
				break
			}
			l := base
			l.Kind, l.Addr = k.kind, v
			spec.Listen = append(spec.Listen, l)
		}
	}
	if len(spec.Listen) == 0 && len(t.errs) == 0 {
		t.fail(nil, "the socket unit listens on nothing ginit can make")
	}
	d.Socket = spec
	d.ExtMut().Conditions = t.conditions(u)
	return d
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
