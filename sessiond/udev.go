package sessiond

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

// SeatDevices is udev's view of the seats' device nodes (sys.Udev).
type SeatDevices interface {
	// Running reports whether udev has a database on this boot.
	Running() bool
	// SeatDevices lists the nodes tagged seat or uaccess with their seats.
	SeatDevices() ([]sys.SeatDevice, error)
	// Watch calls changed (on any goroutine) after udev events that may
	// have changed the list, until stop is called.
	Watch(changed func()) (stop func(), err error)
}

// ACLs gives the active user of a seat access to its uaccess devices.
type ACLs interface {
	// SetDeviceACL adds (grant) or removes uid's read-write entry in the
	// node's access ACL, keeping every other entry.
	SetDeviceACL(d sys.SeatDevice, uid uint32, grant bool) error
	// ResetDeviceACL leaves uid's entry (grant) the only named user's.
	ResetDeviceACL(d sys.SeatDevice, uid uint32, grant bool) error
}

// seatDevs is what udev said of one seat's devices, kept in the seat.
type seatDevs struct {
	// known: udev's database was read (else CanGraphical comes from
	// Config.CanGraphical, polled).
	known bool
	nodes map[string]sys.SeatDevice // by udev id
	// aclUID is the user whose ACL entries the uaccess nodes carry;
	// aclOn false: nobody's.
	aclUID uint32
	aclOn  bool
	// reset: the nodes' entries were reset once to the active user's, so
	// none granted by a sessiond before a restart outlives it.
	reset bool
}

// scanUdev reads udev's database off the owner loop and applies it on
// the loop; rescans are serialized (scanMu) so an older list is never
// applied after a newer one.
func (m *Manager) scanUdev() {
	if m.cfg.Udev == nil {
		return
	}
	m.scanMu.Lock()
	defer m.scanMu.Unlock()
	running := m.cfg.Udev.Running()
	var devs []sys.SeatDevice
	if running {
		var err error
		if devs, err = m.cfg.Udev.SeatDevices(); err != nil {
			m.cfg.Log.Warn("udev database", "err", err)
			return
		}
	}
	_ = m.do(func(s *state) error { s.applyUdev(running, devs); return nil })
}

// applyUdev puts udev's device list on the seats: a seat exists while a
// master-of-seat node is on it (seat0 always), CanGraphical says whether
// one is, and the seat's active user gets an ACL on every uaccess node,
// including those just plugged in (granting is idempotent, so a node
// removed and re-added between two scans gets its entry back).
func (s *state) applyUdev(running bool, devs []sys.SeatDevice) {
	if !running {
		for _, st := range s.seats {
			st.devs.known = false
		}
		return
	}
	bySeat := map[string]map[string]sys.SeatDevice{}
	master := map[string]bool{}
	for _, d := range devs {
		if bySeat[d.Seat] == nil {
			bySeat[d.Seat] = map[string]sys.SeatDevice{}
		}
		bySeat[d.Seat][d.ID] = d
		if d.Master {
			master[d.Seat] = true
		}
	}
	for id := range master {
		if s.seats[id] == nil {
			s.addSeat(id)
		}
	}
	// Revoke on nodes that left a seat before granting on the seats they
	// joined: a node moved between two seats of one user keeps its entry.
	for _, st := range s.seats {
		if !st.devs.aclOn {
			continue
		}
		for id, d := range st.devs.nodes {
			if n, ok := bySeat[st.ID][id]; d.Uaccess && (!ok || n.Node != d.Node || !n.Uaccess) {
				s.setACL(d, st.devs.aclUID, false)
			}
		}
	}
	for _, id := range sortedSeatIDs(s.seats) {
		st := s.seats[id]
		st.devs.known = true
		st.devs.nodes = bySeat[id]
		if st.devs.aclOn {
			for _, d := range st.devs.nodes {
				if d.Uaccess {
					s.setACL(d, st.devs.aclUID, true)
				}
			}
		}
		if st.CanGraph != master[id] {
			st.CanGraph = master[id]
			s.dirtySeat[id] = true
			s.mutated = true
			s.log().Info("seat graphics changed", "seat", id, "can_graphical", st.CanGraph)
		}
		if id != "seat0" && !master[id] && len(st.Sessions) == 0 {
			s.removeSeat(st)
		}
	}
}

