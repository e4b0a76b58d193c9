package dbus

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	godbus "github.com/godbus/dbus/v5"
)

// The Conn's own codec for the messages it serves: method calls in,
// replies out. godbus's DecodeMessageWithFDs makes fresh decoders with
// 4 KiB buffers and a map of variants per message, and its encoder walks
// every value by reflection: about 360 allocations per served call
// (pprof, sdbench). Calls and replies whose bodies hold basic types
// alone (every read call of login1 but the lists, which reply with an
// Encoded body) take this path; anything else, and every message that
// is not a method call, still goes through godbus.

// callMsg is one incoming method call, decoded.
type callMsg struct {
	serial uint32
	flags  godbus.Flags
	path   godbus.ObjectPath
	iface  string
	member string
	sender string
	sig    string
	body   []any
}

// callOf is the callMsg of a call godbus decoded.
func callOf(msg *godbus.Message) *callMsg {
	cm := &callMsg{serial: msg.Serial(), flags: msg.Flags, body: msg.Body}
	cm.member, _ = msg.Headers[godbus.FieldMember].Value().(string)
	cm.path, _ = msg.Headers[godbus.FieldPath].Value().(godbus.ObjectPath)
	cm.iface, _ = msg.Headers[godbus.FieldInterface].Value().(string)
	cm.sender, _ = msg.Headers[godbus.FieldSender].Value().(string)
	if sv, ok := msg.Headers[godbus.FieldSignature]; ok {
		if sig, ok := sv.Value().(godbus.Signature); ok {
			cm.sig = sig.String()
		}
	}
	return cm
}

// errNotBasic sends a message to godbus's decoder: it is valid D-Bus
// this codec does not handle (a container type, a descriptor).
var errNotBasic = errors.New("dbus: not a basic-typed method call")

// wireReader reads aligned values from one part of a framed message
// (the header fields or the body); offsets are relative to the part's
// start, which is 8-aligned in the message.
type wireReader struct {
	b     []byte
	p     int
	order binary.ByteOrder
	err   error
}

func (r *wireReader) align(n int) {
	q := (r.p + n - 1) &^ (n - 1)
	if r.err == nil && q > len(r.b) {
		r.err = errors.New("dbus: truncated message")
		return
	}
	for ; r.err == nil && r.p < q; r.p++ {
		if r.b[r.p] != 0 {
			r.err = errors.New("dbus: non-zero padding")
		}
	}
}

func (r *wireReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.p < n {
		r.err = errors.New("dbus: truncated message")
		return nil
	}
	s := r.b[r.p : r.p+n]
	r.p += n
	return s
}

func (r *wireReader) u32() uint32 {
	r.align(4)
	if s := r.take(4); s != nil {
		return r.order.Uint32(s)
	}
	return 0
}

// str reads a string of type s, o or g (see raw).
func (r *wireReader) str(t byte) string { return string(r.raw(t)) }

// basic reads one value of the basic type t as godbus would decode it.
func (r *wireReader) basic(t byte) (any, error) {
	var v any
	switch t {
	case 'y':
		if s := r.take(1); s != nil {
			v = s[0]
		}
	case 'b':
		switch r.u32() {
		case 0:
			v = false
		case 1:
			v = true
		default:
			return nil, errors.New("dbus: invalid boolean")
		}
	case 'n', 'q':
		r.align(2)
		if s := r.take(2); s != nil {
			x := r.order.Uint16(s)
			if t == 'n' {
				v = int16(x)
			} else {
				v = x
			}
		}
	case 'i':
		v = int32(r.u32())
	case 'u':
		v = r.u32()
	case 'x', 't', 'd':
		r.align(8)
		if s := r.take(8); s != nil {
			x := r.order.Uint64(s)
			switch t {
			case 'x':
				v = int64(x)
			case 't':
				v = x
			default:
				v = math.Float64frombits(x)
			}
		}
	case 's':
		v = r.str(t)
	case 'o':
		p := godbus.ObjectPath(r.str(t))
		if r.err == nil && !p.IsValid() {
			return nil, errors.New("dbus: invalid object path")
		}
		v = p
	case 'g':
		s := r.str(t)
		if r.err != nil {
			break
		}
		sig, err := godbus.ParseSignature(s)
		if err != nil {
			return nil, err
		}
		v = sig
	default:
		return nil, errNotBasic
	}
	if r.err != nil {
		return nil, r.err
	}
	return v, nil
}

