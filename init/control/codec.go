package control

// Wire protocol, version 1 (see PROTOCOL.md for the same text with examples).
//
// Every message, in both directions, is one frame:
//
//	offset 0  2 bytes  magic "gC"
//	offset 2  1 byte   protocol version (ProtocolVersion)
//	offset 3  1 byte   kind: 'Q' request, 'R' response
//	offset 4  4 bytes  payload length, big-endian unsigned
//	offset 8  payload
//
// The payload is a sequence of fields, each: tag (1 byte), value length
// (unsigned varint), value. Strings and byte slices are raw bytes; booleans
// are one byte 0/1 and only sent when true; integers are signed varints
// (zig-zag); lists repeat their tag once per element; a ServiceInfo is a
// nested field sequence under one tag. Unknown tags are skipped, so a newer
// peer may add fields without breaking an older one; a change of meaning
// needs a new version. A request payload is at most MaxRequestSize bytes and a
// response payload at most MaxResponseSize: a larger announced length is
// rejected before any allocation, and a smaller one is only allocated as its
// bytes arrive.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// Protocol constants.
const (
	ProtocolVersion = 1
	HeaderSize      = 8
	MaxRequestSize  = 1 << 20  // 1 MiB
	MaxResponseSize = 64 << 20 // 64 MiB: long lists and logs

	kindRequest  = 'Q'
	kindResponse = 'R'
)

var magic = [2]byte{'g', 'C'}

// Request field tags.
const (
	tqOp = iota + 1
	tqService
	tqPin
	tqForce
	tqNoWait
	tqIgnoreUnstarted
	tqClear
	tqDepType
	tqDepTarget
	tqFrom
	tqSignal
	tqEnv
	tqShutdown
)

// Response field tags.
const (
	trCode = iota + 1
	trMessage
	trService
	trLog
	trTruncated
	trDependents
	trEnv
)

// ServiceInfo field tags.
const (
	tsName = iota + 1
	tsType
	tsState
	tsTarget
	tsActive
	tsPinStart
	tsPinStop
	tsFailed
	tsSkipped
	tsPID
	tsExitStatus
	tsStopReason
	tsStatusText
	tsFile
	tsDep
	tsDependent
	tsTriggered
	tsLastOutput
	tsTimerTarget
	tsNextRun
	tsNextTrigger
	tsLastRun
	tsRuns
	tsSince
)

// Frame errors. After ErrVersion or ErrBadKind the payload was consumed
// and the stream is still in sync, so a server may keep the connection.
var (
	ErrBadMagic  = errors.New("bad magic: not a ginit control frame")
	ErrTooLarge  = errors.New("message too large")
	ErrVersion   = errors.New("unsupported protocol version")
	ErrBadKind   = errors.New("unexpected message kind")
	ErrMalformed = errors.New("malformed payload")
)

type encoder struct{ b []byte }

