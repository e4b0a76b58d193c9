package service

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Socket activation (type socket): a socket service has no process;
// started, it has Config.Sockets make its listening sockets and watch
// them. The first connection or datagram (a readable event posted into
// the loop) starts its target the way `start` would; the target's start
// command gets the sockets (SpawnRequest.Sockets, LISTEN_FDS). While the
// target is not Stopped nothing watches, so the target alone reads the
// sockets; once it is Stopped again (and not about to start) the watch
// is armed again. The sockets stay open throughout, so a connection made
// while nothing runs waits in the backlog and is served by the next run.
// Stopping the socket service closes them. Everything here runs on the
// manager goroutine; the watch only posts events.

// sockRun is the live state of a started socket service.
type sockRun struct {
	triggers []time.Time // starts of the target within the trigger interval
	watching bool
	gen      int // bumps at every watch; a readable with an older one is stale
	runs     int // activations since the socket started
}

// socketStart opens the sockets of s and starts watching them.
func (m *Manager) socketStart(s *svc) {
	if m.cfg.Sockets == nil || s.desc.Socket == nil {
		s.cause = "no socket support"
		m.failStart(s, ReasonExecFailed)
		return
	}
	if err := m.cfg.Sockets.Open(s.desc); err != nil {
		m.logf("service '%s': %v", s.name(), err)
		s.cause = err.Error()
		m.failStart(s, ReasonExecFailed)
		return
	}
	s.sock = &sockRun{}
	m.activeSockets[s] = true
	m.becomeStarted(s)
	m.socketArm(s)
}

// socketStop closes the sockets of s.
func (m *Manager) socketStop(s *svc) {
	if !m.activeSockets[s] {
		return
	}
	delete(m.activeSockets, s)
	if s.sock != nil && s.sock.watching {
		m.cfg.Sockets.Unwatch(s.desc)
	}
	s.sock = nil
	m.cfg.Sockets.Close(s.desc)
}

// targetIdle: the target of a socket is not running and nothing asked for
// it, so the socket is the one to watch for clients.
func (m *Manager) targetIdle(name string) bool {
	t := m.services[name]
	return t == nil || (t.state == Stopped && !m.wanted(t))
}

// socketArm watches the sockets of s while its target is idle and stops
// watching them while it is not.
func (m *Manager) socketArm(s *svc) {
	r := s.sock
	if r == nil || s.state != Started {
		return
	}
	var want bool
	if sp := s.desc.Socket; sp.Accept {
		want = !m.shuttingDown && m.connections(s.name()) < maxConnections(sp)
	} else {
		want = m.targetIdle(sp.Target) && !m.shuttingDown
	}
	switch {
	case want && !r.watching:
		r.watching = true
		r.gen++
		gen := r.gen
		m.cfg.Sockets.Watch(s.desc, func() { m.post(func() { m.socketReadable(s, gen) }) })
	case !want && r.watching:
		r.watching = false
		m.cfg.Sockets.Unwatch(s.desc)
	}
}

// socketTargetMoved: t changed state; the sockets activating it follow.
// An instance started for a connection closes it once stopped.
func (m *Manager) socketTargetMoved(t *svc) {
	if sock, ok := m.accepted[t.name()]; ok {
		if t.state == Stopped && !m.wanted(t) {
			m.connectionDone(t, sock)
		}
		return
	}
	for s := range m.activeSockets {
		if s.desc.Socket.Target == t.name() && !s.desc.Socket.Accept {
			m.socketArm(s)
		}
	}
}

// connectionDone closes the connection of a stopped instance, unloads it
// (from an event of its own: t is still in this pass's queue) and lets its
// socket watch again if the limit held it back.
func (m *Manager) connectionDone(t *svc, sock string) {
	delete(m.accepted, t.name())
	m.cfg.Sockets.Close(t.desc)
	go m.post(func() {
		if m.services[t.name()] == t && t.state == Stopped && !m.wanted(t) && len(t.dependents) == 0 {
			m.remove(t)
		}
	})
	if s := m.services[sock]; s != nil {
		m.socketArm(s)
	}
}

