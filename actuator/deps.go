package actuator

import (
	"slices"

	"github.com/kai-platform/kai-scaler/scaling"
)

// DependencyOrder is the order in which dependency floors are resolved: every service comes
// after all the services it depends on, so one pass resolves chains.
type DependencyOrder struct {
	// Order lists every service named by a dependency (and every extra service given), sources
	// before their targets. Members of a cycle appear too, together, at the place of their cycle.
	Order []string
	// Cycles lists each cycle found, as its members in order; a self-dependency is a cycle of
	// one. The API refuses cycles (scaling.FindCycle), so this only guards against a store that
	// was written around it.
	Cycles [][]string
}

// InCycle reports whether service is a member of one of the cycles.
func (o DependencyOrder) InCycle(service string) ([]string, bool) {
	for _, c := range o.Cycles {
		if slices.Contains(c, service) {
			return c, true
		}
	}
	return nil, false
}

// OrderDependencies sorts services topologically along the enabled dependencies (disabled ones
// are ignored: their effect is restored). extra services with no dependency are included too.
// The result is deterministic for the same input.
func OrderDependencies(deps []scaling.Dependency, extra ...string) DependencyOrder {
	// Nodes in first-seen order: extras, then dependency endpoints as listed.
	var nodes []string
	index := make(map[string]int)
	add := func(s string) int {
		if i, ok := index[s]; ok {
			return i
		}
		index[s] = len(nodes)
		nodes = append(nodes, s)
		return index[s]
	}
	for _, s := range extra {
		add(s)
	}
	next := make([][]int, 0)
	selfLoop := make(map[int]bool)
	for _, d := range deps {
		if !d.Enabled {
			continue
		}
		src, dst := add(d.SourceService), add(d.TargetService)
		for len(next) < len(nodes) {
			next = append(next, nil)
		}
		if src == dst {
			selfLoop[src] = true
			continue
		}
		next[src] = append(next[src], dst)
	}
	for len(next) < len(nodes) {
		next = append(next, nil)
	}

	// Tarjan's strongly connected components: emitted in reverse topological order.
	t := tarjan{next: next, index: make([]int, len(nodes)), low: make([]int, len(nodes)), onStack: make([]bool, len(nodes))}
	for i := range t.index {
		t.index[i] = -1
	}
	for i := range nodes {
		if t.index[i] < 0 {
			t.visit(i)
		}
	}
	var out DependencyOrder
	for i := len(t.sccs) - 1; i >= 0; i-- {
		scc := t.sccs[i]
		// Members in first-seen order, so output does not depend on traversal details.
		slices.Sort(scc)
		names := make([]string, len(scc))
		for j, n := range scc {
			names[j] = nodes[n]
		}
		out.Order = append(out.Order, names...)
		if len(scc) > 1 || selfLoop[scc[0]] {
			out.Cycles = append(out.Cycles, names)
		}
	}
	return out
}

type tarjan struct {
	next    [][]int
	index   []int
	low     []int
	onStack []bool
	stack   []int
	counter int
	sccs    [][]int
}

func (t *tarjan) visit(v int) {
	t.index[v], t.low[v] = t.counter, t.counter
	t.counter++
	t.stack = append(t.stack, v)
	t.onStack[v] = true
	for _, w := range t.next[v] {
		switch {
		case t.index[w] < 0:
			t.visit(w)
			t.low[v] = min(t.low[v], t.low[w])
		case t.onStack[w]:
			t.low[v] = min(t.low[v], t.index[w])
		}
	}
	if t.low[v] != t.index[v] {
		return
	}
	var scc []int
	for {
		w := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.onStack[w] = false
		scc = append(scc, w)
		if w == v {
			break
		}
	}
	t.sccs = append(t.sccs, scc)
}
