package automount

import (
	"slices"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	const info = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 22 0:35 / /srv/lazy rw,relatime shared:20 - autofs ginit-automount rw,fd=5,pgrp=300,timeout=3,minproto=5,maxproto=5,direct
41 40 0:36 / /srv/lazy rw,relatime shared:21 - tmpfs tmpfs rw,size=1024k
50 22 0:40 / /srv/with\040space rw - autofs ginit-automount rw,direct
bad line
`
	for _, tc := range []struct {
		dir   string
		types []string
		dev   string
	}{
		{"/srv/lazy", []string{"autofs", "tmpfs"}, "0:35"},
		{"/srv/with space", []string{"autofs"}, "0:40"},
		{"/", []string{"ext4"}, ""},
		{"/none", nil, ""},
	} {
		types, dev, err := parseMountinfo(strings.NewReader(info), tc.dir)
		if err != nil || !slices.Equal(types, tc.types) || dev != tc.dev {
			t.Errorf("%s: got %q %q %v, want %q %q", tc.dir, types, dev, err, tc.types, tc.dev)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("40 22 0:35 / /srv/lazy rw - autofs x rw\n", "/srv/lazy")
	f.Add(`1 2 3:4 / /a\040b\05 - tmpfs`, "/a b")
	f.Fuzz(func(t *testing.T, info, dir string) {
		types, dev, err := parseMountinfo(strings.NewReader(info), dir)
		if err == nil && dev != "" && !slices.Contains(types, "autofs") {
			t.Fatalf("autofs device %q without an autofs mount", dev)
		}
	})
}
