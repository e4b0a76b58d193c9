package dbus

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	godbus "github.com/godbus/dbus/v5"
)

// Conn is sessiond's own connection to the bus for serving its name.
// godbus.Conn is not used for serving because it encodes every outgoing
// message twice (once to count file descriptors), starts a goroutine per
// incoming call and resolves handlers by reflection; here each message
// is decoded once by the reader goroutine, which dispatches method calls
// straight into the Tree, and each outgoing message is encoded once with
// its descriptors collected in the same pass and written with one
// sendmsg.
//
// Handlers may block (a mutation waits for the owner loop, CreateSession
// for a user manager, polkit for an interactive answer), so the reader
// does not run them itself: it hands each call to an idle worker of a
// small pool that grows with the calls in flight and keeps a few workers
// parked, so the steady state starts no goroutine per call.
type Conn struct {
	uc   *net.UnixConn
	io   *rawIO // uc's reads and writes once authenticated
	tree *Tree
	// client is the connection handlers use for their own calls
	// (Call.Client); it reaches the same bus daemon.
	client *Client
	log    *slog.Logger
	guid   string
	name   string // unique name from Hello

	wmu    sync.Mutex // orders serial assignment and writes
	serial uint32
	// While the reader works through what one read brought, messages
	// without descriptors are gathered in batch (under wmu) and written
	// together when it is done: one sendmsg, and one wake-up of the bus
	// daemon, for the replies to every call that came in together.
	batching bool
	batch    []byte

	mu      sync.Mutex
	pending map[uint32]chan *godbus.Message
	closed  bool
	err     error
	done    chan struct{}
	signal  func(*godbus.Message)

	work chan func()
	idle atomic.Int32

	in interner // the reader's
}

// ConnConfig configures Dial.
type ConnConfig struct {
	// Tree serves incoming method calls; nil answers every call with
	// UnknownObject.
	Tree *Tree
	// Client is the connection a Call hands to handlers for their own
	// calls to the bus daemon and polkit (Call.Client); may be nil.
	Client *Client
	// Signal receives every signal the bus routes to us (match rules
	// are added with AddMatch); it runs on the reader and must not block.
	Signal func(*godbus.Message)
	Log    *slog.Logger
}

// maxMessage is the D-Bus specification's bound on one message.
const maxMessage = 1 << 27

// maxFDsPerRead bounds the descriptors one read can carry.
const maxFDsPerRead = 64

// idleWorkers is how many finished workers stay parked for the next call.
const idleWorkers = 8

// errClosed is returned by calls on a closed connection.
var errClosed = errors.New("dbus: connection closed")

// Dial connects to the bus at addr (a D-Bus address, e.g.
// "unix:path=/run/dbus/system_bus_socket"), authenticates with EXTERNAL,
// negotiates descriptor passing, says Hello and starts the reader.
func Dial(ctx context.Context, addr string, cfg ConnConfig) (*Conn, error) {
	uc, err := dialAddress(addr)
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{uc: uc, tree: cfg.Tree, client: cfg.Client, log: log, signal: cfg.Signal,
		pending: map[uint32]chan *godbus.Message{}, done: make(chan struct{}), work: make(chan func())}
	if deadline, ok := ctx.Deadline(); ok {
		_ = uc.SetDeadline(deadline)
	}
	rest, err := c.auth()
	if err != nil {
		_ = uc.Close()
		return nil, fmt.Errorf("dbus: authenticate to %s: %w", addr, err)
	}
	_ = uc.SetDeadline(time.Time{})
	rc, err := uc.SyscallConn()
	if err != nil {
		_ = uc.Close()
		return nil, fmt.Errorf("dbus: connection to %s: %w", addr, err)
	}
	c.io = newRawIO(rc)
	go c.readLoop(rest)
	body, err := c.Call(ctx, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello")
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("dbus: Hello to %s: %w", addr, err)
	}
	if len(body) == 1 {
		c.name, _ = body[0].(string)
	}
	return c, nil
}

