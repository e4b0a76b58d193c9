package fstab

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"ginit/init/loader"
	"ginit/init/service"
)

func TestParse(t *testing.T) {
	es, err := Parse([]byte("# c\nUUID=abc / ext4 errors=remount-ro 0 1\n/dev/sdb1\t/srv/my\\040data  xfs noatime,nofail 0 2\n" +
		"server:/x /net nfs _netdev\nproc /proc proc\n/swapfile none swap sw 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 5 || es[1].File != "/srv/my data" || es[1].Pass != 2 || es[1].Line != 3 ||
		!reflect.DeepEqual(es[1].Options, []string{"noatime", "nofail"}) || !reflect.DeepEqual(es[3].Options, []string{"defaults"}) {
		t.Errorf("%+v", es)
	}
	for _, bad := range []struct{ text, want string }{
		{"a b\n", "line 1: expected 3 to 6 fields"},
		{"\n\na rel ext4\n", "line 3: mount point \"rel\" is not absolute"},
		{"a /b ext4 defaults x\n", "line 1: bad number"},
		{"a /b\\04 ext4\n", "line 1: short escape"},
		{"a /b\\999 ext4\n", "line 1: bad escape"},
		{"a /b c d 1 2 3\n", "expected 3 to 6 fields, got 7"},
	} {
		_, err := Parse([]byte(bad.text))
		var le *LineError
		if err == nil || !strings.Contains(err.Error(), bad.want) || !errors.As(err, &le) {
			t.Errorf("%q: %v, want %q", bad.text, err, bad.want)
		}
	}
}

func TestUnitName(t *testing.T) {
	for in, want := range map[string]string{"/": "-.mount", "/var/lib": "var-lib.mount", "/srv/my data/": "srv-my_x20data.mount",
		"/a-b": "a_x2db.mount", "/.hidden": "_x2ehidden.mount"} {
		if got := UnitName(in); got != want || loader.ValidName(got) != nil {
			t.Errorf("%q: %q, want %q (%v)", in, got, want, loader.ValidName(got))
		}
	}
}

func TestServices(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fstab")
	os.WriteFile(p, []byte(`UUID=root / ext4 defaults 0 1
/dev/vdb /srv ext4 defaults 0 2
tmpfs /srv/cache tmpfs size=1m,x-systemd.requires=prep.service,x-systemd.after=db 0 0
server:/x /net nfs4 nofail 0 0
tmpfs /opt tmpfs noauto 0 0
tmpfs /auto tmpfs noauto,x-systemd.automount,x-systemd.idle-timeout=90 0 0
/swapfile none swap sw 0 0
`), 0o644)
	s := New(Config{Path: p, Automount: "/sbin/ginit-automount"})
	agg, err := s.Load(Aggregate, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []service.Dep{{Name: "srv.mount", Kind: service.DepRegular}, {Name: "srv-cache.mount", Kind: service.DepRegular},
		{Name: "net.mount", Kind: service.DepWaitsFor}, {Name: "auto.mount", Kind: service.DepRegular}}
	if agg.Type != service.TypeInternal || !reflect.DeepEqual(agg.Deps, want) {
		t.Errorf("fstab: %+v", agg.Deps)
	}
	d, err := s.Load("srv.mount", nil)
	if err != nil || d.Type != service.TypeScripted || !strings.Contains(d.Command[2], "fsck -a '/dev/vdb'") ||
		!strings.Contains(d.Command[2], "exec 'mount' '-t' 'ext4' '-o' 'defaults' '/dev/vdb' '/srv'") ||
		!reflect.DeepEqual(d.Ext().StopCommand, []string{"umount", "/srv"}) {
		t.Errorf("srv: %+v %v", d, err)
	}
	d, err = s.Load("srv-cache.mount", nil)
	want = []service.Dep{{Name: "srv.mount", Kind: service.DepRegular}, {Name: AfterBoot, Kind: service.DepAfter},
		{Name: "prep", Kind: service.DepRegular}, {Name: "db", Kind: service.DepAfter}}
	if err != nil || !reflect.DeepEqual(d.Deps, want) || strings.Contains(d.Command[2], "fsck") || !strings.Contains(d.Command[2], "'-o' 'size=1m'") {
		t.Errorf("srv-cache: %+v %v", d, err)
	}
	d, err = s.Load("net.mount", nil)
	if err != nil || !d.DependsOn("network", service.DepAfter) || !d.DependsOn("networking", service.DepAfter) {
		t.Errorf("net: %+v %v", d, err)
	}
	d, err = s.Load("auto.mount", nil)
	wantCmd := []string{"/sbin/ginit-automount", "--timeout", (90 * time.Second).String(), "--", "/auto", "mount", "-t", "tmpfs", "-o", "defaults", "tmpfs", "/auto"}
	if err != nil || d.Type != service.TypeProcess || !reflect.DeepEqual(d.Command, wantCmd) || d.Restart != service.RestartYes {
		t.Errorf("auto: %+v %v", d, err)
	}
	if _, ok, _ := s.Find("-.mount"); ok {
		t.Error("the root is mounted before ginit: no service")
	}
	if got := s.Names(); !reflect.DeepEqual(got, []string{"fstab", "srv.mount", "srv-cache.mount", "net.mount", "opt.mount", "auto.mount"}) {
		t.Errorf("names %q", got)
	}
	os.WriteFile(p, []byte("tmpfs /a tmpfs defaults\nbroken\n"), 0o644)
	_, err = s.Load("a.mount", nil)
	var le *loader.Error
	if !errors.As(err, &le) || le.Line != 2 || le.File != p {
		t.Errorf("broken fstab: %#v", err)
	}
	// No fstab: the aggregate still exists (the boot waits for it) and
	// starts nothing.
	none := New(Config{Path: filepath.Join(dir, "none")})
	if _, ok, _ := none.Find(Aggregate); !ok {
		t.Error("no fstab: no aggregate")
	}
	if agg, err := none.Load(Aggregate, nil); err != nil || len(agg.Deps) != 0 {
		t.Errorf("no fstab: %+v %v", agg, err)
	}
}

// One path checks each file system: every mount is ordered after the
// boot's rootfs-rw (whose fsck -A checked the entries with a pass number),
// and its own script checks only what it mounts itself, after finding
// the mount point empty.
func TestOneFsck(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fstab")
	os.WriteFile(p, []byte("/dev/vdb /srv ext4 defaults 0 2\n/dev/vdc /data ext4 defaults 0 0\n"), 0o644)
	s := New(Config{Path: p})
	for _, tc := range []struct {
		name string
		fsck bool
	}{{"srv.mount", true}, {"data.mount", false}} {
		d, err := s.Load(tc.name, nil)
		if err != nil {
			t.Fatal(err)
		}
		script := d.Command[2]
		check, empty := strings.Index(script, "fsck"), strings.Index(script, "mountpoint -q")
		if !d.DependsOn(AfterBoot, service.DepAfter) || (check >= 0) != tc.fsck || empty < 0 || check >= 0 && check < empty {
			t.Errorf("%s: %q %+v", tc.name, script, d.Deps)
		}
	}
}
