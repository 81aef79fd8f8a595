package forecaster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/internal/promtest"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// synthetic is an in-memory HistorySource and LoadSource: each service's load is a
// promtest.Load; hooks let a test block or fail one service.
type synthetic struct {
	loads map[string]promtest.Load
	// block, when set for a service, is waited on before answering (or until ctx ends).
	block map[string]chan struct{}
	fail  map[string]error
	mu    sync.Mutex
	calls int
}

func (s *synthetic) Range(ctx context.Context, svc scaling.ManagedService, start, end time.Time, step time.Duration) (forecast.Series, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	if ch := s.block[svc.Name]; ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return forecast.Series{}, context.Cause(ctx)
		}
	}
	if err := s.fail[svc.Name]; err != nil {
		return forecast.Series{}, err
	}
	l, ok := s.loads[svc.Name]
	if !ok {
		return forecast.Series{}, fmt.Errorf("no load for %s", svc.Name)
	}
	n := int(end.Sub(start)/step) + 1
	return forecast.Series{Start: start, Step: step, Values: l.Values(start, step, n)}, nil
}

func (s *synthetic) Current(ctx context.Context, svc scaling.ManagedService, at time.Time) (float64, error) {
	if err := s.fail[svc.Name]; err != nil {
		return 0, err
	}
	return s.loads[svc.Name].At(at), nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time            { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)           { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration)       { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

func openStore(t *testing.T) *store.Bolt {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai.db"), store.BoltOptions{Now: storeNow})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	return st
}

// storeNow is the store's clock in these tests: real time, moved back to the day their runs
// are dated, so that the store's retention (store.RunMaxAge) does not drop them as the real
// date moves on, while its locks still expire as time passes.
func storeNow() time.Time {
	return time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC).Add(time.Since(testsStarted))
}

var testsStarted = time.Now()

var testServices = []scaling.ManagedService{
	{Name: "checkout", Namespace: "shop", Query: "checkout", CapacityPerReplica: 20, Quantile: 0.9},
	{Name: "search", Namespace: "shop", Query: "search", CapacityPerReplica: 50, Quantile: 0.95},
	{Name: "broken", Namespace: "shop", Query: "broken", CapacityPerReplica: 10},
}

func newSynthetic() *synthetic {
	return &synthetic{
		loads: map[string]promtest.Load{
			"checkout": {Base: 200, DailyAmp: 120, WeeklyAmp: 60, PeakHour: 14, Noise: 0.03, Seed: 2},
			"search":   {Base: 500, DailyAmp: 300, WeeklyAmp: 100, PeakHour: 20, Noise: 0.03, Seed: 3},
		},
		block: map[string]chan struct{}{},
		fail:  map[string]error{"broken": errors.New(`bad query: parse error`)},
	}
}

func TestPredictedAt(t *testing.T) {
	p := scaling.Prediction{
		FittedAt: 1_000_000, ValidUntil: 5_000_000, StepSeconds: 300,
		Points: []scaling.PredictionPoint{
			{Timestamp: 1_200_000, ExpectedLoad: 10, UpperLoad: 20},
			{Timestamp: 1_500_000, ExpectedLoad: 40, UpperLoad: 50},
			{Timestamp: 1_800_000, ExpectedLoad: 40, UpperLoad: 80},
		},
	}
	tests := []struct {
		name        string
		atMs        int64
		mean, upper float64
		ok          bool
	}{
		{name: "more than a step before the first point", atMs: 899_999},
		{name: "within a step before the first point uses it", atMs: 900_000, mean: 10, upper: 20, ok: true},
		{name: "between fitting and the first point uses it", atMs: 1_000_000, mean: 10, upper: 20, ok: true},
		{name: "on a point", atMs: 1_500_000, mean: 40, upper: 50, ok: true},
		{name: "interpolated", atMs: 1_300_000, mean: 20, upper: 30, ok: true},
		{name: "last point", atMs: 1_800_000, mean: 40, upper: 80, ok: true},
		{name: "after the last point", atMs: 1_800_001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mean, upper, ok := PredictedAt(p, time.UnixMilli(tt.atMs))
			require.Equal(t, tt.ok, ok)
			require.InDelta(t, tt.mean, mean, 1e-9)
			require.InDelta(t, tt.upper, upper, 1e-9)
		})
	}
	expired := p
	expired.ValidUntil = 1_400_000
	_, _, ok := PredictedAt(expired, time.UnixMilli(1_500_000))
	require.False(t, ok, "an expired prediction is never read, even where it has points")
}