// connections counts the running instances of an Accept socket.
func (m *Manager) connections(sock string) int {
	n := 0
	for _, s := range m.accepted {
		if s == sock {
			n++
		}
	}
	return n
}

func maxConnections(sp *SocketSpec) int {
	if sp.MaxConnections > 0 {
		return sp.MaxConnections
	}
	return defaultMaxConnections
}

// defaultMaxConnections is systemd's MaxConnections= default.
const defaultMaxConnections = 64

// acceptOne takes a pending connection of an Accept socket and starts an
// instance for it; the instance is read off the loop.
func (m *Manager) acceptOne(s *svc) {
	r, sp := s.sock, s.desc.Socket
	name, err := m.cfg.Sockets.Accept(s.desc, func(local, remote string) string {
		r.runs++
		return sp.Target + "@" + instanceArg(r.runs, local, remote)
	})
	switch {
	case err != nil:
		// EMFILE and the like: try again shortly, not in a loop.
		m.logf("service '%s': accept: %v", s.name(), err)
		m.timer(100*time.Millisecond, func() { m.socketArm(s) })
		return
	case name == "":
		m.socketArm(s)
		return
	}
	m.accepted[name] = s.name()
	m.pendingLoads++
	go func() {
		descs, err := m.readDescs(name)
		m.post(func() {
			m.pendingLoads--
			var t *svc
			if err == nil {
				t, err = m.install(name, descs)
			}
			if err == nil && m.shuttingDown {
				err = fmt.Errorf("shutting down")
			}
			if err != nil {
				m.logf("service '%s': connection: %s: %v", s.name(), name, err)
				delete(m.accepted, name)
				m.cfg.Sockets.Close(&Description{Name: name})
				if sv := m.services[s.name()]; sv != nil {
					m.socketArm(sv)
				}
				return
			}
			m.logf("service '%s': connection: starting '%s'", s.name(), name)
			m.activate(t)
		})
	}()
	m.socketArm(s)
}

