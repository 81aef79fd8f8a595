package actuator

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

// loopCluster is an in-memory Cluster that applies writes to its workloads.
type loopCluster struct {
	mu         sync.Mutex
	workloads  map[string]Workload
	observeErr error
	writeErr   map[string]error
	calls      []string
}

func (c *loopCluster) Workloads(_ context.Context, refs []ServiceRef) ([]Workload, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.observeErr != nil {
		return nil, c.observeErr
	}
	var out []Workload
	for _, r := range refs {
		if w, ok := c.workloads[r.Service]; ok {
			out = append(out, w)
		}
	}
	return out, nil
}

func (c *loopCluster) SetFloor(_ context.Context, ch FloorChange) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "set "+ch.Workload.Service)
	if err := c.writeErr[ch.Workload.Service]; err != nil {
		return err
	}
	w := c.workloads[ch.Workload.Service]
	if !w.Touched {
		w.Touched, w.BaseMinReplicas = true, w.MinReplicas
	}
	w.MinReplicas = ch.Floor
	c.workloads[w.Service] = w
	return nil
}

func (c *loopCluster) Restore(_ context.Context, w Workload) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "restore "+w.Service)
	cur := c.workloads[w.Service]
	cur.MinReplicas, cur.Touched = cur.BaseMinReplicas, false
	c.workloads[w.Service] = cur
	return nil
}

type loopStore struct {
	patterns []scaling.Pattern
	preds    map[string][]scaling.Prediction
	deps     []scaling.Dependency
	err      error
}

func (s *loopStore) ListPatterns(context.Context) ([]scaling.Pattern, error) {
	return s.patterns, s.err
}
func (s *loopStore) ListPredictions(_ context.Context, service string, limit int) ([]scaling.Prediction, error) {
	p := s.preds[service]
	if limit > 0 && len(p) > limit {
		p = p[:limit]
	}
	return p, s.err
}
func (s *loopStore) ListDependencies(context.Context) ([]scaling.Dependency, error) {
	return s.deps, s.err
}