func TestBuildPrediction(t *testing.T) {
	svc := scaling.ManagedService{Name: "checkout", CapacityPerReplica: 20}
	start := time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)
	fitted := start.Add(-3 * time.Minute)
	r := forecast.Result{Model: "m", Reason: "why", Start: start, Step: 5 * time.Minute,
		Mean: []float64{10, 30}, Upper: []float64{20, 41}, Backtest: forecast.Scores{MASE: 0.5, SMAPE: 7, Coverage: 0.9, Origins: 7}}
	p, err := BuildPrediction(svc, r, 0.9, fitted, 2*time.Hour)
	require.NoError(t, err)
	require.Equal(t, scaling.Prediction{
		Service: "checkout", Model: "m", ModelReason: "why",
		FittedAt: fitted.UnixMilli(), ValidUntil: fitted.Add(2 * time.Hour).UnixMilli(), StepSeconds: 300, Quantile: 0.9,
		BacktestMASE: 0.5, BacktestSMAPE: 7, BacktestCoverage: 0.9,
		Points: []scaling.PredictionPoint{
			{Timestamp: start.UnixMilli(), ExpectedLoad: 10, UpperLoad: 20, RecommendedMinReplicas: 1},
			{Timestamp: start.Add(5 * time.Minute).UnixMilli(), ExpectedLoad: 30, UpperLoad: 41, RecommendedMinReplicas: 3},
		},
	}, p)

	r.Upper[1] = math.NaN()
	_, err = BuildPrediction(svc, r, 0.9, fitted, time.Hour)
	require.ErrorContains(t, err, "point 1 is not finite")
	r.Upper = r.Upper[:1]
	_, err = BuildPrediction(svc, r, 0.9, fitted, time.Hour)
	require.ErrorContains(t, err, "2 mean and 1 upper")
}

type fixture struct {
	f     *Forecaster
	st    *store.Bolt
	hist  *synthetic
	clock *clock
	reg   *prometheus.Registry
}

func newFixture(t *testing.T, mod func(*Options)) fixture {
	t.Helper()
	fx := fixture{st: openStore(t), hist: newSynthetic(), clock: &clock{t: time.Date(2026, 11, 27, 12, 2, 30, 0, time.UTC)}, reg: prometheus.NewRegistry()}
	opts := Options{
		Services: func() []scaling.ManagedService { return testServices },
		History:  fx.hist,
		Load:     fx.hist,
		Store:    fx.st,
		Bounds: BoundsFunc(func(context.Context, scaling.ManagedService) (ReplicaBounds, error) {
			return ReplicaBounds{MaxReplicas: 30, BaseMinReplicas: 2}, nil
		}),
		Registerer: fx.reg,
		Logger:     testLogger(t),
		Now:        fx.clock.Now,
		Schedule:   "@hourly",
		// Forecasts fitted afterwards for calibration are the retro-fit tests' subject: the
		// others calibrate on the predictions their runs stored, or on none.
		RetroFits: -1,
	}
	if mod != nil {
		mod(&opts)
	}
	fx.f = New(opts)
	return fx
}

func TestRunOnceStoresPredictionsAndPatterns(t *testing.T) {
	fx := newFixture(t, nil)
	ctx := t.Context()
	manual := scaling.Pattern{Service: "search", PatternType: scaling.PatternDaily, Source: scaling.SourceManual,
		TimeWindows: []scaling.TimeWindow{{HourOfDay: 9, ExpectedLoad: 0.5}}, LastUpdated: 1}
	require.NoError(t, fx.st.PutPattern(ctx, manual))

	run, err := fx.f.RunOnce(ctx, "manual", "")
	require.NoError(t, err)
	require.Equal(t, scaling.RunPartial, run.State)
	require.Equal(t, "manual", run.Trigger)
	require.Equal(t, fx.clock.Now().UnixMilli(), run.StartedAt)
	require.Equal(t, run.StartedAt, run.FinishedAt)
	require.Len(t, run.Results, 3)
	byName := map[string]scaling.ServiceForecastResult{}
	for _, r := range run.Results {
		byName[r.Service] = r
	}
	require.Equal(t, scaling.RunSucceeded, byName["checkout"].State)
	require.Equal(t, PatternDerived, byName["checkout"].Pattern)
	require.NotEmpty(t, byName["checkout"].Model)
	require.Equal(t, scaling.RunSucceeded, byName["search"].State)
	require.Equal(t, PatternKeptManual, byName["search"].Pattern)
	require.Equal(t, scaling.RunFailed, byName["broken"].State)
	require.Contains(t, byName["broken"].Error, "read history: bad query")

	// The stored prediction: a day at 5m from the next step, valid for two schedule intervals.
	now := fx.clock.Now()
	preds, err := fx.st.ListPredictions(ctx, "checkout", 0)
	require.NoError(t, err)
	require.Len(t, preds, 1)
	p := preds[0]
	require.Equal(t, now.UnixMilli(), p.FittedAt)
	require.Equal(t, now.Add(2*time.Hour).UnixMilli(), p.ValidUntil)
	require.Equal(t, 2*time.Hour, fx.f.Validity())
	require.EqualValues(t, 300, p.StepSeconds)
	require.Equal(t, 0.9, p.Quantile)
	require.Len(t, p.Points, 288)
	require.Equal(t, time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC).UnixMilli(), p.Points[0].Timestamp)
	truth := fx.hist.loads["checkout"]
	var ape float64
	for _, pt := range p.Points {
		require.Equal(t, forecast.ReplicasFor(pt.UpperLoad, 20), pt.RecommendedMinReplicas)
		require.GreaterOrEqual(t, pt.UpperLoad, pt.ExpectedLoad)
		want := truth.At(time.UnixMilli(pt.Timestamp))
		ape += math.Abs(pt.ExpectedLoad-want) / want
	}
	require.Less(t, ape/float64(len(p.Points)), 0.05, "a clean seasonal load is forecast within 5%% on average")
	search, err := fx.st.ListPredictions(ctx, "search", 0)
	require.NoError(t, err)
	require.Len(t, search, 1)
	require.Equal(t, 0.95, search[0].Quantile)
	broken, err := fx.st.ListPredictions(ctx, "broken", 0)
	require.NoError(t, err)
	require.Empty(t, broken)

	// Patterns: checkout derived; the manual one of search kept as it was.
	pat, err := fx.st.GetPattern(ctx, "checkout")
	require.NoError(t, err)
	require.Equal(t, scaling.SourceDerived, pat.Source)
	require.Equal(t, now.UnixMilli(), pat.LastUpdated)
	require.NotEmpty(t, pat.TimeWindows, "a load peaking at 380 on 20 per replica needs more than 2 replicas")
	require.NoError(t, pat.Validate())
	kept, err := fx.st.GetPattern(ctx, "search")
	require.NoError(t, err)
	require.Equal(t, manual, kept)

	// Metrics: run counted, last success set, predicted load for now from the stored prediction.
	require.NoError(t, testutil.GatherAndCompare(fx.reg, strings.NewReader(`
# HELP kai_forecast_runs_total Forecast runs by result: succeeded, partial (some services failed), failed, skipped (a run was still in progress), aborted (stopped by shutdown), abandoned (left unfinished by a dead process, counted by the process that marked it).
# TYPE kai_forecast_runs_total counter
kai_forecast_runs_total{result="abandoned"} 0
kai_forecast_runs_total{result="aborted"} 0
kai_forecast_runs_total{result="failed"} 0
kai_forecast_runs_total{result="partial"} 1
kai_forecast_runs_total{result="skipped"} 0
kai_forecast_runs_total{result="succeeded"} 0
# HELP kai_forecast_prediction_stale 1 when no valid prediction covers now for the service (its predicted load is then absent), else 0.
# TYPE kai_forecast_prediction_stale gauge
kai_forecast_prediction_stale{service="broken"} 1
kai_forecast_prediction_stale{service="checkout"} 0
kai_forecast_prediction_stale{service="search"} 0
`), "kai_forecast_runs_total", "kai_forecast_prediction_stale"))
	require.Equal(t, float64(now.Unix()), testutil.ToFloat64(fx.f.m.lastSuccess))
	require.Equal(t, 1, testutil.CollectAndCount(fx.f.m.duration))
	require.Equal(t, p.Points[0].ExpectedLoad, testutil.ToFloat64(fx.f.m.predicted.WithLabelValues("checkout", "0.5")))
	require.Equal(t, p.Points[0].UpperLoad, testutil.ToFloat64(fx.f.m.predicted.WithLabelValues("checkout", "0.9")))
	require.Equal(t, search[0].Points[0].UpperLoad, testutil.ToFloat64(fx.f.m.predicted.WithLabelValues("search", "0.95")))
	require.Equal(t, 4, testutil.CollectAndCount(fx.f.m.predicted), "no gauge for broken")
}

