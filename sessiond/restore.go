package sessiond

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"ginit/sessiond/sys"
)

// Start prepares the state directories and seat0, restores sessions and
// users a previous sessiond left in RunDir, and adds lingering users. It
// runs before Run, on the caller's goroutine (nothing else runs yet).
func (m *Manager) Start() error {
	s := m.st
	for _, d := range []string{s.cfg.sessionsDir(), s.cfg.usersDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
	}
	seat0 := &seat{ID: "seat0", HasVTs: s.cfg.VTs != nil}
	if s.cfg.CanGraphical != nil {
		seat0.CanGraph = s.cfg.CanGraphical()
	}
	s.seats["seat0"] = seat0
	m.startUdev()
	var oldSeat *seat
	if f, err := readEnvFile(filepath.Join(s.cfg.seatsDir(), "seat0")); err == nil {
		oldSeat = decodeSeat("seat0", f)
	} else if !errors.Is(err, os.ErrNotExist) {
		s.log().Warn("seat state unreadable; the active session is chosen afresh", "err", err)
	}

	s.restoreUsers()
	s.restoreSessions()
	s.restoreLinger()
	s.restoreInhibitors()
	s.restoreSchedule()

	switch {
	case seat0.HasVTs:
		if n, err := s.cfg.VTs.Active(); err == nil {
			s.vtChanged(n)
		}
	case oldSeat != nil && s.sessions[oldSeat.Active] != nil:
		seat0.Active = oldSeat.Active
	default:
		seat0.Active = s.pickActive(seat0, "")
	}
	for _, u := range s.users {
		s.dirtyUser[u.UID] = true
		// A manager started before the restart is still running (or was
		// meant to): Start is idempotent and tells when it is ready, and a
		// user left closing gets its stop delay afresh.
		if s.cfg.UserManagers != nil {
			s.startManager(u)
		}
		s.maybeRemoveUser(u)
	}
	for _, ss := range s.sessions {
		s.touchSession(ss)
	}
	s.dirtySeat["seat0"] = true
	s.mutated = true
	// Sessions that ended while sessiond was down go now (announced on the
	// first flush).
	for _, ss := range s.sessions {
		s.checkGone(ss)
	}
	return nil
}

// PublishSeats writes the seats directory; pam_systemd takes its
// existence as "logind is running", so it is written only once the bus
// name is owned.
func (m *Manager) PublishSeats() error {
	return m.do(func(s *state) error {
		if err := os.MkdirAll(s.cfg.seatsDir(), 0o755); err != nil {
			return fmt.Errorf("seats directory: %w", err)
		}
		s.seatsOut = true
		for _, st := range s.seats {
			s.saveSeat(st)
		}
		return nil
	})
}

// Shutdown removes the seats directory so pam_systemd stops trying to
// reach a sessiond that is gone for good. Sessions and users stay: a
// restarted sessiond picks them up again.
func (m *Manager) Shutdown() {
	_ = os.RemoveAll(m.cfg.seatsDir())
}

func (s *state) restoreUsers() {
	for _, name := range stateNames(s.cfg.usersDir()) {
		path := filepath.Join(s.cfg.usersDir(), name)
		uid64, err := strconv.ParseUint(name, 10, 32)
		if err != nil {
			continue
		}
		f, err := readEnvFile(path)
		if err != nil {
			// Its sessions rebuild the user from the user database.
			s.log().Error("user state file unreadable", "file", path, "err", err)
			continue
		}
		u := decodeUser(uint32(uid64), f)
		if uname, gid, err := s.cfg.Host.LookupUser(u.UID); err == nil {
			u.Name, u.GID = uname, gid
		}
		u.Linger = s.lingerFileExists(u.Name)
		s.users[u.UID] = u
	}
}

func (s *state) restoreSessions() {
	// Ids of files that cannot be read stay reserved: the login holding
	// that FIFO is still there, and a new session must not take its name.
	s.counter = max(s.counter, highestID(s.cfg.sessionsDir(), "c"))
	for _, id := range stateNames(s.cfg.sessionsDir()) {
		path := filepath.Join(s.cfg.sessionsDir(), id)
		if !sys.ValidSessionID(id) {
			continue
		}
		f, err := readEnvFile(path)
		if err != nil {
			s.log().Error("session state file unreadable: session not restored, its id stays reserved", "session", id, "file", path, "err", err)
			continue
		}
		ss := decodeSession(id, f)
		u := s.users[ss.UID]
		if u == nil {
			// The user file was lost: rebuild the user from the session.
			var err error
			if u, _, err = s.getUser(ss.UID); err != nil {
				s.log().Error("session not restored: no user", "session", id, "file", path, "err", err)
				continue
			}
		}
		if ss.FIFO != "" {
			h, err := sys.OpenFIFO(ss.FIFO)
			switch {
			case err == nil:
				ss.fifo, ss.FIFOOpen = h, true
			case errors.Is(err, os.ErrNotExist):
				ss.Stopping = true
			default:
				s.log().Warn("reopen session fifo", "session", id, "err", err)
				ss.Stopping = true
			}
		}
		if st := s.seats[ss.Seat]; st != nil {
			st.Sessions = append(st.Sessions, id)
		} else {
			ss.Seat = ""
		}
		s.sessions[id] = ss
		u.Sessions = append(u.Sessions, id)
		s.watchSession(ss)
		s.log().Info("session restored", "session", id, "uid", ss.UID)
	}
	// Order by creation time, as they were made (in place: nothing is
	// published yet, and the view shares a user's list once it is).
	byCreation := func(ids []string) {
		sort.SliceStable(ids, func(i, j int) bool {
			return s.sessions[ids[i]].Realtime < s.sessions[ids[j]].Realtime
		})
	}
	for _, u := range s.users {
		byCreation(u.Sessions)
	}
	for _, st := range s.seats {
		byCreation(st.Sessions)
	}
}