func TestReconcile(t *testing.T) {
	peak := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC) // a Monday, 09:00 UTC
	before := peak.Add(-20 * time.Minute)               // inside the 30m lead time
	after := peak.Add(2 * time.Hour)                    // window over
	obs := func(name string, min, max int32, at time.Time) Workload {
		return Workload{Service: name, Namespace: "ns", HPAName: name, MinReplicas: min, MaxReplicas: max,
			BaseMinReplicas: min, CurrentReplicas: min, ObservedAt: at}
	}
	services := []ServiceConfig{
		{Ref: ServiceRef{Service: "web", Namespace: "ns"}, LeadTime: 30 * time.Minute},
		{Ref: ServiceRef{Service: "db", Namespace: "ns"}, LeadTime: 30 * time.Minute},
	}
	pattern := scaling.Pattern{Service: "web", PatternType: scaling.PatternDaily,
		TimeWindows: []scaling.TimeWindow{{HourOfDay: 9, ExpectedLoad: 0.6}}}
	r := 0.5
	dependency := scaling.Dependency{SourceService: "web", TargetService: "db",
		DependencyType: scaling.DependencyProportional, Ratio: &r, Enabled: true}

	tests := []struct {
		name             string
		now              time.Time
		predictive, deps bool
		workloads        []Workload
		store            loopStore
		observeErr       error
		writeErr         map[string]error
		wantErr          string
		wantStage        string
		wantCalls        []string
		wantMin          map[string]int32
	}{
		{
			name: "raises before a peak, dependant follows", now: before, predictive: true, deps: true,
			workloads: []Workload{obs("web", 2, 10, before), obs("db", 1, 10, before)},
			store:     loopStore{patterns: []scaling.Pattern{pattern}, deps: []scaling.Dependency{dependency}},
			wantCalls: []string{"set web", "set db"},
			wantMin:   map[string]int32{"web": 6, "db": 3},
		},
		{
			name: "dependencies disabled: only the pattern acts", now: before, predictive: true,
			workloads: []Workload{obs("web", 2, 10, before), obs("db", 1, 10, before)},
			store:     loopStore{patterns: []scaling.Pattern{pattern}, deps: []scaling.Dependency{dependency}},
			wantCalls: []string{"set web"},
			wantMin:   map[string]int32{"web": 6, "db": 1},
		},
		{
			name: "nothing to do outside the window", now: after, predictive: true,
			workloads: []Workload{obs("web", 2, 10, after), obs("db", 1, 10, after)},
			store:     loopStore{patterns: []scaling.Pattern{pattern}},
			wantMin:   map[string]int32{"web": 2, "db": 1},
		},
		{
			name: "predictive disabled restores a touched workload at once when at base", now: before,
			workloads: []Workload{{Service: "web", Namespace: "ns", HPAName: "web", MinReplicas: 2, MaxReplicas: 10,
				BaseMinReplicas: 2, Touched: true, ObservedAt: before}},
			store:     loopStore{patterns: []scaling.Pattern{pattern}},
			wantCalls: []string{"restore web"},
			wantMin:   map[string]int32{"web": 2},
		},
		{
			name: "store down: nothing changes", now: before, predictive: true,
			workloads: []Workload{obs("web", 2, 10, before)},
			store:     loopStore{err: errors.New("redis down")},
			wantErr:   "read store; keeping every floor", wantStage: StageStore,
			wantMin: map[string]int32{"web": 2},
		},
		{
			name: "cluster unreadable: nothing changes", now: before, predictive: true,
			workloads:  []Workload{obs("web", 2, 10, before)},
			store:      loopStore{patterns: []scaling.Pattern{pattern}},
			observeErr: errors.New("apiserver down"),
			wantErr:    "observe cluster; keeping every floor", wantStage: StageCluster,
			wantMin: map[string]int32{"web": 2},
		},
		{
			name: "stale observation: kept", now: before, predictive: true,
			workloads: []Workload{obs("web", 2, 10, before.Add(-time.Hour))},
			store:     loopStore{patterns: []scaling.Pattern{pattern}},
			wantMin:   map[string]int32{"web": 2},
		},
		{
			name: "one failed write does not stop the others", now: before, predictive: true, deps: true,
			workloads: []Workload{obs("web", 2, 10, before), obs("db", 1, 10, before)},
			store:     loopStore{patterns: []scaling.Pattern{pattern}, deps: []scaling.Dependency{dependency}},
			writeErr:  map[string]error{"web": errors.New("forbidden")},
			wantErr:   "service web: forbidden", wantStage: StageApply,
			wantCalls: []string{"set web", "set db"},
			wantMin:   map[string]int32{"web": 2, "db": 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &loopCluster{workloads: map[string]Workload{}, observeErr: tt.observeErr, writeErr: tt.writeErr}
			for _, w := range tt.workloads {
				c.workloads[w.Service] = w
			}
			reg := prometheus.NewPedanticRegistry()
			a := New(Options{
				Cluster: c, Patterns: &tt.store, Predictions: &tt.store, Dependencies: &tt.store,
				Services:          func() []ServiceConfig { return services },
				PredictiveEnabled: tt.predictive, DependenciesEnabled: tt.deps,
				Registerer: reg, Now: func() time.Time { return tt.now },
			})
			_, err := a.Reconcile(t.Context())
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.wantCalls, c.calls)
			for s, want := range tt.wantMin {
				require.Equal(t, want, c.workloads[s].MinReplicas, s)
			}
			for _, stage := range []string{StageStore, StageCluster, StageApply} {
				want := 0.0
				if stage == tt.wantStage {
					want = 1
				}
				require.Equal(t, want, testutil.ToFloat64(a.errors.WithLabelValues(stage)), stage)
			}
		})
	}
}

