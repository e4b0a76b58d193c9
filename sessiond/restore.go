package sessiond

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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

func parseU32(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

func parseU64(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// decodeUser reads back what userRecord wrote that is not derived from
// the sessions.
func decodeUser(uid uint32, f map[string]string) *user {
	return &user{UID: uid, GID: parseU32(f["GID"]), Name: f["NAME"], Realtime: parseU64(f["REALTIME"]), Monotonic: parseU64(f["MONOTONIC"])}
}

// decodeSeat reads back a seat file's active session and session list.
func decodeSeat(id string, f map[string]string) *seat {
	st := &seat{ID: id, Active: f["ACTIVE"]}
	if l := f["SESSIONS"]; l != "" {
		st.Sessions = strings.Split(l, " ")
	}
	return st
}

// decodeSession reads back what sessionRecord wrote.
func decodeSession(id string, f map[string]string) *session {
	ss := &session{
		ID: id, UID: parseU32(f["UID"]), UserName: f["USER"], Seat: f["SEAT"],
		VTNr: parseU32(f["RAW_VTNR"]), Position: parseU32(f["POSITION"]),
		TTY: f["TTY"], Display: f["DISPLAY"], Remote: f["REMOTE"] == "1",
		RemoteHost: cunescape(f["REMOTE_HOST"]), RemoteUser: cunescape(f["REMOTE_USER"]),
		Service: cunescape(f["SERVICE"]), Desktop: cunescape(f["DESKTOP"]),
		Type: f["TYPE"], OriginalType: f["ORIGINAL_TYPE"], Class: f["CLASS"],
		Leader: parseU32(f["LEADER"]), Audit: parseU32(f["AUDIT"]),
		Realtime: parseU64(f["REALTIME"]), Monotonic: parseU64(f["MONOTONIC"]),
		FIFO: f["FIFO"], Scope: f["SCOPE"],
		IdleHint: f["IDLE_HINT"] == "1", IdleRealtime: parseU64(f["IDLE_REALTIME"]),
		IdleMonotonic: parseU64(f["IDLE_MONOTONIC"]), LockedHint: f["LOCKED_HINT"] == "1",
		Stopping: f["STOPPING"] == "1" || f["STATE"] == stateClosing,
	}
	if ss.VTNr == 0 {
		ss.VTNr = parseU32(f["VTNR"])
	}
	if ss.OriginalType == "" {
		ss.OriginalType = ss.Type
	}
	return ss
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
		if !validSessionID(id) {
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
			h, err := openFIFORead(ss.FIFO)
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
	// Order by creation time, as they were made.
	for _, u := range s.users {
		sort.SliceStable(u.Sessions, func(i, j int) bool {
			return s.sessions[u.Sessions[i]].Realtime < s.sessions[u.Sessions[j]].Realtime
		})
	}
	for _, st := range s.seats {
		sort.SliceStable(st.Sessions, func(i, j int) bool {
			return s.sessions[st.Sessions[i]].Realtime < s.sessions[st.Sessions[j]].Realtime
		})
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