// appendRaw appends one field of raw bytes to b, even an empty one (a list
// element).
func appendRaw[T string | []byte](b []byte, tag byte, v T) []byte {
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func (e *encoder) boolean(tag byte, v bool) {
	if v {
		e.b = append(e.b, tag, 1, 1)
	}
}

func (e *encoder) int(tag byte, v int64) {
	if v == 0 {
		return
	}
	var tmp [binary.MaxVarintLen64]byte
	n := binary.PutVarint(tmp[:], v)
	e.b = append(e.b, tag, byte(n))
	e.b = append(e.b, tmp[:n]...)
}

func (e *encoder) header(kind byte) {
	e.b = append(e.b, magic[0], magic[1], ProtocolVersion, kind, 0, 0, 0, 0)
}

func (e *encoder) finish() []byte {
	binary.BigEndian.PutUint32(e.b[4:8], uint32(len(e.b)-HeaderSize))
	return e.b
}

// A field is one field of a message: its tag and a pointer to where its
// value lives (*string, *bool, *int, *[]string, *[]byte, *[]ServiceInfo).
// Each message lists its fields once, in tag order, and both directions
// of the codec walk that list.
type field struct {
	tag byte
	p   any
}

func requestFields(r *Request) [13]field {
	return [...]field{
		{tqOp, (*string)(&r.Op)}, {tqService, &r.Service}, {tqPin, &r.Pin}, {tqForce, &r.Force},
		{tqNoWait, &r.NoWait}, {tqIgnoreUnstarted, &r.IgnoreUnstarted}, {tqClear, &r.Clear},
		{tqDepType, &r.DepType}, {tqDepTarget, &r.DepTarget}, {tqFrom, &r.From},
		{tqSignal, &r.Signal}, {tqEnv, &r.Env}, {tqShutdown, &r.Shutdown},
	}
}

func responseFields(r *Response) [7]field {
	return [...]field{
		{trCode, (*int)(&r.Code)}, {trMessage, &r.Message}, {trService, &r.Services}, {trLog, &r.Log},
		{trTruncated, &r.Truncated}, {trDependents, &r.Dependents}, {trEnv, &r.Env},
	}
}

// infoTable holds a ServiceInfo's fields.
type infoTable [24]field

func infoFields(si *ServiceInfo) infoTable {
	return infoTable{
		{tsName, &si.Name}, {tsType, &si.Type}, {tsState, &si.State}, {tsTarget, &si.Target},
		{tsActive, &si.Active}, {tsPinStart, &si.PinStart}, {tsPinStop, &si.PinStop},
		{tsFailed, &si.Failed}, {tsSkipped, &si.Skipped}, {tsPID, &si.PID},
		{tsExitStatus, &si.ExitStatus}, {tsStopReason, &si.StopReason}, {tsStatusText, &si.StatusText},
		{tsFile, &si.File}, {tsDep, &si.Deps}, {tsDependent, &si.Dependents}, {tsTriggered, &si.Triggered},
		{tsLastOutput, &si.LastOutput},
		{tsTimerTarget, &si.TimerTarget}, {tsNextRun, &si.NextRun}, {tsNextTrigger, &si.NextTrigger},
		{tsLastRun, &si.LastRun}, {tsRuns, &si.Runs},
		{tsSince, &si.Since},
	}
}

// AppendRequest appends the framed encoding of req to buf.
func AppendRequest(buf []byte, req *Request) []byte {
	fs := requestFields(req)
	return appendFrame(buf, kindRequest, fs[:])
}

// AppendResponse appends the framed encoding of resp to buf.
func AppendResponse(buf []byte, resp *Response) []byte {
	fs := responseFields(resp)
	e := encoder{b: buf[:0]}
	e.header(kindResponse)
	e.fields(fs[:])
	e.b = append(e.b, resp.EncodedServices...)
	return e.finish()
}

// AppendServiceInfo appends si to b as one service of a response, for
// Response.EncodedServices: a long list is then encoded service by service
// into bytes the garbage collector need not scan, instead of being held as
// thousands of ServiceInfos first.
func AppendServiceInfo(b []byte, si *ServiceInfo) []byte {
	e := encoder{b: b}
	e.info(trService, si)
	return e.b
}

func appendFrame(buf []byte, kind byte, fs []field) []byte {
	e := encoder{b: buf[:0]}
	e.header(kind)
	e.fields(fs)
	return e.finish()
}

// fields encodes fs in order; zero values are not sent.
func (e *encoder) fields(fs []field) {
	for _, f := range fs {
		switch p := f.p.(type) {
		case *string:
			if *p != "" {
				e.b = appendRaw(e.b, f.tag, *p)
			}
		case *bool:
			e.boolean(f.tag, *p)
		case *int:
			e.int(f.tag, int64(*p))
		case *[]byte:
			if len(*p) > 0 {
				e.b = appendRaw(e.b, f.tag, *p)
			}
		case *[]string:
			for _, s := range *p {
				e.b = appendRaw(e.b, f.tag, s)
			}
		case *[]ServiceInfo:
			for i := range *p {
				e.info(f.tag, &(*p)[i])
			}
		}
	}
}

// info encodes si as one nested field.
func (e *encoder) info(tag byte, si *ServiceInfo) {
	e.b = append(e.b, tag)
	// Reserve a fixed 5-byte varint for the nested length so the body is
	// written once, in place.
	at := len(e.b)
	e.b = append(e.b, 0, 0, 0, 0, 0)
	fs := infoFields(si)
	e.fields(fs[:])
	n := uint64(len(e.b) - at - 5)
	for j := 0; j < 4; j++ {
		e.b[at+j] = byte(n) | 0x80
		n >>= 7
	}
	e.b[at+4] = byte(n)
}

// field iterates over a field sequence.
type fields struct {
	b   []byte
	err error
}

// next returns the next tag and value; ok is false at the end or on error.
func (f *fields) next() (tag byte, val []byte, ok bool) {
	if len(f.b) == 0 || f.err != nil {
		return 0, nil, false
	}
	tag = f.b[0]
	n, k := binary.Uvarint(f.b[1:])
	if k <= 0 {
		f.err = fmt.Errorf("%w: bad length of field %d", ErrMalformed, tag)
		return 0, nil, false
	}
	rest := f.b[1+k:]
	if n > uint64(len(rest)) {
		f.err = fmt.Errorf("%w: field %d claims %d bytes, %d left", ErrMalformed, tag, n, len(rest))
		return 0, nil, false
	}
	f.b = rest[n:]
	return tag, rest[:n], true
}

func (f *fields) boolean(tag byte, v []byte) bool {
	if len(v) != 1 || v[0] > 1 {
		f.err = fmt.Errorf("%w: field %d: bad boolean", ErrMalformed, tag)
		return false
	}
	return v[0] == 1
}

func (f *fields) int(tag byte, v []byte) int64 {
	x, k := binary.Varint(v)
	if k <= 0 || k != len(v) {
		f.err = fmt.Errorf("%w: field %d: bad integer", ErrMalformed, tag)
		return 0
	}
	return x
}

func (f *fields) intRange(tag byte, v []byte, lo, hi int64) int {
	x := f.int(tag, v)
	if f.err == nil && (x < lo || x > hi) {
		f.err = fmt.Errorf("%w: field %d: %d out of range", ErrMalformed, tag, x)
		return 0
	}
	return int(x)
}

// decode reads a field sequence into fs (listed in tag order from 1):
// unknown tags are skipped, a repeated scalar keeps its last value, a list
// gathers every value.
func decode(p []byte, fs []field) error { return decodeEach(p, fs, nil) }

// decodeEach is decode, except that with each set the services of a
// *[]ServiceInfo field are handed to each, one at a time, instead of
// gathered (a list's reader prints one and forgets it).
func decodeEach(p []byte, fs []field, each func(*ServiceInfo)) error {
	f := fields{b: p}
	var nested *infoTable
	for {
		tag, v, ok := f.next()
		if !ok {
			return f.err
		}
		if tag == 0 || int(tag) > len(fs) {
			continue
		}
		switch p := fs[tag-1].p.(type) {
		case *string:
			*p = string(v)
		case *bool:
			*p = f.boolean(tag, v)
		case *int:
			// Whatever fits an int: Since is Unix milliseconds, beyond
			// 32 bits.
			*p = f.intRange(tag, v, math.MinInt, math.MaxInt)
		case *[]byte:
			*p = append([]byte(nil), v...)
		case *[]string:
			*p = append(*p, string(v))
		case *[]ServiceInfo:
			if each != nil {
				var si ServiceInfo
				if nested == nil {
					nested = new(infoTable)
				}
				*nested = infoFields(&si)
				if err := decode(v, nested[:]); err != nil {
					return err
				}
				each(&si)
				continue
			}
			// Decoded in place, through one field table for the whole
			// list: a ServiceInfo or a table of each service's own would
			// cost an allocation per service.
			if cap(*p) == 0 {
				// Sized once: appending a list of thousands grew and
				// copied it a dozen times (a third of a client's list).
				*p = make([]ServiceInfo, 0, 1+countTag(f.b, tag))
			}
			*p = append(*p, ServiceInfo{})
			if nested == nil {
				nested = new(infoTable)
			}
			*nested = infoFields(&(*p)[len(*p)-1])
			if err := decode(v, nested[:]); err != nil {
				return err
			}
		}
	}
}

// countTag counts the fields tagged tag in the field sequence p, up to
// the first malformed one (which decode then reports).
func countTag(p []byte, tag byte) int {
	g := fields{b: p}
	n := 0
	for {
		t, _, ok := g.next()
		if !ok {
			return n
		}
		if t == tag {
			n++
		}
	}
}

// DecodeRequestPayload decodes a request payload (the bytes after the header).
func DecodeRequestPayload(p []byte) (Request, error) {
	var req Request
	fs := requestFields(&req)
	if err := decode(p, fs[:]); err != nil {
		return Request{}, err
	}
	if req.Op == "" {
		return Request{}, fmt.Errorf("%w: request has no op", ErrMalformed)
	}
	return req, nil
}

// DecodeResponsePayload decodes a response payload.
func DecodeResponsePayload(p []byte) (Response, error) { return DecodeResponseEach(p, nil) }

// DecodeResponseEach decodes a response payload as DecodeResponsePayload
// does, except that with each set the services are handed to each in
// order, instead of gathered in Services; si is each's only during the call.
func DecodeResponseEach(p []byte, each func(si *ServiceInfo)) (Response, error) {
	var resp Response
	fs := responseFields(&resp)
	if err := decodeEach(p, fs[:], each); err != nil {
		return Response{}, err
	}
	return resp, nil
}

// header is a parsed frame header.
type header struct {
	version byte
	kind    byte
	length  uint32
}

func parseHeader(h []byte) (header, error) {
	if h[0] != magic[0] || h[1] != magic[1] {
		return header{}, ErrBadMagic
	}
	return header{version: h[2], kind: h[3], length: binary.BigEndian.Uint32(h[4:8])}, nil
}

// readFrame reads one frame of the wanted kind into buf (grown as needed).
// begun, when not nil, is called once the frame's first byte has arrived
// (the server then gives the rest of the frame a deadline).
// A version or kind mismatch still consumes the payload, so the stream stays
// in sync; the returned error then wraps ErrVersion or ErrBadKind.
// ErrBadMagic and ErrTooLarge mean the stream is lost.
func readFrame(r io.Reader, buf []byte, kind byte, limit uint32, begun func()) ([]byte, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(r, hb[:1]); err != nil {
		return buf, err
	}
	if begun != nil {
		begun()
	}
	if _, err := io.ReadFull(r, hb[1:]); err != nil {
		return buf, unexpectedEOF(err)
	}
	h, err := parseHeader(hb[:])
	if err != nil {
		return buf, err
	}
	if h.length > limit {
		return buf, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, h.length, limit)
	}
	buf, err = readPayload(r, buf, int(h.length))
	if err != nil {
		return buf, unexpectedEOF(err)
	}
	if h.version != ProtocolVersion {
		return buf, fmt.Errorf("%w %d (this side speaks %d)", ErrVersion, h.version, ProtocolVersion)
	}
	if h.kind != kind {
		return buf, fmt.Errorf("%w %q, want %q", ErrBadKind, h.kind, kind)
	}
	return buf, nil
}

