package actuator

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

func TestOrderDependencies(t *testing.T) {
	edge := func(src, dst string) scaling.Dependency {
		return scaling.Dependency{SourceService: src, TargetService: dst, DependencyType: scaling.DependencyMinimum, MinReplicas: n32(1), Enabled: true}
	}
	disabled := func(src, dst string) scaling.Dependency { d := edge(src, dst); d.Enabled = false; return d }
	tests := []struct {
		name       string
		deps       []scaling.Dependency
		extra      []string
		wantCycles [][]string
		// before lists pairs that must be ordered source first.
		before [][2]string
	}{
		{name: "empty"},
		{name: "extras only", extra: []string{"a", "b"}},
		{name: "chain listed backwards", deps: []scaling.Dependency{edge("c", "d"), edge("b", "c"), edge("a", "b")},
			before: [][2]string{{"a", "b"}, {"b", "c"}, {"c", "d"}}},
		{name: "diamond", deps: []scaling.Dependency{edge("b", "d"), edge("c", "d"), edge("a", "b"), edge("a", "c")},
			before: [][2]string{{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}}},
		{name: "disabled edge closes no cycle", deps: []scaling.Dependency{edge("a", "b"), disabled("b", "a")},
			before: [][2]string{{"a", "b"}}},
		{name: "two-cycle", deps: []scaling.Dependency{edge("a", "b"), edge("b", "a"), edge("b", "c")},
			wantCycles: [][]string{{"a", "b"}}, before: [][2]string{{"a", "c"}, {"b", "c"}}},
		{name: "three-cycle and a self loop", deps: []scaling.Dependency{edge("x", "a"), edge("a", "b"), edge("b", "c"), edge("c", "a"), edge("s", "s")},
			wantCycles: [][]string{{"a", "b", "c"}, {"s"}}, before: [][2]string{{"x", "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OrderDependencies(tt.deps, tt.extra...)
			nodes := map[string]bool{}
			for _, s := range tt.extra {
				nodes[s] = true
			}
			for _, d := range tt.deps {
				if d.Enabled {
					nodes[d.SourceService], nodes[d.TargetService] = true, true
				}
			}
			require.Len(t, got.Order, len(nodes), "every node once: %v", got.Order)
			for n := range nodes {
				require.Contains(t, got.Order, n)
			}
			for _, p := range tt.before {
				require.Less(t, slices.Index(got.Order, p[0]), slices.Index(got.Order, p[1]), "%s before %s in %v", p[0], p[1], got.Order)
			}
			var cycles [][]string
			for _, c := range got.Cycles {
				c = slices.Clone(c)
				slices.Sort(c)
				cycles = append(cycles, c)
			}
			slices.SortFunc(cycles, func(a, b []string) int { return slices.Compare(a, b) })
			require.Equal(t, tt.wantCycles, cycles)
			for _, c := range tt.wantCycles {
				_, in := got.InCycle(c[0])
				require.True(t, in)
			}
		})
	}
}
