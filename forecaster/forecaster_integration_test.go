package forecaster

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/promtest"
	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
)

// End to end against a real Prometheus holding three weeks of 1-minute load: two services
// are forecast; a third one's query is malformed and a fourth one's metric stopped three
// hours ago, and neither keeps the others from being forecast.
func TestForecasterAgainstPrometheus(t *testing.T) {
	end := time.Now().UTC().Truncate(time.Minute)
	n := 22 * 24 * 60
	start := end.Add(-time.Duration(n-1) * time.Minute)
	loads := map[string]promtest.Load{
		"checkout": {Base: 200, DailyAmp: 120, WeeklyAmp: 60, PeakHour: 14, Noise: 0.05, Seed: 2},
		"search":   {Base: 500, DailyAmp: 300, WeeklyAmp: 100, PeakHour: 20, Noise: 0.05, Seed: 3},
		"auth":     {Base: 80, DailyAmp: 40, WeeklyAmp: 10, PeakHour: 9, Noise: 0.05, Seed: 1},
	}
	var om bytes.Buffer
	w := promtest.NewWriter(&om)
	for _, name := range []string{"auth", "checkout", "search"} {
		w.Gauge("app_requests_per_second", map[string]string{"service": name}, start, time.Minute, loads[name].Values(start, time.Minute, n))
	}
	// A service whose metric stopped three hours ago.
	w.Gauge("app_requests_per_second", map[string]string{"service": "stopped"}, start, time.Minute, loads["auth"].Values(start, time.Minute, n-180))
	require.NoError(t, w.Close())
	srv := promtest.Start(t, &om)

	client, err := promquery.New(promquery.Options{URL: srv.URL, Logger: testLogger(t), Backoff: 10 * time.Millisecond})
	require.NoError(t, err)
	services := []scaling.ManagedService{
		{Name: "checkout", Namespace: "shop", Query: `sum(app_requests_per_second{service="checkout"})`, CapacityPerReplica: 25, Quantile: 0.9},
		{Name: "broken", Namespace: "shop", Query: `sum(app_requests_per_second{service="auth"}`, CapacityPerReplica: 10, Quantile: 0.9},
		{Name: "search", Namespace: "shop", Query: `sum(app_requests_per_second{service="search"})`, CapacityPerReplica: 60, Quantile: 0.9},
		{Name: "stopped", Namespace: "shop", Query: `sum(app_requests_per_second{service="stopped"})`, CapacityPerReplica: 10, Quantile: 0.9},
	}
	st := openStore(t)
	ctx := t.Context()
	manual := scaling.Pattern{Service: "search", PatternType: scaling.PatternDaily, Source: scaling.SourceManual,
		TimeWindows: []scaling.TimeWindow{{HourOfDay: 20, ExpectedLoad: 0.7}}, LastUpdated: 7}
	require.NoError(t, st.PutPattern(ctx, manual))

	clk := &clock{t: end}
	reg := prometheus.NewRegistry()
	hist := PromHistory{Client: client}
	f := New(Options{
		Services: func() []scaling.ManagedService { return services },
		History:  hist,
		Load:     hist,
		Store:    st,
		Bounds: BoundsFunc(func(context.Context, scaling.ManagedService) (ReplicaBounds, error) {
			return ReplicaBounds{MaxReplicas: 40, BaseMinReplicas: 3}, nil
		}),
		Registerer:    reg,
		Logger:        testLogger(t),
		Now:           clk.Now,
		HistoryWindow: 21 * 24 * time.Hour,
	})

	wall := time.Now()
	run, err := f.RunOnce(ctx, "manual", "")
	require.NoError(t, err)
	t.Logf("run of 4 services took %s", time.Since(wall))
	require.Equal(t, scaling.RunPartial, run.State)
	require.Len(t, run.Results, 4)
	require.Equal(t, []string{"checkout", "broken", "search", "stopped"}, []string{run.Results[0].Service, run.Results[1].Service, run.Results[2].Service, run.Results[3].Service})
	require.Equal(t, scaling.RunSucceeded, run.Results[0].State)
	require.Equal(t, PatternDerived, run.Results[0].Pattern)
	require.Equal(t, scaling.RunFailed, run.Results[1].State)
	require.Contains(t, run.Results[1].Error, "bad query")
	require.Equal(t, scaling.RunSucceeded, run.Results[2].State)
	require.Equal(t, PatternKeptManual, run.Results[2].Pattern)
	require.Equal(t, scaling.RunFailed, run.Results[3].State)
	require.Contains(t, run.Results[3].Error, "history has no recent samples: newest sample at")

	for _, svc := range []string{"checkout", "search"} {
		preds, err := st.ListPredictions(ctx, svc, 0)
		require.NoError(t, err)
		require.Len(t, preds, 1, svc)
		p := preds[0]
		require.Len(t, p.Points, 288)
		require.Equal(t, end.Truncate(5*time.Minute).Add(5*time.Minute).UnixMilli(), p.Points[0].Timestamp)
		// The noiseless load is inside a few percent of the mean forecast on average.
		var ape float64
		for _, pt := range p.Points {
			truth := loads[svc].At(time.UnixMilli(pt.Timestamp))
			ape += abs(pt.ExpectedLoad-truth) / truth
		}
		require.Less(t, ape/288, 0.06, svc)
		require.Greater(t, p.BacktestCoverage, 0.5, svc)
		// Weeks of history and no prediction stored before: the first run calibrates on the
		// last two days' forecasts, fitted afterwards from what Prometheus holds.
		require.NotNil(t, p.Calibration, svc)
		require.Equal(t, float64(2*24*60), p.Calibration.WindowMinutes, svc)
		require.Contains(t, p.Calibration.Reason, "48 of the 48 forecasts replayed were fitted afterwards", svc)
	}
	pat, err := st.GetPattern(ctx, "checkout")
	require.NoError(t, err)
	require.Equal(t, scaling.SourceDerived, pat.Source)
	require.NotEmpty(t, pat.TimeWindows)
	kept, err := st.GetPattern(ctx, "search")
	require.NoError(t, err)
	require.Equal(t, manual, kept)

	// The actual loop reads the real current load (instant query at the data's end).
	f.Tick(ctx)
	inst, err := client.QueryOne(ctx, services[0].Query, end)
	require.NoError(t, err)
	require.Equal(t, inst.V, testutil.ToFloat64(f.m.actual.WithLabelValues("checkout")))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP kai_forecast_runs_total Forecast runs by result: succeeded, partial (some services failed), failed, skipped (a run was still in progress), aborted (stopped by shutdown), abandoned (left unfinished by a dead process, counted by the process that marked it).
# TYPE kai_forecast_runs_total counter
kai_forecast_runs_total{result="abandoned"} 0
kai_forecast_runs_total{result="aborted"} 0
kai_forecast_runs_total{result="failed"} 0
kai_forecast_runs_total{result="partial"} 1
kai_forecast_runs_total{result="skipped"} 0
kai_forecast_runs_total{result="succeeded"} 0
`), "kai_forecast_runs_total"))
	require.Equal(t, 2, testutil.CollectAndCount(f.m.actual), "broken and stopped have no actual load")
	require.Equal(t, 4, testutil.CollectAndCount(f.m.predicted), "mean and upper for the two good services")
	require.Equal(t, 2, testutil.CollectAndCount(f.m.errRatio))
	lint, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	for _, p := range lint {
		// The quantile label on a gauge is the contract with dashboards and alerts (DESIGN.md).
		if p.Metric == "kai_forecast_predicted_load" && strings.Contains(p.Text, `"quantile" label`) {
			continue
		}
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
