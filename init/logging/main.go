package logging

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// ringLines bounds how many lines ginit's log keeps in memory before a file
// is attached; older lines are dropped (and counted) past it.
const ringLines = 4096

// consoleQueue bounds the lines waiting for a slow console.
const consoleQueue = 256

// Main is ginit's own log. Lines go to the console through a queue, so a
// stuck console never blocks ginit (lines are dropped and counted instead),
// and are kept in a memory ring until AttachFile names a writable file, which
// then receives the ring first and every later line.
type Main struct {
	mu      sync.Mutex // guards the fields below
	ring    []string
	lost    int // lines dropped from the ring before a file was attached
	file    io.WriteCloser
	syslog  net.Conn // the syslog socket once a starts-log service runs
	slPath  string
	dropped int // lines the console could not take
	now     func() time.Time

	console chan string
	done    chan struct{}
	buf     []byte // Printf's, under mu
}

// maxKeptLine bounds the line buffer Printf keeps for the next line.
const maxKeptLine = 1024

// NewMain starts a log writing to console (nil: no console output).
func NewMain(console io.Writer) *Main {
	m := &Main{now: time.Now, done: make(chan struct{})}
	if console != nil {
		ch := make(chan string, consoleQueue)
		m.console = ch
		go func() {
			defer close(m.done)
			// ch, not m.console: Close may nil the field before this runs.
			for line := range ch {
				_, _ = io.WriteString(console, line)
			}
		}()
	} else {
		close(m.done)
	}
	return m
}

// Printf logs one line (a newline is added).
func (m *Main) Printf(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Formatted into one buffer kept between lines: with only the file
	// to write (no console, no syslog), a line makes no string at all.
	b := m.now().UTC().AppendFormat(m.buf[:0], "2006-01-02T15:04:05.000Z ")
	b = fmt.Appendf(b, format, args...)
	if b[len(b)-1] != '\n' { // never empty: the time stamp
		b = append(b, '\n')
	}
	if cap(b) <= maxKeptLine {
		m.buf = b
	}
	line := ""
	if m.syslog != nil || m.file == nil || m.console != nil {
		line = string(b)
	}
	if m.syslog != nil {
		m.toSyslogLocked(line)
	}
	if m.file != nil {
		_, _ = m.file.Write(b)
	} else {
		if len(m.ring) == ringLines {
			m.ring = m.ring[1:]
			m.lost++
		}
		m.ring = append(m.ring, line)
	}
	if m.console != nil {
		select {
		case m.console <- line:
		default:
			m.dropped++
		}
	}
}

// AttachFile opens path for appending and writes the lines logged so far,
// then every later line. Call it again (e.g. after a remount) to switch files.
func (m *Main) AttachFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("ginit log: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lost > 0 {
		fmt.Fprintf(f, "(%d early log lines lost)\n", m.lost)
	}
	for _, l := range m.ring {
		if _, err := io.WriteString(f, l); err != nil {
			f.Close()
			return fmt.Errorf("ginit log %s: %w", path, err)
		}
	}
	if m.file != nil {
		m.file.Close()
	}
	m.file, m.ring, m.lost = f, nil, 0
	return nil
}

// Dropped reports how many lines the console could not take.
func (m *Main) Dropped() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// Close stops the console writer (after the queued lines) and closes the file.
func (m *Main) Close() error {
	m.mu.Lock()
	if m.console != nil {
		close(m.console)
		m.console = nil
	}
	f := m.file
	m.file = nil
	if m.syslog != nil {
		m.syslog.Close()
		m.syslog = nil
	}
	m.mu.Unlock()
	<-m.done
	if f != nil {
		return f.Close()
	}
	return nil
}

// AttachSyslog sends ginit's log to the syslog socket at path (usually
// /dev/log) from now on, starting with the lines kept in memory if no file
// has taken them (options starts-log: the syslog daemon is up).
func (m *Main) AttachSyslog(path string) error {
	c, err := net.Dial("unixgram", path)
	if err != nil {
		return fmt.Errorf("ginit log: syslog %s: %w", path, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.syslog != nil {
		m.syslog.Close()
	}
	m.syslog, m.slPath = c, path
	if m.file == nil {
		for _, l := range m.ring {
			m.toSyslogLocked(l)
		}
	}
	return nil
}

// toSyslogLocked writes one line as an RFC 3164 message of facility daemon,
// severity info; the syslog daemon adds its own time stamp. A syslog that
// restarted is reconnected once.
func (m *Main) toSyslogLocked(line string) {
	msg := strings.TrimSuffix(line, "\n")
	if _, rest, ok := strings.Cut(msg, " "); ok { // drop our time stamp
		msg = rest
	}
	pkt := fmt.Sprintf("<30>ginit[%d]: %s", os.Getpid(), msg)
	if _, err := m.syslog.Write([]byte(pkt)); err != nil {
		if c, derr := net.Dial("unixgram", m.slPath); derr == nil {
			m.syslog.Close()
			m.syslog = c
			_, _ = c.Write([]byte(pkt))
		}
	}
}
