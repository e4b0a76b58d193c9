package automount

import (
	"slices"
	"strings"
	"testing"

	"ginit/internal/mountinfo"
)

func TestStackAt(t *testing.T) {
	const info = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 22 0:35 / /srv/lazy rw,relatime shared:20 - autofs ginit-automount rw,fd=5,pgrp=300,timeout=3,minproto=5,maxproto=5,direct
41 40 0:36 / /srv/lazy rw,relatime shared:21 - tmpfs tmpfs rw,size=1024k
50 22 0:40 / /srv/with\040space rw - autofs ginit-automount rw,direct
`
	ents, err := mountinfo.Parse(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
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
		types, dev := stackAt(ents, tc.dir)
		if !slices.Equal(types, tc.types) || dev != tc.dev {
			t.Errorf("%s: got %q %q, want %q %q", tc.dir, types, dev, tc.types, tc.dev)
		}
	}
}
