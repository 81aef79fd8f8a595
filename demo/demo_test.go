package demo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

func TestRhythmIsDeterministicAndSeasonal(t *testing.T) {
	r := services["checkout"].rhythm
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	require.Equal(t, r.At(monday.Add(13*time.Hour)), r.At(monday.Add(13*time.Hour)), "same instant, same load")
	peak, night := r.At(monday.Add(13*time.Hour)), r.At(monday.Add(3*time.Hour))
	require.Greater(t, peak, 2*night, "the daily peak stands out")
	saturday := monday.AddDate(0, 0, 5)
	require.Less(t, r.At(saturday.Add(13*time.Hour)), 0.8*peak, "weekends are quieter")
	for h := 0; h < 24*7; h++ {
		require.GreaterOrEqual(t, r.At(monday.Add(time.Duration(h)*time.Hour)), 0.0)
	}
}

func TestHistoryStopsAtNow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := History{Rhythms: map[string]Rhythm{"checkout": services["checkout"].rhythm}, Now: func() time.Time { return now }}
	svc := managedFor("checkout")
	s, err := h.Range(t.Context(), svc, now.Add(-time.Hour), now.Add(time.Hour), 5*time.Minute)
	require.NoError(t, err)
	require.Len(t, s.Values, 13, "one hour of 5-minute steps, both ends included, nothing from the future")
	_, err = h.Range(t.Context(), managedFor("unknown"), now.Add(-time.Hour), now, time.Minute)
	require.ErrorContains(t, err, "no rhythm")
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(start, 60)
	c.wall = func() time.Time { return wall }
	require.Equal(t, start, c.Now())
	wall = wall.Add(time.Second)
	require.Equal(t, start.Add(time.Minute), c.Now())
	require.Equal(t, 250*time.Millisecond, c.Real(15*time.Second))
}

// TestDemoProducesPredictionsFloorsAndEvents runs the README's run command's pipeline (at a
// high speed-up) and checks that predictions, raised floors and HPA events appear, as a
// newcomer would see them through the API and /metrics within a minute.
func TestDemoProducesPredictionsFloorsAndEvents(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "demo.db"), store.BoltOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	reg := prometheus.NewRegistry()
	d, err := New(Options{Store: st, Registerer: reg, Speed: 600,
		PredictiveEnabled: true, DependenciesEnabled: true, EventsEnabled: true})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Eventually(t, func() bool {
		preds, err := st.ListPredictions(ctx, "", 0)
		return err == nil && len(preds) >= len(services)
	}, 60*time.Second, 200*time.Millisecond, "every demo service gets a prediction")
	preds, err := st.ListPredictions(ctx, "checkout", 1)
	require.NoError(t, err)
	require.NotEmpty(t, preds[0].Points)

	dep, err := st.GetDependency(ctx, Dependency().Key())
	require.NoError(t, err)
	require.True(t, dep.Enabled)

	require.Eventually(t, func() bool {
		// payments follows checkout: its floor is at least half of checkout's replicas.
		checkout, _ := d.Cluster.Replicas(Namespace, "checkout")
		hpa := d.Cluster.HPA(Namespace, "payments")
		return checkout > 0 && hpa != nil && 2*hpaMin(d, "payments") >= checkout
	}, 60*time.Second, 200*time.Millisecond, "the dependency raises payments' floor")

	require.Eventually(t, func() bool {
		ds, err := st.ListDecisions(ctx, store.DecisionQuery{Service: "payments", Limit: 1})
		return err == nil && len(ds) == 1 && !ds[0].DryRun && ds[0].To > ds[0].From &&
			ds[0].Reason == "dependency:checkout" && ds[0].Summary != ""
	}, 60*time.Second, 200*time.Millisecond, "the floor changes are recorded with their reason")

	require.Eventually(t, func() bool {
		events, err := st.ListEvents(ctx, store.EventQuery{Limit: 1})
		return err == nil && len(events) > 0
	}, 60*time.Second, 200*time.Millisecond, "HPA decisions are logged as events")

	require.Eventually(t, func() bool {
		n, err := testutil.GatherAndCount(reg, "kai_actuator_min_replicas")
		return err == nil && n >= 1
	}, 30*time.Second, 200*time.Millisecond, "the floors the actuator set are exported with their reason")

	require.Eventually(t, func() bool {
		n, err := testutil.GatherAndCount(reg, "kai_forecast_predicted_load")
		return err == nil && n >= 2*len(services)
	}, 30*time.Second, 200*time.Millisecond, "predicted load (median and upper) is exported for every service")
}

func managedFor(name string) scaling.ManagedService { return scaling.ManagedService{Name: name} }

func hpaMin(d *Demo, name string) int32 {
	ws, err := d.Cluster.Workloads(context.Background(), []actuator.ServiceRef{{Service: name, Namespace: Namespace, HPAName: name}})
	if err != nil || len(ws) == 0 {
		return 0
	}
	return ws[0].MinReplicas
}

// TestDemoDryRun: in dry-run the simulated HPAs keep their floors while the would-be floors are
// recorded, and the shadow counterfactual is kept and exported.
func TestDemoDryRun(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "demo.db"), store.BoltOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	reg := prometheus.NewRegistry()
	d, err := New(Options{Store: st, Registerer: reg, Speed: 600, DryRun: true,
		PredictiveEnabled: true, DependenciesEnabled: true})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Eventually(t, func() bool {
		ds, err := st.ListDecisions(ctx, store.DecisionQuery{Service: "payments", Limit: 1})
		return err == nil && len(ds) == 1 && ds[0].DryRun
	}, 60*time.Second, 200*time.Millisecond, "would-be floor changes are recorded as dry run")
	require.Equal(t, services["payments"].min, hpaMin(d, "payments"), "dry run writes no floor")

	require.Eventually(t, func() bool {
		days, err := st.ListShadowDays(ctx, "checkout", 1)
		return err == nil && len(days) == 1 && days[0].Samples >= 2 && days[0].ObservedSeconds > 0
	}, 60*time.Second, 200*time.Millisecond, "the shadow counterfactual is stored")
	n, err := testutil.GatherAndCount(reg, "kai_shadow_extra_replica_hours")
	require.NoError(t, err)
	require.Equal(t, len(services), n)
}
