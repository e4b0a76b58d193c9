package sys

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWithUser(t *testing.T) {
	u := func(id uint32, p uint16) ACLEntry { return ACLEntry{aclUser, p, id} }
	g := func(id uint32, p uint16) ACLEntry { return ACLEntry{aclGroup, p, id} }
	obj := func(tag, p uint16) ACLEntry { return ACLEntry{tag, p, aclUndefinedID} }
	base := aclFromMode(0o640)
	for _, c := range []struct {
		name string
		in   []ACLEntry
		uid  uint32
		perm uint16
		want []ACLEntry
	}{
		{"grant on mode bits", base, 1000, 6,
			[]ACLEntry{obj(aclUserObj, 6), u(1000, 6), obj(aclGroupObj, 4), obj(aclMask, 6), obj(aclOther, 0)}},
		{"grant keeps others in order", []ACLEntry{obj(aclUserObj, 6), u(5, 4), u(2000, 4), obj(aclGroupObj, 0), g(44, 2), obj(aclMask, 6), obj(aclOther, 0)}, 1000, 6,
			[]ACLEntry{obj(aclUserObj, 6), u(5, 4), u(1000, 6), u(2000, 4), obj(aclGroupObj, 0), g(44, 2), obj(aclMask, 6), obj(aclOther, 0)}},
		{"revoke recomputes the mask", []ACLEntry{obj(aclUserObj, 6), u(1000, 6), u(2000, 4), obj(aclGroupObj, 0), obj(aclMask, 6), obj(aclOther, 0)}, 1000, 0,
			[]ACLEntry{obj(aclUserObj, 6), u(2000, 4), obj(aclGroupObj, 0), obj(aclMask, 4), obj(aclOther, 0)}},
		{"revoke the last keeps a mask", []ACLEntry{obj(aclUserObj, 6), u(1000, 6), obj(aclGroupObj, 4), obj(aclMask, 6), obj(aclOther, 0)}, 1000, 0,
			[]ACLEntry{obj(aclUserObj, 6), obj(aclGroupObj, 4), obj(aclMask, 4), obj(aclOther, 0)}},
		{"revoke absent", base, 7, 0, base},
	} {
		got := WithUser(c.in, c.uid, c.perm)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
		if err := checkACL(got); err != nil {
			t.Errorf("%s: result invalid: %v", c.name, err)
		}
		back, err := ParseACL(EncodeACL(got))
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("%s: round trip %v %v", c.name, back, err)
		}
	}
}

