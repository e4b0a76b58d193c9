package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testLog struct{ t *testing.T }

func (l testLog) Printf(format string, args ...any) { l.t.Logf(format, args...) }

// A record written is read back, by a fresh store as at the next boot.
func TestTimerStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "timers")
	s := newTimerStore(dir, testLog{t})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.run(ctx); close(done) }()
	if at, err := s.Last("daily"); err != nil || !at.IsZero() {
		t.Fatalf("no record: %v, %v", at, err)
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	s.Save("daily", at.Add(-time.Hour))
	s.Save("daily", at)
	cancel()
	<-done
	got, err := newTimerStore(dir, testLog{t}).Last("daily")
	if err != nil || !got.Equal(at) {
		t.Fatalf("read back %v, %v; want %v", got, err, at)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want the record only", len(ents))
	}
}

// Damaged, hostile or foreign records are errors naming the file; the
// manager then starts the timer as if it never ran.
func TestTimerStoreBadRecords(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty":   "",
		"garbage": "\x00\xff\n",
		"version": "v2 1000\n",
		"neg":     "v1 -5\n",
		"two":     "v1 1000\nv1 2000\n",
		"long":    "v1 " + strings.Repeat("1", 400) + "\n",
		"words":   "v1 1000 extra\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := newTimerStore(dir, testLog{t})
	for _, name := range []string{"empty", "garbage", "version", "neg", "two", "long", "words", "link", "adir", "../escape"} {
		at, err := s.Last(name)
		if err == nil || !at.IsZero() {
			t.Errorf("%s: %v, %v; want an error", name, at, err)
			continue
		}
		if name != "../escape" && !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
}

func TestTimersDirDefaults(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		cfg  Config
		env  map[string]string
		want string
	}{
		{Config{System: true}, nil, "/var/lib/ginit/timers"},
		{Config{System: true, TimersDir: "/t"}, nil, "/t"},
		{Config{User: true}, map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"}, "/s/ginit/timers"},
		{Config{User: true}, map[string]string{"HOME": "/h"}, "/h/.local/state/ginit/timers"},
		{Config{User: true}, nil, ""},
	} {
		if got := defaultTimersDir(tt.cfg, env(tt.env)); got != tt.want {
			t.Errorf("%+v %v: %q, want %q", tt.cfg, tt.env, got, tt.want)
		}
	}
}

// FuzzTimerRecord: any bytes give a time or an error; a time read
// formats back to the same bytes.
func FuzzTimerRecord(f *testing.F) {
	for _, s := range []string{"v1 1772359200000000000\n", "v1 1\n", "v1 -1\n", "v1 9223372036854775807\n", "", "v1\n", "v1 1 2\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		at, err := parseTimerRecord(data)
		if err != nil {
			return
		}
		if again, err := parseTimerRecord(formatTimerRecord(at)); err != nil || !again.Equal(at) {
			t.Fatalf("%q: read %v, formatted and read again %v, %v", data, at, again, err)
		}
	})
}
