package pid1

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ginit/internal/power"
)

type testLog struct{ lines []string }

func (l *testLog) Printf(f string, a ...any) { l.lines = append(l.lines, fmt.Sprintf(f, a...)) }

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
	reboot, exit := Action{StepStop, power.Reboot}, Action{StepExit, power.Halt}
	tests := []struct {
		sig          os.Signal
		system, user Action
	}{
		{unix.SIGTERM, Action{StepStop, power.Halt}, exit},
		{unix.SIGQUIT, Action{StepNow, power.Poweroff}, exit},
		{unix.SIGUSR1, Action{Step: StepReopenControl}, Action{Step: StepReopenControl}},
		{unix.SIGUSR2, Action{StepStop, power.Poweroff}, exit},
		{unix.SIGHUP, Action{}, Action{}},
		{unix.SIGURG, Action{}, Action{}},
		{unix.SIGPIPE, Action{}, Action{}},
		{unix.SIGINT, reboot, exit},
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

func TestActionWords(t *testing.T) {
	for _, tc := range []struct {
		a          Action
		str, doing string
	}{
		{Action{}, "none", "stopping all services"},
		{Action{StepStop, power.Reboot}, "reboot", "rebooting"},
		{Action{StepStop, power.Halt}, "halt", "halting"},
		{Action{StepStop, power.Poweroff}, "poweroff", "powering off"},
		{Action{StepNow, power.Reboot}, "reboot now", "stopping all services"},
		{Action{StepNow, power.Poweroff}, "poweroff now", "stopping all services"},
		{Action{StepExit, power.Halt}, "stop-exit", "stopping all services"},
		{Action{Step: StepReopenControl}, "reopen-control", "stopping all services"},
		{Action{Step: 9}, "Step(9)", "stopping all services"},
	} {
		if got := tc.a.String(); got != tc.str {
			t.Errorf("%#v.String() = %q, want %q", tc.a, got, tc.str)
		}
		if got := tc.a.Doing(); got != tc.doing {
			t.Errorf("%#v.Doing() = %q, want %q", tc.a, got, tc.doing)
		}
	}
}

func TestThreeInterruptsForceReboot(t *testing.T) {
	now := time.Unix(1000, 0)
	p := &SignalPolicy{System: true, Now: func() time.Time { return now }, ForceWindow: 5 * time.Second}
	reboot, forceReboot := Action{StepStop, power.Reboot}, Action{StepNow, power.Reboot}
	step := func(d time.Duration, want Action) {
		t.Helper()
		now = now.Add(d)
		if got := p.Decide(unix.SIGINT); got != want {
			t.Fatalf("at +%v: %v, want %v", d, got, want)
		}
	}
	step(0, reboot)
	step(time.Second, reboot)
	step(time.Second, forceReboot) // third within 5s
	step(time.Second, reboot)      // counting starts over
	step(10*time.Second, reboot)   // too slow: the earlier one expired
	step(time.Second, reboot)
	step(time.Second, forceReboot)
	step(time.Minute, reboot)
	step(3*time.Second, reboot)
	step(3*time.Second, reboot) // first one is 6s old now
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
func (f *fakeSys) Mount(src, target, fstype string, flags uintptr, data string) error {
	// Name the two remounts by what they change: the superblock, shared
	// by every mount of the file system, or this one mount.
	switch {
	case src == "" && fstype == "" && data == "" && flags == unix.MS_REMOUNT|unix.MS_RDONLY:
		f.calls = append(f.calls, "remount-ro "+target)
	case src == "" && fstype == "" && data == "" && flags == unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY:
		f.calls = append(f.calls, "bind-remount-ro "+target)
	default:
		f.calls = append(f.calls, fmt.Sprintf("mount %q %s %q %#x %q", src, target, fstype, flags, data))
	}
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
		{MountPoint: "/dev/shm", FSType: "tmpfs", Options: "rw"},
		{MountPoint: "/sys/fs/cgroup", FSType: "cgroup2", Options: "rw"},
	}
}

func TestFinalShutdownSequence(t *testing.T) {
	const sf = "sleep-forever" // reboot(2) came back (a fake): PID 1 must stay
	tests := []struct {
		name string
		kind power.Kind
		sys  *fakeSys
		want []string
	}{
		{
			name: "processes leave quickly",
			kind: power.Poweroff,
			sys:  &fakeSys{alive: 2, info: mounts(), busy: map[string]bool{"/var": true, "/boot": true}},
			// /var is busy: only this mount of it is made read-only (its
			// superblock may be mounted elsewhere); tmpfs and cgroup2
			// are left alone; the root's superblock goes read-only.
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync",
				"bind-remount-ro /var", "umount /home", "remount-ro /", "sync",
				fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_POWER_OFF), sf, sf, sf},
		},
		{
			name: "stubborn processes get SIGKILL after the timeout",
			kind: power.Reboot,
			sys:  &fakeSys{alive: 1 << 30, info: mounts()[:1]},
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync", "remount-ro /", "sync",
				fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_RESTART), sf, sf, sf},
		},
		{
			name: "halt and kexec commands",
			kind: power.Halt,
			sys:  &fakeSys{},
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync", "sync", fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_HALT), sf, sf, sf},
		},
		{
			name: "kexec",
			kind: power.Kexec,
			sys:  &fakeSys{},
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync", "sync", fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_KEXEC), sf, sf, sf},
		},
		{
			name: "a manager that ended without a machine kind powers off",
			kind: power.None,
			sys:  &fakeSys{},
			want: []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync", "sync", fmt.Sprintf("reboot %#x", unix.LINUX_REBOOT_CMD_POWER_OFF), sf, sf, sf},
		},
		{
			name: "reboot failure sleeps forever",
			kind: power.Poweroff,
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
	FinalShutdownWith(power.Poweroff, &testLog{}, ShutdownOptions{Sys: s, TermTimeout: 3 * time.Second, forever: 1})
	if waited := s.now.Sub(start); waited < 3*time.Second {
		t.Errorf("waited %v before SIGKILL, want >= 3s", waited)
	}
}