// UniqueName is the name the bus gave this connection.
func (c *Conn) UniqueName() string { return c.name }

// Done is closed once the connection is lost or closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close ends the connection; calls waiting for a reply fail.
func (c *Conn) Close() {
	c.fail(errClosed)
	_ = c.uc.Close()
}

func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed, c.err = true, err
	for s, ch := range c.pending {
		close(ch)
		delete(c.pending, s)
	}
	close(c.done)
}

// Send encodes msg once (collecting its descriptors in the same pass),
// gives it the next serial and writes it with one sendmsg. Messages sent
// by one goroutine go out in the order it sent them.
func (c *Conn) Send(msg *godbus.Message) (uint32, error) { return c.send(msg, nil) }

// send is Send; sent runs with the serial before the write (under the
// write lock), so a Call is waiting before its reply can arrive.
func (c *Conn) send(msg *godbus.Message, sent func(uint32) error) (uint32, error) {
	var buf bytes.Buffer
	fds, err := msg.EncodeToWithFDs(&buf, binary.LittleEndian)
	if err == nil && len(fds) > 0 {
		// The UNIX_FDS header must name the count the encoding found;
		// only the few messages that carry descriptors encode twice.
		msg.Headers[godbus.FieldUnixFDs] = godbus.MakeVariant(uint32(len(fds)))
		buf.Reset()
		fds, err = msg.EncodeToWithFDs(&buf, binary.LittleEndian)
	}
	if err != nil {
		return 0, fmt.Errorf("dbus: encode %s: %w", msg.Type, err)
	}
	return c.sendEncoded(buf.Bytes(), fds, sent)
}

// sendEncoded gives the encoded message b the next serial and writes it
// with its descriptors.
func (c *Conn) sendEncoded(b []byte, fds []int, sent func(uint32) error) (uint32, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.serial++
	if c.serial == 0 {
		c.serial++
	}
	// The serial is patched into the fixed header (bytes 8..11, little
	// endian as encoded): godbus keeps it unexported, and our own
	// encoding leaves it for here.
	binary.LittleEndian.PutUint32(b[8:12], c.serial)
	if sent != nil {
		if err := sent(c.serial); err != nil {
			return 0, err
		}
	}
	if c.batching && len(fds) == 0 && len(c.batch)+len(b) <= maxBatch {
		c.batch = append(c.batch, b...)
		return c.serial, nil
	}
	if err := c.flushLocked(); err != nil {
		return c.serial, err
	}
	if err := c.write(b, fds); err != nil {
		return c.serial, err
	}
	return c.serial, nil
}

// maxBatch bounds what a batch holds before it is written.
const maxBatch = 64 << 10

// flushLocked writes the batch; wmu is held.
func (c *Conn) flushLocked() error {
	if len(c.batch) == 0 {
		return nil
	}
	err := c.write(c.batch, nil)
	c.batch = c.batch[:0]
	return err
}

// setBatching starts (on) or ends and writes a batch.
func (c *Conn) setBatching(on bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.batching = on
	if !on {
		if err := c.flushLocked(); err != nil {
			c.log.Warn("sending replies failed", "err", err)
		}
	}
}

// sendReply answers the call serial from dest with out or err: encoded
// here into a pooled buffer when the body is basic or Encoded, else by
// godbus.
func (c *Conn) sendReply(dest string, serial uint32, out []any, err error) error {
	ob := outPool.Get().(*outBuf)
	b, ok := appendReply(ob.b[:0], dest, serial, out, err)
	if !ok {
		outPool.Put(ob)
		_, err := c.Send(replyMessage(dest, serial, out, err))
		return err
	}
	return c.sendPooled(ob, b)
}

// sendPooled sends b, encoded into ob's buffer, and gives ob back.
func (c *Conn) sendPooled(ob *outBuf, b []byte) error {
	_, err := c.sendEncoded(b, nil, nil)
	// A huge message (a list of thousands) is not kept for every call.
	if cap(b) <= 64<<10 {
		ob.b = b
		outPool.Put(ob)
	}
	return err
}