// ReadRequest reads one request frame from r into buf (grown as needed, and
// only as bytes arrive) and returns its payload for DecodeRequestPayload.
// begun, when not nil, is called once the frame's first byte has arrived (a
// server then gives the rest of the frame a deadline). After an error
// wrapping ErrVersion or ErrBadKind the payload was consumed and the stream
// is still in sync; after ErrBadMagic or ErrTooLarge it is lost.
func ReadRequest(r io.Reader, buf []byte, begun func()) ([]byte, error) {
	return readFrame(r, buf, kindRequest, MaxRequestSize, begun)
}

// ReadResponse reads one response frame, as ReadRequest does, and returns
// its payload for DecodeResponsePayload.
func ReadResponse(r io.Reader, buf []byte) ([]byte, error) {
	return readFrame(r, buf, kindResponse, MaxResponseSize, nil)
}

// keepMax is the largest message buffer Recycle keeps.
const keepMax = 64 << 10

// Recycle returns buf, done with, for the next message on its connection,
// or nil when it has grown past keepMax: an idle connection must not pin
// the buffer of a huge list.
func Recycle(buf []byte) []byte {
	if cap(buf) > keepMax {
		return nil
	}
	return buf
}

// firstChunk is the most readPayload allocates before any payload byte has
// arrived.
const firstChunk = 4 << 10