func TestFinalShutdownContainer(t *testing.T) {
	s := &fakeSys{info: mounts()[:1], roFail: map[string]bool{"/": true}}
	err := FinalShutdownWith(power.Poweroff, &testLog{}, ShutdownOptions{Sys: s, Container: true})
	for _, c := range s.calls {
		if strings.HasPrefix(c, "reboot") {
			t.Fatalf("container mode called %s", c)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "bind-remount / read-only") {
		t.Errorf("err = %v, want the remount failure", err)
	}
}

// Not PID 1 of the machine (a system manager under another init): no
// superblock is remounted, not even the root's, and nothing is rebooted.
func TestFinalShutdownNotPID1RemountsNoSuperblock(t *testing.T) {
	s := &fakeSys{info: mounts(), busy: map[string]bool{"/var": true, "/home": true}}
	if err := FinalShutdownWith(power.Halt, &testLog{}, ShutdownOptions{Sys: s, Container: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{"kill -1 SIGTERM", "kill -1 SIGKILL", "sync",
		"bind-remount-ro /var", "umount /boot", "bind-remount-ro /home", "bind-remount-ro /", "sync"}
	if got := strings.Join(s.calls, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestDetectContainer(t *testing.T) {
	type env struct {
		pid1     bool
		vars     map[string]string
		environ  string // /proc/1/environ
		files    []string
		pidIno   uint64
		userIno  uint64
		noProc   bool // /proc/self/ns/* missing until /proc is mounted
		mountErr error
	}
	tests := []struct {
		name       string
		env        env
		want       string // substring; "" = the machine
		wantMounts []string
	}{
		{name: "the machine", env: env{pid1: true, pidIno: initPIDNSIno, userIno: initUserNSIno}},
		{name: "container variable of PID 1", env: env{pid1: true, vars: map[string]string{"container": "lxc"}, pidIno: initPIDNSIno, userIno: initUserNSIno},
			want: "container=lxc"},
		{name: "empty container variable", env: env{pid1: true, vars: map[string]string{"container": ""}, pidIno: initPIDNSIno, userIno: initUserNSIno}},
		{name: "not PID 1 reads PID 1's environment", env: env{vars: map[string]string{"container": "ours"}, environ: "A=b\x00container=podman\x00", pidIno: initPIDNSIno, userIno: initUserNSIno},
			want: "container=podman"},
		{name: "not PID 1 ignores its own variable", env: env{vars: map[string]string{"container": "ours"}, environ: "A=b\x00", pidIno: initPIDNSIno, userIno: initUserNSIno}},
		{name: "podman", env: env{pid1: true, files: []string{"/run/.containerenv"}, pidIno: initPIDNSIno, userIno: initUserNSIno}, want: "/run/.containerenv"},
		{name: "docker", env: env{pid1: true, files: []string{"/.dockerenv"}, pidIno: initPIDNSIno, userIno: initUserNSIno}, want: "/.dockerenv"},
		{name: "PID namespace", env: env{pid1: true, pidIno: 4026532001, userIno: initUserNSIno}, want: "PID namespace is not the initial one (inode 4026532001)"},
		{name: "user namespace", env: env{pid1: true, pidIno: initPIDNSIno, userIno: 4026531999}, want: "user namespace"},
		{name: "bare boot mounts /proc to look", env: env{pid1: true, noProc: true, pidIno: initPIDNSIno, userIno: initUserNSIno},
			wantMounts: []string{"proc:/proc:"}},
		{name: "namespace seen once /proc is mounted", env: env{pid1: true, noProc: true, pidIno: 4026532002, userIno: initUserNSIno},
			want: "PID namespace", wantMounts: []string{"proc:/proc:"}},
		{name: "no /proc and it cannot be mounted", env: env{pid1: true, noProc: true, mountErr: unix.EPERM}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env
			m := &fakeMounter{}
			if e.mountErr != nil {
				m.fail = map[string]error{"/proc": e.mountErr}
			}
			got := DetectContainer(DetectEnv{
				PID1:   e.pid1,
				Getenv: func(k string) string { return e.vars[k] },
				ReadFile: func(p string) ([]byte, error) {
					if p != "/proc/1/environ" || e.environ == "" {
						return nil, os.ErrNotExist
					}
					return []byte(e.environ), nil
				},
				Exists: func(p string) bool { return slices.Contains(e.files, p) },
				NSIno: func(p string) (uint64, error) {
					if e.noProc && len(m.mounts) == 0 {
						return 0, os.ErrNotExist
					}
					switch p {
					case "/proc/self/ns/pid":
						return e.pidIno, nil
					case "/proc/self/ns/user":
						return e.userIno, nil
					}
					return 0, os.ErrNotExist
				},
				Mounter: m,
			})
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("DetectContainer = %q, want %q", got, tc.want)
			}
			if strings.Join(m.mounts, " ") != strings.Join(tc.wantMounts, " ") {
				t.Errorf("mounts %v, want %v", m.mounts, tc.wantMounts)
			}
		})
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
