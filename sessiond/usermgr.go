package sessiond

import (
	"context"
	"time"

	"ginit/sessiond/sys"
)

// UserManagers start and stop the users' service managers (user@UID:
// `ginit --user` as the user, with the session bus). The owner loop
// decides when; the methods block and run on goroutines of their own,
// never on the loop. sys.UserManagers asks ginit over its control socket,
// or supervises the managers itself where no ginit answers.
type UserManagers interface {
	// Start starts uid's manager unless it runs, and returns once it is
	// ready (its boot started: the session bus accepts connections) or
	// has failed. It is idempotent: a restarted sessiond calls it again
	// for every user it restores.
	Start(ctx context.Context, u UserInfo) error
	// Stop stops the manager with every process left in its cgroup, and
	// removes the cgroup.
	Stop(ctx context.Context, u UserInfo) error
}

// UserInfo names the user whose manager is meant.
type UserInfo = sys.UserInfo

// sys.UserManagers is the machine's.
var _ UserManagers = (*sys.UserManagers)(nil)

// mgrState is where a user's manager is, as the loop knows it:
//
//	none --wantManager--> starting --Start returned--> running (or none on failure)
//	running --last session gone, UserStopDelay later; TerminateUser--> stopping
//	stopping --Stop returned--> none (starting again if a session came meanwhile)
type mgrState int

const (
	mgrNone mgrState = iota
	mgrStarting
	mgrRunning
	mgrStopping
)

// userManager is the loop's record of one user's manager.
type userManager struct {
	state mgrState
	gen   int           // which Start or Stop an answer belongs to
	ready chan struct{} // closed when the current (or wanted) start ends
	timer stopper       // the UserStopDelay timer, while armed
	again bool          // a start is wanted once the stop in flight ends
	stop  bool          // stop once the start in flight ends (TerminateUser)
}

// unitNames are the user's manager service and slice, as User.Service,
// User.Slice and the user file name them.
func userService(uid uint32) string { return "user@" + utoa(uid) + ".service" }
func userSlice(uid uint32) string   { return "user-" + utoa(uid) + ".slice" }

// DefaultUserStartWait bounds how long CreateSession waits for the
// manager of a user's first session.
const DefaultUserStartWait = 10 * time.Second

func (s *state) userInfo(u *user) UserInfo {
	return UserInfo{UID: u.UID, GID: u.GID, Name: u.Name, RuntimeDir: s.cfg.runtimePath(u.UID)}
}

// wantManager makes sure u's manager runs or is coming (a session opened,
// linger was enabled, sessiond restarted) and returns a channel closed
// once it is ready or its start has failed (nil: sessiond starts no
// managers). A pending stop is called off.
func (s *state) wantManager(u *user) <-chan struct{} {
	if s.cfg.UserManagers == nil {
		return nil
	}
	um := &u.mgr
	if um.timer != nil {
		um.timer.Stop()
		um.timer = nil
	}
	um.stop = false
	if u.Stopping && um.state != mgrStopping {
		u.Stopping = false
		s.dirtyUser[u.UID] = true
		s.mutated = true
	}
	switch um.state {
	case mgrStarting, mgrRunning:
		return um.ready
	case mgrStopping:
		if !um.again {
			um.again = true
			um.ready = make(chan struct{})
		}
		return um.ready
	}
	s.startManager(u)
	return um.ready
}

// startManager starts u's manager on a goroutine; the answer comes back
// to the loop as managerStarted.
func (s *state) startManager(u *user) {
	um := &u.mgr
	if !um.again || um.ready == nil {
		um.ready = make(chan struct{})
	}
	um.again = false
	um.state = mgrStarting
	um.gen++
	gen, ready, info, ums := um.gen, um.ready, s.userInfo(u), s.cfg.UserManagers
	ctx, m := s.m.ctx, s.m
	go func() {
		err := ums.Start(ctx, info)
		close(ready)
		m.post(func(s *state) { s.managerStarted(info.UID, gen, err) })
	}()
}

