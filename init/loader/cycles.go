package loader

import (
	"fmt"
	"sort"

	"ginit/init/service"
)

// CheckAll validates a whole set of descriptions: cycles (CheckCycles) and
// consumer-of links (consumerErrors). It is what the manager runs after
// each load; it returns the first problem.
func CheckAll(all map[string]*service.Description) error {
	if err := CheckCycles(all); err != nil {
		return err
	}
	if errs := consumerErrors(all); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// consumerErrors checks every consumer-of link whose producer is in all:
// the producer must run a process with log-type = pipe and have only one
// consumer. ginit-check reports them all.
func consumerErrors(all map[string]*service.Description) []error {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	consumer := map[string]string{}
	for _, n := range names {
		d := all[n]
		if d.Ext().ConsumerOf == "" {
			continue
		}
		p, ok := all[d.Ext().ConsumerOf]
		if !ok {
			continue // not loaded (yet): checked when it is
		}
		fail := func(format string, args ...any) {
			errs = append(errs, &Error{File: d.File, Service: d.Name, Setting: "consumer-of", Err: fmt.Errorf(format, args...)})
		}
		switch {
		case p.LogType != service.LogPipe:
			fail("service '%s' does not have log-type = pipe", p.Name)
		case p.Type != service.TypeProcess && p.Type != service.TypeBGProcess && p.Type != service.TypeScripted:
			fail("service '%s' is of type %s and runs no process", p.Name, p.Type)
		case consumer[p.Name] != "":
			fail("service '%s' already has a consumer, '%s'", p.Name, consumer[p.Name])
		default:
			consumer[p.Name] = d.Name
		}
	}
	return errs
}

// CheckCycles looks for a dependency cycle (depends-on, depends-ms,
// waits-for) and then for a start-order cycle (dependencies together with
// before/after) among the descriptions in all. Edges to services not in all
// are ignored. The first cycle found is returned as *CycleError; the search
// visits services in name order so the report is stable.
func CheckCycles(all map[string]*service.Description) error {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)

	// Dependency graph: service -> what it needs.
	deps := func(n string) []string {
		var out []string
		for _, e := range all[n].Deps {
			if isHard(e.Kind) {
				if _, ok := all[e.Name]; ok {
					out = append(out, e.Name)
				}
			}
		}
		return out
	}
	if p := findCycle(names, deps); p != nil {
		return &CycleError{Path: p}
	}

	// Order graph: an edge a -> b means "a starts after b".
	after := map[string][]string{}
	add := func(a, b string) {
		if _, ok := all[a]; !ok {
			return
		}
		if _, ok := all[b]; !ok {
			return
		}
		after[a] = append(after[a], b)
	}
	for _, n := range names {
		for _, e := range all[n].Deps {
			switch e.Kind {
			case service.DepBefore:
				add(e.Name, n)
			default: // dependencies and after: n starts after e.Name
				add(n, e.Name)
			}
		}
	}
	if p := findCycle(names, func(n string) []string { return after[n] }); p != nil {
		return &CycleError{Ordering: true, Path: p}
	}
	return nil
}

// findCycle runs an iterative depth-first search (deep chains must not
// exhaust the stack) and returns a cycle as a path that starts and ends
// with the same node, or nil.
func findCycle(nodes []string, next func(string) []string) []string {
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int, len(nodes))
	type frame struct {
		n    string
		outs []string
		i    int
	}
	for _, root := range nodes {
		if color[root] != white {
			continue
		}
		stack := []frame{{n: root, outs: next(root)}}
		color[root] = grey
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.i == len(top.outs) {
				color[top.n] = black
				stack = stack[:len(stack)-1]
				continue
			}
			m := top.outs[top.i]
			top.i++
			switch color[m] {
			case grey:
				var path []string
				for j := range stack {
					if stack[j].n == m {
						for _, f := range stack[j:] {
							path = append(path, f.n)
						}
						break
					}
				}
				return append(path, m)
			case white:
				color[m] = grey
				stack = append(stack, frame{n: m, outs: next(m)})
			}
		}
	}
	return nil
}