func TestReconcileMetricsExposition(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	New(Options{Cluster: &loopCluster{}, Services: func() []ServiceConfig { return nil }, Registerer: reg})
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP kai_actuator_reconcile_errors_total Reconcile rounds that failed, by stage: store or cluster (nothing was changed), apply (some writes failed).
# TYPE kai_actuator_reconcile_errors_total counter
kai_actuator_reconcile_errors_total{stage="apply"} 0
kai_actuator_reconcile_errors_total{stage="cluster"} 0
kai_actuator_reconcile_errors_total{stage="store"} 0
`)))
}

func TestRunStopsWithContext(t *testing.T) {
	c := &loopCluster{workloads: map[string]Workload{}}
	var rounds int
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(t.Context())
	a := New(Options{
		Cluster: c, Interval: time.Millisecond,
		Services: func() []ServiceConfig {
			mu.Lock()
			defer mu.Unlock()
			rounds++
			if rounds == 3 {
				cancel()
			}
			return nil
		},
	})
	require.NoError(t, a.Run(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 3, rounds)
}

// TestReconcileSurgeFromObservedNeed: the actuator remembers each round's observed need, so
// a need rising over a few rounds (30 s apart) raises the surge floor the calibration asked
// for; a service that leaves the services file is forgotten.
func TestReconcileSurgeFromObservedNeed(t *testing.T) {
	start := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	now := start
	pred := scaling.Prediction{Service: "web", FittedAt: start.Add(-time.Minute).UnixMilli(), ValidUntil: start.Add(time.Hour).UnixMilli(),
		Calibration: &scaling.Calibration{FloorSettings: scaling.FloorSettings{Off: true, SurgeSeconds: 60}, Reason: "test"}}
	st := &loopStore{preds: map[string][]scaling.Prediction{"web": {pred}}}
	c := &loopCluster{workloads: map[string]Workload{}}
	services := []ServiceConfig{{Ref: ServiceRef{Service: "web", Namespace: "ns"}, LeadTime: 5 * time.Minute, CapacityPerReplica: 100}}
	a := New(Options{Cluster: c, Patterns: st, Predictions: st, Services: func() []ServiceConfig { return services },
		PredictiveEnabled: true, Now: func() time.Time { return now }})
	for i, need := range []float64{10, 11, 12, 13, 14} { // 2 a minute: 16 a minute on
		now = start.Add(time.Duration(i) * 30 * time.Second)
		w := c.workloads["web"]
		c.workloads["web"] = Workload{Service: "web", Namespace: "ns", HPAName: "web", MinReplicas: max(w.MinReplicas, 2), MaxReplicas: 50,
			BaseMinReplicas: 2, Touched: w.Touched, CurrentReplicas: 10, NeededReplicas: need, ObservedAt: now}
		plan, err := a.Reconcile(t.Context())
		require.NoError(t, err)
		require.Len(t, plan.Decisions, 1)
		if i < 2 {
			require.Equal(t, SourceBase, plan.Decisions[0].Reason, "round %d: under a minute of samples", i)
		}
	}
	require.Equal(t, int32(16), c.workloads["web"].MinReplicas)
	require.Len(t, a.need["web"], 5)

	services = nil
	_, err := a.Reconcile(t.Context())
	require.NoError(t, err)
	require.Empty(t, a.need, "a service no longer managed is forgotten")
}

// TestReconcileSetsACollapsedPredictionAside: the actuator holds each round's observed need
// against what the prediction in force expected then, so a quarter of an hour without any
// load (a metric reporting none) sets the prediction's floor aside, and the first round with
// load again restores it.
func TestReconcileSetsACollapsedPredictionAside(t *testing.T) {
	start := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	now := start
	pred := scaling.Prediction{Service: "web", FittedAt: start.Add(-time.Minute).UnixMilli(), ValidUntil: start.Add(time.Hour).UnixMilli(), StepSeconds: 300}
	for i := range 14 {
		pred.Points = append(pred.Points, scaling.PredictionPoint{Timestamp: start.Add(time.Duration(i) * 5 * time.Minute).UnixMilli(),
			ExpectedLoad: 800, UpperLoad: 900})
	}
	st := &loopStore{preds: map[string][]scaling.Prediction{"web": {pred}}}
	c := &loopCluster{workloads: map[string]Workload{}}
	services := []ServiceConfig{{Ref: ServiceRef{Service: "web", Namespace: "ns"}, LeadTime: 5 * time.Minute, CapacityPerReplica: 100}}
	a := New(Options{Cluster: c, Patterns: st, Predictions: st, Services: func() []ServiceConfig { return services },
		PredictiveEnabled: true, Now: func() time.Time { return now }})
	round := func(i int, need float64) Plan {
		t.Helper()
		now = start.Add(time.Duration(i) * 30 * time.Second)
		w := c.workloads["web"]
		c.workloads["web"] = Workload{Service: "web", Namespace: "ns", HPAName: "web", MinReplicas: max(w.MinReplicas, 2), MaxReplicas: 50,
			BaseMinReplicas: 2, Touched: w.Touched, FloorChangedAt: w.FloorChangedAt, CurrentReplicas: max(w.MinReplicas, 2),
			NeededReplicas: need, NeedKnown: true, ObservedAt: now}
		plan, err := a.Reconcile(t.Context())
		require.NoError(t, err)
		require.Len(t, plan.Decisions, 1)
		return plan
	}
	round(0, 8)
	require.Equal(t, int32(8), c.workloads["web"].MinReplicas, "the prediction's floor")
	for i := 1; i <= 30; i++ { // 15 minutes with no load at all: not yet a collapse
		round(i, 0)
		require.Equal(t, int32(8), c.workloads["web"].MinReplicas, "round %d", i)
	}
	require.Zero(t, testutil.ToFloat64(a.setAside.WithLabelValues("web")))
	d := round(31, 0).Decisions[0]
	require.True(t, d.PredictionSetAside)
	require.Equal(t, 1.0, testutil.ToFloat64(a.setAside.WithLabelValues("web")), "said in the metrics too")
	require.Equal(t, int32(2), c.workloads["web"].MinReplicas, "set aside: at once to the base")
	require.Contains(t, d.Contributions[1].Detail, "prediction set aside")
	require.Equal(t, SourceStepDown, d.Reason)
	require.False(t, round(32, 3).Decisions[0].PredictionSetAside) // load again: above a third of the forecast's 8 replicas
	require.Equal(t, int32(8), c.workloads["web"].MinReplicas, "the prediction's floor again")
	require.Zero(t, testutil.ToFloat64(a.setAside.WithLabelValues("web")))
}
