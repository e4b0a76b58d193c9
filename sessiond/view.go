package sessiond

import (
	"maps"
	"reflect"
	"sync"
	"sync/atomic"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// view is what the owner loop publishes for read-only calls: the
// properties of every session, user and seat as of the last batch. Only
// the owner writes it (in settle, for the objects marked dirty, so one
// change costs one object, whatever the number of sessions); bus
// handlers read it under the read lock instead of queueing a closure
// and waiting for the owner (a goroutine hop per call, which under
// load was most of a read call's cost). Every published map is
// replaced, never changed, so a reader may keep one after unlocking.
//
// A reply to a change is sent once the view shows it (settle, before
// the batch's files and signals), so a client reads its own writes.
type view struct {
	mu       sync.RWMutex // a leaf lock: nothing else is taken under it
	sessions map[string]*sessionView
	leaders  map[uint32]string // leader pid → session
	users    map[uint32]*userView
	seats    map[string]map[string]godbus.Variant
	// gen counts the publishes that changed what ListSessions or
	// ListSessionsEx show (a session added, removed, or an entry of it
	// changed); written under mu.
	gen uint64
	// lists are the sorted answers of both list calls for one gen, built
	// by the first reader that asks after a change and shared, read-only,
	// by every reader until the next: at thousands of sessions building
	// and sorting them per call was a sixth of the call, and the owner
	// does not build them at each change (a creation would then cost O(n)).
	lists atomic.Pointer[sessionLists]
}

// sessionLists are ListSessions' and ListSessionsEx's answers as of one
// gen of the view; never changed once stored. Each list, and its
// encoded reply, is built by the first call that answers with it: a
// daemon only ever asked ListSessions keeps no ListSessionsEx list (128
// bytes a session).
type sessionLists struct {
	gen   uint64
	views []*sessionView // by id; published views are never changed

	entOnce, exListOnce sync.Once
	entries             []sessionEntry
	ex                  []sessionExEntry
	// The replies' bodies: a repeated call is then a copy of bytes
	// (encoding thousands of entries by reflection was most of
	// ListSessions at 1000).
	encOnce, exOnce sync.Once
	enc, encEx      *bus.Encoded
}

// entryList is ListSessions' answer.
func (l *sessionLists) entryList() []sessionEntry {
	l.entOnce.Do(func() {
		l.entries = make([]sessionEntry, 0, len(l.views))
		for _, sv := range l.views {
			l.entries = append(l.entries, sv.entry())
		}
	})
	return l.entries
}

// exList is ListSessionsEx's answer.
func (l *sessionLists) exList() []sessionExEntry {
	l.exListOnce.Do(func() {
		l.ex = make([]sessionExEntry, 0, len(l.views))
		for _, sv := range l.views {
			l.ex = append(l.ex, sv.ex())
		}
	})
	return l.ex
}

// userView is one user as published: its properties but Sessions, and
// the ids Sessions lists (one copy of the slice, not a list of paths
// built at every change of one of its sessions).
type userView struct {
	props    map[string]godbus.Variant
	sessions []string
}

// sessionView is one session as published: a copy of its published part
// (sessionPub, not the owner's handles) and what its seat decides.
// Properties are built from it when asked: 128 bytes per session instead
// of a map of variants.
type sessionView struct {
	rec    sessionPub
	active bool
	path   godbus.ObjectPath
}

// props are the session's properties as published.
func (sv *sessionView) props() map[string]godbus.Variant {
	return sessionPropsOf(&sv.rec, sv.active)
}

// state is the session's State as published.
func (sv *sessionView) state() string { return stateOf(sv.rec.Stopping, sv.active) }

// snapshot copies ss for the view; old, if not nil, is its last copy,
// whose object path it shares (an id never changes: building the path
// again was an allocation per change).
func (s *state) snapshot(ss *session, old *sessionView) *sessionView {
	sv := &sessionView{rec: ss.sessionPub, active: s.sessionActive(ss)}
	if old != nil {
		sv.path = old.path
	} else {
		sv.path = sessionPath(ss.ID)
	}
	return sv
}

func (sv *sessionView) entry() sessionEntry {
	r := &sv.rec
	return sessionEntry{r.ID, r.UID, r.UserName, r.Seat, sv.path}
}

func (sv *sessionView) ex() sessionExEntry {
	r := &sv.rec
	return sessionExEntry{r.ID, r.UID, r.UserName, r.Seat, r.Leader, r.Class, r.TTY, r.IdleHint, r.IdleMonotonic, sv.path}
}

// sessionEmits are a session's emits-change properties: a change of a
// session compares these instead of two maps of every property (two
// thirds of the owner's allocations for a SetLockedHint were those maps).
type sessionEmits struct {
	tty, display, typ, class, state string
	active, idle, locked            bool
	idleRT, idleMono                uint64
}

func (sv *sessionView) emits() sessionEmits {
	r := &sv.rec
	return sessionEmits{tty: r.TTY, display: r.Display, typ: r.Type, class: r.Class, state: sv.state(),
		active: sv.active, idle: r.IdleHint, locked: r.LockedHint, idleRT: r.IdleRealtime, idleMono: r.IdleMonotonic}
}

// sessionChanges are the emits-change properties whose values differ
// between two published views of one session; nil when none does.
func sessionChanges(old, cur *sessionView) map[string]godbus.Variant {
	a, b := old.emits(), cur.emits()
	if a == b {
		return nil
	}
	// One test per property: a value is boxed only when it is sent.
	changed := map[string]godbus.Variant{}
	if a.tty != b.tty {
		changed["TTY"] = v(b.tty)
	}
	if a.display != b.display {
		changed["Display"] = v(b.display)
	}
	if a.typ != b.typ {
		changed["Type"] = v(b.typ)
	}
	if a.class != b.class {
		changed["Class"] = v(b.class)
	}
	if a.active != b.active {
		changed["Active"] = v(b.active)
	}
	if a.state != b.state {
		changed["State"] = v(b.state)
	}
	if a.idle != b.idle {
		changed["IdleHint"] = v(b.idle)
	}
	if a.idleRT != b.idleRT {
		changed["IdleSinceHint"] = v(b.idleRT)
	}
	if a.idleMono != b.idleMono {
		changed["IdleSinceHintMonotonic"] = v(b.idleMono)
	}
	if a.locked != b.locked {
		changed["LockedHint"] = v(b.locked)
	}
	return changed
}

// sessionChanged announces what differs between two published views of
// one session.
func (s *state) sessionChanged(old, cur *sessionView) {
	if changed := sessionChanges(old, cur); changed != nil {
		s.emitChanged(cur.path, s.m.ifc.session, changed)
	}
}

func newView() *view {
	return &view{sessions: map[string]*sessionView{}, leaders: map[uint32]string{}, users: map[uint32]*userView{},
		seats: map[string]map[string]godbus.Variant{}}
}

// propChange is one published object's properties before and after a
// batch: a session's views, or another object's property maps.
type propChange struct {
	path       godbus.ObjectPath
	ifc        *bus.Interface
	old, cur   map[string]godbus.Variant
	sold, scur *sessionView
}

// publish refreshes the view for the dirty objects (dropping those that
// are gone) and keeps, for announceChanges, what was published before.
// A new object is announced by its creation signal, not by
// PropertiesChanged.
func (s *state) publish() {
	vw := s.m.view
	vw.mu.Lock()
	for id := range s.dirtySess {
		ss, ok := s.sessions[id]
		old := vw.sessions[id]
		if old != nil && vw.leaders[old.rec.Leader] == id {
			delete(vw.leaders, old.rec.Leader)
		}
		if !ok {
			if old != nil {
				delete(vw.sessions, id)
				vw.gen++
			}
			continue
		}
		cur := s.snapshot(ss, old)
		if old == nil || old.entry() != cur.entry() || old.ex() != cur.ex() {
			vw.gen++
		}
		vw.sessions[id] = cur
		if ss.Leader != 0 {
			vw.leaders[ss.Leader] = id
		}
		if old != nil {
			s.changes = append(s.changes, propChange{sold: old, scur: cur})
		}
	}
	for uid := range s.dirtyUser {
		u, ok := s.users[uid]
		old := vw.users[uid]
		if !ok {
			delete(vw.users, uid)
			continue
		}
		// The owner only appends to u.Sessions or replaces it (remove),
		// never changes it in place: the view shares it, capped so that
		// nothing appends through the view's copy (a clone was an O(n)
		// copy at each creation).
		cur := &userView{props: s.userPropsButSessions(u), sessions: u.Sessions[:len(u.Sessions):len(u.Sessions)]}
		vw.users[uid] = cur
		if old != nil {
			// Sessions is not emits-change: the rest decides.
			s.changes = append(s.changes, propChange{path: userPath(uid), ifc: s.m.ifc.user, old: old.props, cur: cur.props})
		}
	}
	for id := range s.dirtySeat {
		st, ok := s.seats[id]
		old := vw.seats[id]
		if !ok {
			delete(vw.seats, id)
			continue
		}
		props := s.seatProps(st)
		vw.seats[id] = props
		if old != nil {
			s.changes = append(s.changes, propChange{path: seatPath(id), ifc: s.m.ifc.seat, old: old, cur: props})
		}
	}
	vw.mu.Unlock()
	if s.mutated {
		cur := s.managerProps()
		if s.mgrSnap != nil {
			s.changes = append(s.changes, propChange{path: ManagerPath, ifc: s.m.ifc.manager, old: s.mgrSnap, cur: cur})
		}
		s.mgrSnap = cur
	}
}

// announceChanges sends the PropertiesChanged of what publish kept: the
// sessions' first, then users', seats' and the Manager's.
func (s *state) announceChanges() {
	for _, c := range s.changes {
		if c.scur != nil {
			s.sessionChanged(c.sold, c.scur)
		}
	}
	for _, c := range s.changes {
		if c.scur == nil {
			s.announce(c.path, c.ifc, c.old, c.cur)
		}
	}
	clear(s.changes)
	s.changes = s.changes[:0]
}

// announce sends PropertiesChanged for the emits-change properties of
// ifc whose value differs between old and cur.
func (s *state) announce(path godbus.ObjectPath, ifc *bus.Interface, old, cur map[string]godbus.Variant) {
	if changed := changedProps(ifc, old, cur); changed != nil {
		s.emitChanged(path, ifc, changed)
	}
}

// changedProps are ifc's emits-change properties whose values differ
// between old and cur; nil when none does.
func changedProps(ifc *bus.Interface, old, cur map[string]godbus.Variant) map[string]godbus.Variant {
	var changed map[string]godbus.Variant
	for _, p := range ifc.Properties {
		if p.Flags != bus.PropEmitChange {
			continue
		}
		nv := cur[p.Name]
		if reflect.DeepEqual(old[p.Name].Value(), nv.Value()) {
			continue
		}
		if changed == nil {
			changed = map[string]godbus.Variant{}
		}
		changed[p.Name] = nv
	}
	return changed
}

// emitChanged sends PropertiesChanged for ifc's changed properties.
func (s *state) emitChanged(path godbus.ObjectPath, ifc *bus.Interface, changed map[string]godbus.Variant) {
	if s.em == nil {
		return
	}
	if err := s.em.Emit(path, bus.IfaceProperties+".PropertiesChanged", ifc.Name, changed, []string{}); err != nil {
		s.log().Warn("emit PropertiesChanged", "path", path, "err", err)
	}
}

// session returns the published session id.
func (vw *view) session(id string) (*sessionView, bool) {
	vw.mu.RLock()
	defer vw.mu.RUnlock()
	sv, ok := vw.sessions[id]
	return sv, ok
}

// ledBy returns the published session whose leader is pid.
func (vw *view) ledBy(pid uint32) (string, bool) {
	vw.mu.RLock()
	defer vw.mu.RUnlock()
	id, ok := vw.leaders[pid]
	return id, ok
}

// userProps returns the published properties of user uid.
func (vw *view) userProps(uid uint32) (map[string]godbus.Variant, bool) {
	vw.mu.RLock()
	uv, ok := vw.users[uid]
	vw.mu.RUnlock()
	if !ok {
		return nil, false
	}
	p := make(map[string]godbus.Variant, len(uv.props)+1)
	maps.Copy(p, uv.props)
	list := make([]idPath, 0, len(uv.sessions))
	for _, id := range uv.sessions {
		list = append(list, idPath{id, sessionPath(id)})
	}
	p["Sessions"] = v(list)
	return p, true
}

// seatProps returns the published properties of seat id.
func (vw *view) seatProps(id string) (map[string]godbus.Variant, bool) {
	vw.mu.RLock()
	defer vw.mu.RUnlock()
	p, ok := vw.seats[id]
	return p, ok
}

// listSessions is ListSessions' answer, by id. The slice is shared:
// callers only read it.
func (vw *view) listSessions() []sessionEntry { return vw.sorted().entryList() }

// listSessionsEx is ListSessionsEx's answer, by id; shared as
// listSessions'.
func (vw *view) listSessionsEx() []sessionExEntry { return vw.sorted().exList() }

// listReply is ListSessions' (ex: ListSessionsEx's) reply body, encoded
// once per generation of the view.
func (vw *view) listReply(ex bool) []any {
	l := vw.sorted()
	once, enc, list := &l.encOnce, &l.enc, func() any { return l.entryList() }
	if ex {
		once, enc, list = &l.exOnce, &l.encEx, func() any { return l.exList() }
	}
	once.Do(func() {
		// Only a type godbus cannot encode fails, and these are fixed
		// structs; the plain list is the fallback all the same.
		*enc, _ = bus.Encode(list())
	})
	if *enc == nil {
		return []any{list()}
	}
	return []any{*enc}
}

// sorted returns both lists for the view as published now, building
// them when the last ones are older.
func (vw *view) sorted() *sessionLists {
	vw.mu.RLock()
	gen := vw.gen
	if l := vw.lists.Load(); l != nil && l.gen == gen {
		vw.mu.RUnlock()
		return l
	}
	l := &sessionLists{gen: gen, views: make([]*sessionView, 0, len(vw.sessions))}
	ids := make([]string, 0, len(vw.sessions))
	for id := range vw.sessions {
		ids = append(ids, id)
	}
	sortStrings(ids)
	for _, id := range ids {
		l.views = append(l.views, vw.sessions[id])
	}
	vw.mu.RUnlock()
	// Keep the newest: a reader that built an older gen must not
	// replace a newer one stored meanwhile.
	for {
		cur := vw.lists.Load()
		if cur != nil && cur.gen >= gen {
			if cur.gen == gen {
				return cur
			}
			return l
		}
		if vw.lists.CompareAndSwap(cur, l) {
			return l
		}
	}
}

// children lists the labels below one of the three object directories.
func (vw *view) children(dir string) []string {
	vw.mu.RLock()
	var kids []string
	switch dir {
	case sessionDir:
		for id := range vw.sessions {
			kids = append(kids, bus.EscapeLabel(id))
		}
	case seatDir:
		for id := range vw.seats {
			kids = append(kids, bus.EscapeLabel(id))
		}
	default:
		for uid := range vw.users {
			kids = append(kids, "_"+utoa(uid))
		}
	}
	vw.mu.RUnlock()
	sortStrings(kids)
	return kids
}