// interner keeps one copy of the names that recur in every call (paths,
// interfaces, members, senders, signatures), so decoding a call makes
// no string for them; only the reader uses it. Bounded: when full it
// starts over.
// One table per kind of name: each has its own rule, checked once.
type interner struct{ m [nameKinds]map[string]string }

type nameKind int

const (
	namePath nameKind = iota
	nameIface
	nameMember
	nameSender
	nameSig
	nameKinds
)

// nameRule is what a name of each kind must be.
var nameRule = [nameKinds]func(string) bool{validPath, validInterface, validMember, anyString, basicSignature}

const maxInterned = 1024

// get returns b as a string of kind k, checked by its rule when not
// already known; false when the rule refuses it.
func (in *interner) get(k nameKind, b []byte) (string, bool) {
	if in != nil {
		if s, ok := in.m[k][string(b)]; ok {
			return s, true
		}
	}
	s := string(b)
	if !nameRule[k](s) {
		return "", false
	}
	if in != nil {
		if in.m[k] == nil || len(in.m[k]) >= maxInterned {
			in.m[k] = make(map[string]string, 16)
		}
		in.m[k][s] = s
	}
	return s, true
}

// raw reads a string of type s or o (u32 length) or g (byte length):
// valid UTF-8 without NUL, then its terminating NUL.
func (r *wireReader) raw(t byte) []byte {
	var n int
	if t == 'g' {
		if s := r.take(1); s != nil {
			n = int(s[0])
		}
	} else {
		n = int(r.u32())
	}
	s := r.take(n)
	z := r.take(1)
	if r.err != nil {
		return nil
	}
	if z[0] != 0 || !utf8.Valid(s) || bytes.IndexByte(s, 0) >= 0 {
		r.err = errors.New("dbus: invalid string")
		return nil
	}
	return s
}

func anyString(string) bool { return true }

// basicSignature: every type of s is one this codec decodes.
func basicSignature(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte("ybnqiuxtdsog", s[i]) < 0 {
			return false
		}
	}
	return true
}