func TestActualLoopAndStaleness(t *testing.T) {
	fx := newFixture(t, nil)
	ctx := t.Context()
	_, err := fx.f.RunOnce(ctx, "schedule", "")
	require.NoError(t, err)

	// Three ticks, a minute apart, into the prediction.
	for range 3 {
		fx.clock.Add(time.Minute)
		fx.f.Tick(ctx)
	}
	now := fx.clock.Now()
	truth := fx.hist.loads["checkout"].At(now)
	require.Equal(t, truth, testutil.ToFloat64(fx.f.m.actual.WithLabelValues("checkout")))
	require.Equal(t, 2, testutil.CollectAndCount(fx.f.m.actual), "broken's failing query leaves no actual gauge")
	preds, err := fx.st.ListPredictions(ctx, "checkout", 1)
	require.NoError(t, err)
	mean, _, ok := PredictedAt(preds[0], now)
	require.True(t, ok)
	require.Equal(t, mean, testutil.ToFloat64(fx.f.m.predicted.WithLabelValues("checkout", "0.5")))
	ratio := testutil.ToFloat64(fx.f.m.errRatio.WithLabelValues("checkout"))
	require.Greater(t, ratio, 0.0)
	require.Less(t, ratio, 0.1)
	require.Equal(t, 2, testutil.CollectAndCount(fx.f.m.errRatio))

	// Past ValidUntil (two schedule intervals) without a new run: the predicted gauge goes,
	// the stale flag says so, and the error ratio empties once its window has no samples.
	fx.clock.Add(2 * time.Hour)
	fx.f.Tick(ctx)
	require.Zero(t, testutil.CollectAndCount(fx.f.m.predicted))
	require.Equal(t, 1.0, testutil.ToFloat64(fx.f.m.stale.WithLabelValues("checkout")))
	require.Zero(t, testutil.CollectAndCount(fx.f.m.errRatio))
	require.Equal(t, 2, testutil.CollectAndCount(fx.f.m.actual), "actual load does not depend on predictions")

	// A new run brings it back at once.
	_, err = fx.f.RunOnce(ctx, "schedule", "")
	require.NoError(t, err)
	require.Equal(t, 0.0, testutil.ToFloat64(fx.f.m.stale.WithLabelValues("checkout")))
	require.Equal(t, 4, testutil.CollectAndCount(fx.f.m.predicted))
}

