package sessiond

import (
	"reflect"
	"sync"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
)

// view is what the owner loop publishes for read-only calls: the
// properties of every session, user and seat as of the last flush. Only
// the owner writes it (in flush, for the objects marked dirty, so one
// change costs one object, whatever the number of sessions); bus
// handlers read it under the read lock instead of queueing a closure
// and waiting for the owner (a goroutine hop per call, which under
// load was most of a read call's cost). Every published map is
// replaced, never changed, so a reader may keep one after unlocking.
//
// A reply to a change is sent after the flush that published it, so a
// client reads its own writes.
type view struct {
	mu       sync.RWMutex // a leaf lock: nothing else is taken under it
	sessions map[string]*sessionView
	users    map[uint32]map[string]godbus.Variant
	seats    map[string]map[string]godbus.Variant
}

// sessionView is one session as published.
type sessionView struct {
	entry sessionEntry
	ex    sessionExEntry
	props map[string]godbus.Variant
}

func newView() *view {
	return &view{sessions: map[string]*sessionView{}, users: map[uint32]map[string]godbus.Variant{},
		seats: map[string]map[string]godbus.Variant{}}
}

// publish refreshes the view for the dirty objects (dropping those that
// are gone) and announces the emits-change properties that differ from
// what was published before. A new object is announced by its creation
// signal, not by PropertiesChanged.
func (s *state) publish() {
	vw := s.m.view
	type change struct {
		path     godbus.ObjectPath
		ifc      *bus.Interface
		old, cur map[string]godbus.Variant
	}
	var changes []change
	vw.mu.Lock()
	for id := range s.dirtySess {
		ss, ok := s.sessions[id]
		old := vw.sessions[id]
		if !ok {
			delete(vw.sessions, id)
			continue
		}
		props := s.sessionProps(ss)
		vw.sessions[id] = &sessionView{
			entry: sessionEntry{ss.ID, ss.UID, ss.UserName, ss.Seat, sessionPath(ss.ID)},
			ex: sessionExEntry{ss.ID, ss.UID, ss.UserName, ss.Seat, ss.Leader, ss.Class, ss.TTY,
				ss.IdleHint, ss.IdleMonotonic, sessionPath(ss.ID)},
			props: props,
		}
		if old != nil {
			changes = append(changes, change{sessionPath(id), s.m.ifc.session, old.props, props})
		}
	}
	for uid := range s.dirtyUser {
		u, ok := s.users[uid]
		old := vw.users[uid]
		if !ok {
			delete(vw.users, uid)
			continue
		}
		props := s.userProps(u)
		vw.users[uid] = props
		if old != nil {
			changes = append(changes, change{userPath(uid), s.m.ifc.user, old, props})
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
			changes = append(changes, change{seatPath(id), s.m.ifc.seat, old, props})
		}
	}
	vw.mu.Unlock()
	for _, c := range changes {
		s.announce(c.path, c.ifc, c.old, c.cur)
	}
	if s.mutated {
		cur := s.managerProps()
		if s.mgrSnap != nil {
			s.announce(ManagerPath, s.m.ifc.manager, s.mgrSnap, cur)
		}
		s.mgrSnap = cur
	}
}

// announce sends PropertiesChanged for the emits-change properties of
// ifc whose value differs between old and cur.
func (s *state) announce(path godbus.ObjectPath, ifc *bus.Interface, old, cur map[string]godbus.Variant) {
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
	if changed != nil && s.em != nil {
		if err := s.em.Emit(path, bus.IfaceProperties+".PropertiesChanged", ifc.Name, changed, []string{}); err != nil {
			s.log().Warn("emit PropertiesChanged", "path", path, "err", err)
		}
	}
}

// session returns the published session id.
func (vw *view) session(id string) (*sessionView, bool) {
	vw.mu.RLock()
	defer vw.mu.RUnlock()
	sv, ok := vw.sessions[id]
	return sv, ok
}

// userProps returns the published properties of user uid.
func (vw *view) userProps(uid uint32) (map[string]godbus.Variant, bool) {
	vw.mu.RLock()
	defer vw.mu.RUnlock()
	p, ok := vw.users[uid]
	return p, ok
}

// seatProps returns the published properties of seat id.
func (vw *view) seatProps(id string) (map[string]godbus.Variant, bool) {
	vw.mu.RLock()
	defer vw.mu.RUnlock()
	p, ok := vw.seats[id]
	return p, ok
}

// listSessions is ListSessions' answer, by id.
func (vw *view) listSessions() []sessionEntry {
	vw.mu.RLock()
	out := make([]sessionEntry, 0, len(vw.sessions))
	for _, sv := range vw.sessions {
		out = append(out, sv.entry)
	}
	vw.mu.RUnlock()
	sortBy(out, func(e sessionEntry) string { return e.ID })
	return out
}

// listSessionsEx is ListSessionsEx's answer, by id.
func (vw *view) listSessionsEx() []sessionExEntry {
	vw.mu.RLock()
	out := make([]sessionExEntry, 0, len(vw.sessions))
	for _, sv := range vw.sessions {
		out = append(out, sv.ex)
	}
	vw.mu.RUnlock()
	sortBy(out, func(e sessionExEntry) string { return e.ID })
	return out
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
