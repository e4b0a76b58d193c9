package cgroup2

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParsePopulated(t *testing.T) {
	tests := []struct {
		name, data string
		want       bool
		err        bool
	}{
		{"populated", "populated 1\nfrozen 0\n", true, false},
		{"empty", "populated 0\nfrozen 0\n", false, false},
		{"key not first", "frozen 1\npopulated 0\n", false, false},
		{"no key", "frozen 0\n", false, true},
		{"nothing", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePopulated("/x", []byte(tt.data))
			if got != tt.want || (err != nil) != tt.err {
				t.Errorf("parsePopulated(%q) = %v, %v; want %v, error %v", tt.data, got, err, tt.want, tt.err)
			}
		})
	}
}

// TestFirstPopulated: the one-read answer takes only a whole first line.
func TestFirstPopulated(t *testing.T) {
	for _, tt := range []struct {
		data     string
		want, ok bool
	}{
		{"populated 1\nfrozen 0\n", true, true},
		{"populated 0\nfrozen 0\n", false, true},
		{"populated 0\n", false, true},
		{"populated 0", false, false}, // the line may go on
		{"populated \n", false, false},
		{"populat", false, false},
		{"frozen 1\npopulated 0\n", false, false},
		{"", false, false},
	} {
		got, ok := firstPopulated([]byte(tt.data))
		if got != tt.want || ok != tt.ok {
			t.Errorf("firstPopulated(%q) = %v, %v; want %v, %v", tt.data, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzFirstPopulated: whenever the first line answers, the whole file's
// parse gives the same answer.
func FuzzFirstPopulated(f *testing.F) {
	for _, s := range []string{"populated 1\nfrozen 0\n", "populated 0\n", "frozen 0\npopulated 1\n", "populated 0"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := firstPopulated(data)
		if !ok {
			return
		}
		want, err := parsePopulated("/x", data)
		if err != nil || got != want {
			t.Fatalf("firstPopulated(%q) = %v; parsePopulated = %v, %v", data, got, want, err)
		}
	})
}

func TestName(t *testing.T) {
	tests := map[string]string{
		"getty@tty1":   "getty@tty1",
		"a/b":          "a%2Fb",
		"..":           "%2E.",
		".":            "%2E",
		"":             "%00",
		"cgroup.procs": "%63group.procs",
		"memory.max":   "%6Demory.max",
		"memory":       "memory",
		"50%":          "50%25",
		"with space":   "with%20space",
		`back\slash`:   "back%5Cslash",
		"dbus.service": "dbus.service",
	}
	for in, want := range tests {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseEvents(t *testing.T) {
	ev := func(wd int32, mask uint32, name string) []byte {
		b := make([]byte, unix.SizeofInotifyEvent+len(name))
		binary.NativeEndian.PutUint32(b[0:], uint32(wd))
		binary.NativeEndian.PutUint32(b[4:], mask)
		binary.NativeEndian.PutUint32(b[12:], uint32(len(name)))
		copy(b[16:], name)
		return b
	}
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	tests := []struct {
		name string
		in   []byte
		want []event
	}{
		{"one", ev(3, unix.IN_MODIFY, ""), []event{{3, unix.IN_MODIFY}}},
		{"two, a name skipped", cat(ev(1, unix.IN_MODIFY, "xxxxxxxxxxxxxxxx"), ev(2, unix.IN_IGNORED, "")),
			[]event{{1, unix.IN_MODIFY}, {2, unix.IN_IGNORED}}},
		{"overflow", ev(-1, unix.IN_Q_OVERFLOW, ""), []event{{-1, unix.IN_Q_OVERFLOW}}},
		{"short tail dropped", append(ev(5, unix.IN_MODIFY, ""), 1, 2, 3), []event{{5, unix.IN_MODIFY}}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseEvents(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("parseEvents = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestLimitsApply on a plain directory standing in for a cgroup: each
// limit set lands in its file, zero ones are not written, and a limit
// whose file cannot be written is named in the error without stopping
// the others.
func TestLimitsApply(t *testing.T) {
	tests := []struct {
		name    string
		l       Limits
		broken  string // made a directory, so that writing it fails
		want    map[string]string
		wantErr string
	}{
		{"all", Limits{MemoryMax: 64 << 20, PidsMax: 7, CPUWeight: 50}, "",
			map[string]string{"memory.max": "67108864", "pids.max": "7", "cpu.weight": "50"}, ""},
		{"zero left alone", Limits{PidsMax: 3}, "", map[string]string{"pids.max": "3", "memory.max": "", "cpu.weight": ""}, ""},
		{"one missing", Limits{MemoryMax: 1 << 20, PidsMax: 9}, "memory.max",
			map[string]string{"pids.max": "9"}, "memory.max not applied: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.broken != "" {
				if err := os.Mkdir(filepath.Join(dir, tt.broken), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			err := tt.l.Apply(dir)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Apply: %v, want error %q", err, tt.wantErr)
			}
			for file, want := range tt.want {
				b, _ := os.ReadFile(filepath.Join(dir, file))
				if string(b) != want {
					t.Errorf("%s = %q, want %q", file, b, want)
				}
			}
		})
	}
}

// fakeCgroup is a plain directory with a cgroup.events file: the inotify
// and populated path without a cgroup file system.
func fakeCgroup(t *testing.T, populated bool) string {
	t.Helper()
	dir := t.TempDir()
	setEvents(t, dir, populated)
	return dir
}

func setEvents(t *testing.T, dir string, populated bool) {
	t.Helper()
	v := "0"
	if populated {
		v = "1"
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated "+v+"\nfrozen 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newWatcher(t *testing.T) *Watcher {
	t.Helper()
	w, err := NewWatcher()
	if err != nil {
		t.Skipf("inotify unavailable: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// kicks counts callbacks on a channel.
func kicks() (func(), chan struct{}) {
	ch := make(chan struct{}, 16)
	return func() { ch <- struct{}{} }, ch
}

func waitKick(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("no callback: %s", what)
	}
}

func noKick(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("unexpected callback: %s", what)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestWatchFake: a change of cgroup.events reaches every watcher of the
// dir, Populated reads the new value, a cancelled watch hears nothing
// more while the other still does, and removing the file (as rmdir of a
// cgroup does) ends the watch with a last call.
func TestWatchFake(t *testing.T) {
	w := newWatcher(t)
	dir := fakeCgroup(t, true)
	if pop, err := Populated(dir); err != nil || !pop {
		t.Fatalf("Populated = %v, %v; want true", pop, err)
	}
	fa, a := kicks()
	fb, b := kicks()
	cancelA, err := w.Watch(dir, fa)
	if err != nil {
		t.Fatal(err)
	}
	cancelB, err := w.Watch(dir, fb)
	if err != nil {
		t.Fatal(err)
	}
	setEvents(t, dir, false)
	waitKick(t, a, "first watcher, populated 0")
	waitKick(t, b, "second watcher, populated 0")
	if pop, err := Populated(dir); err != nil || pop {
		t.Fatalf("Populated = %v, %v; want false", pop, err)
	}
	drain(a)
	drain(b)
	cancelA()
	setEvents(t, dir, true)
	waitKick(t, b, "second watcher after the first was cancelled")
	noKick(t, a, "cancelled watcher")
	drain(b)
	if err := os.Remove(filepath.Join(dir, "cgroup.events")); err != nil {
		t.Fatal(err)
	}
	waitKick(t, b, "watch dropped by the kernel")
	cancelB() // after IN_IGNORED: a no-op
	w.mu.Lock()
	left := len(w.subs)
	w.mu.Unlock()
	if left != 0 {
		t.Errorf("%d watch descriptors left after removal", left)
	}
	if _, err := w.Watch(filepath.Join(dir, "nowhere"), fa); err == nil {
		t.Error("watching a missing cgroup succeeded")
	}
}

func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
			return
		}
	}
}

// testSubtree makes a cgroup below the test process's own one and
// removes it at the end, or skips saying why it cannot.
func testSubtree(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	mount, err := UnifiedMount()
	if err != nil {
		t.Skipf("no cgroup2: %v", err)
	}
	self, err := Self(mount)
	if err != nil {
		t.Skipf("own cgroup: %v", err)
	}
	dir := filepath.Join(self, "cgroup2-test-"+strconv.Itoa(os.Getpid()))
	if err := Create(dir); err != nil {
		t.Skipf("cgroup2 not writable here: %v", err)
	}
	t.Cleanup(func() {
		_ = Kill(dir, unix.SIGKILL)
		if err := Remove(dir, 2*time.Second, true); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return dir
}

// TestRealSubtree drives one process through a real cgroup: created,
// moved in, found, watched, signalled (each signal in turn), and the
// cgroup removed once empty.
func TestRealSubtree(t *testing.T) {
	root := testSubtree(t)
	w := newWatcher(t)
	tests := []struct {
		name string
		sig  unix.Signal
	}{
		{"term", unix.SIGTERM},
		{"kill", unix.SIGKILL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(root, Name("svc/"+tt.name))
			if err := Create(dir); err != nil {
				t.Fatal(err)
			}
			if err := Create(dir); err != nil {
				t.Fatalf("Create of an existing cgroup: %v", err)
			}
			if pop, err := Populated(dir); err != nil || pop {
				t.Fatalf("new cgroup: Populated = %v, %v", pop, err)
			}
			cmd := exec.Command("sleep", "300")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			pid := cmd.Process.Pid
			if err := Move(dir, pid); err != nil {
				_ = cmd.Process.Kill()
				t.Skipf("cannot move a process into a child of our cgroup: %v", err)
			}
			if pids, err := Pids(dir); err != nil || len(pids) != 1 || pids[0] != pid {
				t.Errorf("Pids = %v, %v; want [%d]", pids, err, pid)
			}
			if !Contains(dir, pid) || !Contains(root, pid) {
				t.Errorf("Contains(%d) false for its cgroup or its parent", pid)
			}
			if Contains(dir, os.Getpid()) {
				t.Errorf("Contains reports the test process, which is not in %s", dir)
			}
			if pop, err := Populated(root); err != nil || !pop {
				t.Errorf("parent: Populated = %v, %v; want true", pop, err)
			}
			f, ch := kicks()
			cancel, err := w.Watch(dir, f)
			if err != nil {
				t.Fatal(err)
			}
			defer cancel()
			if err := Remove(dir, 0, false); !errors.Is(err, unix.EBUSY) {
				t.Errorf("Remove of a populated cgroup: %v, want EBUSY", err)
			}
			if err := Kill(dir, tt.sig); err != nil {
				t.Fatal(err)
			}
			<-waited
			deadline := time.Now().Add(5 * time.Second)
			for {
				waitKick(t, ch, "populated 0 after "+tt.name)
				if pop, err := Populated(dir); err == nil && !pop {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("cgroup still populated")
				}
			}
			if err := Remove(dir, time.Second, false); err != nil {
				t.Fatal(err)
			}
			if err := Remove(dir, 0, false); err != nil {
				t.Errorf("Remove of a removed cgroup: %v", err)
			}
			if err := Kill(dir, unix.SIGKILL); err != nil {
				t.Errorf("Kill of a removed cgroup: %v", err)
			}
		})
	}
}

func TestMountOf(t *testing.T) {
	mount, err := UnifiedMount()
	if err != nil {
		t.Skipf("no cgroup2: %v", err)
	}
	tests := []struct{ dir, want string }{
		{mount, mount},
		{t.TempDir(), ""},
	}
	if self, err := Self(mount); err == nil {
		tests = append(tests, struct{ dir, want string }{self, mount})
	}
	for _, tt := range tests {
		if got := MountOf(tt.dir); got != tt.want {
			t.Errorf("MountOf(%s) = %q, want %q", tt.dir, got, tt.want)
		}
	}
}

// TestRemoveTree: a cgroup is removed with its descendants, deepest
// first, and whatever ran in any of them is killed.
func TestRemoveTree(t *testing.T) {
	root := testSubtree(t)
	tests := []struct {
		name  string
		dirs  []string // below the tree's top, made in order
		procs []string // where a process runs
	}{
		{"empty leaf", nil, nil},
		{"populated leaf", nil, []string{""}},
		{"nested, populated below", []string{"a", "a/b", "c"}, []string{"a/b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := filepath.Join(root, Name(tt.name))
			if err := Create(top); err != nil {
				t.Fatal(err)
			}
			for _, d := range tt.dirs {
				if err := Create(filepath.Join(top, d)); err != nil {
					t.Fatal(err)
				}
			}
			var waits []chan error
			for _, d := range tt.procs {
				cmd := exec.Command("sleep", "300")
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				w := make(chan error, 1)
				go func() { w <- cmd.Wait() }()
				waits = append(waits, w)
				if err := Move(filepath.Join(top, d), cmd.Process.Pid); err != nil {
					_ = cmd.Process.Kill()
					t.Skipf("cannot move a process into a child of our cgroup: %v", err)
				}
			}
			if err := RemoveTree(top, 2*time.Second); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(top); !os.IsNotExist(err) {
				t.Errorf("%s still there: %v", top, err)
			}
			for i, w := range waits {
				select {
				case <-w:
				case <-time.After(5 * time.Second):
					t.Errorf("process %d in %s survived", i, tt.procs[i])
				}
			}
		})
	}
}
