package service

import (
	"context"
	"fmt"
)

// Loading is split in two. Reading descriptions (files: slow on a bad disk,
// hostile when they name a FIFO) runs on the requesting goroutine through
// cfg.Load, which is pure; the manager goroutine only validates and links
// what it returns (install). So a slow load delays its own request, never
// the loop. Two requests may read the same service at once: the first
// install wins and the second finds the record there.

// readDescs runs the loader for name; it is called off the manager goroutine.
func (m *Manager) readDescs(name string) ([]*Description, error) {
	if m.cfg.Load == nil {
		return nil, fmt.Errorf("service '%s': %w", name, ErrNotLoaded)
	}
	return m.cfg.Load(name)
}

// readFlight is a read of one name under way off the loop: a second
// request for the name waits for it instead of reading the same files
// again (a boot's start of a target and a ctl start of it arrive together,
// and each read of 1000 descriptions is megabytes of garbage interleaved
// with the records that stay, which the heap keeps as fragmentation).
type readFlight struct {
	done    chan struct{} // closed once descs and err are set
	descs   []*Description
	err     error
	waiters int // requests that joined it (manager goroutine; tests)
}

// joinRead returns the read of name under way, or starts one that the
// caller must do (mine). Manager goroutine.
func (m *Manager) joinRead(name string) (fl *readFlight, mine bool) {
	if fl = m.reads[name]; fl != nil {
		fl.waiters++
		return fl, false
	}
	if m.reads == nil {
		m.reads = make(map[string]*readFlight)
	}
	fl = &readFlight{done: make(chan struct{})}
	m.reads[name] = fl
	return fl, true
}

// read does fl's read of name and ends the flight: later requests read
// afresh (a failed read may succeed once the file is mended).
func (m *Manager) read(name string, fl *readFlight) {
	fl.descs, fl.err = m.readDescs(name)
	close(fl.done)
	m.post(func() {
		if m.reads[name] == fl {
			delete(m.reads, name)
		}
	})
}

