package pid1

import (
	"strings"
	"testing"
)

// ParseMountinfo reads a kernel file, but one whose paths come from anyone
// who can mount: it must not panic, and what it accepts is one entry a line.
func FuzzParseMountinfo(f *testing.F) {
	f.Add(sampleMountinfo)
	f.Add("36 35 98:0 /mnt1 /mnt/with\\040space\\011tab rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n")
	f.Add("1 2 3:4 / / rw - tmpfs\n")
	f.Add("1 2 3:4 / /x\\ rw - - - -\n")
	f.Fuzz(func(t *testing.T, text string) {
		ents, err := ParseMountinfo(strings.NewReader(text))
		if err != nil {
			return
		}
		lines := strings.Count(text, "\n") + 1
		if len(ents) > lines {
			t.Fatalf("%d entries from %d lines", len(ents), lines)
		}
		for _, e := range ents {
			if e.FSType == "" || e.MountPoint == "" {
				t.Fatalf("entry without a file system type or mount point: %+v", e)
			}
		}
	})
}
