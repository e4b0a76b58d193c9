package utmp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 123456000)
	tests := []struct {
		name string
		r    Record
	}{
		{"boot", Record{Type: BootTime, Line: "~", ID: "~~", User: "reboot", Host: "6.1.0", Time: now}},
		{"login", Record{Type: UserProcess, Pid: 42, Line: "tty1", ID: "tty1", User: "alice", Session: 3, Time: now}},
		{"dead", Record{Type: DeadProcess, Pid: 42, Line: "tty1", ID: "1", Termination: 0, ExitStatus: 1}},
		{"full-width", Record{Type: UserProcess, ID: "abcd", User: "0123456789abcdef0123456789abcdef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.r.Encode()
			if len(b) != Size {
				t.Fatalf("len = %d", len(b))
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tt.r.Time) {
				t.Fatalf("time %v, want %v", got.Time, tt.r.Time)
			}
			got.Time, tt.r.Time = time.Time{}, time.Time{}
			if got != tt.r {
				t.Fatalf("got %+v, want %+v", got, tt.r)
			}
		})
	}
	if _, err := Decode(make([]byte, 10)); err == nil {
		t.Fatal("short record decoded")
	}
}

func TestAppendWtmpUtmpdump(t *testing.T) {
	bin, err := exec.LookPath("utmpdump")
	if err != nil {
		t.Skip("utmpdump not installed")
	}
	p := filepath.Join(t.TempDir(), "wtmp")
	now := time.Unix(1700000000, 0)
	for _, r := range []Record{
		{Type: BootTime, Line: "~", ID: "~~", User: "reboot", Host: "6.1.0", Time: now},
		{Type: UserProcess, Pid: 42, Line: "tty1", ID: "tty1", User: "alice", Time: now},
	} {
		if err := AppendWtmp(p, r); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(bin, p).CombinedOutput()
	if err != nil {
		t.Fatalf("utmpdump: %v\n%s", err, out)
	}
	for _, want := range []string{"[2] [00000] [~~  ] [reboot", "[7] [00042] [tty1] [alice", "[tty1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("utmpdump output lacks %q:\n%s", want, out)
		}
	}
}

func TestLastReadsBootAndShutdown(t *testing.T) {
	bin, err := exec.LookPath("last")
	if err != nil {
		t.Skip("last not installed")
	}
	p := filepath.Join(t.TempDir(), "wtmp")
	now := time.Now().Add(-time.Hour)
	for _, r := range []Record{
		BootRecord(now, "6.1.0"),
		RunlevelRecord(now, '5', 'N', "6.1.0"),
		{Type: UserProcess, Pid: 42, Line: "tty1", ID: "tty1", User: "alice", Time: now},
		{Type: DeadProcess, Pid: 42, Line: "tty1", ID: "tty1", Time: now.Add(time.Minute)},
		ShutdownRecord(now.Add(2*time.Minute), "6.1.0"),
	} {
		if err := AppendWtmp(p, r); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(bin, "-f", p, "-x").CombinedOutput()
	if err != nil {
		t.Fatalf("last: %v\n%s", err, out)
	}
	for _, want := range []string{"reboot", "shutdown", "runlevel", "alice", "tty1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("last -x output lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteUtmpWho(t *testing.T) {
	p := filepath.Join(t.TempDir(), "utmp")
	now := time.Now()
	for _, r := range []Record{
		{Type: InitProcess, Pid: 41, Line: "tty1", ID: "1", Time: now},
		{Type: UserProcess, Pid: 41, Line: "tty1", ID: "1", User: "alice", Time: now},
		{Type: UserProcess, Pid: 50, Line: "tty2", ID: "2", User: "bob", Time: now},
	} {
		if err := WriteUtmp(p, r); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(p)
	if err != nil || st.Size() != 2*Size {
		t.Fatalf("utmp size %v (%v), want two slots", st.Size(), err)
	}
	bin, err := exec.LookPath("who")
	if err != nil {
		t.Skip("who not installed")
	}
	out, err := exec.Command(bin, p).CombinedOutput()
	if err != nil {
		t.Fatalf("who: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "alice") || !strings.Contains(string(out), "tty1") {
		t.Errorf("who output lacks alice on tty1:\n%s", out)
	}
}

func TestGettyRecords(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		r    Record
		typ  int16
		user string
	}{
		{InitRecord(now, 7, "1", "tty1"), InitProcess, ""},
		{LoginRecord(now, 7, "1", "tty1", "alice", ""), UserProcess, "alice"},
		{DeadRecord(now, 7, "1", "tty1"), DeadProcess, ""},
	}
	for _, tt := range tests {
		got, err := Decode(tt.r.Encode())
		if err != nil || got.Type != tt.typ || got.User != tt.user || got.Line != "tty1" || got.ID != "1" || got.Pid != 7 {
			t.Errorf("got %+v (%v), want type %d user %q on tty1 id 1 pid 7", got, err, tt.typ, tt.user)
		}
	}
}

// A wtmp the programs create is 0664 whatever the umask (Debian's login
// tools write it as group utmp), and ReadAll returns what was appended.
func TestCreatedModeAndReadAll(t *testing.T) {
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	p := filepath.Join(t.TempDir(), "wtmp")
	now := time.Unix(1700000000, 0)
	for _, r := range []Record{BootRecord(now, "6.1"), LoginRecord(now, 42, "tty1", "tty1", "alice", "")} {
		if err := AppendWtmp(p, r); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o664 {
		t.Fatalf("mode %v, %v; want 0664", st.Mode(), err)
	}
	rs, err := ReadAll(p)
	if err != nil || len(rs) != 2 || rs[1].User != "alice" || rs[1].Line != "tty1" || rs[1].Type != UserProcess {
		t.Fatalf("ReadAll = %+v, %v", rs, err)
	}
	if rs, err := ReadAll(p + ".none"); err != nil || rs != nil {
		t.Fatalf("missing file: %v, %v", rs, err)
	}
}