// readPayload reads exactly n bytes into buf[:n]. The buffer grows only as
// bytes actually arrive (doubling, so a large frame costs O(log n) copies):
// a peer that announces a megabyte and sends one byte costs a few KiB, not
// the megabyte it announced.
func readPayload(r io.Reader, buf []byte, n int) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grow := min(max(cap(buf), firstChunk), n-len(buf))
			buf = slices.Grow(buf, grow)
		}
		k, err := r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+k]
		if err != nil && len(buf) < n {
			return buf, err
		}
	}
	return buf, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// DecodeRequest decodes one complete framed request.
func DecodeRequest(frame []byte) (Request, error) {
	p, err := checkFrame(frame, kindRequest, MaxRequestSize)
	if err != nil {
		return Request{}, err
	}
	return DecodeRequestPayload(p)
}

// DecodeResponse decodes one complete framed response.
func DecodeResponse(frame []byte) (Response, error) {
	p, err := checkFrame(frame, kindResponse, MaxResponseSize)
	if err != nil {
		return Response{}, err
	}
	return DecodeResponsePayload(p)
}

func checkFrame(frame []byte, kind byte, max uint32) ([]byte, error) {
	if len(frame) < HeaderSize {
		return nil, fmt.Errorf("%w: short frame (%d bytes)", ErrMalformed, len(frame))
	}
	h, err := parseHeader(frame)
	if err != nil {
		return nil, err
	}
	if h.version != ProtocolVersion {
		return nil, fmt.Errorf("%w %d", ErrVersion, h.version)
	}
	if h.kind != kind {
		return nil, fmt.Errorf("%w %q", ErrBadKind, h.kind)
	}
	if h.length > max {
		return nil, ErrTooLarge
	}
	if int(h.length) != len(frame)-HeaderSize {
		return nil, fmt.Errorf("%w: length %d, frame carries %d", ErrMalformed, h.length, len(frame)-HeaderSize)
	}
	return frame[HeaderSize:], nil
}
