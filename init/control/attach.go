package control

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Attach (OpAttach): a request that turns its connection into a terminal
// session with a service's pseudo-terminal (terminal = pty). ginit answers
// with one response frame; on OK the connection then carries, from ginit,
// the service's terminal output as raw bytes (first the recent output it
// kept, then what follows) and, to ginit, attach frames:
//
//	offset 0  1 byte   kind: 'i' input, 'w' window size
//	offset 1  2 bytes  payload length, big-endian (input: 1..MaxAttachInput; window: 8)
//	offset 3  n bytes  payload; a window size is rows, columns, x pixels,
//	                   y pixels, each 2 bytes big-endian
//
// Anything else ends the session: ginit closes the connection, and the
// service and its terminal go on. Closing the connection is a detach.

// Attach frame kinds.
const (
	AttachInput  byte = 'i'
	AttachWindow byte = 'w'
)

// MaxAttachInput bounds one input frame.
const MaxAttachInput = 4096

// ErrAttachFrame is a malformed attach frame.
var ErrAttachFrame = errors.New("bad attach frame")

// Winsize is a terminal's size.
type Winsize struct {
	Rows, Cols, XPixel, YPixel uint16
}

// AppendAttachInput appends input frames carrying p (split as needed).
func AppendAttachInput(buf, p []byte) []byte {
	for len(p) > 0 {
		n := min(len(p), MaxAttachInput)
		buf = append(buf, AttachInput, byte(n>>8), byte(n))
		buf = append(buf, p[:n]...)
		p = p[n:]
	}
	return buf
}

// AppendAttachWindow appends a window-size frame.
func AppendAttachWindow(buf []byte, w Winsize) []byte {
	buf = append(buf, AttachWindow, 0, 8)
	for _, v := range []uint16{w.Rows, w.Cols, w.XPixel, w.YPixel} {
		buf = binary.BigEndian.AppendUint16(buf, v)
	}
	return buf
}

// ReadAttachFrame reads one attach frame. The payload aliases buf's
// storage, grown as needed (at most MaxAttachInput bytes).
func ReadAttachFrame(r *bufio.Reader, buf []byte) (kind byte, payload []byte, win Winsize, err error) {
	var h [3]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, win, err
	}
	kind, n := h[0], int(binary.BigEndian.Uint16(h[1:]))
	switch {
	case kind == AttachInput && (n == 0 || n > MaxAttachInput):
		return 0, nil, win, fmt.Errorf("%w: input of %d bytes (1..%d)", ErrAttachFrame, n, MaxAttachInput)
	case kind == AttachWindow && n != 8:
		return 0, nil, win, fmt.Errorf("%w: window size of %d bytes (8)", ErrAttachFrame, n)
	case kind != AttachInput && kind != AttachWindow:
		return 0, nil, win, fmt.Errorf("%w: kind %q", ErrAttachFrame, kind)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, win, fmt.Errorf("%w: %w", ErrAttachFrame, io.ErrUnexpectedEOF)
	}
	if kind == AttachWindow {
		win = Winsize{binary.BigEndian.Uint16(buf), binary.BigEndian.Uint16(buf[2:]),
			binary.BigEndian.Uint16(buf[4:]), binary.BigEndian.Uint16(buf[6:])}
		return kind, nil, win, nil
	}
	return kind, buf, win, nil
}

// Attach asks for a terminal session with service. On OK it returns the
// connection, which from then on belongs to the caller (read output, write
// attach frames, close to detach) and the client is spent; otherwise the
// response says why and the client stays usable.
func (c *Client) Attach(ctx context.Context, service string) (net.Conn, Response, error) {
	if c.sync != nil {
		return nil, Response{}, errors.New("attach: the client was made by DialSync; use Dial")
	}
	resp, err := c.Do(ctx, Request{Op: OpAttach, Service: service})
	if err != nil || resp.Code != OK {
		return nil, resp, err
	}
	c.conn.SetDeadline(time.Time{})
	return c.conn, resp, nil
}
