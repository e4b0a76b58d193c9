package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ginit/init/service"
)

// hangGuard is how long a load may take before the test calls it hung. It
// only catches a hang (a FIFO open blocks for ever); no speed is asserted.
const hangGuard = 20 * time.Second

// mkfifo makes a named pipe and, at cleanup, opens it for writing so that a
// reader the code under test left blocked in open(2) is released.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
}

// loadGuarded runs l.Load(name) and fails the test if it does not return.
func loadGuarded(t *testing.T, l *Loader, name string) error {
	t.Helper()
	ch := make(chan error, 1)
	go func() { _, err := l.Load(name); ch <- err }()
	select {
	case err := <-ch:
		return err
	case <-time.After(hangGuard):
		t.Fatalf("Load(%q) hung", name)
		return nil
	}
}

// logLines collects the loader's warnings.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func TestHostileFilesRefused(t *testing.T) {
	big := strings.Repeat("# padding\n", MaxFileSize/10+1)
	// Just under the limit for one file; enough of them exceed the total.
	nearly := strings.Repeat("# padding\n", MaxFileSize/10-10)
	nInc := maxDescRead/len(nearly) + 1
	adding := "type = internal\n" + strings.Repeat("@include nearly\n", nInc)
	tests := []struct {
		name  string
		files map[string]string
		fifos []string // paths under the test dir made named pipes
		// wantAt is the file (under the test dir) and line the error names.
		wantAt   string
		wantLine int
		want     []string // substrings of the message
		is       error
	}{
		{
			name:  "service file is a FIFO",
			fifos: []string{"sd/bad"},
			want:  []string{"sd/bad", "not a regular file", "named pipe"}, is: ErrNotRegular,
		},
		{
			name:   "@include of a FIFO",
			files:  map[string]string{"sd/bad": "type = internal\n@include pipe\n"},
			fifos:  []string{"sd/pipe"},
			wantAt: "sd/bad", wantLine: 2,
			want: []string{"@include", "sd/pipe", "named pipe"}, is: ErrNotRegular,
		},
		{
			name:   "@include-opt of a FIFO",
			files:  map[string]string{"sd/bad": "type = internal\n\n@include-opt pipe\n"},
			fifos:  []string{"sd/pipe"},
			wantAt: "sd/bad", wantLine: 3,
			want: []string{"@include-opt", "named pipe"}, is: ErrNotRegular,
		},
		{
			name:   "@include of the zero device",
			files:  map[string]string{"sd/bad": "type = internal\n@include /dev/zero\n"},
			wantAt: "sd/bad", wantLine: 2,
			want: []string{"/dev/zero", "character device"}, is: ErrNotRegular,
		},
		{
			name:   "@include of a directory",
			files:  map[string]string{"sd/bad": "type = internal\n@include sub\n", "sd/sub/x": ""},
			wantAt: "sd/bad", wantLine: 2,
			want: []string{"sd/sub", "directory"}, is: ErrNotRegular,
		},
		{
			name:   "env-file is a FIFO",
			files:  map[string]string{"sd/bad": "type = process\ncommand = /bin/x\nenv-file = env\n"},
			fifos:  []string{"sd/env"},
			wantAt: "sd/bad", wantLine: 3,
			want: []string{"env-file", "sd/env", "named pipe"}, is: ErrNotRegular,
		},
		{
			name:   "env-file is the zero device",
			files:  map[string]string{"sd/bad": "type = process\ncommand = /bin/x\nenv-file = /dev/zero\n"},
			wantAt: "sd/bad", wantLine: 3,
			want: []string{"/dev/zero", "character device"}, is: ErrNotRegular,
		},
		{
			name:  "oversized service file",
			files: map[string]string{"sd/bad": "type = internal\n" + big},
			want:  []string{"sd/bad", "larger than 1 MiB"}, is: ErrTooLarge,
		},
		{
			name:   "oversized include",
			files:  map[string]string{"sd/bad": "type = internal\n@include big\n", "sd/big": big},
			wantAt: "sd/bad", wantLine: 2,
			want: []string{"sd/big", "larger than 1 MiB"}, is: ErrTooLarge,
		},
		{
			// Each file is under the limit; together they are not.
			name:   "includes adding up",
			files:  map[string]string{"sd/bad": adding, "sd/nearly": nearly},
			wantAt: "sd/bad", wantLine: 1 + nInc,
			want: []string{"sd/nearly", "4 MiB together"}, is: ErrTooLarge,
		},
		{
			name:   "oversized env-file",
			files:  map[string]string{"sd/bad": "type = process\ncommand = /bin/x\nenv-file = env\n", "sd/env": big},
			wantAt: "sd/bad", wantLine: 3,
			want: []string{"sd/env", "1 MiB"}, is: ErrTooLarge,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := newLoader(t, tc.files)
			for _, f := range tc.fifos {
				mkfifo(t, filepath.Join(dir, f))
			}
			err := loadGuarded(t, l, "bad")
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("%v is not %v", err, tc.is)
			}
			if !IsLoadError(err) {
				t.Errorf("%v is not a load error", err)
			}
			if tc.wantAt != "" {
				var le *Error
				if !errors.As(err, &le) || le.File != filepath.Join(dir, tc.wantAt) || le.Line != tc.wantLine {
					t.Errorf("%v: want it at %s:%d", err, tc.wantAt, tc.wantLine)
				}
				if prefix := filepath.Join(dir, tc.wantAt) + ":"; !strings.HasPrefix(msg, prefix) {
					t.Errorf("%q does not start with %q", msg, prefix)
				}
			}
		})
	}
}

