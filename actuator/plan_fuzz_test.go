package actuator

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

// fuzzBytes hands out a fuzz input a byte at a time, then zeros.
type fuzzBytes []byte

func (b *fuzzBytes) next() int {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return int(v)
}

func (b *fuzzBytes) chance(outOf int) bool { return b.next()%outOf == 0 }

// fuzzPlanInput builds one planning round from fuzz bytes: up to five managed services (names
// may repeat), each maybe observed (fresh or stale, touched or not, min above max included),
// with patterns (some in a time zone that does not exist), predictions (expired, without
// points, points out of order, loads of zero, a bound under the expected load, calibrations
// with every kind of setting), overrides, need samples and dependencies between any two of
// them (cycles and self-dependencies included). Stores and the cluster can hand the planner any
// of these.
func fuzzPlanInput(data []byte) PlanInput {
	b := fuzzBytes(data)
	now := monday.Add(time.Duration(b.next()) * 7 * time.Minute)
	names := []string{"a", "b", "c", "d"}
	name := func() string { return names[b.next()%len(names)] }
	ago := func(unit time.Duration) time.Time { return now.Add(-time.Duration(b.next()) * unit) }
	in := PlanInput{Now: now, PredictiveEnabled: !b.chance(5), DependenciesEnabled: !b.chance(5), Need: map[string][]NeedSample{}}
	if b.chance(3) {
		in.MaxObservationAge = 2 * time.Minute
	}
	if b.chance(4) {
		in.StepDown = StepDownPolicy{Interval: time.Duration(b.next()) * time.Second, MaxFraction: float64(b.next()) / 100,
			MinStep: int32(b.next() % 4), AtOnce: b.chance(3)}
	}
	if b.chance(4) {
		in.MaxReplicasWithoutMax = int32(b.next() % 8)
	}
	for range 1 + b.next()%5 {
		in.Services = append(in.Services, ServiceConfig{Ref: ServiceRef{Service: name(), Namespace: "default"},
			LeadTime: time.Duration(b.next()) * 10 * time.Second, CapacityPerReplica: float64(b.next() % 200)})
	}
	var observed []string // each managed service is mostly observed, and some twice
	for _, s := range in.Services {
		if !b.chance(4) {
			observed = append(observed, s.Ref.Service)
		}
	}
	for range b.next() % 3 {
		observed = append(observed, name())
	}
	for _, s := range observed {
		w := untouched(s, int32(b.next()%12), int32(b.next()%16), int32(b.next()%40), now.Add(-time.Duration(b.next()%16)*20*time.Second))
		if b.chance(2) {
			w.BaseMinReplicas, w.Touched, w.FloorChangedAt = int32(b.next()%12), true, ago(time.Minute)
		}
		w.NeededReplicas, w.NeedKnown, w.ReadyReplicas = float64(b.next())/8, b.chance(2), int32(b.next()%40)
		in.Workloads = append(in.Workloads, w)
	}
	zones := []string{"", "UTC", "Europe/Berlin", "Not/AZone"}
	for range b.next() % 4 {
		p := daily(name(), zones[b.next()%len(zones)], b.next()%26, float64(b.next())*40)
		if b.chance(2) {
			p = weekly(p.Service, b.next()%8, b.next()%26, float64(b.next())*40)
		}
		if b.chance(2) {
			p = derived(p, ago(time.Hour))
		}
		in.Patterns = append(in.Patterns, p)
	}
	for range b.next() % 4 {
		steps := []time.Duration{0, time.Minute, 5 * time.Minute, time.Hour}
		fitted := now.Add(-time.Duration(b.next()%32) * 3 * time.Minute)
		p := prediction(name(), fitted, time.Duration(b.next()%64)*5*time.Minute, steps[b.next()%len(steps)])
		if b.chance(4) {
			p.ValidUntil = 0
		}
		at := time.UnixMilli(p.FittedAt)
		for range b.next() % 24 {
			e := float64(b.next()) * 10
			if b.chance(8) { // out of order, or two at one instant
				at = at.Add(-time.Duration(b.next()%3) * time.Minute)
			}
			at = at.Add(time.Duration(1+b.next()%10) * time.Minute)
			p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: at.UnixMilli(),
				ExpectedLoad: e, UpperLoad: e * float64(b.next()) / 100, RecommendedMinReplicas: int32(b.next() % 30)})
		}
		if b.chance(2) {
			share := float64(b.next())/40 - 1
			p.Calibration = &scaling.Calibration{Reason: "fuzz", FloorSettings: scaling.FloorSettings{
				Off: b.chance(8), BoundShare: &share, LeadSeconds: int64(b.next()) * 10, NoiseMarginReplicas: float64(b.next() % 4),
				RisesOnly: b.chance(3), BoundThroughout: b.chance(3), Interpolate: b.chance(2), Tolerance: float64(b.next()%3) / 10,
				SmoothingPoints: b.next() % 6, SurgeSeconds: int64(b.next()%4) * 30, StepDownAtOnce: b.chance(3),
				HoldSeconds: int64(b.next()%3) * 300,
			}}
		}
		in.Predictions = append(in.Predictions, p)
	}
	for range b.next() % 4 {
		s := name()
		for range b.next() % 8 {
			in.Need[s] = append(in.Need[s], NeedSample{At: ago(30 * time.Second), Replicas: float64(b.next()) / 8, Forecast: float64(b.next()) / 8})
		}
		// The planner keeps them in time order itself (AddNeed).
		slices.SortStableFunc(in.Need[s], func(x, y NeedSample) int { return x.At.Compare(y.At) })
	}
	for range b.next() % 3 {
		start := ago(time.Minute).Add(time.Duration(b.next()) * time.Minute)
		o := scaling.Override{ID: "o", Service: name(), Start: start, End: start.Add(time.Duration(b.next()) * 10 * time.Minute), Reason: "fuzz"}
		if b.chance(2) {
			o.MinReplicas = n32(int32(b.next() % 40))
		} else {
			load := float64(b.next()) * 20
			o.ExpectedLoad = &load
		}
		in.Overrides = append(in.Overrides, o)
	}
	types := []scaling.DependencyType{scaling.DependencyProportional, scaling.DependencyFixed, scaling.DependencyMinimum}
	for range b.next() % 5 {
		in.Dependencies = append(in.Dependencies, dep(name(), name(), types[b.next()%len(types)], func(d *scaling.Dependency) {
			d.Ratio, d.Replicas, d.MinReplicas = ratio(float64(b.next())/50), n32(int32(b.next()%30)), n32(int32(b.next()%10))
			d.Enabled = !b.chance(4)
		}))
	}
	return in
}

