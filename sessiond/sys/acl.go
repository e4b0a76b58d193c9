package sys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// POSIX ACLs as the kernel stores them in the system.posix_acl_access
// xattr: a little-endian version word (2), then 8-byte entries of tag
// (16 bits), permissions (16 bits) and id (32 bits), sorted by tag and,
// for named users and groups, by id.
const (
	aclXattr   = "system.posix_acl_access"
	aclVersion = 2

	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20

	aclUndefinedID = ^uint32(0)
)

// ACLEntry is one entry of a POSIX ACL.
type ACLEntry struct {
	Tag  uint16
	Perm uint16 // rwx bits: 4, 2, 1
	ID   uint32 // uid or gid of named entries, else undefined
}

// ParseACL decodes an access ACL xattr and checks what the kernel
// checks: version, size, known tags and permissions, exactly one owner,
// group and other entry, a mask when there are named entries, and the
// order.
func ParseACL(b []byte) ([]ACLEntry, error) {
	if len(b) < 4 || (len(b)-4)%8 != 0 {
		return nil, fmt.Errorf("ACL of %d bytes: not a version word and 8-byte entries", len(b))
	}
	if v := binary.LittleEndian.Uint32(b); v != aclVersion {
		return nil, fmt.Errorf("ACL version %d, want %d", v, aclVersion)
	}
	var out []ACLEntry
	for off := 4; off < len(b); off += 8 {
		e := ACLEntry{
			Tag:  binary.LittleEndian.Uint16(b[off:]),
			Perm: binary.LittleEndian.Uint16(b[off+2:]),
			ID:   binary.LittleEndian.Uint32(b[off+4:]),
		}
		if e.Perm&^7 != 0 {
			return nil, fmt.Errorf("ACL entry %d: permissions %#o", len(out), e.Perm)
		}
		out = append(out, e)
	}
	return out, checkACL(out)
}

func checkACL(es []ACLEntry) error {
	count := map[uint16]int{}
	named := false
	for i, e := range es {
		switch e.Tag {
		case aclUserObj, aclGroupObj, aclMask, aclOther:
		case aclUser, aclGroup:
			named = true
		default:
			return fmt.Errorf("ACL entry %d: unknown tag %#x", i, e.Tag)
		}
		count[e.Tag]++
		if i > 0 {
			p := es[i-1]
			if e.Tag < p.Tag || e.Tag == p.Tag && (e.Tag != aclUser && e.Tag != aclGroup || e.ID <= p.ID) {
				return fmt.Errorf("ACL entry %d: out of order or repeated", i)
			}
		}
	}
	if count[aclUserObj] != 1 || count[aclGroupObj] != 1 || count[aclOther] != 1 {
		return errors.New("ACL: needs one owner, one group and one other entry")
	}
	if named && count[aclMask] != 1 {
		return errors.New("ACL: named entries without a mask")
	}
	return nil
}

// EncodeACL is ParseACL's inverse.
func EncodeACL(es []ACLEntry) []byte {
	b := make([]byte, 4, 4+8*len(es))
	binary.LittleEndian.PutUint32(b, aclVersion)
	for _, e := range es {
		b = binary.LittleEndian.AppendUint16(b, e.Tag)
		b = binary.LittleEndian.AppendUint16(b, e.Perm)
		b = binary.LittleEndian.AppendUint32(b, e.ID)
	}
	return b
}

// aclFromMode is the ACL a file without one has: its mode bits.
func aclFromMode(mode uint32) []ACLEntry {
	return []ACLEntry{
		{aclUserObj, uint16(mode >> 6 & 7), aclUndefinedID},
		{aclGroupObj, uint16(mode >> 3 & 7), aclUndefinedID},
		{aclOther, uint16(mode & 7), aclUndefinedID},
	}
}

// WithUser returns es with user uid given perm (0: the entry removed),
// every other entry kept, the mask recomputed as the union of the group
// class (owning group, named users and groups) as setfacl does, and the
// order the kernel wants. A mask is kept even when no named entry is
// left: dropping it would widen the group bits of the mode to the owning
// group's entry, which chmod may have narrowed through the mask.
func WithUser(es []ACLEntry, uid uint32, perm uint16) []ACLEntry {
	return withUser(es, uid, perm, false)
}

