package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"ginit/init/loader"
	"ginit/init/service"
)

// timerStore keeps the last run of each persistent timer in a file of its
// own, DIR/NAME, holding one line "v1 UNIX-NANOSECONDS". Reads happen when
// a timer starts; writes go to one goroutine, so a slow or full disk never
// holds up the manager, and a later run of the same timer replaces an
// unwritten earlier one. Each write is a temporary file, fsync, rename and
// directory fsync: a crash leaves the old record or the new one.
type timerStore struct {
	dir string
	log service.Logger

	mu      sync.Mutex
	pending map[string]time.Time
	kick    chan struct{}
}

// maxTimerRecord bounds a read: the record is a few dozen bytes, anything
// longer is not ours.
const maxTimerRecord = 256

// defaultTimersDir is the directory of cfg's persistent timers.
func defaultTimersDir(cfg Config, getenv func(string) string) string {
	switch {
	case cfg.TimersDir != "":
		return cfg.TimersDir
	case !cfg.User:
		return "/var/lib/ginit/timers"
	case getenv("XDG_STATE_HOME") != "":
		return filepath.Join(getenv("XDG_STATE_HOME"), "ginit/timers")
	case getenv("HOME") != "":
		return filepath.Join(getenv("HOME"), ".local/state/ginit/timers")
	}
	return ""
}

func newTimerStore(dir string, log service.Logger) *timerStore {
	return &timerStore{dir: dir, log: log, pending: map[string]time.Time{}, kick: make(chan struct{}, 1)}
}

func (s *timerStore) path(name string) (string, error) {
	if err := loader.ValidName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, name), nil
}

// Last reads name's record: zero and no error if there is none.
func (s *timerStore) Last(name string) (time.Time, error) {
	s.mu.Lock()
	at, ok := s.pending[name]
	s.mu.Unlock()
	if ok {
		return at, nil
	}
	p, err := s.path(name)
	if err != nil {
		return time.Time{}, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("timer state: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return time.Time{}, fmt.Errorf("timer state %s: not a regular file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTimerRecord+1))
	if err != nil {
		return time.Time{}, fmt.Errorf("timer state: %w", err)
	}
	at, err = parseTimerRecord(data)
	if err != nil {
		return time.Time{}, fmt.Errorf("timer state %s:1: %w", p, err)
	}
	return at, nil
}

// parseTimerRecord reads "v1 NANOSECONDS\n".
func parseTimerRecord(data []byte) (time.Time, error) {
	if len(data) > maxTimerRecord {
		return time.Time{}, fmt.Errorf("longer than %d bytes", maxTimerRecord)
	}
	line, rest, _ := bytes.Cut(data, []byte("\n"))
	if len(rest) > 0 {
		return time.Time{}, errors.New("more than one line")
	}
	f := strings.Fields(string(line))
	if len(f) != 2 || f[0] != "v1" {
		return time.Time{}, fmt.Errorf("expected \"v1 UNIX-NANOSECONDS\", got %q", line)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || ns <= 0 {
		return time.Time{}, fmt.Errorf("bad time %q", f[1])
	}
	return time.Unix(0, ns), nil
}

func formatTimerRecord(at time.Time) []byte {
	return fmt.Appendf(nil, "v1 %d\n", at.UnixNano())
}

// Save queues name's record for the writer.
func (s *timerStore) Save(name string, at time.Time) {
	s.mu.Lock()
	s.pending[name] = at
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run writes queued records until ctx ends, then writes what is left.
func (s *timerStore) run(ctx context.Context) {
	for {
		select {
		case <-s.kick:
			s.flush()
		case <-ctx.Done():
			s.flush()
			return
		}
	}
}

func (s *timerStore) flush() {
	for {
		s.mu.Lock()
		var name string
		var at time.Time
		for name, at = range s.pending {
			break
		}
		s.mu.Unlock()
		if name == "" {
			return
		}
		if err := s.write(name, at); err != nil {
			s.log.Printf("timer '%s': keeping its last run: %v", name, err)
		}
		s.mu.Lock()
		if s.pending[name].Equal(at) {
			delete(s.pending, name)
		}
		s.mu.Unlock()
	}
}

func (s *timerStore) write(name string, at time.Time) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, "."+name+".")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	_, err = tmp.Write(formatTimerRecord(at))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return err
	}
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
