package loader

import (
	"fmt"
	"strings"

	"ginit/init/service"
)

// Socket services (ginit extension, type socket): the description holds
// listening sockets and names the service a client starts.
//
//	type = socket
//	socket-listen = /run/echo.sock            (one line per socket)
//	socket-listen = datagram:/run/echo.dgram  (stream: datagram: seqpacket: fifo:)
//	socket-listen = 127.0.0.1:7000            (a port, ADDR:PORT or [V6]:PORT)
//	socket-activates = echo
//
// socket-permissions, socket-uid and socket-gid apply to its unix sockets
// and FIFOs. socket-accept = yes (inetd style) starts, for each connection,
// the instance NAME@N-LOCAL-REMOTE of socket-activates = NAME with that
// connection alone, at most socket-max-connections (default 64) at once;
// socket-stdio = yes on a service makes its first passed socket its stdin
// and stdout. The sockets are made when the socket service starts; the
// first connection starts socket-activates, which gets them as LISTEN_FDS
// (fd 3 on, in the order of the lines). Without type socket, one
// socket-listen line is dinit's: the socket is made at the service's own
// start.

// listenLine is one socket-listen line, kept for type socket.
type listenLine struct {
	rl *rawLine
	v  string
}

func setSocketListen(p *parser, rl *rawLine, ws []string) error {
	if len(ws) != 1 {
		return fmt.Errorf("expected one value, got %d in %q", len(ws), rl.val)
	}
	p.listens = append(p.listens, listenLine{rl, ws[0]})
	p.d.ExtMut().SocketListen = p.rel(ws[0])
	return nil
}

var listenPrefixes = []struct {
	prefix string
	kind   service.ListenKind
}{{"stream:", service.ListenStream}, {"datagram:", service.ListenDatagram},
	{"seqpacket:", service.ListenSeqPacket}, {"fifo:", service.ListenFIFO}}

// parseListenLine reads one socket-listen value of a socket service.
func (p *parser) parseListenLine(v string) (service.Listen, error) {
	l := service.Listen{Kind: service.ListenStream, Mode: p.d.SocketPermissions, UID: int(p.d.SocketUID), GID: int(p.d.SocketGID)}
	for _, lp := range listenPrefixes {
		if rest, ok := strings.CutPrefix(v, lp.prefix); ok {
			l.Kind, v = lp.kind, rest
			break
		}
	}
	if v == "" {
		return l, fmt.Errorf("no address")
	}
	if _, _, err := service.ParseListen(l.Kind, v); err != nil {
		// Not an address: a path relative to the description's directory.
		rel := p.rel(v)
		if _, _, err2 := service.ParseListen(l.Kind, rel); err2 != nil || strings.ContainsAny(v, ":[]") {
			return l, err
		}
		v = rel
	}
	l.Addr = v
	return l, nil
}

// validateSocket checks the socket settings once every line is read.
func (p *parser) validateSocket() ErrorList {
	d := p.d
	var errs ErrorList
	fail := func(rl *rawLine, format string, args ...any) {
		errs = append(errs, p.settingError(rl, format, args...))
	}
	if d.Type != service.TypeSocket {
		if p.activatesLine != nil {
			fail(p.activatesLine, "socket-activates is only for type socket (type is %s)", d.Type)
		}
		if p.acceptLine != nil {
			fail(p.acceptLine, "%s is only for type socket (type is %s)", p.acceptLine.key, d.Type)
		}
		if len(p.listens) > 1 {
			fail(p.listens[1].rl, "several socket-listen lines need type socket")
		}
		return errs
	}
	spec := &service.SocketSpec{Target: p.activates, RemoveOnStop: true, Accept: p.accept, MaxConnections: p.maxConns}
	for _, ll := range p.listens {
		l, err := p.parseListenLine(ll.v)
		if err != nil {
			fail(ll.rl, "%v", err)
			continue
		}
		spec.Listen = append(spec.Listen, l)
	}
	if d.More != nil {
		d.More.SocketListen = ""
	}
	switch {
	case len(p.listens) == 0:
		fail(nil, "type socket needs at least one socket-listen")
	case spec.Target == "":
		fail(nil, "type socket needs socket-activates")
	case spec.Target == d.Name:
		fail(p.activatesLine, "socket-activates names the socket service itself")
	}
	if len(d.Command) > 0 || len(d.Ext().StopCommand) > 0 || len(d.Ext().ReloadCommand) > 0 {
		fail(nil, "type socket runs no command (socket-activates names the service that does)")
	}
	d.Socket = spec
	return errs
}

func setSocketActivates(p *parser, rl *rawLine, ws []string) error {
	if len(ws) != 1 {
		return fmt.Errorf("expected one service name, got %d in %q", len(ws), rl.val)
	}
	if err := ValidName(ws[0]); err != nil {
		return err
	}
	p.activates, p.activatesLine = ws[0], rl
	return nil
}

func setSocketAccept(p *parser, rl *rawLine, ws []string) error {
	if len(ws) != 1 {
		return fmt.Errorf("expected one value, got %d in %q", len(ws), rl.val)
	}
	p.acceptLine = rl
	return parseBool(ws[0], &p.accept)
}

func setSocketMaxConns(p *parser, rl *rawLine, ws []string) error {
	if len(ws) != 1 {
		return fmt.Errorf("expected one value, got %d in %q", len(ws), rl.val)
	}
	p.acceptLine = rl
	return parseInt(ws[0], 1, 1<<20, &p.maxConns)
}