func TestRunActualLoopStopsWithContext(t *testing.T) {
	fx := newFixture(t, func(o *Options) { o.ActualInterval = 10 * time.Millisecond })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- fx.f.RunActualLoop(ctx) }()
	require.Eventually(t, func() bool { return testutil.CollectAndCount(fx.f.m.actual) == 2 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func TestTriggerNoOverlapAndRunStates(t *testing.T) {
	fx := newFixture(t, nil)
	release := make(chan struct{})
	fx.hist.block["checkout"] = release

	_, err := fx.f.Trigger(t.Context(), "nope")
	require.ErrorIs(t, err, ErrUnknownService)
	var unknown interface{ UnknownService() bool }
	require.ErrorAs(t, err, &unknown, "the API recognises it by behaviour (404)")
	require.EqualError(t, err, `forecast "nope": unknown service`)

	id, err := fx.f.Trigger(t.Context(), "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r, _ := fx.f.Run(id)
		return r.State == scaling.RunRunning
	}, 5*time.Second, 5*time.Millisecond)

	_, err = fx.f.Trigger(t.Context(), "search")
	require.ErrorIs(t, err, ErrBusy)
	var busy interface{ Busy() bool }
	require.ErrorAs(t, err, &busy, "the API recognises it by behaviour (409)")
	require.EqualError(t, err, "forecast: a forecast run is already in progress")
	_, err = fx.f.RunOnce(t.Context(), "manual", "")
	require.ErrorIs(t, err, ErrBusy)

	// A scheduled run while busy is skipped and counted.
	sctx, stop := context.WithCancel(t.Context())
	fs := New(Options{Services: fx.f.opts.Services, History: fx.hist, Store: fx.st, Logger: testLogger(t), Schedule: "@every 1s", Registerer: prometheus.NewRegistry()})
	fs.mu.Lock()
	fs.busy = true // as if a run were in progress
	fs.mu.Unlock()
	started := make(chan error)
	go func() { started <- fs.Start(sctx) }()
	require.Eventually(t, func() bool { return testutil.ToFloat64(fs.m.runs.WithLabelValues(resultSkipped)) >= 1 }, 5*time.Second, 20*time.Millisecond)
	stop()
	require.NoError(t, <-started)

	r, ok := fx.f.Run(id)
	require.True(t, ok)
	require.Equal(t, "manual", r.Trigger)
	states := map[string]scaling.RunState{}
	for _, res := range r.Results {
		states[res.Service] = res.State
	}
	require.Equal(t, scaling.RunRunning, states["checkout"])

	close(release)
	require.Eventually(t, func() bool {
		r, _ := fx.f.Run(id)
		return r.FinishedAt != 0
	}, 10*time.Second, 10*time.Millisecond)
	r, _ = fx.f.Run(id)
	require.Equal(t, scaling.RunPartial, r.State)

	// Free again: a one-service run goes through.
	run, err := fx.f.RunOnce(t.Context(), "manual", "search")
	require.NoError(t, err)
	require.Equal(t, scaling.RunSucceeded, run.State)
	require.Equal(t, "search", run.Service)
	require.Len(t, run.Results, 1)
	require.Len(t, fx.f.Runs(), 2)
	_, ok = fx.f.Run("unknown")
	require.False(t, ok)
}

func TestPerServiceTimeoutDoesNotBlockOthers(t *testing.T) {
	fx := newFixture(t, func(o *Options) { o.PerServiceTimeout = 3 * time.Second; o.Parallelism = 1 })
	fx.hist.block["checkout"] = make(chan struct{}) // never released
	run, err := fx.f.RunOnce(t.Context(), "manual", "")
	require.NoError(t, err)
	require.Equal(t, scaling.RunPartial, run.State)
	for _, r := range run.Results {
		switch r.Service {
		case "checkout":
			require.Equal(t, scaling.RunFailed, r.State)
			require.Contains(t, r.Error, "forecast of checkout took longer than 3s")
		case "search":
			require.Equal(t, scaling.RunSucceeded, r.State)
		}
	}
}

func TestNoBoundsSkipsPatterns(t *testing.T) {
	fx := newFixture(t, func(o *Options) { o.Bounds = nil })
	run, err := fx.f.RunOnce(t.Context(), "manual", "checkout")
	require.NoError(t, err)
	require.Equal(t, scaling.RunSucceeded, run.State)
	require.Equal(t, PatternSkipped, run.Results[0].Pattern)
	_, err = fx.st.GetPattern(t.Context(), "checkout")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestCheckFresh(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	nan := math.NaN()
	tests := []struct {
		name    string
		values  []float64
		wantErr string
	}{
		{name: "newest point recent", values: []float64{1, 2, 3}},
		{name: "trailing gap within the limit", values: []float64{1, 2, nan}},
		{name: "trailing gap past the limit", values: []float64{1, nan, nan}, wantErr: "history has no recent samples: newest sample at 2026-11-27T00:00:00Z, 1h0m0s before fitting (limit 45m0s)"},
		{name: "no samples", values: []float64{nan, nan, nan}, wantErr: "history has no recent samples: no sample in the 1h30m0s read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkFresh(forecast.Series{Start: t0, Step: 30 * time.Minute, Values: tt.values}, t0.Add(time.Hour), 45*time.Minute)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrStaleHistory)
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestBadSchedule(t *testing.T) {
	f := New(Options{Schedule: "every tuesday", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.ErrorContains(t, f.Start(t.Context()), `forecast schedule "every tuesday"`)
	require.Equal(t, 2*time.Hour, f.Validity())
	require.Equal(t, 30*time.Minute, New(Options{Schedule: "*/15 * * * *"}).Validity())
}

func TestRunsKeepsTheLast(t *testing.T) {
	fx := newFixture(t, func(o *Options) {
		o.KeepRuns = 3
		o.Services = func() []scaling.ManagedService { return nil }
	})
	var ids []string
	for range 5 {
		r, err := fx.f.RunOnce(t.Context(), "manual", "")
		require.NoError(t, err)
		require.Equal(t, scaling.RunSucceeded, r.State, "no services is a successful empty run")
		ids = append(ids, r.ID)
	}
	runs := fx.f.Runs()
	require.Len(t, runs, 3)
	require.Equal(t, ids[4], runs[0].ID)
	// Forgotten in memory, still answered from the store.
	r, ok := fx.f.Run(ids[0])
	require.True(t, ok)
	require.Equal(t, ids[0], r.ID)
	require.Equal(t, scaling.RunSucceeded, r.State)
	_, ok = fx.f.Run("no-such-run")
	require.False(t, ok)
}

// runLog wraps the real store and keeps every run written, or fails run writes with putErr.
type runLog struct {
	Store
	mu     sync.Mutex
	puts   []scaling.ForecastRun
	putErr error
}

func (l *runLog) PutRun(ctx context.Context, r scaling.ForecastRun) error {
	l.mu.Lock()
	l.puts = append(l.puts, r)
	err := l.putErr
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return l.Store.PutRun(ctx, r)
}

// TestRunVisibleToOtherInstances: a run finished by one Forecaster is answered by Run(id) of
// another sharing the store, as another replica behind the same Service would.
func TestRunVisibleToOtherInstances(t *testing.T) {
	log := &runLog{}
	fx := newFixture(t, func(o *Options) { log.Store = o.Store; o.Store = log })
	other := New(Options{Services: fx.f.opts.Services, History: fx.hist, Store: fx.st, Logger: testLogger(t), Registerer: prometheus.NewRegistry(), Now: fx.clock.Now})

	run, err := fx.f.RunOnce(t.Context(), "manual", "")
	require.NoError(t, err)
	require.Equal(t, scaling.RunPartial, run.State)
	_, inMemory := other.memRun(run.ID)
	require.False(t, inMemory)
	got, ok := other.Run(run.ID)
	require.True(t, ok)
	require.Equal(t, run, got, "state, times and per-service results")
	require.Len(t, got.Results, 3)

	// Written when queued, when started and when finished, in that order.
	var states []scaling.RunState
	for _, p := range log.puts {
		require.Equal(t, run.ID, p.ID)
		states = append(states, p.State)
	}
	require.Equal(t, []scaling.RunState{scaling.RunQueued, scaling.RunRunning, scaling.RunPartial}, states)
	require.Equal(t, []scaling.ServiceForecastResult{}, log.puts[0].Results)
	require.Len(t, log.puts[1].Results, 3)

	// Two instances never hand out the same id, even at the same instant.
	run2, err := other.RunOnce(t.Context(), "manual", "checkout")
	require.NoError(t, err)
	require.NotEqual(t, run.ID, run2.ID)
	got, ok = fx.f.Run(run2.ID)
	require.True(t, ok)
	require.Equal(t, run2, got)
	require.Zero(t, testutil.ToFloat64(fx.f.m.runRecordErrors))
}

// TestRunRecordFailureDoesNotFailForecast: the store refusing run records costs the other
// replicas their view of the run, never the forecast itself.
func TestRunRecordFailureDoesNotFailForecast(t *testing.T) {
	log := &runLog{putErr: fmt.Errorf("put run: %w", store.ErrUnavailable)}
	fx := newFixture(t, func(o *Options) { log.Store = o.Store; o.Store = log })
	run, err := fx.f.RunOnce(t.Context(), "manual", "checkout")
	require.NoError(t, err)
	require.Equal(t, scaling.RunSucceeded, run.State)
	preds, err := fx.st.ListPredictions(t.Context(), "checkout", 1)
	require.NoError(t, err)
	require.Len(t, preds, 1, "the prediction is stored all the same")
	require.Equal(t, 3.0, testutil.ToFloat64(fx.f.m.runRecordErrors), "queued, running and finished writes counted")
	got, ok := fx.f.Run(run.ID)
	require.True(t, ok, "this instance still answers from memory")
	require.Equal(t, run, got)
	_, err = fx.st.GetRun(t.Context(), run.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	// The next run, with the store back, is recorded and not busy-blocked by the failures.
	log.mu.Lock()
	log.putErr = nil
	log.mu.Unlock()
	run, err = fx.f.RunOnce(t.Context(), "manual", "checkout")
	require.NoError(t, err)
	stored, err := fx.st.GetRun(t.Context(), run.ID)
	require.NoError(t, err)
	require.Equal(t, run, stored)
}

// nanLoad answers the current load of every service with a fixed value.
type nanLoad struct{ v float64 }

func (l nanLoad) Current(context.Context, scaling.ManagedService, time.Time) (float64, error) {
	return l.v, nil
}

// Regression test for issue 9: a current load of NaN or ±Inf (a rate ratio of 0/0) is no
// metric value: the actual gauge is removed and no error-ratio sample is taken.
func TestTickRefusesNonFiniteActualLoad(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			fx := newFixture(t, func(o *Options) { o.Load = nanLoad{v} })
			ctx := t.Context()
			_, err := fx.f.RunOnce(ctx, "schedule", "")
			require.NoError(t, err)
			fx.clock.Add(time.Minute)
			fx.f.Tick(ctx)
			require.Zero(t, testutil.CollectAndCount(fx.f.m.actual))
			require.Zero(t, testutil.CollectAndCount(fx.f.m.errRatio))
			require.Equal(t, 4, testutil.CollectAndCount(fx.f.m.predicted), "the predicted load does not depend on it")
		})
	}
}

func TestUpdateErrorStaysFinite(t *testing.T) {
	tests := []struct {
		name              string
		predicted, actual []float64
		want              float64 // -1: no gauge
	}{
		{name: "ordinary", predicted: []float64{110, 90}, actual: []float64{100, 100}, want: 0.1},
		{name: "overflowing ratio left out", predicted: []float64{math.MaxFloat64}, actual: []float64{0}, want: -1},
		{name: "huge ratios average without overflow", predicted: []float64{1e302, 1e302}, actual: []float64{1e-6, 1e-6}, want: 1e308},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, nil)
			now := fx.clock.Now()
			for i := range tc.predicted {
				fx.f.updateError("svc", now, tc.predicted[i], tc.actual[i], true)
			}
			if tc.want < 0 {
				require.Zero(t, testutil.CollectAndCount(fx.f.m.errRatio))
				return
			}
			got := testutil.ToFloat64(fx.f.m.errRatio.WithLabelValues("svc"))
			require.InEpsilon(t, tc.want, got, 1e-9)
		})
	}
}

// TestRunsCalibrateFloorSettings checks each prediction carries the floor settings calibrated on
// the service's own past predictions: without forecasts fitted afterwards, the defaults (and
// why) until there are two days of them, then a replay of them.
func TestRunsCalibrateFloorSettings(t *testing.T) {
	for _, tt := range []struct {
		name        string
		maxReplicas int32
		// wantBeyondMax: the load overruns max replicas, and the gauge and reason say so.
		wantBeyondMax bool
	}{
		{"load within max replicas", 30, false},
		{"load above what max replicas carry", 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) { testCalibrateFloorSettings(t, tt.maxReplicas, tt.wantBeyondMax) })
	}
}

func testCalibrateFloorSettings(t *testing.T, maxReplicas int32, wantBeyondMax bool) {
	var boundsDown atomic.Bool
	fx := newFixture(t, func(o *Options) {
		o.Schedule = "0 */6 * * *"
		o.Bounds = BoundsFunc(func(context.Context, scaling.ManagedService) (ReplicaBounds, error) {
			if boundsDown.Load() {
				return ReplicaBounds{}, errors.New("api server unreachable")
			}
			return ReplicaBounds{MaxReplicas: maxReplicas, BaseMinReplicas: min(2, maxReplicas)}, nil
		})
	})
	ctx := t.Context()
	latest := func() scaling.Prediction {
		preds, err := fx.st.ListPredictions(ctx, "checkout", 1)
		require.NoError(t, err)
		require.Len(t, preds, 1)
		require.NotNil(t, preds[0].Calibration)
		return preds[0]
	}
	_, err := fx.f.RunOnce(ctx, "manual", "checkout")
	require.NoError(t, err)
	first := latest().Calibration
	require.Contains(t, first.Reason, "history too short to calibrate")
	require.Zero(t, first.WindowMinutes)
	require.Zero(t, testutil.CollectAndCount(fx.f.m.beyondMax), "no replay yet: no share beyond max")
	require.Zero(t, testutil.CollectAndCount(fx.f.m.calReduction)+testutil.CollectAndCount(fx.f.m.calIncrease), "nor scores")

	for range 12 { // three days of runs every 6 hours
		fx.clock.Add(6 * time.Hour)
		_, err := fx.f.RunOnce(ctx, "manual", "checkout")
		require.NoError(t, err)
	}
	cal := latest().Calibration
	require.Contains(t, cal.Reason, "replayed 3.0 days of history")
	require.Positive(t, cal.WindowMinutes)
	require.LessOrEqual(t, cal.ReplicaHoursIncrease, 0.1*0.8+1e-9, "within the default budget")
	require.Equal(t, 1, testutil.CollectAndCount(fx.f.m.beyondMax), "the replay's share beyond max is published")
	require.Equal(t, cal.UnderProvisionedReduction, testutil.ToFloat64(fx.f.m.calReduction.WithLabelValues("checkout")), "and the chosen settings' scores")
	require.Equal(t, cal.ReplicaHoursIncrease, testutil.ToFloat64(fx.f.m.calIncrease.WithLabelValues("checkout")))
	share := testutil.ToFloat64(fx.f.m.beyondMax.WithLabelValues("checkout"))
	if wantBeyondMax {
		require.Greater(t, share, 0.25)
		require.LessOrEqual(t, share, 1.0)
		require.Contains(t, cal.Reason, "only a higher maxReplicas does")
	} else {
		require.Zero(t, share)
		require.NotContains(t, cal.Reason, "maxReplicas")
	}

	// Bounds unreadable: no replay, so no share is published rather than last run's.
	boundsDown.Store(true)
	fx.clock.Add(6 * time.Hour)
	_, err = fx.f.RunOnce(ctx, "manual", "checkout")
	require.NoError(t, err)
	require.Contains(t, latest().Calibration.Reason, "HPA bounds unknown")
	require.Zero(t, testutil.CollectAndCount(fx.f.m.beyondMax), "a calibration that could not replay removes the share")
	require.Zero(t, testutil.CollectAndCount(fx.f.m.calReduction)+testutil.CollectAndCount(fx.f.m.calIncrease), "and the scores")
}

// BoundsFunc adapts a function to Bounds.
type BoundsFunc func(ctx context.Context, svc scaling.ManagedService) (ReplicaBounds, error)

// ReplicaBounds calls f.
func (f BoundsFunc) ReplicaBounds(ctx context.Context, svc scaling.ManagedService) (ReplicaBounds, error) {
	return f(ctx, svc)
}

// Calibration keeps of each past prediction exactly what the planner reads of it
// (actuator.PlanningEnd): fewer points and it would replay floors the planner does not plan.
// It kept the points within the validity, twice the lead and an hour of the fit: less than the
// planner reads once the forecast's step is longer than an hour.
func TestCalibrationKeepIsWhatThePlannerReads(t *testing.T) {
	fitted := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name             string
		step, validity   time.Duration
		lead             time.Duration
		wantKeptAfterFit time.Duration
	}{
		{name: "defaults", step: 5 * time.Minute, validity: 2 * time.Hour, lead: 5 * time.Minute, wantKeptAfterFit: 3*time.Hour + 5*time.Minute},
		{name: "a long lead", step: 5 * time.Minute, validity: 2 * time.Hour, lead: 30 * time.Minute, wantKeptAfterFit: 3*time.Hour + 30*time.Minute},
		{name: "a step longer than the slack", step: 2 * time.Hour, validity: 4 * time.Hour, lead: 5 * time.Minute, wantKeptAfterFit: 6*time.Hour + 5*time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &Forecaster{opts: Options{Step: tt.step, Validity: tt.validity}, recent: map[string][]scaling.Prediction{}}
			p := scaling.Prediction{Service: "api", FittedAt: fitted.UnixMilli(), ValidUntil: fitted.Add(tt.validity).UnixMilli(),
				StepSeconds: int64(tt.step / time.Second)}
			for at := fitted.Add(tt.step); at.Before(fitted.Add(48 * time.Hour)); at = at.Add(tt.step) {
				p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: at.UnixMilli(), ExpectedLoad: 1, UpperLoad: 2})
			}
			end := actuator.PlanningEnd(p, tt.lead)
			require.Equal(t, fitted.Add(tt.wantKeptAfterFit).UnixMilli(), end)
			want := slices.DeleteFunc(slices.Clone(p.Points), func(pt scaling.PredictionPoint) bool { return pt.Timestamp > end })
			now := fitted.Add(time.Hour)
			stored := f.remember("api", []scaling.Prediction{p}, now, tt.lead) // read back from the store
			require.Len(t, stored, 1)
			require.Equal(t, want, stored[0].Points)
			f.recent = map[string][]scaling.Prediction{}
			f.keepRecent(p, tt.lead) // fitted in this process
			kept := f.remember("api", nil, now, tt.lead)
			require.Len(t, kept, 1)
			require.Equal(t, want, kept[0].Points)
		})
	}
}