// restoreLinger creates users listed in LingerDir.
func (s *state) restoreLinger() {
	if s.cfg.LingerDir == "" {
		return
	}
	ents, err := os.ReadDir(s.cfg.LingerDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		uid, err := s.cfg.Host.LookupName(e.Name())
		if err != nil {
			s.log().Warn("linger: unknown user", "user", e.Name())
			continue
		}
		u, _, err := s.getUser(uid)
		if err != nil {
			s.log().Warn("linger", "user", e.Name(), "err", err)
			continue
		}
		u.Linger = true
	}
}

// The files libsystemd's sd-login reads. Each is written to a temporary
// file in the same directory and renamed over the old one: readers may
// read at any moment, and sd_login_monitor only wakes on IN_MOVED_TO and
// IN_DELETE.
const envHeader = "# This is private data. Do not parse.\n"

// kv is one KEY=value line of a state file, in the order written.
type kv struct{ k, v string }

// formatEnv is the file writeEnvFile writes. It refuses what parseEnv
// could not give back unchanged, so every file sessiond writes can be
// restored: keys are letters, digits and '_', values have no newline.
func formatEnv(vals []kv) (string, error) {
	b, err := appendEnv(nil, vals)
	return string(b), err
}

// appendEnv appends formatEnv's text to dst, so that a caller writing a
// large file often (a user's lists all its sessions) reuses one buffer.
func appendEnv(dst []byte, vals []kv) ([]byte, error) {
	n := len(envHeader)
	for _, p := range vals {
		n += len(p.k) + len(p.v) + 2
	}
	dst = slices.Grow(dst, n) // one allocation at most
	dst = append(dst, envHeader...)
	for _, p := range vals {
		if !validEnvKey(p.k) {
			return dst, fmt.Errorf("invalid key %q", p.k)
		}
		if strings.IndexByte(p.v, '\n') >= 0 {
			return dst, fmt.Errorf("value of %s contains a newline", p.k)
		}
		dst = append(dst, p.k...)
		dst = append(dst, '=')
		dst = append(dst, p.v...)
		dst = append(dst, '\n')
	}
	return dst, nil
}

func validEnvKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// parseEnv reads formatEnv's output. Lines have no length limit (a
// bufio.Scanner's 64 KiB limit made files with long values unreadable);
// what is written is bounded by the argument limits (maxArgLen).
func parseEnv(data string) (map[string]string, error) {
	m := map[string]string{}
	for n := 1; data != ""; n++ {
		line, rest, _ := strings.Cut(data, "\n")
		data = rest
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !validEnvKey(k) {
			return nil, fmt.Errorf("line %d: not KEY=value: %.80q", n, line)
		}
		m[k] = v
	}
	return m, nil
}

// writeEnvFile writes a state file by rename, so readers never see half of one.
func writeEnvFile(path string, vals []kv) error {
	var buf []byte
	return writeEnvFileBuf(path, vals, &buf)
}

// writeEnvFileBuf is writeEnvFile formatting into *buf, which it keeps
// for the next call.
func writeEnvFileBuf(path string, vals []kv, buf *[]byte) error {
	text, err := appendEnv((*buf)[:0], vals)
	*buf = text
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := sys.WriteFileAtomic(path, text, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// readEnvFile returns the file's keys; a missing file is an error
// satisfying errors.Is(err, os.ErrNotExist).
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := parseEnv(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// cescape escapes free-text values the way logind does (C escapes), so a
// value can never break the one-line-per-key format.
func cescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '"' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// cunescape reverses cescape.
func cunescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'x':
			if i+2 < len(s) {
				if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
					b.WriteByte(v[0])
					i += 2
					continue
				}
			}
			b.WriteByte('x')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// boolStr is a state file's boolean.
func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// stateNames lists the state files of dir (no dot files, no FIFOs).
func stateNames(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && !strings.HasSuffix(e.Name(), ".ref") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// highestID returns the largest N of the names prefix+N or prefix+N.ref
// in dir: a restarted sessiond continues after every id that has a file
// or a FIFO there, read or not.
func highestID(dir, prefix string) uint64 {
	ents, _ := os.ReadDir(dir)
	var hi uint64
	for _, e := range ents {
		n, ok := strings.CutPrefix(strings.TrimSuffix(e.Name(), ".ref"), prefix)
		if !ok {
			continue
		}
		if c, err := strconv.ParseUint(n, 10, 64); err == nil && c > hi {
			hi = c
		}
	}
	return hi
}

// pathTaken reports whether anything is at path; an error other than
// "does not exist" counts as taken.
func pathTaken(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}

func parseU32(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

func parseU64(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}