func (c *Conn) write(b []byte, fds []int) error {
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	if err := c.io.send(b, oob); err != nil {
		return fmt.Errorf("dbus: write: %w", err)
	}
	return nil
}

// Call sends a method call and waits for its reply, the error it got or
// ctx's end.
func (c *Conn) Call(ctx context.Context, dest string, path godbus.ObjectPath, iface, member string, args ...any) ([]any, error) {
	msg := &godbus.Message{Type: godbus.TypeMethodCall, Headers: map[godbus.HeaderField]godbus.Variant{
		godbus.FieldDestination: godbus.MakeVariant(dest),
		godbus.FieldPath:        godbus.MakeVariant(path),
		godbus.FieldMember:      godbus.MakeVariant(member),
	}, Body: args}
	if iface != "" {
		msg.Headers[godbus.FieldInterface] = godbus.MakeVariant(iface)
	}
	if len(args) > 0 {
		msg.Headers[godbus.FieldSignature] = godbus.MakeVariant(bodySignature(args))
	}
	ch := make(chan *godbus.Message, 1)
	serial, err := c.send(msg, func(serial uint32) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return c.err
		}
		c.pending[serial] = ch
		return nil
	})
	if err != nil {
		if serial != 0 {
			c.forget(serial)
		}
		return nil, fmt.Errorf("dbus: %s.%s: %w", iface, member, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, c.closeErr()
		}
		if r.Type == godbus.TypeError {
			name, _ := r.Headers[godbus.FieldErrorName].Value().(string)
			text := ""
			if len(r.Body) > 0 {
				text, _ = r.Body[0].(string)
			}
			return nil, &Error{Name: name, Message: text}
		}
		return r.Body, nil
	case <-ctx.Done():
		c.forget(serial)
		return nil, fmt.Errorf("dbus: %s.%s: %w", iface, member, ctx.Err())
	}
}

func (c *Conn) forget(serial uint32) {
	c.mu.Lock()
	delete(c.pending, serial)
	c.mu.Unlock()
}