// instanceArg is systemd's N-LOCAL-REMOTE with every byte a service name
// may not hold replaced by '_'.
func instanceArg(n int, local, remote string) string {
	b := []byte(strconv.Itoa(n) + "-" + local + "-" + remote)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

// socketReadable: a client is waiting on a socket of s: start the target.
func (m *Manager) socketReadable(s *svc, gen int) {
	r := s.sock
	if r == nil || r.gen != gen || !r.watching || s.state != Started || m.services[s.name()] != s {
		return
	}
	r.watching = false
	target := s.desc.Socket.Target
	if m.shuttingDown {
		return
	}
	if sp := s.desc.Socket; sp.Accept {
		// Each trigger takes a client off the backlog, so a failing
		// instance cannot spin; a default limit would only lock clients
		// out (an ssh flood stopping sshd's socket). Explicit only.
		if sp.TriggerBurst == 0 || !m.triggerLimited(s) {
			m.acceptOne(s)
		}
		return
	}
	if t := m.services[target]; t != nil {
		m.socketActivate(s, t)
		return
	}
	// Read off the loop, like a chain-to target.
	m.pendingLoads++
	go func() {
		descs, err := m.readDescs(target)
		m.post(func() {
			m.pendingLoads--
			var t *svc
			if err == nil {
				t, err = m.install(target, descs)
			}
			switch {
			case err != nil:
				// Watching again would spin on the waiting client:
				// the socket stays up, unwatched, until it is
				// restarted or the target is started by hand.
				m.logf("service '%s': cannot activate '%s': %v", s.name(), target, err)
			case s.sock == r:
				m.socketActivate(s, t)
			}
		})
	}()
}

func (m *Manager) socketActivate(s *svc, t *svc) {
	switch {
	case t.pinStop:
		// Watching again would spin on the waiting client.
		m.logf("service '%s': '%s' is pinned stopped; the connection waits", s.name(), t.name())
		return
	case t.state != Stopped || m.wanted(t):
		// Started meanwhile: it has the sockets.
	default:
		if m.triggerLimited(s) {
			return
		}
		s.sock.runs++
		m.logf("service '%s': connection: starting '%s'", s.name(), t.name())
		m.activate(t)
	}
	m.socketArm(s)
}

// Trigger limit defaults (systemd's TriggerLimitIntervalSec= and
// TriggerLimitBurst= for Accept=no).
const (
	defaultTriggerInterval = 2 * time.Second
	defaultTriggerBurst    = 200
)

// triggerLimited records one start of the target and, past the limit,
// stops the socket service instead.
func (m *Manager) triggerLimited(s *svc) bool {
	sp, r := s.desc.Socket, s.sock
	interval, burst := sp.TriggerInterval, sp.TriggerBurst
	if interval <= 0 {
		interval = defaultTriggerInterval
	}
	if burst <= 0 {
		burst = defaultTriggerBurst
	}
	now := m.cfg.Clock.Now()
	keep := r.triggers[:0]
	for _, at := range r.triggers {
		if now.Sub(at) < interval {
			keep = append(keep, at)
		}
	}
	r.triggers = append(keep, now)
	if len(r.triggers) <= burst {
		return false
	}
	m.logf("service '%s': '%s' started %d times within %v: trigger limit hit, stopping the socket", s.name(), sp.Target, burst, interval)
	s.cause = "trigger limit hit"
	m.bringDown(s, ReasonRestartLimit)
	return true
}

// socketOf names the started socket services whose sockets the start
// command of s gets (every one that activates it, as systemd passes them
// all, sorted by name), or nil.
func (m *Manager) socketOf(s *svc) []string {
	if _, ok := m.accepted[s.name()]; ok {
		return []string{s.name()} // its connection is kept under its own name
	}
	var out []string
	for k := range m.activeSockets {
		if k.desc.Socket.Target == s.name() && !k.desc.Socket.Accept {
			out = append(out, k.name())
		}
	}
	slices.Sort(out)
	return out
}

// InetAddr is a parsed internet ListenStream/ListenDatagram address.
type InetAddr struct {
	Addr netip.Addr // invalid for a bare port: every address
	Port uint16
}

// ParseListen reads the Addr of a Listen: a path (absolute, or "@" for an
// abstract unix socket, stream and datagram kinds only for "@"), or for a
// socket kind a port, "ADDR:PORT" or "[V6ADDR]:PORT". inet is false for a
// path.
func ParseListen(k ListenKind, addr string) (in InetAddr, inet bool, err error) {
	switch {
	case addr == "":
		return in, false, fmt.Errorf("empty address")
	case strings.HasPrefix(addr, "/"):
		if len(addr) >= 108 {
			return in, false, fmt.Errorf("%s: path too long for a unix socket", addr)
		}
		return in, false, nil
	case k == ListenFIFO:
		return in, false, fmt.Errorf("%s: a FIFO needs an absolute path", addr)
	case strings.HasPrefix(addr, "@"):
		if len(addr) < 2 || len(addr) >= 108 {
			return in, false, fmt.Errorf("%s: bad abstract socket name", addr)
		}
		return in, false, nil
	}
	if p, err := strconv.ParseUint(addr, 10, 16); err == nil {
		if p == 0 {
			return in, false, fmt.Errorf("%s: port 0", addr)
		}
		return InetAddr{Port: uint16(p)}, true, nil
	}
	if k == ListenSeqPacket {
		return in, false, fmt.Errorf("%s: a sequential packet socket is a unix socket (absolute path)", addr)
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return in, false, fmt.Errorf("%s: not a path, port or address:port", addr)
	}
	if ap.Port() == 0 {
		return in, false, fmt.Errorf("%s: port 0", addr)
	}
	return InetAddr{Addr: ap.Addr(), Port: ap.Port()}, true, nil
}