// validPath is the specification's rule for an object path.
func validPath(s string) bool {
	if s == "/" {
		return true
	}
	if len(s) < 2 || s[0] != '/' || s[len(s)-1] == '/' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			if s[i-1] == '/' {
				return false
			}
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// byteOrder is the order a message's first byte names.
func byteOrder(c byte) (binary.ByteOrder, error) {
	switch c {
	case 'l':
		return binary.LittleEndian, nil
	case 'B':
		return binary.BigEndian, nil
	}
	return nil, fmt.Errorf("dbus: invalid byte order %q", c)
}

// decodeCall decodes the framed message b (frameLen long) when it is a
// method call this codec handles; errNotBasic otherwise, or an error for
// a malformed message. Names are shared through in (may be nil).
func decodeCall(b []byte, in *interner) (*callMsg, error) {
	order, err := byteOrder(b[0])
	if err != nil {
		return nil, err
	}
	const knownFlags = godbus.FlagNoReplyExpected | godbus.FlagNoAutoStart | godbus.FlagAllowInteractiveAuthorization
	if godbus.Type(b[1]) != godbus.TypeMethodCall || b[3] != 1 || godbus.Flags(b[2])&^knownFlags != 0 {
		return nil, errNotBasic
	}
	cm := &callMsg{flags: godbus.Flags(b[2]), serial: order.Uint32(b[8:12])}
	if cm.serial == 0 {
		return nil, errors.New("dbus: message without serial")
	}
	hlen := int(order.Uint32(b[12:16]))
	bodyStart := 16 + (hlen+7)&^7
	bodyLen := int(order.Uint32(b[4:8]))
	if bodyStart+bodyLen != len(b) {
		return nil, errors.New("dbus: message length does not match its frame")
	}
	h := wireReader{b: b[16 : 16+hlen], order: order}
	var sawSig, sawPath, sawMember bool
	var path string
	for h.p < len(h.b) && h.err == nil {
		h.align(8)
		code := h.take(1)
		vsig := h.raw('g')
		if h.err != nil {
			break
		}
		if len(vsig) != 1 {
			return nil, errNotBasic
		}
		var want byte
		var dst *string
		var kind nameKind
		switch godbus.HeaderField(code[0]) {
		case godbus.FieldPath:
			want, dst, kind, sawPath = 'o', &path, namePath, true
		case godbus.FieldInterface:
			want, dst, kind = 's', &cm.iface, nameIface
		case godbus.FieldMember:
			want, dst, kind, sawMember = 's', &cm.member, nameMember, true
		case godbus.FieldSender:
			want, dst, kind = 's', &cm.sender, nameSender
		case godbus.FieldDestination, godbus.FieldErrorName:
			want = 's'
		case godbus.FieldSignature:
			want, dst, kind, sawSig = 'g', &cm.sig, nameSig, true
		case godbus.FieldReplySerial:
			want = 'u'
		default:
			// Descriptors (UNIX_FDS) and unknown fields: godbus.
			return nil, errNotBasic
		}
		if vsig[0] != want {
			return nil, errNotBasic
		}
		if want == 'u' {
			h.u32()
			continue
		}
		raw := h.raw(want)
		if h.err != nil || dst == nil {
			continue
		}
		v, ok := in.get(kind, raw)
		if !ok {
			return nil, errNotBasic
		}
		*dst = v
	}
	if h.err != nil {
		return nil, h.err
	}
	if !sawPath || !sawMember {
		return nil, errNotBasic
	}
	cm.path = godbus.ObjectPath(path)
	if bodyLen > 0 && !sawSig {
		return nil, errors.New("dbus: body without signature")
	}
	// The padding between header and body.
	for _, c := range b[16+hlen : bodyStart] {
		if c != 0 {
			return nil, errors.New("dbus: non-zero padding")
		}
	}
	r := wireReader{b: b[bodyStart:], order: order}
	if len(cm.sig) > 0 {
		cm.body = make([]any, 0, len(cm.sig))
	}
	for i := 0; i < len(cm.sig); i++ {
		v, err := r.basic(cm.sig[i])
		if err != nil {
			return nil, err
		}
		cm.body = append(cm.body, v)
	}
	if r.p != len(r.b) {
		return nil, errors.New("dbus: body longer than its signature")
	}
	return cm, nil
}

// validMember is the specification's rule for a member name.
func validMember(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validInterface is the rule for an interface name: two or more
// member-like elements joined by dots.
func validInterface(s string) bool {
	if len(s) > 255 {
		return false
	}
	n := 0
	for e := range strings.SplitSeq(s, ".") {
		if !validMember(e) {
			return false
		}
		n++
	}
	return n >= 2
}

// Encoded is a reply body encoded once and sent as is: a handler whose
// answer is shared by many calls (the session lists) returns
// []any{enc} and each reply is a copy of enc's bytes instead of an
// encoding by reflection. On a godbus.Conn its values are sent.
type Encoded struct {
	values []any
	sig    string
	body   []byte // little endian, from an 8-aligned start
}

// Values are what e encodes.
func (e *Encoded) Values() []any { return e.values }

// Encode encodes values as one reply body.
func Encode(values ...any) (*Encoded, error) {
	sig := bodySignature(values)
	msg := &godbus.Message{Type: godbus.TypeMethodReply, Headers: map[godbus.HeaderField]godbus.Variant{
		godbus.FieldReplySerial: godbus.MakeVariant(uint32(1)),
		godbus.FieldSignature:   godbus.MakeVariant(sig),
	}, Body: values}
	var buf strings.Builder
	if _, err := msg.EncodeToWithFDs(&buf, binary.LittleEndian); err != nil {
		return nil, fmt.Errorf("dbus: encode body %s: %w", sig, err)
	}
	b := buf.String()
	n := int(binary.LittleEndian.Uint32([]byte(b[4:8])))
	return &Encoded{values: values, sig: sig.String(), body: []byte(b[len(b)-n:])}, nil
}

// outBuf is a pooled buffer for one outgoing message.
type outBuf struct{ b []byte }

var outPool = sync.Pool{New: func() any { return &outBuf{b: make([]byte, 0, 512)} }}

// wireWriter appends aligned little-endian values; offsets are relative
// to base, where the part (header or body) starts.
type wireWriter struct {
	b    []byte
	base int
}

func (w *wireWriter) align(n int) {
	for (len(w.b)-w.base)&(n-1) != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *wireWriter) u32(v uint32) {
	w.align(4)
	w.b = binary.LittleEndian.AppendUint32(w.b, v)
}

func (w *wireWriter) str(s string) {
	w.u32(uint32(len(s)))
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
}

func (w *wireWriter) sig(s string) {
	w.b = append(w.b, byte(len(s)))
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
}

// field appends one header field holding a string of type t (s, o, g)
// or, for t 'u', the number u.
func (w *wireWriter) field(code godbus.HeaderField, t byte, s string, u uint32) {
	w.align(8)
	w.b = append(w.b, byte(code), 1, t, 0)
	switch t {
	case 'u':
		w.u32(u)
	case 'g':
		w.sig(s)
	default:
		w.str(s)
	}
}

// basicCode is the D-Bus type code of v when it is a basic type this
// codec encodes, else 0.
func basicCode(v any) byte {
	switch v.(type) {
	case string:
		return 's'
	case godbus.ObjectPath:
		return 'o'
	case uint32:
		return 'u'
	case int32:
		return 'i'
	case bool:
		return 'b'
	case uint64:
		return 't'
	case int64:
		return 'x'
	case byte:
		return 'y'
	case float64:
		return 'd'
	}
	return 0
}

// basicSig is the signature of body when every value is of a basic
// type this codec encodes (no descriptors), else "" and false.
func basicSig(body []any) (string, bool) {
	if len(body) == 1 {
		if e, ok := body[0].(*Encoded); ok {
			return e.sig, true
		}
	}
	var b [16]byte
	s := b[:0]
	for _, v := range body {
		c := basicCode(v)
		if c == 0 {
			return "", false
		}
		s = append(s, c)
	}
	return string(s), true
}

// signalSig is basicSig for a signal's body, which may also hold the
// two containers of PropertiesChanged: a{sv} whose values are basic and
// as.
func signalSig(body []any) (string, bool) {
	var b [32]byte
	s := b[:0]
	for _, v := range body {
		switch x := v.(type) {
		case map[string]godbus.Variant:
			for _, e := range x {
				c := basicCode(e.Value())
				if c == 0 || e.Signature().String() != string(c) {
					return "", false
				}
			}
			s = append(s, "a{sv}"...)
		case []string:
			s = append(s, "as"...)
		default:
			c := basicCode(v)
			if c == 0 {
				return "", false
			}
			s = append(s, c)
		}
	}
	return string(s), true
}

// basic appends v, of a type basicCode knows.
func (w *wireWriter) basic(v any) {
	switch x := v.(type) {
	case string:
		w.str(x)
	case godbus.ObjectPath:
		w.str(string(x))
	case uint32:
		w.u32(x)
	case int32:
		w.u32(uint32(x))
	case bool:
		u := uint32(0)
		if x {
			u = 1
		}
		w.u32(u)
	case uint64:
		w.align(8)
		w.b = binary.LittleEndian.AppendUint64(w.b, x)
	case int64:
		w.align(8)
		w.b = binary.LittleEndian.AppendUint64(w.b, uint64(x))
	case byte:
		w.b = append(w.b, x)
	case float64:
		w.align(8)
		w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(x))
	}
}

// array appends an array whose elements align to elemAlign, written by
// elems; its length counts the elements, not the padding before them.
func (w *wireWriter) array(elemAlign int, elems func()) {
	w.u32(0)
	at := len(w.b) - 4
	w.align(elemAlign)
	start := len(w.b)
	elems()
	binary.LittleEndian.PutUint32(w.b[at:], uint32(len(w.b)-start))
}

// startMessage begins a little-endian message of typ, serial 0 (send
// patches it), at the end of b; the caller adds its header fields and
// then endHeader.
func startMessage(b []byte, typ godbus.Type) wireWriter {
	return wireWriter{b: append(b, 'l', byte(typ), 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), base: len(b)}
}

// endHeader adds the signature field (none for an empty body), sets the
// header fields' length, pads to the body and returns where it starts
// (the body's alignment base).
func (w *wireWriter) endHeader(start int, sig string) int {
	if sig != "" {
		w.field(godbus.FieldSignature, 'g', sig, 0)
	}
	binary.LittleEndian.PutUint32(w.b[start+12:], uint32(len(w.b)-start-16))
	w.align(8)
	w.base = len(w.b)
	return w.base
}

// appendSignal appends the encoded signal iface.member from path (to
// dest alone when not "") to b, serial 0, when signalSig accepts its
// body; false sends it to godbus. PropertiesChanged, the signal sent at
// every change, was half the allocations of a SetLockedHint (godbus
// encodes by reflection).
func appendSignal(b []byte, dest string, path godbus.ObjectPath, iface, member string, args []any) ([]byte, bool) {
	sig, ok := signalSig(args)
	if !ok {
		return b, false
	}
	start := len(b)
	w := startMessage(b, godbus.TypeSignal)
	w.field(godbus.FieldPath, 'o', string(path), 0)
	w.field(godbus.FieldInterface, 's', iface, 0)
	w.field(godbus.FieldMember, 's', member, 0)
	if dest != "" {
		w.field(godbus.FieldDestination, 's', dest, 0)
	}
	bodyStart := w.endHeader(start, sig)
	for _, v := range args {
		switch x := v.(type) {
		case map[string]godbus.Variant:
			w.array(8, func() {
				for k, e := range x {
					w.align(8)
					w.str(k)
					w.sig(string(basicCode(e.Value())))
					w.basic(e.Value())
				}
			})
		case []string:
			w.array(4, func() {
				for _, e := range x {
					w.str(e)
				}
			})
		default:
			w.basic(v)
		}
	}
	binary.LittleEndian.PutUint32(w.b[start+4:], uint32(len(w.b)-bodyStart))
	return w.b, true
}

// appendReply appends the encoded reply (or error) to the call serial
// from dest to b, serial 0 (send patches it), when its body is one this
// codec encodes; false sends it to godbus.
func appendReply(b []byte, dest string, serial uint32, out []any, err error) ([]byte, bool) {
	typ, name := godbus.TypeMethodReply, ""
	if err != nil {
		e := asError(err)
		typ, name, out = godbus.TypeError, e.Name, []any{e.Message}
	}
	sig, ok := basicSig(out)
	if !ok {
		return b, false
	}
	start := len(b)
	w := startMessage(b, typ)
	if dest != "" {
		w.field(godbus.FieldDestination, 's', dest, 0)
	}
	w.field(godbus.FieldReplySerial, 'u', "", serial)
	if name != "" {
		w.field(godbus.FieldErrorName, 's', name, 0)
	}
	bodyStart := w.endHeader(start, sig)
	if len(out) == 1 {
		if e, ok := out[0].(*Encoded); ok {
			w.b = append(w.b, e.body...)
			out = nil
		}
	}
	for _, v := range out {
		w.basic(v)
	}
	binary.LittleEndian.PutUint32(w.b[start+4:], uint32(len(w.b)-bodyStart))
	return w.b, true
}