func (c *Conn) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AddMatch asks the bus to route signals matching rule to us.
func (c *Conn) AddMatch(ctx context.Context, rule string) error {
	_, err := c.Call(ctx, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", rule)
	return err
}

// RequestName asks for name with flags and returns the bus's answer.
func (c *Conn) RequestName(ctx context.Context, name string, flags uint32) (uint32, error) {
	body, err := c.Call(ctx, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName", name, flags)
	if err != nil {
		return 0, err
	}
	if len(body) != 1 {
		return 0, fmt.Errorf("dbus: RequestName %s: reply %v", name, body)
	}
	r, _ := body[0].(uint32)
	return r, nil
}

// Emit broadcasts the signal name (interface.member) from path.
func (c *Conn) Emit(path godbus.ObjectPath, name string, args ...any) error {
	return c.emit("", path, name, args)
}

// EmitTo sends the signal name from path to dest alone (a signal that
// carries a descriptor must not reach every listener).
func (c *Conn) EmitTo(dest string, path godbus.ObjectPath, name string, args ...any) error {
	return c.emit(dest, path, name, args)
}

func (c *Conn) emit(dest string, path godbus.ObjectPath, name string, args []any) error {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		ob := outPool.Get().(*outBuf)
		if b, ok := appendSignal(ob.b[:0], dest, path, name[:i], name[i+1:], args); ok {
			return c.sendPooled(ob, b)
		}
		outPool.Put(ob)
	}
	msg, err := signalMessage(dest, path, name, args)
	if err != nil {
		return err
	}
	_, err = c.Send(msg)
	return err
}

// readLoop decodes each message once and routes it: replies to their
// waiting Call, signals to the Signal function, method calls to the
// Tree. It ends the connection on a read error or a message that breaks
// the framing (the stream cannot be resynchronised).
func (c *Conn) readLoop(rest []byte) {
	var fds []int
	defer func() { closeFDs(fds) }()
	// Parked workers exit. The reader closes work, being its only sender
	// (dispatch): closed by Close on another goroutine, a dispatch in
	// flight sent on a closed channel (go test -race ./dbus).
	defer close(c.work)
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, rest...)
	oob := make([]byte, syscall.CmsgSpace(maxFDsPerRead*4))
	for {
		off, need := 0, 0
		c.setBatching(true)
		for {
			n, err := frameLen(buf[off:])
			if err != nil {
				c.setBatching(false)
				c.log.Warn("bus sent a malformed message", "err", err)
				c.fail(err)
				_ = c.uc.Close()
				return
			}
			if n == 0 || len(buf)-off < n {
				need = n
				break
			}
			m := buf[off : off+n]
			var mfds []int
			if nfds := min(unixFDCount(m), len(fds)); nfds > 0 {
				mfds, fds = fds[:nfds:nfds], fds[nfds:]
			}
			// handle decodes (copies) before returning, so buf is reused.
			c.handle(m, mfds)
			off += n
		}
		c.setBatching(false)
		buf = buf[:copy(buf, buf[off:])]
		if need > cap(buf) || len(buf) == cap(buf) {
			nb := make([]byte, len(buf), max(need, 2*cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		n, oobn, err := c.io.recv(buf[len(buf):cap(buf)], oob)
		if oobn > 0 {
			got, perr := parseRights(oob[:oobn])
			if perr != nil {
				c.log.Warn("bad ancillary data from the bus", "err", perr)
			}
			fds = append(fds, got...)
		}
		if err != nil || n == 0 {
			if err == nil {
				err = errors.New("dbus: bus closed the connection")
			}
			c.fail(err)
			_ = c.uc.Close()
			return
		}
		buf = buf[:len(buf)+n]
	}
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var out []int
	for i := range msgs {
		fds, err := syscall.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		out = append(out, fds...)
	}
	return out, nil
}

// frameLen returns the length of the message at the front of b, 0 when
// b does not yet hold its fixed header, or an error for a header that
// cannot start a message.
func frameLen(b []byte) (int, error) {
	if len(b) < 16 {
		return 0, nil
	}
	order, err := byteOrder(b[0])
	if err != nil {
		return 0, err
	}
	body := uint64(order.Uint32(b[4:8]))
	hlen := uint64(order.Uint32(b[12:16]))
	total := 16 + (hlen+7)&^7 + body
	if total > maxMessage {
		return 0, fmt.Errorf("dbus: message of %d bytes is too long", total)
	}
	return int(total), nil
}

// unixFDCount reads the UNIX_FDS header field of a framed message
// without decoding the rest; 0 when absent or unreadable.
func unixFDCount(b []byte) int {
	order, err := byteOrder(b[0])
	if err != nil {
		return 0
	}
	end := 16 + int(order.Uint32(b[12:16]))
	if end > len(b) {
		return 0
	}
	// Header fields are (yv) structs aligned to 8.
	for p := 16; p+4 <= end; {
		code := b[p]
		slen := int(b[p+1]) // variant signature length
		q := p + 2 + slen + 1
		if q > end || slen < 1 {
			return 0
		}
		sig := string(b[p+2 : p+2+slen])
		var size int
		switch sig {
		case "u", "i":
			q = (q + 3) &^ 3
			size = 4
			if code == byte(godbus.FieldUnixFDs) && q+4 <= end {
				return int(order.Uint32(b[q : q+4]))
			}
		case "s", "o":
			q = (q + 3) &^ 3
			if q+4 > end {
				return 0
			}
			size = 4 + int(order.Uint32(b[q:q+4])) + 1
		case "g":
			if q >= end {
				return 0
			}
			size = 1 + int(b[q]) + 1
		default:
			return 0
		}
		p = (q + size + 7) &^ 7
	}
	return 0
}

// handle decodes one framed message and routes it. fds are the
// descriptors that came with it; whatever a handler does not keep is
// closed (no method of ours takes a descriptor).
func (c *Conn) handle(b []byte, fds []int) {
	if len(fds) == 0 {
		// Whatever this codec declines or finds malformed, godbus
		// decides on below.
		if cm, err := decodeCall(b, &c.in); err == nil {
			c.route(cm, nil)
			return
		}
	}
	msg, err := godbus.DecodeMessageWithFDs(bytes.NewReader(b), fds)
	if err != nil {
		closeFDs(fds)
		c.log.Warn("undecodable message from the bus", "err", err)
		c.answerMalformed(b, err)
		return
	}
	switch msg.Type {
	case godbus.TypeMethodReply, godbus.TypeError:
		closeFDs(fds)
		rs, _ := msg.Headers[godbus.FieldReplySerial].Value().(uint32)
		c.mu.Lock()
		ch := c.pending[rs]
		delete(c.pending, rs)
		c.mu.Unlock()
		if ch != nil {
			ch <- msg
		}
	case godbus.TypeSignal:
		closeFDs(fds)
		if c.signal != nil {
			c.signal(msg)
		}
	case godbus.TypeMethodCall:
		detachCall(msg)
		c.route(callOf(msg), fds)
	default:
		closeFDs(fds)
	}
}

// route serves one decoded method call: errors, Peer and Inline
// handlers on the reader, the rest on a worker.
func (c *Conn) route(cm *callMsg, fds []int) {
	sm, e := c.resolve(cm)
	if e != nil || sm == nil || sm.m.Inline || sm.m.Async != nil {
		// No hand-off to a worker.
		c.serveCall(cm, sm, e)
		closeFDs(fds)
		return
	}
	c.dispatch(func() {
		defer closeFDs(fds)
		c.serveCall(cm, sm, nil)
	})
}

// answerMalformed answers a method call whose body could not be decoded
// with InvalidArgs, so the caller is not left waiting.
func (c *Conn) answerMalformed(b []byte, derr error) {
	if len(b) < 16 || b[1] != byte(godbus.TypeMethodCall) || b[2]&byte(godbus.FlagNoReplyExpected) != 0 {
		return
	}
	order, oerr := byteOrder(b[0])
	if oerr != nil {
		return
	}
	sender := headerString(b, order, byte(godbus.FieldSender))
	if sender == "" {
		return
	}
	c.sendError(sender, order.Uint32(b[8:12]), Errorf(ErrInvalidArgs, "Malformed message: %v", derr))
}

// headerString returns the string header field code of a framed message.
func headerString(b []byte, order binary.ByteOrder, code byte) string {
	end := min(16+int(order.Uint32(b[12:16])), len(b))
	for p := 16; p+4 <= end; {
		slen := int(b[p+1])
		q := p + 2 + slen + 1
		if q > end || slen != 1 {
			return ""
		}
		var size int
		switch b[p+2] {
		case 'u', 'i':
			q = (q + 3) &^ 3
			size = 4
		case 's', 'o':
			q = (q + 3) &^ 3
			if q+4 > end {
				return ""
			}
			n := int(order.Uint32(b[q : q+4]))
			if b[p] == code && q+4+n <= end {
				return string(b[q+4 : q+4+n])
			}
			size = 4 + n + 1
		case 'g':
			if q >= end {
				return ""
			}
			size = 1 + int(b[q]) + 1
		default:
			return ""
		}
		p = (q + size + 7) &^ 7
	}
	return ""
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		_ = syscall.Close(fd)
	}
}

// dispatch runs f on a parked worker, or a new one when all are busy.
func (c *Conn) dispatch(f func()) {
	select {
	case c.work <- f:
		return
	default:
	}
	go c.worker(f)
}

func (c *Conn) worker(f func()) {
	for {
		f()
		if c.idle.Add(1) > idleWorkers {
			c.idle.Add(-1)
			return
		}
		var ok bool
		f, ok = <-c.work
		c.idle.Add(-1)
		if !ok {
			return
		}
	}
}

func (c *Conn) sendError(dest string, serial uint32, e *Error) {
	if err := c.sendReply(dest, serial, nil, e); err != nil {
		c.log.Warn("sending error reply failed", "err", err)
	}
}

// resolve finds the Tree's method a call names. It returns nil and no
// error for the Peer interface, which serveCall answers itself, and the
// D-Bus error godbus would give for what the Tree cannot find.
func (c *Conn) resolve(cm *callMsg) (*serverMethod, *Error) {
	member, path, iface := cm.member, cm.path, cm.iface
	if iface == IfacePeer {
		return nil, nil
	}
	if c.tree == nil {
		return nil, Errorf(ErrUnknownObject, "Unknown object '%s'.", path)
	}
	obj, _ := c.tree.LookupObject(path)
	ifc, ok := obj.LookupInterface(iface)
	if !ok {
		return nil, Errorf(ErrUnknownInterface, "Object does not implement the interface '%s'", iface)
	}
	gm, ok := ifc.LookupMethod(member)
	sm, isOurs := gm.(*serverMethod)
	if !ok || !isOurs {
		return nil, Errorf(ErrUnknownMethod, "Unknown / invalid method '%s'", member)
	}
	return sm, nil
}

// serveCall answers one method call resolved to sm (nil: the Peer
// interface) or to the error e.
func (c *Conn) serveCall(cm *callMsg, sm *serverMethod, e *Error) {
	member, sender := cm.member, cm.sender
	wantReply := cm.flags&godbus.FlagNoReplyExpected == 0 && sender != ""
	if e != nil {
		if wantReply {
			c.sendError(sender, cm.serial, e)
		}
		return
	}
	if sm == nil {
		switch member {
		case "Ping":
			if wantReply {
				c.reply(sender, cm.serial)
			}
		case "GetMachineId":
			if wantReply {
				c.reply(sender, cm.serial, c.guid)
			}
		default:
			if wantReply {
				c.sendError(sender, cm.serial, Errorf(ErrUnknownMethod, "Unknown / invalid method '%s'", member))
			}
		}
		return
	}
	p := sm.pending(c.client, sender, cm.serial, cm.flags, cm.sig, cm.body)
	p.own = c
	_, _ = sm.Call(p)
}

func (c *Conn) reply(dest string, serial uint32, body ...any) {
	if err := c.sendReply(dest, serial, body, nil); err != nil {
		c.log.Warn("sending reply failed", "err", err)
	}
}

// detachCall copies the strings of a call's headers and body out of the
// decoder's buffers. DecodeMessageWithFDs makes fresh decoders per
// message whose strings share 4 KiB buffers, so one string a handler
// keeps (a session's service, tty, the controller's name) would pin a
// whole buffer: at 1000 sessions that was 5 MB of RSS (sdbench).
func detachCall(msg *godbus.Message) {
	for k, v := range msg.Headers {
		msg.Headers[k] = detachVariant(v)
	}
	for i, v := range msg.Body {
		msg.Body[i] = detach(v)
	}
}

func detachVariant(v godbus.Variant) godbus.Variant {
	switch v.Value().(type) {
	case string, godbus.ObjectPath, []any, []string, map[string]godbus.Variant, godbus.Variant:
		return godbus.MakeVariantWithSignature(detach(v.Value()), v.Signature())
	}
	return v
}

func detach(v any) any {
	switch x := v.(type) {
	case string:
		return strings.Clone(x)
	case godbus.ObjectPath:
		return godbus.ObjectPath(strings.Clone(string(x)))
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = strings.Clone(s)
		}
		return out
	case []any:
		for i := range x {
			x[i] = detach(x[i])
		}
		return x
	case [][]any:
		for i := range x {
			detach(x[i])
		}
		return x
	case godbus.Variant:
		return detachVariant(x)
	case map[string]godbus.Variant:
		out := make(map[string]godbus.Variant, len(x))
		for k, e := range x {
			out[strings.Clone(k)] = detachVariant(e)
		}
		return out
	}
	return v
}