// withLoaded runs f on the manager goroutine with the records of names,
// first reading (on the calling goroutine) those that are not loaded. A
// service unloaded between the read and the install is installed from what
// was read; each name is read at most once, so the loop ends.
func (m *Manager) withLoaded(ctx context.Context, names []string, f func(ss []*svc) error) error {
	read := make([][]*Description, len(names))
	for {
		missing := -1
		var fl *readFlight
		var mine bool
		var err error
		if cerr := m.call(ctx, func() {
			ss := make([]*svc, len(names))
			for i, n := range names {
				s := m.services[n]
				if s == nil && read[i] != nil {
					if s, err = m.install(n, read[i]); err != nil {
						return
					}
				}
				if s == nil {
					missing = i
					fl, mine = m.joinRead(n)
					return
				}
				ss[i] = s
			}
			if f != nil {
				err = f(ss)
			}
		}); cerr != nil {
			return cerr
		}
		if missing < 0 || err != nil {
			return err
		}
		if mine {
			m.read(names[missing], fl)
		} else {
			select {
			case <-fl.done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if read[missing], err = fl.descs, fl.err; err != nil {
			return err
		}
	}
}

// chain starts to, the chain-to target of from. A target that is not
// loaded is read on a goroutine of its own; pendingLoads keeps an idle exit
// from overtaking it.
func (m *Manager) chain(from, to string) {
	if c := m.services[to]; c != nil {
		m.activate(c)
		return
	}
	m.pendingLoads++
	go func() {
		descs, err := m.readDescs(to)
		m.post(func() {
			m.pendingLoads--
			var c *svc
			if err == nil {
				c, err = m.install(to, descs)
			}
			switch {
			case err != nil:
				m.logf("service '%s': chain-to: %v", from, err)
			case !m.shuttingDown:
				m.activate(c)
			}
		})
	}()
}

// install adds the descriptions the loader returned for name that are not
// loaded yet (another request may have loaded some meanwhile), and returns
// name's record. On error nothing already loaded changes.
func (m *Manager) install(name string, descs []*Description) (*svc, error) {
	if s := m.services[name]; s != nil {
		return s, nil
	}
	var fresh []*Description
	for _, d := range descs {
		if m.services[d.Name] == nil {
			fresh = append(fresh, d)
		}
	}
	if err := m.validate(fresh, nil); err != nil {
		return nil, err
	}
	for _, d := range fresh {
		s := &svc{desc: d}
		m.services[d.Name] = s
		m.order = append(m.order, s)
	}
	for _, d := range fresh {
		m.linkDeps(m.services[d.Name])
	}
	m.relinkOrdering()
	s := m.services[name]
	if s == nil {
		return nil, fmt.Errorf("service '%s': the loader did not return it: %w", name, ErrNotLoaded)
	}
	return s, nil
}

// validate checks that every dependency of the fresh descriptions resolves
// and runs the injected whole-set check. replaced substitutes one loaded
// description (reload).
func (m *Manager) validate(fresh []*Description, replaced *Description) error {
	all := make(map[string]*Description, len(m.services)+len(fresh))
	for n, s := range m.services {
		all[n] = s.desc
	}
	for _, d := range fresh {
		all[d.Name] = d
	}
	if replaced != nil {
		all[replaced.Name] = replaced
	}
	for _, d := range fresh {
		for _, e := range d.Deps {
			if e.Kind <= DepWaitsFor && all[e.Name] == nil {
				return fmt.Errorf("service '%s': dependency '%s' was not loaded: %w", d.Name, e.Name, ErrNotLoaded)
			}
		}
		if d.Timer != nil && all[d.Timer.Target] == nil {
			return fmt.Errorf("service '%s': timer-target '%s' was not loaded: %w", d.Name, d.Timer.Target, ErrNotLoaded)
		}
	}
	if m.cfg.Check != nil {
		return m.cfg.Check(all)
	}
	return nil
}

// linkDeps creates the outgoing dependency edges of s.
func (m *Manager) linkDeps(s *svc) {
	for _, dep := range s.desc.Deps {
		if dep.Kind > DepWaitsFor {
			continue
		}
		to := m.services[dep.Name]
		if to == nil || s.edgeTo(to, dep.Kind) != nil {
			continue
		}
		e := &edge{from: s, to: to, kind: dep.Kind, prepared: dep.Prepared}
		s.deps = append(s.deps, e)
		to.dependents = append(to.dependents, e)
	}
}

func (s *svc) edgeTo(to *svc, k DepKind) *edge {
	for _, e := range s.deps {
		if e.to == to && e.kind == k {
			return e
		}
	}
	return nil
}

// relinkOrdering recomputes the after/before lists over all loaded services;
// targets that are not loaded impose no order.
func (m *Manager) relinkOrdering() {
	for _, s := range m.order {
		s.after, s.afterMe = s.after[:0], s.afterMe[:0]
	}
	for _, s := range m.order {
		for _, dep := range s.desc.Deps {
			o := m.services[dep.Name]
			if o == nil || o == s {
				continue
			}
			switch dep.Kind {
			case DepAfter:
				s.after = append(s.after, o)
				o.afterMe = append(o.afterMe, s)
			case DepBefore:
				o.after = append(o.after, s)
				s.afterMe = append(s.afterMe, o)
			}
		}
	}
}

func removeEdge(list []*edge, e *edge) []*edge {
	for i, x := range list {
		if x == e {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

func (m *Manager) unlinkEdge(e *edge) {
	m.release(e)
	e.from.deps = removeEdge(e.from.deps, e)
	e.to.dependents = removeEdge(e.to.dependents, e)
}

// remove unloads a stopped service without dependents.
func (m *Manager) remove(s *svc) {
	if s.held {
		m.releaseHeld(s)
	}
	for len(s.deps) > 0 {
		m.unlinkEdge(s.deps[0])
	}
	delete(m.services, s.name())
	for i, x := range m.order {
		if x == s {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
	m.relinkOrdering()
}

// reload replaces the description of name with descs[name], which the
// caller read afresh; a service that is not loaded is installed.
func (m *Manager) reload(name string, descs []*Description) error {
	s := m.services[name]
	if s == nil {
		_, err := m.install(name, descs)
		return err
	}
	var nd *Description
	var fresh []*Description
	for _, d := range descs {
		switch {
		case d.Name == name:
			nd = d
		case m.services[d.Name] == nil:
			fresh = append(fresh, d)
		}
	}
	if nd == nil {
		return fmt.Errorf("reload '%s': the loader did not return it: %w", name, ErrNotLoaded)
	}
	if s.state != Stopped {
		if nd.Type != s.desc.Type {
			return fmt.Errorf("cannot reload service '%s' while it is %s: its type changed from %s to %s: %w",
				name, s.state, s.desc.Type, nd.Type, ErrBadArgument)
		}
		if nd.Ext().PIDFile != s.desc.Ext().PIDFile || nd.Ext().InittabID != s.desc.Ext().InittabID || nd.Ext().InittabLine != s.desc.Ext().InittabLine ||
			nd.Options.RunsOnConsole != s.desc.Options.RunsOnConsole {
			return fmt.Errorf("cannot reload service '%s' while it is %s: pid-file, inittab or console settings changed: %w",
				name, s.state, ErrBadArgument)
		}
		for _, dep := range nd.Deps {
			if dep.Kind != DepRegular && dep.Kind != DepMilestone {
				continue
			}
			if d := m.services[dep.Name]; (d == nil || d.state != Started) && !s.desc.DependsOn(dep.Name, dep.Kind) {
				return fmt.Errorf("cannot reload service '%s': new dependency '%s' is not started: %w", name, dep.Name, ErrBadArgument)
			}
		}
	}
	if err := m.validate(append(fresh, nd), nd); err != nil {
		return err
	}
	for _, d := range fresh {
		ns := &svc{desc: d}
		m.services[d.Name] = ns
		m.order = append(m.order, ns)
	}
	holding := s.state != Stopped || m.wanted(s)
	old := append([]*edge(nil), s.deps...)
	s.desc = nd
	for _, e := range old {
		if !nd.DependsOn(e.to.name(), e.kind) {
			m.unlinkEdge(e)
		}
	}
	for _, d := range fresh {
		m.linkDeps(m.services[d.Name])
	}
	m.linkDeps(s)
	if holding {
		for _, e := range s.deps {
			m.hold(e)
		}
	}
	m.relinkOrdering()
	if s.state == Started && s.tm != nil {
		m.timerArm(s) // the new schedule counts from the same history
	}
	m.enqueue(s)
	return nil
}

// depOp adds or removes a runtime dependency f -> t.
func (m *Manager) depOp(add bool, kind DepKind, f, t *svc) error {
	from, to := f.name(), t.name()
	e := f.edgeTo(t, kind)
	if !add {
		if e == nil {
			return fmt.Errorf("service '%s' has no %s dependency on '%s': %w", from, kind, to, ErrBadArgument)
		}
		m.unlinkEdge(e)
		f.desc = withoutDep(f.desc, to, kind)
		m.enqueue(f)
		m.enqueue(t)
		return nil
	}
	if e != nil {
		return nil
	}
	if f == t {
		return fmt.Errorf("service '%s' cannot depend on itself: %w", from, ErrBadArgument)
	}
	if kind == DepRegular && f.state == Started && t.state != Started {
		return fmt.Errorf("cannot add dependency: '%s' is started but '%s' is not: %w", from, to, ErrBadArgument)
	}
	nd := *f.desc
	nd.Deps = append(append([]Dep(nil), f.desc.Deps...), Dep{Name: to, Kind: kind})
	if err := m.validate(nil, &nd); err != nil {
		return err
	}
	if m.reaches(t, f) {
		return fmt.Errorf("cannot add dependency '%s' -> '%s': it would create a cycle: %w", from, to, ErrBadArgument)
	}
	f.desc = &nd
	m.linkDeps(f)
	// As dinit: a new dependency of a service that is already up does not
	// start its target (`wake` does); it holds a target that runs, and a
	// service still on its way up waits for it.
	up := f.state == Started || f.state == Stopping
	if (f.state != Stopped || m.wanted(f)) && (!up || t.state != Stopped) {
		m.hold(f.edgeTo(t, kind))
	}
	m.enqueue(f)
	return nil
}

// reaches: a path of dependency edges leads from a to b.
func (m *Manager) reaches(a, b *svc) bool {
	seen := map[*svc]bool{}
	var walk func(*svc) bool
	walk = func(s *svc) bool {
		if s == b {
			return true
		}
		if seen[s] {
			return false
		}
		seen[s] = true
		for _, e := range s.deps {
			if walk(e.to) {
				return true
			}
		}
		return false
	}
	return walk(a)
}

func withoutDep(d *Description, name string, k DepKind) *Description {
	nd := *d
	nd.Deps = nil
	for _, e := range d.Deps {
		if e.Name != name || e.Kind != k {
			nd.Deps = append(nd.Deps, e)
		}
	}
	return &nd
}
