package supervise

import (
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"ginit/init/service"
)

// limitsOf parses /proc/PID/limits into name -> [soft, hard].
func limitsOf(t *testing.T, pid int) map[string][2]string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		// Names are padded to 26 columns, then soft and hard limits follow.
		if len(line) < 26 {
			continue
		}
		f := strings.Fields(line[26:])
		if len(f) >= 2 {
			out[strings.TrimSpace(line[:26])] = [2]string{f[0], f[1]}
		}
	}
	return out
}

// TestCredentialsAndLimits: a service run as nobody with rlimits, nice,
// oom-score-adj and umask shows each of them in /proc/PID of its process.
func TestCredentialsAndLimits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run as nobody")
	}
	s := newSup(t, "")
	d := desc("limited")
	d.RunAs = "nobody"
	d.ExtMut().Rlimits = map[string]service.Rlimit{
		"nofile":    {Soft: 123, Hard: 456},
		"core":      {Soft: 0, Hard: service.RlimInfinity},
		"data":      {Soft: 1 << 30, Hard: 2 << 30},
		"addrspace": {Soft: service.RlimInfinity, Hard: service.RlimInfinity},
	}
	nice, oom := 7, 300
	umask := uint32(0o027)
	d.ExtMut().Nice, d.ExtMut().OOMScoreAdj, d.ExtMut().Umask = &nice, &oom, &umask
	ownNice, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	p := spawn(t, s, d, r, "sleep", "300")
	t.Cleanup(func() { _ = p.KillTree(int(unix.SIGKILL)) })
	pid := p.Pid()

	lim := limitsOf(t, pid)
	for name, want := range map[string][2]string{
		"Max open files":     {"123", "456"},
		"Max core file size": {"0", "unlimited"},
		"Max data size":      {strconv.Itoa(1 << 30), strconv.Itoa(2 << 30)},
		"Max address space":  {"unlimited", "unlimited"},
	} {
		if lim[name] != want {
			t.Errorf("%s = %v, want %v", name, lim[name], want)
		}
	}
	for key, want := range map[string]string{"Uid": "65534", "Gid": "65534", "Umask": "0027"} {
		v, err := procStatus(pid, key)
		if err != nil {
			t.Fatal(err)
		}
		if f := strings.Fields(v); len(f) == 0 || f[0] != want {
			t.Errorf("%s = %q, want %s first", key, v, want)
		}
	}
	st, err := procStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	if st[16] != "7" { // field 19: nice
		t.Errorf("nice = %s, want 7", st[16])
	}
	if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/oom_score_adj"); strings.TrimSpace(string(b)) != "300" {
		t.Errorf("oom_score_adj = %q, want 300", b)
	}
	// ginit's own limits and nice are untouched.
	var own unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &own); err != nil || own.Cur == 123 {
		t.Errorf("ginit's nofile limit changed: %+v %v", own, err)
	}
	if n, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err != nil || n != ownNice {
		t.Errorf("ginit's priority changed from %d to %d (%v)", ownNice, n, err)
	}
}

// TestCapabilities: an ambient capability keeps working for a process run
// as nobody; a capability dropped from the bounding set is gone for a root
// service; secure bit noroot leaves an exec'd root process without
// capabilities; ginit's own bounding set is untouched.
func TestCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	capMask := func(pid int, key string) uint64 {
		t.Helper()
		v, err := procStatus(pid, key)
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			t.Fatalf("%s = %q", key, v)
		}
		return n
	}
	own := capMask(os.Getpid(), "CapBnd")
	const netBind, sysAdmin = 1 << 10, 1 << 21
	tests := []struct {
		name, runAs, caps, secure string
		check                     func(pid int)
	}{
		{"ambient as nobody", "nobody", "^cap_net_bind_service", "", func(pid int) {
			if capMask(pid, "CapAmb") != netBind || capMask(pid, "CapEff") != netBind {
				t.Errorf("CapAmb %x CapEff %x, want only net_bind_service", capMask(pid, "CapAmb"), capMask(pid, "CapEff"))
			}
		}},
		{"bounding drop", "", "!cap_sys_admin", "", func(pid int) {
			if capMask(pid, "CapBnd")&sysAdmin != 0 || capMask(pid, "CapEff")&sysAdmin != 0 {
				t.Errorf("cap_sys_admin still in CapBnd %x / CapEff %x", capMask(pid, "CapBnd"), capMask(pid, "CapEff"))
			}
		}},
		{"noroot", "", "", "noroot", func(pid int) {
			if e := capMask(pid, "CapEff"); e != 0 {
				t.Errorf("root with noroot has CapEff %x", e)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSup(t, "")
			d := desc("capped")
			d.RunAs, d.ExtMut().Capabilities, d.ExtMut().Securebits = tc.runAs, tc.caps, tc.secure
			r := newRecorder()
			p := spawn(t, s, d, r, "sleep", "300")
			t.Cleanup(func() { _ = p.KillTree(int(unix.SIGKILL)) })
			tc.check(p.Pid())
		})
	}
	if now := capMask(os.Getpid(), "CapBnd"); now != own {
		t.Errorf("ginit's bounding set changed from %x to %x", own, now)
	}
}

// TestLookupRunAsUserGroups: a numeric run-as keeps ginit's gid as in
// dinit; with options user-groups it takes the user's primary group from
// the user database, and an unknown uid is then an error.
func TestLookupRunAsUserGroups(t *testing.T) {
	nobody, err := user.LookupId("65534")
	if err != nil {
		t.Skipf("no uid 65534 in the user database: %v", err)
	}
	gid, _ := strconv.ParseUint(nobody.Gid, 10, 32)
	tests := []struct {
		spec       string
		userGroups bool
		wantGid    uint32
		wantErr    bool
	}{
		{"65534", false, uint32(os.Getgid()), false},
		{"65534", true, uint32(gid), false},
		{nobody.Username, false, uint32(gid), false},
		{"65534:0", true, 0, false},
		{"4000000000", false, uint32(os.Getgid()), false},
		{"4000000000", true, 0, true},
	}
	for _, tt := range tests {
		cred, _, err := lookupRunAs(tt.spec, tt.userGroups)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q user-groups=%v: err %v, want error %v", tt.spec, tt.userGroups, err, tt.wantErr)
			continue
		}
		if err == nil && cred.Gid != tt.wantGid {
			t.Errorf("%q user-groups=%v: gid %d, want %d", tt.spec, tt.userGroups, cred.Gid, tt.wantGid)
		}
	}
}
