package actuator

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

func TestFloorRecord(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 55, 0, 0, time.UTC)
	cfg := ServiceConfig{Ref: ServiceRef{Service: "checkout"}, LeadTime: 5 * time.Minute, CapacityPerReplica: 95}
	cal := &scaling.Calibration{FloorSettings: scaling.FloorSettings{BoundShare: ratio(0.5), LeadSeconds: 300}, WindowMinutes: 2880,
		Reason: "replayed 2.0 days of history through the HPA, pods ready 2m0s after they start, with 36 settings: share=0.5 …"}
	pred := &scaling.Prediction{Service: "checkout", Model: "fourier-daily", ModelReason: "lowest backtest MASE",
		Quantile: 0.85, FittedAt: 1_700_000_000_000, BacktestCoverage: 0.88, Calibration: cal}
	base := Contribution{Source: SourceBase, Floor: 2, Detail: "floor before kai-scaler"}
	predC := Contribution{Source: SourcePrediction, Floor: 8, Detail: "q0.85 peak of fourier-daily model at 2026-11-27T09:00:00Z"}
	overrideC, ok := overrideContribution([]scaling.Override{{ID: "o1", Service: "checkout", Start: now, End: now.Add(time.Hour),
		MinReplicas: n32(12), Reason: "launch"}}, Workload{}, 5*time.Minute, now)
	require.True(t, ok)
	tests := []struct {
		name        string
		d           Decision
		pred        *scaling.Prediction
		from        int32
		dryRun      bool
		wantSummary string
	}{
		{name: "prediction raises", d: Decision{Service: "checkout", Floor: 8, Reason: SourcePrediction, Contributions: []Contribution{base, predC}},
			pred: pred, from: 5,
			wantSummary: "checkout floor 5→8: prediction q0.85 peak of fourier-daily model at 2026-11-27T09:00:00Z, lead 5m"},
		{name: "dry run says so", d: Decision{Service: "checkout", Floor: 8, Reason: SourcePrediction, Contributions: []Contribution{base, predC}},
			pred: pred, from: 5, dryRun: true,
			wantSummary: "dry run: checkout floor 5→8: prediction q0.85 peak of fourier-daily model at 2026-11-27T09:00:00Z, lead 5m"},
		{name: "step-down names its own contribution", d: Decision{Service: "checkout", Floor: 6, Reason: SourceStepDown, Contributions: []Contribution{
			base, {Source: SourceStepDown, Floor: 6, Detail: "lowering from 8 towards 2 by at most max(1, 25%) every 5m0s"}}},
			from: 8, wantSummary: "checkout floor 8→6: step-down lowering from 8 towards 2 by at most max(1, 25%) every 5m0s, lead 5m"},
		// Regression test: "override override o1": the detail named its source again.
		{name: "override names its source once", d: Decision{Service: "checkout", Floor: 12, Reason: SourceOverride, Contributions: []Contribution{base, overrideC}},
			from: 2, wantSummary: "checkout floor 2→12: override o1 (launch) asks 12 replicas from 2026-11-27T08:55:00Z until 2026-11-27T09:55:00Z, lead 5m"},
		{name: "cut to max names what it cut", d: Decision{Service: "checkout", Floor: 10, Reason: SourceMax, Contributions: []Contribution{
			base, {Source: SourceOverride, Floor: 50, Detail: "o1 (launch) asks 50 replicas"}}},
			from: 2, wantSummary: "checkout floor 2→10: max maxReplicas 10 caps override's 50 (o1 (launch) asks 50 replicas), lead 5m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := FloorRecord(tt.d, cfg, tt.pred, tt.from, now, tt.dryRun)
			require.Equal(t, tt.wantSummary, rec.Summary)
			require.Equal(t, "checkout", rec.Service)
			require.Equal(t, now.UnixMilli(), rec.Timestamp)
			require.Equal(t, tt.from, rec.From)
			require.Equal(t, tt.d.Floor, rec.To)
			require.Equal(t, tt.d.Reason, rec.Reason)
			require.Equal(t, tt.dryRun, rec.DryRun)
			require.Len(t, rec.Contributions, len(tt.d.Contributions))
			require.Equal(t, int64(300), rec.Settings.LeadTimeSeconds)
			require.Equal(t, 95.0, rec.Settings.CapacityPerReplica)
			if tt.pred != nil {
				require.Equal(t, scaling.DecisionSettings{LeadTimeSeconds: 300, CapacityPerReplica: 95, Quantile: 0.85,
					Model: "fourier-daily", ModelReason: "lowest backtest MASE", PredictionFittedAt: 1_700_000_000_000, BacktestCoverage: 0.88,
					Calibration: cal}, rec.Settings)
			}
		})
	}
}