func (s *state) managerStarted(uid uint32, gen int, err error) {
	u := s.users[uid]
	if u == nil || u.mgr.gen != gen || u.mgr.state != mgrStarting {
		return
	}
	if err != nil {
		s.log().Error("user manager did not start", "uid", uid, "unit", userService(uid), "err", err)
		u.mgr.state = mgrNone // the next login tries again
	} else {
		s.log().Info("user manager ready", "uid", uid, "unit", userService(uid))
		u.mgr.state = mgrRunning
	}
	if u.mgr.stop {
		u.mgr.stop = false
		s.stopManager(u)
		return
	}
	s.maybeRemoveUser(u)
}

// keepUser is maybeRemoveUser's question for a user without sessions or
// linger: does its manager keep it (as "closing") a while longer? It arms
// the UserStopDelay timer the first time it is asked.
func (s *state) keepUser(u *user) bool {
	um := &u.mgr
	switch um.state {
	case mgrNone:
		return false
	case mgrStarting, mgrStopping:
		// managerStarted and managerStopped ask again.
		s.setStopping(u, true)
		return true
	}
	s.setStopping(u, true)
	if um.timer == nil {
		uid, gen := u.UID, um.gen
		um.timer = s.cfg.Clock.AfterFunc(s.cfg.Login.UserStopDelay, func() {
			s.m.post(func(s *state) { s.stopDue(uid, gen) })
		})
	}
	return true
}

func (s *state) setStopping(u *user, on bool) {
	if u.Stopping != on {
		u.Stopping = on
		s.dirtyUser[u.UID] = true
		s.mutated = true
	}
}

// stopDue is the UserStopDelay timer's end.
func (s *state) stopDue(uid uint32, gen int) {
	u := s.users[uid]
	if u == nil || u.mgr.gen != gen || u.mgr.timer == nil {
		return
	}
	u.mgr.timer = nil
	if len(u.Sessions) > 0 || u.Linger {
		return
	}
	s.stopManager(u)
}

// stopManager stops u's manager now (TerminateUser, or the delay is over).
func (s *state) stopManager(u *user) {
	um := &u.mgr
	if um.timer != nil {
		um.timer.Stop()
		um.timer = nil
	}
	um.again = false
	switch um.state {
	case mgrNone, mgrStopping:
		return
	case mgrStarting:
		um.stop = true
		return
	}
	um.state = mgrStopping
	um.gen++
	s.setStopping(u, true)
	gen, info, ums := um.gen, s.userInfo(u), s.cfg.UserManagers
	ctx, m := s.m.ctx, s.m
	go func() {
		err := ums.Stop(ctx, info)
		m.post(func(s *state) { s.managerStopped(info.UID, gen, err) })
	}()
}

func (s *state) managerStopped(uid uint32, gen int, err error) {
	u := s.users[uid]
	if u == nil || u.mgr.gen != gen || u.mgr.state != mgrStopping {
		return
	}
	if err != nil {
		s.log().Error("user manager did not stop cleanly", "uid", uid, "unit", userService(uid), "err", err)
	} else {
		s.log().Info("user manager stopped", "uid", uid, "unit", userService(uid))
	}
	u.mgr.state = mgrNone
	if u.mgr.again {
		s.startManager(u)
		s.setStopping(u, false)
		return
	}
	s.setStopping(u, false)
	s.maybeRemoveUser(u)
}

// awaitManager waits (off the loop) until ready is closed, at most the
// configured UserStartWait: a login is never held up for longer, nor
// failed, by a manager that is slow or broken.
func (m *Manager) awaitManager(ready <-chan struct{}) {
	if ready == nil {
		return
	}
	t := time.NewTimer(m.cfg.UserStartWait)
	defer t.Stop()
	select {
	case <-ready:
	case <-t.C:
		m.cfg.Log.Warn("user manager not ready in time; the login goes on without waiting", "waited", m.cfg.UserStartWait)
	case <-m.ctx.Done():
	}
}
