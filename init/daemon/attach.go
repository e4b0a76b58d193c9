package daemon

import (
	"context"
	"net"
	"time"

	"ginit/init/control"
	"ginit/init/control/server"
)

// Terminals serves attach sessions with services' terminals (the
// supervisor, pty.go): hello goes first, then the session.
type Terminals interface {
	Attach(ctx context.Context, name string, conn net.Conn, hello []byte) error
}

var _ server.Streamer = (*Backend)(nil)

// Stream implements server.Streamer: `ginitctl attach`. Who may attach is
// who may use the control socket (root and the daemon's own uid).
func (b *Backend) Stream(ctx context.Context, req control.Request, c *net.UnixConn) {
	answer := func(r control.Response) {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Write(control.AppendResponse(nil, &r))
	}
	if req.Service == "" {
		answer(control.Response{Code: control.BadRequest, Message: "attach: a service name is required"})
		return
	}
	if b.Terms == nil {
		answer(control.Response{Code: control.Unsupported, Message: "attach: no terminals here"})
		return
	}
	if _, err := b.M.Status(ctx, req.Service); err != nil {
		answer(b.result(req, err))
		return
	}
	hello := control.AppendResponse(nil, &control.Response{Code: control.OK})
	if err := b.Terms.Attach(ctx, req.Service, c, hello); err != nil {
		answer(control.Response{Code: control.Failed, Message: err.Error()})
	}
}