// FuzzPlanFloors: whatever the stores and the cluster hand it, the planner does not panic,
// changes nothing it was given, plans the same twice, and decides or skips each managed
// service once, in order. Each floor sits in [base, max] (at or above base where max is below
// it), never under a floor in force it may not lower because a dependency source is unseen, and
// a restore puts the base back.
func FuzzPlanFloors(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 3, 4, 2, 0, 10, 50, 1, 3, 5, 2, 0, 2, 1, 1, 6, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{9, 0, 0, 1, 0, 0, 0, 4, 0, 3, 0, 20, 9, 2, 5, 9, 1, 8, 3, 1, 3, 0, 5, 5, 0, 2, 4, 6, 8, 1, 3, 5, 7, 0, 4, 1, 0, 2, 1, 2, 3})
	f.Add([]byte{200, 1, 1, 3, 0, 3, 3, 1, 1, 7, 2, 2, 8, 0, 11, 4, 30, 1, 0, 5, 7, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzPlanInput(data)
		plan := PlanFloors(in)
		require.Equal(t, fuzzPlanInput(data), in, "the planner changed its input")
		require.Equal(t, plan, PlanFloors(in), "the same input planned twice")

		order := map[string]int{} // each managed service's place, the first of repeats
		for _, s := range in.Services {
			if _, seen := order[s.Ref.Service]; !seen {
				order[s.Ref.Service] = len(order)
			}
		}
		var decided, skipped []string
		for _, d := range plan.Decisions {
			decided = append(decided, d.Service)
		}
		for _, s := range plan.Skipped {
			skipped = append(skipped, s.Service)
		}
		byPlace := func(x, y string) int { return order[x] - order[y] }
		require.True(t, slices.IsSortedFunc(decided, byPlace) && slices.IsSortedFunc(skipped, byPlace), "out of order: %v, %v", decided, skipped)
		require.ElementsMatch(t, slices.Collect(maps.Keys(order)), append(decided, skipped...), "each managed service once")
		ceiling := in.MaxReplicasWithoutMax
		if ceiling <= 0 {
			ceiling = DefaultMaxReplicasWithoutMax
		}
		for _, d := range plan.Decisions {
			w := d.Workload
			b := base(w)
			maxFloor := w.MaxReplicas
			if maxFloor <= 0 {
				maxFloor = max(ceiling, b)
			}
			require.GreaterOrEqual(t, d.Floor, b, "%s: %+v", d.Service, d.Contributions)
			if maxFloor >= b {
				require.LessOrEqual(t, d.Floor, maxFloor, "%s: %+v", d.Service, d.Contributions)
			}
			for _, c := range d.Contributions {
				if c.Source == SourceHold {
					require.GreaterOrEqual(t, d.Floor, min(w.MinReplicas, max(maxFloor, b)), "%s lowered a floor it cannot see: %+v", d.Service, d.Contributions)
				}
			}
			require.NotEmpty(t, d.Contributions, d.Service)
			if d.Restore {
				require.True(t, w.Touched, d.Service)
				require.Equal(t, b, d.Floor, d.Service)
			}
		}
	})
}
