package mountinfo

import (
	"strings"
	"testing"
)

const sample = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:5 / /proc rw,nosuid,nodev,noexec shared:2 - proc proc rw
24 22 0:6 / /mnt/my\040disk rw - ext4 /dev/vdb rw
25 22 0:7 / /boot ro - vfat /dev/vdc ro
26 22 0:8 / /run rw - tmpfs tmpfs rw
40 22 0:35 / /srv/lazy rw,relatime shared:20 - autofs ginit-automount rw,fd=5,direct
`

func TestParse(t *testing.T) {
	ents, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 6 {
		t.Fatalf("got %d entries", len(ents))
	}
	for _, tc := range []struct {
		i                      int
		dev, mp, fs, src, opts string
	}{
		{0, "8:1", "/", "ext4", "/dev/vda", "rw,relatime"},
		{1, "0:5", "/proc", "proc", "proc", "rw,nosuid,nodev,noexec"},
		{2, "0:6", "/mnt/my disk", "ext4", "/dev/vdb", "rw"},
		{5, "0:35", "/srv/lazy", "autofs", "ginit-automount", "rw,relatime"},
	} {
		e := ents[tc.i]
		if e.Dev != tc.dev || e.MountPoint != tc.mp || e.FSType != tc.fs || e.Source != tc.src || e.Options != tc.opts {
			t.Errorf("entry %d = %+v", tc.i, e)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct {
		text string
		n    int
		err  string
	}{
		{"1 2 3\n", 0, "mountinfo:1: malformed line"},
		{"22 1 8:1 / / rw - ext4 /dev/vda rw\nbad line\n", 1, "mountinfo:2: malformed line"},
		{"22 1 8:1 / / rw shared:1 - ext4\n", 0, "mountinfo:1: malformed line"},
	} {
		ents, err := Parse(strings.NewReader(tc.text))
		if err == nil || err.Error() != tc.err || len(ents) != tc.n {
			t.Errorf("%q: %d entries, %v; want %d, %q", tc.text, len(ents), err, tc.n, tc.err)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:            "plain",
		`/a\040b`:          "/a b",
		`tab\011x\134`:     "tab\tx\\",
		`/x\`:              `/x\`,
		`/x\05`:            `/x\05`,
		`/x\089`:           `/x\089`,
		`\040\040`:         "  ",
		`/mnt/with\012nl`:  "/mnt/with\nnl",
		`/octal\777-wraps`: "/octal\xff-wraps",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// The paths come from whoever can mount: Parse must not panic, and what it
// accepts is one entry a line with a type and a mount point.
func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("36 35 98:0 /mnt1 /mnt/with\\040space\\011tab rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n")
	f.Add("1 2 3:4 / / rw - tmpfs\n")
	f.Add("1 2 3:4 / /x\\ rw - - - -\n")
	f.Fuzz(func(t *testing.T, text string) {
		ents, err := Parse(strings.NewReader(text))
		if err != nil {
			return
		}
		if lines := strings.Count(text, "\n") + 1; len(ents) > lines {
			t.Fatalf("%d entries from %d lines", len(ents), lines)
		}
		for _, e := range ents {
			if e.FSType == "" || e.MountPoint == "" {
				t.Fatalf("entry without a file system type or mount point: %+v", e)
			}
		}
	})
}