// TestRunDurationOnTheWallClock: the duration histogram measures the work on the wall clock,
// not on Now, which in the demo is a simulated clock running many times faster (a half-second
// run was observed as minutes).
func TestRunDurationOnTheWallClock(t *testing.T) {
	var mu sync.Mutex
	sim := time.Date(2026, 11, 27, 12, 2, 30, 0, time.UTC)
	fx := newFixture(t, func(o *Options) {
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); sim = sim.Add(time.Hour); return sim }
	})
	_, err := fx.f.RunOnce(t.Context(), "manual", "checkout")
	require.NoError(t, err)
	mfs, err := fx.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "kai_forecast_duration_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			require.Equal(t, uint64(1), h.GetSampleCount())
			require.Less(t, h.GetSampleSum(), 60.0, "an hour passes on Now at every call")
			return
		}
	}
	t.Fatal("kai_forecast_duration_seconds not gathered")
}

// TestStartRunsAtStartThenOnSchedule: with RunAtStart, Start runs at once and then on its
// schedule. Regression test: the run at start read the loop's last scheduled time while the
// loop moved it on (a data race under -race, seen in the demo's restart test).
func TestStartRunsAtStartThenOnSchedule(t *testing.T) {
	var waits atomic.Int32
	fx := newFixture(t, func(o *Options) {
		o.Schedule, o.RunAtStart = "@every 1s", true
		o.Now = time.Now
		// The first scheduled time comes at once, while the run at start is beginning.
		o.After = func(d time.Duration) <-chan time.Time {
			if waits.Add(1) == 1 {
				d = 0
			}
			return time.After(d)
		}
	})
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- fx.f.Start(ctx) }()
	require.Eventually(t, func() bool { return len(fx.f.Runs()) >= 2 }, 10*time.Second, 10*time.Millisecond)
	stop()
	require.NoError(t, <-done)
	for _, r := range fx.f.Runs() {
		require.Equal(t, "schedule", r.Trigger)
		require.NotEqual(t, scaling.RunFailed, r.State)
	}
}

