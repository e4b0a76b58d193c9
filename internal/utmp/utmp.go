// Package utmp encodes and decodes glibc's x86_64 utmp/wtmp records
// (struct utmp, 384 bytes) in pure Go, so PID 1 can write boot, runlevel
// and shutdown records without cgo.
package utmp

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Record types (ut_type), as in glibc's <bits/utmp.h>.
const (
	Empty        = 0
	RunLevel     = 1
	BootTime     = 2
	NewTime      = 3
	OldTime      = 4
	InitProcess  = 5
	LoginProcess = 6
	UserProcess  = 7
	DeadProcess  = 8
)

// Size is the size of one record on x86_64 glibc.
const Size = 384

// Field offsets in struct utmp.
const (
	offType    = 0
	offPid     = 4
	offLine    = 8
	offID      = 40
	offUser    = 44
	offHost    = 76
	offExit    = 332
	offSession = 336
	offSec     = 340
	offUsec    = 344
	offAddr    = 348
)

// Record is one utmp/wtmp entry.
type Record struct {
	Type        int16
	Pid         int32
	Line        string // at most 32 bytes
	ID          string // at most 4 bytes
	User        string // at most 32 bytes
	Host        string // at most 256 bytes
	Termination int16
	ExitStatus  int16
	Session     int32
	Time        time.Time // microsecond precision
	Addr        [4]int32
}

// Encode returns the 384-byte on-disk form of r; strings longer than their
// field are truncated, as glibc's writers do.
func (r Record) Encode() []byte {
	b := make([]byte, Size)
	le := binary.LittleEndian
	le.PutUint16(b[offType:], uint16(r.Type))
	le.PutUint32(b[offPid:], uint32(r.Pid))
	copy(b[offLine:offLine+32], r.Line)
	copy(b[offID:offID+4], r.ID)
	copy(b[offUser:offUser+32], r.User)
	copy(b[offHost:offHost+256], r.Host)
	le.PutUint16(b[offExit:], uint16(r.Termination))
	le.PutUint16(b[offExit+2:], uint16(r.ExitStatus))
	le.PutUint32(b[offSession:], uint32(r.Session))
	if !r.Time.IsZero() {
		le.PutUint32(b[offSec:], uint32(r.Time.Unix()))
		le.PutUint32(b[offUsec:], uint32(r.Time.Nanosecond()/1000))
	}
	for i, a := range r.Addr {
		le.PutUint32(b[offAddr+4*i:], uint32(a))
	}
	return b
}

// Decode parses one record from b, which must hold at least Size bytes.
func Decode(b []byte) (Record, error) {
	if len(b) < Size {
		return Record{}, fmt.Errorf("utmp: record of %d bytes, want %d", len(b), Size)
	}
	le := binary.LittleEndian
	r := Record{
		Type:        int16(le.Uint16(b[offType:])),
		Pid:         int32(le.Uint32(b[offPid:])),
		Line:        cstr(b[offLine : offLine+32]),
		ID:          cstr(b[offID : offID+4]),
		User:        cstr(b[offUser : offUser+32]),
		Host:        cstr(b[offHost : offHost+256]),
		Termination: int16(le.Uint16(b[offExit:])),
		ExitStatus:  int16(le.Uint16(b[offExit+2:])),
		Session:     int32(le.Uint32(b[offSession:])),
	}
	sec, usec := int32(le.Uint32(b[offSec:])), int32(le.Uint32(b[offUsec:]))
	if sec != 0 || usec != 0 {
		r.Time = time.Unix(int64(sec), int64(usec)*1000)
	}
	for i := range r.Addr {
		r.Addr[i] = int32(le.Uint32(b[offAddr+4*i:]))
	}
	return r, nil
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