// withUser is WithUser; only also drops every other named user's entry
// (udev's uaccess builtin does so: the active user is the only one).
func withUser(es []ACLEntry, uid uint32, perm uint16, only bool) []ACLEntry {
	out := make([]ACLEntry, 0, len(es)+2)
	hasMask := false
	for _, e := range es {
		switch {
		case e.Tag == aclUser && (e.ID == uid || only):
			continue
		case e.Tag == aclMask:
			hasMask = true
			continue
		}
		out = append(out, e)
	}
	if perm != 0 {
		out = append(out, ACLEntry{aclUser, perm & 7, uid})
	}
	var mask uint16
	named := false
	for _, e := range out {
		switch e.Tag {
		case aclUser, aclGroup:
			named = true
			mask |= e.Perm
		case aclGroupObj:
			mask |= e.Perm
		}
	}
	if named || hasMask {
		out = append(out, ACLEntry{aclMask, mask, aclUndefinedID})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Tag != out[j].Tag {
			return out[i].Tag < out[j].Tag
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// SetUserACL gives user uid read-write access to the device node path
// through its access ACL (grant), or removes that user's entry (!grant);
// every other entry stays. The node must still be the device major:minor
// (a replaced node is left alone) and is never followed as a symlink.
// Root's entries are never written: root needs none.
func SetUserACL(path string, major, minor uint32, block bool, uid uint32, grant bool) error {
	if uid == 0 {
		return nil
	}
	var st unix.Stat_t
	if err := checkNode(path, major, minor, block, &st); err != nil {
		return err
	}
	return setUserACL(path, st.Mode, uid, grant)
}

// ResetUserACL leaves user uid (when grant) the only named user with an
// entry in the node's ACL: what a previous sessiond granted to users no
// longer in front goes. Named groups and the rest stay.
func ResetUserACL(path string, major, minor uint32, block bool, uid uint32, grant bool) error {
	if uid == 0 {
		grant = false // root needs no entry; the others still go
	}
	var st unix.Stat_t
	if err := checkNode(path, major, minor, block, &st); err != nil {
		return err
	}
	return editACL(path, st.Mode, uid, grant, true)
}

func checkNode(path string, major, minor uint32, block bool, st *unix.Stat_t) error {
	if err := unix.Lstat(path, st); err != nil {
		return fmt.Errorf("acl %s: %w", path, err)
	}
	want := uint32(unix.S_IFCHR)
	if block {
		want = unix.S_IFBLK
	}
	if st.Mode&unix.S_IFMT != want || unix.Major(st.Rdev) != major || unix.Minor(st.Rdev) != minor {
		return fmt.Errorf("acl %s: not device %d:%d any more", path, major, minor)
	}
	return nil
}

// setUserACL edits the ACL of any file (SetUserACL checks the node).
func setUserACL(path string, mode uint32, uid uint32, grant bool) error {
	return editACL(path, mode, uid, grant, false)
}

func editACL(path string, mode uint32, uid uint32, grant, only bool) error {
	es, err := getACL(path, mode)
	if err != nil {
		return err
	}
	var perm uint16
	if grant {
		perm = 6 // rw-
	}
	others := 0
	mine := false
	for _, e := range es {
		if e.Tag == aclUser && e.ID == uid && e.Perm == perm {
			mine = true
		} else if e.Tag == aclUser && e.ID != uid {
			others++
		}
	}
	switch {
	case mine && (!only || others == 0):
		return nil // already so: no write, no ctime change
	case !grant && !hasUser(es, uid) && (!only || others == 0):
		return nil
	}
	if err := unix.Lsetxattr(path, aclXattr, EncodeACL(withUser(es, uid, perm, only)), 0); err != nil {
		return fmt.Errorf("acl %s: set: %w", path, err)
	}
	return nil
}

func hasUser(es []ACLEntry, uid uint32) bool {
	for _, e := range es {
		if e.Tag == aclUser && e.ID == uid {
			return true
		}
	}
	return false
}

// getACL reads path's access ACL, or builds it from mode when the file
// has none.
func getACL(path string, mode uint32) ([]ACLEntry, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, aclXattr, buf)
		switch {
		case errors.Is(err, unix.ENODATA):
			return aclFromMode(mode), nil
		case errors.Is(err, unix.ERANGE) && len(buf) < 1<<16:
			buf = make([]byte, 2*len(buf))
			continue
		case err != nil:
			return nil, fmt.Errorf("acl %s: get: %w", path, err)
		}
		es, err := ParseACL(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("acl %s: %w", path, err)
		}
		return es, nil
	}
}

// SetDeviceACL is SetUserACL for a seat device (the Host's ACL edge).
func (h *Host) SetDeviceACL(d SeatDevice, uid uint32, grant bool) error {
	return SetUserACL(d.Node, d.Major, d.Minor, d.Block, uid, grant)
}

// ResetDeviceACL is ResetUserACL for a seat device.
func (h *Host) ResetDeviceACL(d SeatDevice, uid uint32, grant bool) error {
	return ResetUserACL(d.Node, d.Major, d.Minor, d.Block, uid, grant)
}