// TestCalibrationReplaysThePodStartup: calibration replays pods that start as the services
// file says; where it says nothing, as the pods measured; where they were not measured, in two
// fifths of the lead time, and the reason says why. Pods ready within half a minute of the lead
// time leave no shorter lead (pod start-up plus two syncs) to try, so fewer settings are
// replayed than with the default start-up.
func TestCalibrationReplaysThePodStartup(t *testing.T) {
	// calibrated runs three days of forecasts every 6 hours for a service with the given pod
	// start-up in the services file (0: none) whose pods measure measured (zero: unmeasured,
	// for why), and returns how many settings its last calibration replayed, the calibration,
	// the metrics and how often the pods were measured.
	calibrated := func(podStartupSeconds int64, measured actuator.PodStartup, why error) (int, scaling.Calibration, *prometheus.Registry, int) {
		svc := scaling.ManagedService{Name: "checkout", Namespace: "shop", Query: "checkout", CapacityPerReplica: 20, Quantile: 0.9,
			LeadTimeSeconds: 300, PodStartupSeconds: podStartupSeconds}
		meter := &fakeMeter{m: measured, err: why}
		fx := newFixture(t, func(o *Options) {
			o.Schedule = "0 */6 * * *"
			o.Services = func() []scaling.ManagedService { return []scaling.ManagedService{svc} }
			o.PodStartups = meter
		})
		ctx := t.Context()
		for range 13 {
			_, err := fx.f.RunOnce(ctx, "manual", "checkout")
			require.NoError(t, err)
			fx.clock.Add(6 * time.Hour)
		}
		preds, err := fx.st.ListPredictions(ctx, "checkout", 1)
		require.NoError(t, err)
		require.Len(t, preds, 1)
		cal := *preds[0].Calibration
		m := regexp.MustCompile(`through the HPA, pods ready \S+ after they start, with (\d+) settings`).FindStringSubmatch(cal.Reason)
		require.NotNil(t, m, cal.Reason)
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		return n, cal, fx.reg, len(meter.refs)
	}
	measured := actuator.PodStartup{Startup: 270 * time.Second, Pods: 7}
	tests := []struct {
		name              string
		podStartupSeconds int64
		measured          actuator.PodStartup
		why               error
		wantSeconds       int64
		wantSource        string
		wantReason        []string
	}{
		{name: "two fifths of the 5m lead time", why: errors.New("forbidden"), wantSeconds: 120, wantSource: scaling.PodStartupDefault,
			wantReason: []string{"pods ready 2m0s after they start, with 26 settings:",
				"; pod start-up two fifths of the lead time: the services file sets no podStartup and the pods' could not be measured (forbidden)"}},
		{name: "the services file's", podStartupSeconds: 270, measured: actuator.PodStartup{Startup: time.Minute, Pods: 5},
			wantSeconds: 270, wantSource: scaling.PodStartupFromServicesFile, wantReason: []string{"pods ready 4m30s after they start, with 23 settings:"}},
		{name: "the pods' measured", measured: measured, wantSeconds: 270, wantSource: scaling.PodStartupMeasured,
			wantReason: []string{"pods ready 4m30s after they start, with 23 settings:",
				"; pod start-up measured on the service's pods: the median from creation to ready of the 7 newest ready since they started"}},
	}
	settings := map[string]int{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, cal, reg, measurements := calibrated(tt.podStartupSeconds, tt.measured, tt.why)
			settings[tt.name] = n
			if tt.wantSource == scaling.PodStartupFromServicesFile {
				require.Zero(t, measurements, "the services file's start-up is not measured")
			} else {
				require.Equal(t, 13, measurements, "once a run, for calibration only")
			}
			require.Equal(t, tt.wantSeconds, cal.PodStartupSeconds)
			require.Equal(t, tt.wantSource, cal.PodStartupSource)
			for _, want := range tt.wantReason {
				require.Contains(t, cal.Reason, want)
			}
			if tt.wantSource == scaling.PodStartupFromServicesFile {
				require.NotContains(t, cal.Reason, "; pod start-up")
			}
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(`
# HELP kai_calibration_pod_startup_seconds Pod start-up (creation to ready) the service's last calibration replayed the HPA with, by where it came from: services-file (its podStartup), measured (the median over its newest pods) or default (two fifths of the lead time). Absent until a calibration has replayed history.
# TYPE kai_calibration_pod_startup_seconds gauge
kai_calibration_pod_startup_seconds{service="checkout",source=%q} %d
`, tt.wantSource, tt.wantSeconds)), "kai_calibration_pod_startup_seconds"))
		})
	}
	// Pods ready 4m30s into a 5m lead time leave no shorter lead to replay, whichever says so.
	require.Less(t, settings["the services file's"], settings["two fifths of the 5m lead time"])
	require.Equal(t, settings["the services file's"], settings["the pods' measured"])
}