func TestParseACLRejects(t *testing.T) {
	ok := EncodeACL(WithUser(aclFromMode(0o660), 1000, 6))
	for name, b := range map[string][]byte{
		"empty":     nil,
		"ragged":    ok[:len(ok)-1],
		"version":   append([]byte{1, 0, 0, 0}, ok[4:]...),
		"no other":  EncodeACL(aclFromMode(0o660)[:2]),
		"no mask":   EncodeACL([]ACLEntry{{aclUserObj, 6, aclUndefinedID}, {aclUser, 6, 1}, {aclGroupObj, 6, aclUndefinedID}, {aclOther, 0, aclUndefinedID}}),
		"unordered": EncodeACL([]ACLEntry{{aclGroupObj, 6, aclUndefinedID}, {aclUserObj, 6, aclUndefinedID}, {aclOther, 0, aclUndefinedID}}),
		"twice":     EncodeACL([]ACLEntry{{aclUserObj, 6, aclUndefinedID}, {aclUser, 6, 1}, {aclUser, 4, 1}, {aclGroupObj, 6, aclUndefinedID}, {aclMask, 6, aclUndefinedID}, {aclOther, 0, aclUndefinedID}}),
		"tag":       EncodeACL([]ACLEntry{{aclUserObj, 6, aclUndefinedID}, {aclGroupObj, 6, aclUndefinedID}, {0x40, 6, 0}, {aclOther, 0, aclUndefinedID}}),
		"perm":      EncodeACL([]ACLEntry{{aclUserObj, 8, aclUndefinedID}, {aclGroupObj, 6, aclUndefinedID}, {aclOther, 0, aclUndefinedID}}),
	} {
		if _, err := ParseACL(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseACL(f *testing.F) {
	f.Add(EncodeACL(WithUser(aclFromMode(0o660), 1000, 6)))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := ParseACL(b)
		if err != nil {
			return
		}
		for _, uid := range []uint32{0, 1000, es[0].ID} {
			for _, p := range []uint16{0, 6} {
				out := WithUser(es, uid, p)
				if err := checkACL(out); err != nil {
					t.Fatalf("WithUser(%v, %d, %d) = %v: %v", es, uid, p, out, err)
				}
				only := withUser(es, uid, p, true)
				if err := checkACL(only); err != nil {
					t.Fatalf("withUser(%v, %d, %d, only) = %v: %v", es, uid, p, only, err)
				}
				for _, e := range only {
					if e.Tag == aclUser && e.ID != uid {
						t.Fatalf("withUser only kept user %d", e.ID)
					}
				}
			}
		}
	})
}

// TestSetUserACLFile edits a real file's ACL through the xattr and reads
// it back with getfacl when it is installed.
func TestSetUserACLFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node")
	if err := os.WriteFile(path, nil, 0o660); err != nil {
		t.Fatal(err)
	}
	// A named group the edit must keep.
	if err := unix.Lsetxattr(path, aclXattr, EncodeACL([]ACLEntry{
		{aclUserObj, 6, aclUndefinedID}, {aclGroupObj, 6, aclUndefinedID}, {aclGroup, 4, 44},
		{aclMask, 6, aclUndefinedID}, {aclOther, 0, aclUndefinedID}}), 0); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			t.Skipf("skipped: %s has no POSIX ACLs", dir)
		}
		t.Fatal(err)
	}
	mode := func() uint32 {
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			t.Fatal(err)
		}
		return st.Mode
	}
	if err := setUserACL(path, mode(), 1234, true); err != nil {
		t.Fatal(err)
	}
	if err := setUserACL(path, mode(), 1234, true); err != nil { // idempotent
		t.Fatal(err)
	}
	es, err := getACL(path, mode())
	if err != nil {
		t.Fatal(err)
	}
	if !hasUser(es, 1234) || !reflect.DeepEqual(es[len(es)-3], ACLEntry{aclGroup, 4, 44}) {
		t.Errorf("after grant: %v", es)
	}
	if getfacl, err := exec.LookPath("getfacl"); err == nil {
		out, err := exec.Command(getfacl, "-n", "-p", path).CombinedOutput()
		if err != nil {
			t.Fatalf("getfacl: %v %s", err, out)
		}
		for _, want := range []string{"user:1234:rw-", "group:44:r--", "mask::rw-"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("getfacl lacks %q:\n%s", want, out)
			}
		}
	} else {
		t.Log("getfacl not installed (Debian acl): checked through the xattr only")
	}
	if err := setUserACL(path, mode(), 1234, false); err != nil {
		t.Fatal(err)
	}
	es, _ = getACL(path, mode())
	if hasUser(es, 1234) || len(es) != 5 {
		t.Errorf("after revoke: %v", es)
	}
	// SetUserACL refuses what is not the device it was told.
	if err := SetUserACL(path, 1, 3, false, 1234, true); err == nil {
		t.Error("SetUserACL wrote a regular file")
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	if err := SetUserACL(link, 1, 3, false, 1234, true); err == nil {
		t.Error("SetUserACL followed a symlink")
	}
}

func TestResetUserACLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node")
	if err := os.WriteFile(path, nil, 0o660); err != nil {
		t.Fatal(err)
	}
	mode := func() uint32 {
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			t.Fatal(err)
		}
		return st.Mode
	}
	for _, uid := range []uint32{1001, 1002} {
		if err := setUserACL(path, mode(), uid, true); err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) {
				t.Skip("skipped: no POSIX ACLs here")
			}
			t.Fatal(err)
		}
	}
	if err := editACL(path, mode(), 1000, true, true); err != nil {
		t.Fatal(err)
	}
	es, _ := getACL(path, mode())
	if !hasUser(es, 1000) || hasUser(es, 1001) || hasUser(es, 1002) {
		t.Errorf("after reset to 1000: %v", es)
	}
	if err := editACL(path, mode(), 0, false, true); err != nil {
		t.Fatal(err)
	}
	if es, _ := getACL(path, mode()); hasUser(es, 1000) {
		t.Errorf("after reset to nobody: %v", es)
	}
	if err := ResetUserACL(path, 1, 3, false, 1000, true); err == nil {
		t.Error("ResetUserACL wrote a regular file")
	}
}