// recordStore is a hand-written DecisionRecorder, OverrideSource and ShadowRecorder.
type recordStore struct {
	mu        sync.Mutex
	decisions []scaling.FloorDecision
	overrides []scaling.Override
	pruned    []time.Time
	shadow    map[string]scaling.ShadowDay // service/day
	err       error
}

func (s *recordStore) AddDecision(_ context.Context, d scaling.FloorDecision) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.decisions = append(s.decisions, d)
	return nil
}

func (s *recordStore) ListDecisions(_ context.Context, q store.DecisionQuery) ([]scaling.FloorDecision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []scaling.FloorDecision
	for i := len(s.decisions) - 1; i >= 0; i-- {
		if s.decisions[i].Service == q.Service && (q.Limit <= 0 || len(out) < q.Limit) {
			out = append(out, s.decisions[i])
		}
	}
	return out, s.err
}

func (s *recordStore) ListOverrides(context.Context, string) ([]scaling.Override, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overrides, s.err
}

func (s *recordStore) PruneOverrides(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruned = append(s.pruned, now)
	n := 0
	kept := s.overrides[:0]
	for _, o := range s.overrides {
		if o.End.After(now) {
			kept = append(kept, o)
		} else {
			n++
		}
	}
	s.overrides = kept
	return n, nil
}

func (s *recordStore) PutShadowDay(_ context.Context, d scaling.ShadowDay) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shadow == nil {
		s.shadow = map[string]scaling.ShadowDay{}
	}
	s.shadow[d.Service+"/"+d.Day] = d
	return s.err
}

func (s *recordStore) ListShadowDays(_ context.Context, service string, _ int) ([]scaling.ShadowDay, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *scaling.ShadowDay
	for _, d := range s.shadow {
		if d.Service == service && (best == nil || d.Day > best.Day) {
			best = &d
		}
	}
	if best == nil {
		return nil, s.err
	}
	return []scaling.ShadowDay{*best}, s.err
}

// dryCluster observes like loopCluster but writes nothing, as the kube adapter in dry-run.
type dryCluster struct{ *loopCluster }

func (c *dryCluster) SetFloor(context.Context, FloorChange) error { return nil }
func (c *dryCluster) Restore(context.Context, Workload) error     { return nil }