// A .d directory that is a FIFO, and FIFO entries in a .d directory, are
// skipped with a warning, as an unreadable .d directory is.
func TestDotDNeverBlocks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fifo  string
		files map[string]string
		deps  int
	}{
		{"the directory is a FIFO", "sd/bad.d", nil, 0},
		{"an entry is a FIFO", "sd/bad.d/pipe", map[string]string{"sd/bad.d/ok": "", "sd/ok": "type = internal\n"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"sd/bad": "type = internal\nwaits-for.d = bad.d\n"}
			for k, v := range tc.files {
				files[k] = v
			}
			l, dir := newLoader(t, files)
			logs := &logLines{}
			l.Log = logs
			mkfifo(t, filepath.Join(dir, tc.fifo))
			ch := make(chan error, 1)
			var n int
			go func() {
				d, err := l.Load("bad")
				if err == nil {
					n = len(d.Deps)
				}
				ch <- err
			}()
			select {
			case err := <-ch:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(hangGuard):
				t.Fatal("Load hung")
			}
			if n != tc.deps {
				t.Errorf("%d dependencies, want %d", n, tc.deps)
			}
			if len(logs.lines) == 0 {
				t.Error("no warning")
			}
		})
	}
}

// ginit -e FILE goes through the same checks.
func TestReadEnvFileRefusesHostile(t *testing.T) {
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipe")
	mkfifo(t, pipe)
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("A=1\n", MaxFileSize/4+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		is   error
	}{{pipe, ErrNotRegular}, {"/dev/zero", ErrNotRegular}, {big, ErrTooLarge}} {
		ch := make(chan error, 1)
		go func() { _, err := ReadEnvFile(tc.path, nil); ch <- err }()
		select {
		case err := <-ch:
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("%s: %v, want %v naming the file", tc.path, err, tc.is)
			}
		case <-time.After(hangGuard):
			t.Fatalf("%s: ReadEnvFile hung", tc.path)
		}
	}
}

// A small file whose $/VAR references multiply a word list is refused at the
// line that crosses the limit, and loading it allocates a bounded amount.
func TestExpansionBombBounded(t *testing.T) {
	// 2000 words in 4 kB, referenced 1500 times from 6 kB of settings:
	// unchecked, 3 million words.
	env := "W=" + strings.Repeat("a ", 2000) + "\n"
	var svc strings.Builder
	svc.WriteString("type = process\ncommand = /bin/x\nenv-file = env\n")
	for i := 0; i < 75; i++ {
		svc.WriteString("command +=" + strings.Repeat(" $/W", 20) + "\n")
	}
	if n := len(env) + svc.Len(); n > 11000 {
		t.Fatalf("the bomb is %d bytes; keep it near 10 kB", n)
	}
	l, dir := newLoader(t, map[string]string{"sd/bomb": svc.String(), "sd/env": env})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := l.Load("bomb")
	runtime.ReadMemStats(&after)
	const bound = 32 << 20
	if got := after.TotalAlloc - before.TotalAlloc; got > bound {
		t.Errorf("loading allocated %d MiB, want under %d MiB", got>>20, bound>>20)
	}
	if err == nil {
		t.Fatal("loaded")
	}
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "substitution") {
		t.Errorf("%v: want a substitution limit error", err)
	}
	var le *Error
	if !errors.As(err, &le) || le.File != filepath.Join(dir, "sd/bomb") || le.Line < 4 || le.Setting != "command" {
		t.Errorf("%v: want it at sd/bomb, a command line", err)
	}
}