func sortedSeatIDs(m map[string]*seat) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// addSeat creates a seat udev found a master device for.
func (s *state) addSeat(id string) {
	st := &seat{ID: id}
	s.seats[id] = st
	s.dirtySeat[id] = true
	s.mutated = true
	s.emit(ManagerPath, IfaceManager+".SeatNew", id, seatPath(id))
	s.log().Info("seat added", "seat", id)
}

// removeSeat drops a seat (never seat0) that lost its last master
// device and has no sessions left.
func (s *state) removeSeat(st *seat) {
	delete(s.seats, st.ID)
	s.dirtySeat[st.ID] = true // the flush drops it from the published view
	s.mutated = true
	if err := os.Remove(filepath.Join(s.cfg.seatsDir(), st.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log().Warn("remove seat file", "seat", st.ID, "err", err)
	}
	s.emit(ManagerPath, IfaceManager+".SeatRemoved", st.ID, seatPath(st.ID))
	s.log().Info("seat removed", "seat", st.ID)
}

func (s *state) setACL(d sys.SeatDevice, uid uint32, grant bool) {
	if s.cfg.ACL == nil {
		return
	}
	if err := s.cfg.ACL.SetDeviceACL(d, uid, grant); err != nil && !(errors.Is(err, os.ErrNotExist) && !grant) {
		s.log().Warn("device ACL", "device", d.Node, "uid", uid, "grant", grant, "err", err)
	}
}

// syncSeatACLs moves the uaccess ACLs of every seat to its active
// session's user (run at each flush: whatever changed the active
// session, the entries follow). Root gets none, as with logind. The
// first time a seat's nodes are known, other users' entries are removed
// too, as udev's uaccess builtin does on every event: what a sessiond
// killed before a switch had granted does not stay.
func (s *state) syncSeatACLs() {
	for _, st := range s.seats {
		var uid uint32
		on := false
		if a := s.sessions[st.Active]; a != nil && a.UID != 0 {
			uid, on = a.UID, true
		}
		if st.devs.known && !st.devs.reset {
			for _, d := range st.devs.nodes {
				if d.Uaccess && s.cfg.ACL != nil {
					if err := s.cfg.ACL.ResetDeviceACL(d, uid, on); err != nil {
						s.log().Warn("device ACL", "device", d.Node, "uid", uid, "err", err)
					}
				}
			}
			st.devs.aclUID, st.devs.aclOn, st.devs.reset = uid, on, true
			continue
		}
		if on == st.devs.aclOn && uid == st.devs.aclUID {
			continue
		}
		for _, d := range st.devs.nodes {
			if !d.Uaccess {
				continue
			}
			if st.devs.aclOn {
				s.setACL(d, st.devs.aclUID, false)
			}
			if on {
				s.setACL(d, uid, true)
			}
		}
		st.devs.aclUID, st.devs.aclOn = uid, on
		if on {
			s.log().Debug("seat devices given to the active user", "seat", st.ID, "uid", uid)
		}
	}
}

// watchSeats follows udev: a rescan after each burst of events, and one
// every `every` as the fallback where udev's monitor cannot be opened;
// without udev CanGraphical is polled from Config.CanGraphical (a DRM
// driver that binds late in boot sends no event then). It returns once
// ctx ends.
func (m *Manager) watchSeats(ctx context.Context, every time.Duration) {
	watched := false
	if m.cfg.Udev != nil {
		stop, err := m.cfg.Udev.Watch(m.scanUdev)
		if err != nil {
			m.cfg.Log.Warn("cannot follow udev events; its database is polled", "every", every, "err", err)
		} else {
			watched = true
			defer stop()
		}
		// Events between Start's scan and the watch.
		m.scanUdev()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m.cfg.Udev != nil && !watched {
			m.scanUdev()
		}
		if m.cfg.CanGraphical != nil {
			v := m.cfg.CanGraphical()
			m.post(func(s *state) { s.setCanGraphical(v) })
		}
	}
}

// startUdev is Start's first scan, on the caller's goroutine before Run,
// so the first seat files written already say CanGraphical right.
func (m *Manager) startUdev() {
	if m.cfg.Udev == nil || !m.cfg.Udev.Running() {
		return
	}
	devs, err := m.cfg.Udev.SeatDevices()
	if err != nil {
		m.cfg.Log.Warn("udev database", "err", err)
		return
	}
	m.st.applyUdev(true, devs)
}

// SeatRules moves devices between seats with udev rules (sys.Udev).
type SeatRules interface {
	// AttachDevice writes the rule putting the device at sysfs path (and
	// its children) on seat and has udev apply it.
	AttachDevice(seat, sysfs string) error
	// FlushDevices removes every such rule and has udev apply that.
	FlushDevices() error
}

// seatMethods are the Manager's AttachDevice and FlushDevices.
func (m *Manager) seatMethods() []bus.Method {
	return []bus.Method{
		{Name: "AttachDevice", In: []bus.Arg{arg("seat_id", "s"), arg("sysfs_path", "s"), arg("interactive", "b")}, Handler: m.hAttachDevice},
		{Name: "FlushDevices", In: []bus.Arg{arg("interactive", "b")}, Handler: m.hFlushDevices},
	}
}

func (m *Manager) seatRules() (SeatRules, error) {
	if r, ok := m.cfg.Udev.(SeatRules); ok {
		return r, nil
	}
	return nil, bus.Errorf(bus.ErrNotSupported, "No udev: devices cannot be attached to seats")
}

// hAttachDevice checks the arguments as logind does (seat name, then
// authorization), then writes the rule off the owner loop: the trigger
// walks sysfs, and the seats follow from udev's events.
func (m *Manager) hAttachDevice(c *bus.Call) ([]any, error) {
	var seatID, sysfs string
	var interactive bool
	if err := c.Store(&seatID, &sysfs, &interactive); err != nil {
		return nil, err
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if isSelfish(seatID) {
		err := m.do(func(s *state) error {
			st, err := s.findSeat(seatID, &cl)
			if err == nil {
				seatID = st.ID
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	} else if !sys.ValidSeatName(seatID) {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Seat %s is not valid", seatID)
	}
	if filepath.Clean(sysfs) != sysfs || !strings.HasPrefix(sysfs, "/sys/") {
		return nil, bus.Errorf(bus.ErrInvalidArgs, "Path %s is not a normalized path below /sys", sysfs)
	}
	if err := m.authorize(c, &cl, actionRule("org.freedesktop.login1.attach-device"), interactive); err != nil {
		return nil, err
	}
	r, err := m.seatRules()
	if err != nil {
		return nil, err
	}
	if err := r.AttachDevice(seatID, sysfs); err != nil {
		return nil, errnoError(err)
	}
	m.cfg.Log.Info("device attached to a seat", "seat", seatID, "device", sysfs, "uid", cl.UID)
	return nil, nil
}

func (m *Manager) hFlushDevices(c *bus.Call) ([]any, error) {
	var interactive bool
	if err := c.Store(&interactive); err != nil {
		return nil, err
	}
	cl, err := m.caller(c)
	if err != nil {
		return nil, err
	}
	if err := m.authorize(c, &cl, actionRule("org.freedesktop.login1.flush-devices"), interactive); err != nil {
		return nil, err
	}
	r, err := m.seatRules()
	if err != nil {
		return nil, err
	}
	if err := r.FlushDevices(); err != nil {
		return nil, errnoError(err)
	}
	m.cfg.Log.Info("seat assignments flushed", "uid", cl.UID)
	return nil, nil
}