// TestReconcileRecordsDecisions runs rounds through an override event and checks the decision
// record, the log line and, in dry-run, that each would-be change is recorded once.
func TestReconcileRecordsDecisions(t *testing.T) {
	start := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
	rounds := []time.Duration{-20 * time.Minute, -10 * time.Minute, -9 * time.Minute, 0, 2 * time.Hour, 2*time.Hour + 10*time.Minute}
	tests := []struct {
		name   string
		dryRun bool
		seed   []scaling.FloorDecision
		// want lists (from, to) of the recorded decisions, oldest first.
		want [][2]int32
	}{
		// The override holds 12 from 08:50; from 11:00 the floor steps down by a quarter every 5m.
		{name: "live: every change, from the floor in force", want: [][2]int32{{2, 12}, {12, 9}, {9, 6}}},
		{name: "dry run: every would-be change once, from the last would-be floor, stepping down as live", dryRun: true,
			want: [][2]int32{{2, 12}, {12, 9}, {9, 6}}},
		{name: "dry run after a restart: from the newest stored would-be floor", dryRun: true,
			seed: []scaling.FloorDecision{{Service: "web", From: 2, To: 12, DryRun: true, Timestamp: start.Add(-10 * time.Minute).UnixMilli()}},
			want: [][2]int32{{12, 9}, {9, 6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Workload{Service: "web", Namespace: "ns", HPAName: "web", MinReplicas: 2, MaxReplicas: 20, BaseMinReplicas: 2, CurrentReplicas: 2, DesiredReplicas: 2}
			loop := &loopCluster{workloads: map[string]Workload{"web": w}}
			var cluster Cluster = loop
			if tt.dryRun {
				cluster = &dryCluster{loop}
			}
			rs := &recordStore{decisions: tt.seed, overrides: []scaling.Override{
				{ID: "xmas", Service: "web", Start: start, End: start.Add(2 * time.Hour), MinReplicas: n32(12), Reason: "christmas eve"},
			}}
			var now time.Time
			var logs bytes.Buffer
			a := New(Options{
				Cluster: cluster, Services: func() []ServiceConfig {
					return []ServiceConfig{{Ref: ServiceRef{Service: "web", Namespace: "ns"}, LeadTime: 10 * time.Minute}}
				},
				Patterns: &loopStore{}, Predictions: &loopStore{}, Overrides: rs, Decisions: rs,
				PredictiveEnabled: true, DryRun: tt.dryRun,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				Now:    func() time.Time { return now },
			})
			rs0 := rounds
			if len(tt.seed) > 0 {
				rs0 = rounds[2:] // restarted after the raise
			}
			for _, r := range rs0 {
				now = start.Add(r)
				loop.mu.Lock()
				w := loop.workloads["web"]
				w.ObservedAt = now
				loop.workloads["web"] = w
				loop.mu.Unlock()
				_, err := a.Reconcile(t.Context())
				require.NoError(t, err)
			}
			got := rs.decisions[len(tt.seed):]
			var pairs [][2]int32
			for _, d := range got {
				pairs = append(pairs, [2]int32{d.From, d.To})
				require.Equal(t, tt.dryRun, d.DryRun)
				require.Equal(t, int64(600), d.Settings.LeadTimeSeconds)
			}
			require.Equal(t, tt.want, pairs)
			require.Equal(t, SourceStepDown, got[len(got)-1].Reason)
			if len(tt.seed) == 0 {
				require.Equal(t, SourceOverride, got[0].Reason)
				// Regression test: the summary said "override override xmas".
				require.Contains(t, got[0].Summary, "web floor 2→12: override xmas (christmas eve) asks 12 replicas")
				require.NotContains(t, got[0].Summary, "override override")
				require.Contains(t, logs.String(), "web floor 2→12: override")
			}
			require.Equal(t, len(pairs), bytes.Count(logs.Bytes(), []byte(" floor ")), "one info line per change:\n%s", logs.String())
			require.Len(t, rs.pruned, len(rs0), "ended overrides are pruned every round")
			require.Empty(t, rs.overrides, "the override ended and was pruned")
		})
	}
}

func TestReconcileDecisionStoreDown(t *testing.T) {
	now := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
	cluster := &loopCluster{workloads: map[string]Workload{"web": {Service: "web", Namespace: "ns", HPAName: "web",
		MinReplicas: 2, MaxReplicas: 20, BaseMinReplicas: 2, ObservedAt: now}}}
	rs := &recordStore{overrides: []scaling.Override{{ID: "o", Service: "web", Start: now, End: now.Add(time.Hour), MinReplicas: n32(5), Reason: "x"}}}
	a := New(Options{Cluster: cluster, Services: func() []ServiceConfig { return []ServiceConfig{{Ref: ServiceRef{Service: "web", Namespace: "ns"}}} },
		Patterns: &loopStore{}, Predictions: &loopStore{}, Overrides: rs, Decisions: rs, PredictiveEnabled: true,
		Now: func() time.Time { return now }})
	_, err := a.Reconcile(t.Context())
	require.NoError(t, err)
	rs.err = errors.New("redis down")
	cluster.workloads["web"] = Workload{Service: "web", Namespace: "ns", HPAName: "web", MinReplicas: 2, MaxReplicas: 20, BaseMinReplicas: 2, ObservedAt: now}
	_, err = a.Reconcile(t.Context())
	require.ErrorContains(t, err, "list overrides", "without its overrides the round keeps every floor")
	require.Equal(t, int32(2), cluster.workloads["web"].MinReplicas)
}

func TestReconcileShadow(t *testing.T) {
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	start := day.Add(23*time.Hour + 58*time.Minute) // two minutes before midnight
	cluster := &dryCluster{&loopCluster{workloads: map[string]Workload{}}}
	rs := &recordStore{overrides: []scaling.Override{{ID: "o", Service: "web", Start: start, End: start.Add(time.Hour), MinReplicas: n32(6), Reason: "x"}}}
	// A previous process counted 10 saved replica-minutes today.
	require.NoError(t, rs.PutShadowDay(t.Context(), scaling.ShadowDay{Service: "web", Day: "2026-11-27", Samples: 5,
		UnderprovisionedReplicaMinutes: 10, UnderprovisionedReplicaMinutesSaved: 10}))
	reg := prometheus.NewRegistry()
	var now time.Time
	a := New(Options{Cluster: cluster, Services: func() []ServiceConfig { return []ServiceConfig{{Ref: ServiceRef{Service: "web", Namespace: "ns"}}} },
		Patterns: &loopStore{}, Predictions: &loopStore{}, Overrides: rs, Decisions: rs, Shadow: rs, DryRun: true,
		PredictiveEnabled: true, Interval: 30 * time.Second, Registerer: reg, Now: func() time.Time { return now }})
	// The HPA runs 2 replicas wanting 4 (so 2 short); the would-be floor is 6: with it, none short
	// and 4 extra. Samples every 30s from 23:58 to 00:01.
	for i := range 7 {
		now = start.Add(time.Duration(i) * 30 * time.Second)
		cluster.workloads["web"] = Workload{Service: "web", Namespace: "ns", HPAName: "web", MinReplicas: 2, MaxReplicas: 20,
			BaseMinReplicas: 2, CurrentReplicas: 2, DesiredReplicas: 4, ObservedAt: now}
		_, err := a.Reconcile(t.Context())
		require.NoError(t, err)
	}
	d1 := rs.shadow["web/2026-11-27"]
	require.Equal(t, 5+4, d1.Samples)
	require.InDelta(t, 120, d1.ObservedSeconds, 1e-9)
	require.InDelta(t, 10+2*2, d1.UnderprovisionedReplicaMinutes, 1e-9)
	require.InDelta(t, 0, d1.UnderprovisionedReplicaMinutesWithFloors, 1e-9)
	require.InDelta(t, 14, d1.UnderprovisionedReplicaMinutesSaved, 1e-9)
	require.InDelta(t, 4*2.0/60, d1.ExtraReplicaHours, 1e-9)
	d2 := rs.shadow["web/2026-11-28"]
	require.Equal(t, 3, d2.Samples)
	require.InDelta(t, 60, d2.ObservedSeconds, 1e-9)
	require.InDelta(t, 2, d2.UnderprovisionedReplicaMinutesSaved, 1e-9)
	require.NoError(t, testutil.GatherAndCompare(reg, bytes.NewBufferString(`
# HELP kai_shadow_extra_replica_hours Dry run, today (UTC) so far: replica-hours the would-be floors would have added to what the HPA ran.
# TYPE kai_shadow_extra_replica_hours gauge
kai_shadow_extra_replica_hours{service="web"} 0.06666666666666667
# HELP kai_shadow_underprovisioned_minutes_saved Dry run, today (UTC) so far: under-provisioned replica-minutes the would-be floors would have saved against what the HPA did.
# TYPE kai_shadow_underprovisioned_minutes_saved gauge
kai_shadow_underprovisioned_minutes_saved{service="web"} 2
`), "kai_shadow_extra_replica_hours", "kai_shadow_underprovisioned_minutes_saved"))
}

func TestCounterfactual(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }
	tests := []struct {
		name    string
		samples []ShadowSample
		maxGap  time.Duration
		want    scaling.ShadowDay // of 2026-11-27
	}{
		{name: "floor covers a shortfall", samples: []ShadowSample{
			{At: at(0), Actual: 3, Running: 3, Needed: 6, Floor: 5}, {At: at(1), Actual: 6, Running: 6, Needed: 6, Floor: 5}, {At: at(2), Actual: 6, Running: 6, Needed: 4, Floor: 5}},
			want: scaling.ShadowDay{Samples: 3, ObservedSeconds: 120, UnderprovisionedReplicaMinutes: 3,
				UnderprovisionedReplicaMinutesWithFloors: 1, UnderprovisionedReplicaMinutesSaved: 2, ExtraReplicaHours: 2.0 / 60}},
		{name: "pods still starting are short but already paid for", samples: []ShadowSample{
			{At: at(0), Actual: 3, Running: 6, Needed: 5.5, Floor: 5}, {At: at(2), Actual: 6, Running: 6, Needed: 5.5, Floor: 5}},
			want: scaling.ShadowDay{Samples: 2, ObservedSeconds: 120, UnderprovisionedReplicaMinutes: 2 * 2.5,
				UnderprovisionedReplicaMinutesWithFloors: 2 * 0.5, UnderprovisionedReplicaMinutesSaved: 2 * 2}},
		{name: "floor below the HPA costs nothing and saves nothing", samples: []ShadowSample{
			{At: at(0), Actual: 5, Running: 5, Needed: 5, Floor: 2}, {At: at(10), Actual: 5, Running: 5, Needed: 5, Floor: 2}},
			want: scaling.ShadowDay{Samples: 2, ObservedSeconds: 600}},
		{name: "a gap longer than maxGap counts maxGap only", samples: []ShadowSample{
			{At: at(0), Actual: 2, Running: 2, Needed: 2, Floor: 4}, {At: at(60), Actual: 2, Running: 2, Needed: 2, Floor: 4}},
			maxGap: 2 * time.Minute,
			want:   scaling.ShadowDay{Samples: 2, ObservedSeconds: 120, ExtraReplicaHours: 2 * 2.0 / 60}},
		{name: "one sample stands for no time", samples: []ShadowSample{{At: at(0), Actual: 1, Running: 1, Needed: 9, Floor: 9}},
			want: scaling.ShadowDay{Samples: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := counterfactual("api", tt.samples, tt.maxGap)
			tt.want.Service, tt.want.Day = "api", "2026-11-27"
			require.Len(t, got, 1)
			g := got["2026-11-27"]
			require.InDelta(t, tt.want.ExtraReplicaHours, g.ExtraReplicaHours, 1e-12)
			g.ExtraReplicaHours = tt.want.ExtraReplicaHours
			require.Equal(t, tt.want, g)
		})
	}
}