// A description of garbage lines gives a bounded list of errors, and
// loading it a bounded allocation, however many lines there are.
func TestGarbageBounded(t *testing.T) {
	frag := strings.Repeat("a=\n", MaxFileSize/3-10) // 350 000 lines
	for _, tc := range []struct {
		name   string
		files  map[string]string
		errors int // the length of the ErrorList, or 0 for a single error
	}{
		{"many lines", map[string]string{"sd/bad": "type = internal\n" + strings.Repeat("@include frag\n", 3), "sd/frag": frag}, 0},
		{"many bad lines", map[string]string{"sd/bad": strings.Repeat("frobnicate = 1\n", 1000)}, maxErrors + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newLoader(t, tc.files)
			var err error
			n := allocated(func() { _, err = l.Load("bad") })
			const bound = 64 << 20
			if n > bound {
				t.Errorf("loading allocated %d MiB, want under %d MiB", n>>20, bound>>20)
			}
			var list ErrorList
			errors.As(err, &list)
			if len(list) != tc.errors || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("want %d errors, the last over a limit; got %d: %.300v", tc.errors, len(list), err)
			}
			var le *Error
			if !errors.As(err, &le) || le.Line == 0 {
				t.Errorf("%.300v names no line", err)
			}
		})
	}
}

// Continuation lines are joined in linear time, and a backslash continued
// only by blanks is an empty line (it made the parser index an empty line).
func TestContinuationLines(t *testing.T) {
	long := "type = process\ncommand = /bin/x \\\n" + strings.Repeat("   y \\\n", 20000) + "   z\n"
	for _, tc := range []struct {
		name, file string
		words      int // of command
	}{
		{"backslash then blanks", "type = process\n\\\n \ncommand = /bin/x\n", 1},
		{"many continuations", long, 20002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newLoader(t, map[string]string{"sd/s": tc.file})
			var d *service.Description
			var err error
			n := allocated(func() { d, err = l.Load("s") })
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Command) != tc.words {
				t.Errorf("%d words in the command, want %d", len(d.Command), tc.words)
			}
			const bound = 64 << 20
			if n > bound {
				t.Errorf("loading allocated %d MiB, want under %d MiB", n>>20, bound>>20)
			}
		})
	}
}

// An env-file is read by root for a service whose user may be able to
// write its directory: a link that user planted is not followed (it would
// hand them a root-only file's lines as variables); root's links are.
func TestEnvFileLinksOfOthersRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the links are given to another owner")
	}
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("SECRET=hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	userDir := filepath.Join(dir, "svcdir")
	if err := os.Mkdir(userDir, 0o777); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(userDir, "env")
	rootLink := filepath.Join(dir, "rootlink")
	userDirLink := filepath.Join(dir, "userdirlink")
	for _, l := range []struct {
		name, target string
		uid          int
	}{{planted, secret, 65534}, {rootLink, secret, 0}, {userDirLink, dir, 65534}} {
		if err := os.Symlink(l.target, l.name); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(l.name, l.uid, l.uid); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{planted, false},
		{filepath.Join(userDirLink, "secret"), false},
		{rootLink, true},
		{secret, true},
	} {
		env, err := ReadEnvFile(tc.path, nil)
		switch {
		case tc.ok && (err != nil || len(env) != 1 || env[0] != "SECRET=hunter2"):
			t.Errorf("%s: %v %q, want the variable", tc.path, err, env)
		case !tc.ok && err == nil:
			t.Errorf("%s: read %q through another user's link", tc.path, env)
		case !tc.ok && (!strings.Contains(err.Error(), "owned by uid 65534") || strings.Count(err.Error(), tc.path) > 1):
			t.Errorf("%s: %v, want the link's owner named once", tc.path, err)
		}
	}
}

// readUpTo reads to the end or to its limit whatever its first size: a
// file that grew since its fstat, one that shrank, an empty one.
func TestReadUpTo(t *testing.T) {
	data := strings.Repeat("0123456789", 300)
	for _, c := range []struct {
		size, limit int64
		want        int
	}{
		{3001, 3001, 3000}, // the fstat's size and one more: read whole
		{1, 3001, 3000},    // grew since: read whole all the same
		{0, 3001, 3000},
		{3001, 100, 100}, // stops at the limit
		{5000, 3001, 3000},
	} {
		got, err := readUpTo(strings.NewReader(data), c.size, c.limit)
		if err != nil || string(got) != data[:c.want] {
			t.Errorf("size %d limit %d: %d bytes, %v; want %d", c.size, c.limit, len(got), err, c.want)
		}
	}
	if got, err := readUpTo(strings.NewReader(""), 1, 10); err != nil || len(got) != 0 {
		t.Errorf("empty: %q, %v", got, err)
	}
}
