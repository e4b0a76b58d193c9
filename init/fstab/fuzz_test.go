package fstab

import "testing"

// FuzzParse: any text parses or fails with a line; names are valid.
func FuzzParse(f *testing.F) {
	f.Add("UUID=x / ext4 defaults 0 1\n/dev/a /b\\040c xfs noatime,nofail 0 2\n")
	f.Add("tmpfs /t tmpfs x-systemd.automount,x-systemd.idle-timeout=5min\n")
	f.Fuzz(func(t *testing.T, text string) {
		es, err := Parse([]byte(text))
		if err != nil {
			return
		}
		for _, e := range es {
			if e.File != "none" && e.File[0] != '/' {
				t.Fatalf("relative mount point %q", e.File)
			}
			_ = UnitName(e.File)
			_ = mountOptions(&e)
		}
	})
}