func TestShadowSampleOf(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		w    Workload
		want ShadowSample
	}{
		{name: "the HPA's metric observed: the load on the ready pods against them",
			w:    Workload{CurrentReplicas: 8, DesiredReplicas: 8, ReadyReplicas: 5, NeededReplicas: 7.4},
			want: ShadowSample{At: at, Actual: 5, Running: 8, Needed: 7.4, Floor: 6}},
		{name: "no metric observed: the HPA's desired against its current",
			w:    Workload{CurrentReplicas: 4, DesiredReplicas: 6, ReadyReplicas: 4},
			want: ShadowSample{At: at, Actual: 4, Running: 4, Needed: 6, Floor: 6}},
		{name: "a metric reporting no load at all: a need of none on the ready pods",
			w:    Workload{CurrentReplicas: 8, DesiredReplicas: 8, ReadyReplicas: 8, NeedKnown: true},
			want: ShadowSample{At: at, Actual: 8, Running: 8, Needed: 0, Floor: 6}},
		{name: "an infinite need is not an observation",
			w:    Workload{CurrentReplicas: 4, DesiredReplicas: 4, ReadyReplicas: 0, NeededReplicas: math.Inf(1)},
			want: ShadowSample{At: at, Actual: 4, Running: 4, Needed: 4, Floor: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ShadowSampleOf(tt.w, 6, at))
		})
	}
}

// counterfactual computes the per-day counterfactual of one service's samples (in time order), as the
// recorder accumulates it sample by sample:
// each sample holds until the next, at most maxGap; the last one stands for no time.
func counterfactual(service string, samples []ShadowSample, maxGap time.Duration) map[string]scaling.ShadowDay {
	days := map[string]scaling.ShadowDay{}
	for i, s := range samples {
		key := s.At.UTC().Format(time.DateOnly)
		d, ok := days[key]
		if !ok {
			d = scaling.ShadowDay{Service: service, Day: key}
		}
		d.Samples++
		days[key] = d
		if i+1 < len(samples) {
			AddShadowInterval(days, service, s, samples[i+1].At, maxGap)
		}
	}
	return days
}
