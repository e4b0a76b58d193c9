package pid1

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

type testLog struct{ lines []string }

func (l *testLog) Printf(f string, a ...any) { l.lines = append(l.lines, fmt.Sprintf(f, a...)) }

const sampleMountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:5 / /proc rw,nosuid,nodev,noexec shared:2 - proc proc rw
24 22 0:6 / /mnt/my\040disk rw - ext4 /dev/vdb rw
25 22 0:7 / /boot ro - vfat /dev/vdc ro
26 22 0:8 / /run rw - tmpfs tmpfs rw
`

func TestParseMountinfo(t *testing.T) {
	ents, err := ParseMountinfo(strings.NewReader(sampleMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 5 {
		t.Fatalf("got %d entries", len(ents))
	}
	tests := []struct {
		i           int
		mp, fs, src string
	}{
		{0, "/", "ext4", "/dev/vda"},
		{1, "/proc", "proc", "proc"},
		{2, "/mnt/my disk", "ext4", "/dev/vdb"},
	}
	for _, tc := range tests {
		e := ents[tc.i]
		if e.MountPoint != tc.mp || e.FSType != tc.fs || e.Source != tc.src {
			t.Errorf("entry %d = %+v", tc.i, e)
		}
	}
	if _, err := ParseMountinfo(strings.NewReader("1 2 3\n")); err == nil {
		t.Error("malformed line accepted")
	}
}

type fakeMounter struct {
	info    []MountEntry
	infoErr error
	fail    map[string]error // target -> error
	mounts  []string
	dirs    []string
}

func (f *fakeMounter) Mountinfo() ([]MountEntry, error) { return f.info, f.infoErr }
func (f *fakeMounter) Mkdir(p string, _ os.FileMode) error {
	f.dirs = append(f.dirs, p)
	return os.ErrExist
}
func (f *fakeMounter) Mount(src, target, fstype string, _ uintptr, data string) error {
	if err := f.fail[target]; err != nil {
		return err
	}
	f.mounts = append(f.mounts, fstype+":"+target+":"+data)
	return nil
}

func TestEarlyMounts(t *testing.T) {
	tests := []struct {
		name    string
		f       fakeMounter
		want    []string
		wantErr bool
	}{
		{
			name: "bare boot mounts everything in order",
			f:    fakeMounter{infoErr: os.ErrNotExist},
			want: []string{"proc:/proc:", "sysfs:/sys:", "devtmpfs:/dev:mode=0755",
				"devpts:/dev/pts:gid=5,mode=0620,ptmxmode=0666", "tmpfs:/dev/shm:mode=1777",
				"tmpfs:/run:mode=0755", "cgroup2:/sys/fs/cgroup:nsdelegate"},
		},
		{
			name: "initramfs left proc sys dev run mounted",
			f: fakeMounter{info: []MountEntry{{MountPoint: "/"}, {MountPoint: "/proc"}, {MountPoint: "/sys"},
				{MountPoint: "/dev"}, {MountPoint: "/run"}}},
			want: []string{"devpts:/dev/pts:gid=5,mode=0620,ptmxmode=0666", "tmpfs:/dev/shm:mode=1777",
				"cgroup2:/sys/fs/cgroup:nsdelegate"},
		},
		{
			name:    "a failure is reported, later mounts still happen",
			f:       fakeMounter{infoErr: os.ErrNotExist, fail: map[string]error{"/sys": unix.EPERM}},
			want:    []string{"proc:/proc:", "devtmpfs:/dev:mode=0755", "devpts:/dev/pts:gid=5,mode=0620,ptmxmode=0666", "tmpfs:/dev/shm:mode=1777", "tmpfs:/run:mode=0755"},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			err := earlyMountsWith(&f, &testLog{})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr {
				// /sys failed, so cgroup2 under it fails too in real life; the fake lets it pass.
				f.mounts = f.mounts[:len(f.mounts)-1]
			}
			if strings.Join(f.mounts, " ") != strings.Join(tc.want, " ") {
				t.Errorf("mounts:\n got %v\nwant %v", f.mounts, tc.want)
			}
		})
	}
}

func TestSignalPolicy(t *testing.T) {
	tests := []struct {
		sig          os.Signal
		system, user Action
	}{
		{unix.SIGTERM, ActionHalt, ActionStopExit},
		{unix.SIGQUIT, ActionShutdownNow, ActionStopExit},
		{unix.SIGUSR1, ActionReopenControl, ActionReopenControl},
		{unix.SIGUSR2, ActionPoweroff, ActionStopExit},
		{unix.SIGHUP, ActionNone, ActionNone},
		{unix.SIGURG, ActionNone, ActionNone},
		{unix.SIGPIPE, ActionNone, ActionNone},
		{unix.SIGINT, ActionReboot, ActionStopExit},
	}
	for _, tc := range tests {
		sp := &SignalPolicy{System: true}
		up := &SignalPolicy{}
		if got := sp.Decide(tc.sig); got != tc.system {
			t.Errorf("system %v -> %v, want %v", tc.sig, got, tc.system)
		}
		if got := up.Decide(tc.sig); got != tc.user {
			t.Errorf("user %v -> %v, want %v", tc.sig, got, tc.user)
		}
	}
}

func TestThreeInterruptsForceReboot(t *testing.T) {
	now := time.Unix(1000, 0)
	p := &SignalPolicy{System: true, Now: func() time.Time { return now }, ForceWindow: 5 * time.Second}
	step := func(d time.Duration, want Action) {
		t.Helper()
		now = now.Add(d)
		if got := p.Decide(unix.SIGINT); got != want {
			t.Fatalf("at +%v: %v, want %v", d, got, want)
		}
	}
	step(0, ActionReboot)
	step(time.Second, ActionReboot)
	step(time.Second, ActionForceReboot) // third within 5s
	step(time.Second, ActionReboot)      // counting starts over
	step(10*time.Second, ActionReboot)   // too slow: the earlier one expired
	step(time.Second, ActionReboot)
	step(time.Second, ActionForceReboot)
	step(time.Minute, ActionReboot)
	step(3*time.Second, ActionReboot)
	step(3*time.Second, ActionReboot) // first one is 6s old now
}

// fakeSys records the shutdown sequence.
type fakeSys struct {
	now       time.Time
	alive     int // OthersAlive reports true this many times
	info      []MountEntry
	busy      map[string]bool // unmount fails
	roFail    map[string]bool // remount fails
	rebootErr error
	calls     []string
}

func (f *fakeSys) Mountinfo() ([]MountEntry, error) { return f.info, nil }
func (f *fakeSys) Mount(_, target, _ string, flags uintptr, _ string) error {
	f.calls = append(f.calls, "remount-ro "+target)
	if f.roFail[target] {
		return unix.EBUSY
	}
	return nil
}
func (f *fakeSys) Unmount(target string, _ int) error {
	if f.busy[target] {
		return unix.EBUSY
	}
	f.calls = append(f.calls, "umount "+target)
	return nil
}
func (f *fakeSys) Kill(pid int, sig unix.Signal) error {
	f.calls = append(f.calls, fmt.Sprintf("kill %d %s", pid, unix.SignalName(sig)))
	return nil
}
func (f *fakeSys) Reap() {}
func (f *fakeSys) OthersAlive() bool {
	if f.alive > 0 {
		f.alive--
		return true
	}
	return false
}
func (f *fakeSys) Sync() { f.calls = append(f.calls, "sync") }
func (f *fakeSys) Reboot(cmd int) error {
	f.calls = append(f.calls, fmt.Sprintf("reboot %#x", cmd))
	return f.rebootErr
}
func (f *fakeSys) Sleep(d time.Duration) {
	f.now = f.now.Add(d)
	if d >= time.Hour {
		f.calls = append(f.calls, "sleep-forever")
	}
}
func (f *fakeSys) Now() time.Time { return f.now }

func mounts() []MountEntry {
	return []MountEntry{
		{MountPoint: "/", FSType: "ext4", Options: "rw"},
		{MountPoint: "/proc", FSType: "proc", Options: "rw"},
		{MountPoint: "/run", FSType: "tmpfs", Options: "rw"},
		{MountPoint: "/home", FSType: "ext4", Options: "rw"},
		{MountPoint: "/boot", FSType: "vfat", Options: "ro"},
		{MountPoint: "/var", FSType: "xfs", Options: "rw"},
	}
}

func TestFinalShutdownSequence(t *testing.T) {
	const sf = "sleep-forever" // reboot(2) came back (a fake): PID 1 must stay
	tests := []struct {
		name string
		kind Kind
		sys  *fakeSys
		want []string
	}{
		{
			name: "processes leave quickly",
			kind: Poweroff,
			sys:  &fakeSys{alive: 2, info: mounts(), busy: map[string]bool{"/var": true, "/boot": true}},
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync",
				"remount-ro /var", "umount /home", "remount-ro /run", "remount-ro /", "sync",
				fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_POWER_OFF), sf, sf, sf},
		},
		{
			name: "stubborn processes get SIGKILL after the timeout",
			kind: Reboot,
			sys:  &fakeSys{alive: 1 << 30, info: mounts()[:1]},
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync", "remount-ro /", "sync",
				fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_RESTART), sf, sf, sf},
		},
		{
			name: "halt and kexec commands",
			kind: Halt,
			sys:  &fakeSys{},
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync", "sync", fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_HALT), sf, sf, sf},
		},
		{
			name: "kexec",
			kind: Kexec,
			sys:  &fakeSys{},
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync", "sync", fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_KEXEC), sf, sf, sf},
		},
		{
			name: "reboot failure sleeps forever",
			kind: Poweroff,
			sys:  &fakeSys{rebootErr: unix.EPERM},
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync", "sync",
				fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_POWER_OFF), "sleep-forever", "sleep-forever", "sleep-forever"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.sys.now = time.Unix(0, 0)
			err := FinalShutdownWith(tc.kind, &testLog{}, ShutdownOptions{Sys: tc.sys, TermTimeout: 2 * time.Second, forever: 3})
			if got := strings.Join(tc.sys.calls, "\n"); got != strings.Join(tc.want, "\n") {
				t.Errorf("calls:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
			if err == nil {
				t.Errorf("FinalShutdown returned no error after reboot(2) came back")
			}
		})
	}
	// The SIGKILL comes only after the wait ran out, not before.
	s := &fakeSys{alive: 1 << 30, now: time.Unix(0, 0)}
	start := s.now
	FinalShutdownWith(Poweroff, &testLog{}, ShutdownOptions{Sys: s, TermTimeout: 3 * time.Second, forever: 1})
	if waited := s.now.Sub(start); waited < 3*time.Second {
		t.Errorf("waited %v before SIGKILL, want >= 3s", waited)
	}
}

func TestFinalShutdownContainer(t *testing.T) {
	s := &fakeSys{info: mounts()[:1], roFail: map[string]bool{"/": true}}
	err := FinalShutdownWith(Poweroff, &testLog{}, ShutdownOptions{Sys: s, Container: true})
	for _, c := range s.calls {
		if strings.HasPrefix(c, "reboot") {
			t.Fatalf("container mode called %s", c)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "remount / read-only") {
		t.Errorf("err = %v, want the remount failure", err)
	}
}

func TestProtect(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		pid1      bool
		run       func() error
		wantErr   string
		wantShell int
	}{
		{"error, not pid 1", false, func() error { return boom }, "boom", 0},
		{"panic, not pid 1", false, func() error { panic("oops") }, "panic: oops", 0},
		{"clean return, not pid 1", false, func() error { return nil }, "", 0},
		{"panic as pid 1 offers the shell again and again", true, func() error { panic("oops") }, "panic: oops", 3},
		{"return as pid 1 is fatal too", true, func() error { return nil }, "without shutting", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shells := 0
			log := &testLog{}
			err := protect(tc.run, log, protectEnv{pid1: tc.pid1, rounds: 3, sleep: func(time.Duration) {},
				shell: func() error { shells++; return errors.New("exit 1") }})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if shells != tc.wantShell {
				t.Errorf("shell started %d times, want %d", shells, tc.wantShell)
			}
		})
	}
}

func TestZombieAndOpts(t *testing.T) {
	if !zombie([]byte("12 (a) b) Z 1 2")) || zombie([]byte("12 (sh) S 1")) {
		t.Error("zombie parse")
	}
	if !hasOpt("rw,ro,x", "ro") || hasOpt("rw,rox", "ro") {
		t.Error("hasOpt")
	}
}
