package hpasim

import (
	"context"
	"io"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/scaling"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// smallRamps is a 16-day ramps trace at a 15-minute step: two weeks of warm-up, two days scored.
func smallRamps() forecast.Series {
	o := DefaultRamps(time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC))
	o.Days, o.Step = 16, 15*time.Minute
	return GenerateRamps(o)
}

// replayDefaults are the simulate command's defaults, but for a 20-minute lead and a refit
// every 6 h (eight fits over the two evaluated days). The horizon is the service's day: over
// 12 h the backtest's evening origins scored only nights, and could not tell the models that
// forecast Monday's ramp from Sunday's from those that forecast it from last Monday's.
func replayDefaults() ReplayOptions {
	return ReplayOptions{MinReplicas: 1, MaxReplicas: 20, LeadTime: 20 * time.Minute, PodStartup: 2 * time.Minute,
		Quantile: 0.8, Model: forecast.ModelAuto, Refit: 6 * time.Hour, Horizon: 24 * time.Hour, Warmup: 14 * 24 * time.Hour,
		History: 8 * 7 * 24 * time.Hour, StepDown: actuator.DefaultStepDown, PlanEvery: 30 * time.Second}
}

func TestCompare(t *testing.T) {
	trace := smallRamps()
	tests := []struct {
		name        string
		opts        func(*ReplayOptions)
		wantDerived bool
		wantModels  []string // nil: any
	}{
		{name: "derived capacity", opts: func(*ReplayOptions) {}, wantDerived: true},
		{name: "given capacity", opts: func(o *ReplayOptions) { o.CapacityPerReplica = 60 }},
		{name: "one model, all history", opts: func(o *ReplayOptions) { o.Model, o.History = forecast.ModelHoltWintersDay, 0 },
			wantDerived: true, wantModels: []string{forecast.ModelHoltWintersDay}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := replayDefaults()
			tt.opts(&opts)
			cmp, err := Compare(t.Context(), discard, opts, trace)
			require.NoError(t, err)

			require.Equal(t, tt.wantDerived, cmp.CapacityDerived)
			if tt.wantDerived {
				require.InDelta(t, cmp.Trace.P95Load/(0.8*20), cmp.CapacityPerReplica, 1e-9)
			} else {
				require.Equal(t, opts.CapacityPerReplica, cmp.CapacityPerReplica)
			}
			require.Equal(t, TraceInfo{Start: trace.Start, End: trace.End(), Step: trace.Step, Points: len(trace.Values),
				EvaluatedFrom: trace.Start.Add(opts.Warmup), P95Load: cmp.Trace.P95Load}, cmp.Trace)
			require.Greater(t, cmp.Trace.P95Load, 900.0)

			// Two evaluated days at the 15 s sync, up to the last sample, for both runs.
			for _, r := range []Run{cmp.Reactive, cmp.Predictive} {
				require.InDelta(t, 2*24*60-15, r.Summary.EvaluatedMinutes, 1)
				require.GreaterOrEqual(t, r.Summary.ReplicaHours, r.Summary.LoadReplicaHours*0.9)
				require.Len(t, r.Samples, int((2*24*time.Hour-15*time.Minute)/SampleStep)+1)
				require.Equal(t, cmp.Trace.EvaluatedFrom, r.Samples[0].Time)
			}
			require.InDelta(t, cmp.Reactive.Summary.LoadReplicaHours, cmp.Predictive.Summary.LoadReplicaHours, 1e-9, "same load")

			// The reactive run has no floor to raise.
			require.Zero(t, cmp.Reactive.FloorRaisedMinutes)
			require.Zero(t, cmp.Reactive.FloorRaises)
			require.Zero(t, cmp.Reactive.StaleMinutes)
			for _, s := range cmp.Reactive.Samples {
				require.Equal(t, opts.MinReplicas, s.Floor)
			}

			require.Equal(t, 8, cmp.Fits.Fits, "one fit every 6 h over 2 days")
			require.Zero(t, cmp.Fits.Failures)
			if tt.wantModels != nil {
				require.Equal(t, map[string]int{tt.wantModels[0]: 8}, cmp.Fits.Models)
			}
			require.Greater(t, cmp.Fits.BacktestCoverage, 0.0)
			require.LessOrEqual(t, cmp.Fits.BacktestCoverage, 1.0)

			// A reactive HPA on sharp ramps falls short; floors ahead of the ramps cut that.
			require.Greater(t, cmp.Reactive.Summary.UnderProvisionedReplicaMinutes, 0.0)
			require.Less(t, cmp.Predictive.Summary.UnderProvisionedReplicaMinutes, cmp.Reactive.Summary.UnderProvisionedReplicaMinutes)
			require.Greater(t, cmp.Predictive.FloorRaises, 0)
			require.Greater(t, cmp.Predictive.FloorBindingMinutes, 0.0)
			require.LessOrEqual(t, cmp.Predictive.FloorBindingMinutes, cmp.Predictive.FloorRaisedMinutes+0.25, "the floor binds only where it is raised")
			require.InDelta(t, 1-cmp.Predictive.Summary.UnderProvisionedReplicaMinutes/cmp.Reactive.Summary.UnderProvisionedReplicaMinutes,
				cmp.UnderProvisionedReduction, 1e-12)
			require.InDelta(t, cmp.Predictive.Summary.ReplicaHours/cmp.Reactive.Summary.ReplicaHours-1, cmp.ReplicaHoursIncrease, 1e-12)
			// Sharp regular ramps are foreseen: little of the reactive shortfall is beyond the bound.
			for _, r := range []Run{cmp.Reactive, cmp.Predictive} {
				require.GreaterOrEqual(t, r.BeyondBoundUnderProvisionedReplicaMinutes, 0.0)
				require.LessOrEqual(t, r.BeyondBoundUnderProvisionedReplicaMinutes, r.Summary.UnderProvisionedReplicaMinutes)
			}
			require.Less(t, cmp.Reactive.BeyondBoundUnderProvisionedReplicaMinutes, 0.5*cmp.Reactive.Summary.UnderProvisionedReplicaMinutes)
		})
	}
}

func TestDerivedCapacity(t *testing.T) {
	idle := make([]float64, 100)
	idle[10], idle[50] = 40, 80 // bursts on a trace idle 98 % of the time
	tests := []struct {
		name         string
		values       []float64
		wantCapacity float64
		wantOf       string
		wantErr      string
	}{
		{"p95 fills 80 % of max", []float64{10, 20, 30, 40, math.NaN(), 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200}, 190 / (0.8 * 20), "p95", ""}, // the 19th of 20
		{"mostly idle: the largest load fills 80 % of max", idle, 80 / (0.8 * 20), "largest", ""},
		{"no load", make([]float64, 100), 0, "", "cannot derive capacity per replica: the trace has no positive load"},
		{"no finite load", []float64{math.NaN(), math.Inf(1)}, 0, "", "cannot derive capacity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			capacity, _, of, err := derivedCapacity(tt.values, 20)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantOf, of)
			require.InDelta(t, tt.wantCapacity, capacity, 1e-12)
		})
	}
}

func TestUpperAt(t *testing.T) {
	p := scaling.Prediction{ValidUntil: 10_000, Points: []scaling.PredictionPoint{
		{Timestamp: 1000, UpperLoad: 10}, {Timestamp: 2000, UpperLoad: 20}, {Timestamp: 4000, UpperLoad: 0}}}
	tests := []struct {
		at     int64
		want   float64
		wantOK bool
	}{
		{999, 0, false}, {1000, 10, true}, {1500, 15, true}, {2000, 20, true}, {3000, 10, true}, {4000, 0, true}, {4001, 0, false},
	}
	for _, tt := range tests {
		got, ok := upperAt(p, tt.at)
		require.Equal(t, tt.wantOK, ok, "at %d", tt.at)
		require.InDelta(t, tt.want, got, 1e-12, "at %d", tt.at)
	}
	p.ValidUntil = 1500
	_, ok := upperAt(p, 2000)
	require.False(t, ok, "expired")

	p.ValidUntil = 10_000
	for _, tt := range []struct {
		from, to int64
		want     float64
		wantOK   bool
	}{
		{0, 500, 0, false}, {0, 1200, 12, true}, {1200, 1800, 18, true}, {1500, 3500, 20, true}, {3000, 9000, 10, true},
	} {
		got, ok := upperWithin(p, tt.from, tt.to)
		require.Equal(t, tt.wantOK, ok, "[%d, %d]", tt.from, tt.to)
		if ok {
			require.InDelta(t, tt.want, got, 1e-12, "[%d, %d]", tt.from, tt.to)
		}
	}
}

func TestCompareErrors(t *testing.T) {
	trace := smallRamps()
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		opts    func(*ReplayOptions)
		trace   forecast.Series
		wantErr error
		msg     string
	}{
		{name: "one point", trace: forecast.Series{Start: t0, Step: time.Minute, Values: []float64{1}}, msg: "need at least 2"},
		{name: "warm-up longer than trace", opts: func(o *ReplayOptions) { o.Warmup = 400 * time.Hour }, msg: "warm-up"},
		{name: "no load to derive capacity from", trace: forecast.Series{Start: t0, Step: time.Hour, Values: make([]float64, 15*24)}, msg: "cannot derive capacity"},
		{name: "min above max", opts: func(o *ReplayOptions) { o.MinReplicas = 5; o.MaxReplicas = 3 }, wantErr: ErrInvalidReplayOptions},
		{name: "quantile 1", opts: func(o *ReplayOptions) { o.Quantile = 1 }, wantErr: ErrInvalidReplayOptions},
		{name: "zero refit", opts: func(o *ReplayOptions) { o.Refit = 0 }, wantErr: ErrInvalidReplayOptions},
		{name: "zero plan interval", opts: func(o *ReplayOptions) { o.PlanEvery = 0 }, wantErr: ErrInvalidReplayOptions},
		{name: "negative capacity", opts: func(o *ReplayOptions) { o.CapacityPerReplica = -1 }, wantErr: ErrInvalidReplayOptions},
		{name: "availability target of every minute", opts: func(o *ReplayOptions) { o.AvailabilityTarget = 1 }, wantErr: ErrInvalidReplayOptions},
		{name: "availability target NaN", opts: func(o *ReplayOptions) { o.AvailabilityTarget = math.NaN() }, wantErr: ErrInvalidReplayOptions},
		{name: "canceled", ctx: canceled, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := replayDefaults()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			ctx, tr := tt.ctx, tt.trace
			if ctx == nil {
				ctx = t.Context()
			}
			if tr.Values == nil {
				tr = trace
			}
			_, err := Compare(ctx, discard, opts, tr)
			require.Error(t, err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.Contains(t, err.Error(), tt.msg)
		})
	}
}

// A replay's forecast is the one the service would have made, fitted for the same horizon (its
// model chosen and its bound set over that span), kept as far as the planner reads. Fitted for
// only that far, the forecast differs: a shorter backtest picks other models and bounds.
func TestFitAtForecastsAsTheService(t *testing.T) {
	trace := smallRamps()
	opts := replayDefaults()
	opts.CapacityPerReplica = 60
	at := trace.Start.Add(15 * 24 * time.Hour)
	known := int(at.Sub(trace.Start) / trace.Step)
	hist := forecast.Series{Start: trace.Start, Step: trace.Step, Values: trace.Values[:known]}
	service, err := forecast.Forecast(hist, forecast.Options{Horizon: int(24 * time.Hour / trace.Step), Quantile: opts.Quantile, Model: opts.Model})
	require.NoError(t, err)

	opts.Horizon = 24 * time.Hour
	got, err := fitAt(opts, trace, at)
	require.NoError(t, err)
	end := actuator.PlanningEnd(got, opts.LeadTime)
	require.Equal(t, service.Model, got.Model)
	require.Less(t, len(got.Points), len(service.Mean), "kept only as far as the planner reads")
	for i, pt := range got.Points {
		require.LessOrEqual(t, pt.Timestamp, end)
		require.Equal(t, service.Start.Add(time.Duration(i)*trace.Step).UnixMilli(), pt.Timestamp)
		require.Equal(t, service.Mean[i], pt.ExpectedLoad, "point %d", i)
		require.Equal(t, service.Upper[i], pt.UpperLoad, "point %d", i)
	}

	opts.Horizon = 0 // fitted only as far as the planner reads
	short, err := fitAt(opts, trace, at)
	require.NoError(t, err)
	require.Len(t, short.Points, len(got.Points))
	differ := false
	for i := range short.Points {
		differ = differ || short.Points[i].UpperLoad != got.Points[i].UpperLoad || short.Model != got.Model
	}
	require.True(t, differ, "a forecast fitted for a few hours is not the service's")
}

// A fit at t sees only the samples that had ended by t: changing any later sample, including
// the one under way at t, leaves it unchanged, while changing the last ended one does not.
func TestFitAtSeesOnlyThePast(t *testing.T) {
	trace := smallRamps()
	opts := replayDefaults()
	opts.CapacityPerReplica = 60
	for _, at := range []time.Duration{14 * 24 * time.Hour, 14*24*time.Hour + 8*time.Hour, 15*24*time.Hour + 7*time.Minute} {
		t.Run(at.String(), func(t *testing.T) {
			fitTime := trace.Start.Add(at)
			want, err := fitAt(opts, trace, fitTime)
			require.NoError(t, err)
			require.Equal(t, fitTime.UnixMilli(), want.FittedAt)
			require.Equal(t, fitTime.Add(2*opts.Refit).UnixMilli(), want.ValidUntil, "valid for two refits, as the service's forecasts")
			require.NotEmpty(t, want.Points)
			last := want.Points[len(want.Points)-1].Timestamp
			require.Greater(t, last+trace.Step.Milliseconds(), actuator.PlanningEnd(want, opts.LeadTime),
				"the forecast runs as far ahead as the planner reads")

			ended := int(at / trace.Step) // samples 0..ended-1 have ended by fitTime
			future := forecast.Series{Start: trace.Start, Step: trace.Step, Values: slices.Clone(trace.Values)}
			for i := ended; i < len(future.Values); i++ {
				future.Values[i] = 1e6
			}
			got, err := fitAt(opts, future, fitTime)
			require.NoError(t, err)
			require.Equal(t, want, got, "a later sample changed the fit")

			past := forecast.Series{Start: trace.Start, Step: trace.Step, Values: slices.Clone(trace.Values)}
			past.Values[ended-1] = 1e6
			got, err = fitAt(opts, past, fitTime)
			require.NoError(t, err)
			require.NotEqual(t, want, got, "the last ended sample is part of the fit")
		})
	}
}

// Whatever the trace does after some instant, both runs are the same up to it: no fit, plan or
// HPA decision before it can see what comes later.
func TestCompareNeverSeesTheFuture(t *testing.T) {
	trace := smallRamps()
	opts := replayDefaults()
	opts.CapacityPerReplica = 60                                           // a derived capacity would depend on the whole trace
	cut := trace.Start.Add(15*24*time.Hour + 7*time.Hour + 45*time.Minute) // just before a morning ramp
	changed := forecast.Series{Start: trace.Start, Step: trace.Step, Values: slices.Clone(trace.Values)}
	k := int(cut.Sub(trace.Start) / trace.Step)
	for i := k; i < len(changed.Values); i++ {
		changed.Values[i] = 5 * changed.Values[i]
	}
	a, err := Compare(t.Context(), discard, opts, trace)
	require.NoError(t, err)
	b, err := Compare(t.Context(), discard, opts, changed)
	require.NoError(t, err)

	// LoadAt interpolates towards the next sample, so the load differs from sample k-1 on.
	same := trace.Start.Add(time.Duration(k-1) * trace.Step)
	before := func(s []Sample) []Sample {
		i := slices.IndexFunc(s, func(x Sample) bool { return !x.Time.Before(same) })
		require.Greater(t, i, 100)
		return s[:i]
	}
	require.Equal(t, before(a.Reactive.Samples), before(b.Reactive.Samples))
	require.Equal(t, before(a.Predictive.Samples), before(b.Predictive.Samples))
	require.NotEqual(t, a.Predictive.Samples, b.Predictive.Samples, "the change after the cut shows after it")
}

// The replay plans with a prediction only from its FittedAt on.
func TestReplayUsesPredictionsFromFitTimeOnly(t *testing.T) {
	trace := smallRamps()
	opts := replayDefaults()
	opts.CapacityPerReplica = 60
	evalFrom := trace.Start.Add(opts.Warmup)
	high := func(fitted time.Time) scaling.Prediction {
		p := scaling.Prediction{Service: traceService, Model: "test", FittedAt: fitted.UnixMilli(),
			ValidUntil: trace.End().Add(time.Hour).UnixMilli(), StepSeconds: int64(trace.Step / time.Second), Quantile: 0.8}
		for at := trace.Start; !at.After(trace.End().Add(time.Hour)); at = at.Add(trace.Step) {
			// The recommended replicas alone: a constant forecast of 900 would be set aside over
			// the nights, whose load is under a third of it (actuator.LoadCollapsed).
			p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: at.UnixMilli(), RecommendedMinReplicas: 15})
		}
		return p
	}
	reactive := replay(opts, trace, evalFrom, nil, nil)

	late := replay(opts, trace, evalFrom, []scaling.Prediction{high(trace.End().Add(time.Minute))}, nil)
	require.Zero(t, late.FloorRaises)
	require.Zero(t, late.FloorRaisedMinutes)
	require.Equal(t, reactive.Summary, late.Summary, "a prediction not yet fitted changes nothing")
	require.InDelta(t, late.Summary.EvaluatedMinutes, late.StaleMinutes, 1e-9, "no prediction all along")

	midway := evalFrom.Add(24 * time.Hour)
	early := replay(opts, trace, evalFrom, []scaling.Prediction{high(midway)}, nil)
	require.Equal(t, 1, early.FloorRaises)
	require.InDelta(t, 24*60, early.StaleMinutes, 1e-9, "stale until the fit")
	for _, s := range early.Samples {
		if s.Time.Before(midway) {
			require.Equal(t, opts.MinReplicas, s.Floor, "at %s", s.Time)
		} else {
			require.Equal(t, int32(15), s.Floor, "at %s", s.Time)
		}
	}
}

func TestPercentile(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		v    []float64
		q    float64
		want float64
	}{
		{name: "nearest rank", v: []float64{5, 1, 4, 2, 3}, q: 0.95, want: 5},
		{name: "median", v: []float64{5, 1, 4, 2, 3}, q: 0.5, want: 3},
		{name: "zero quantile", v: []float64{5, 1, 4}, q: 0, want: 1},
		{name: "gaps and infinities skipped", v: []float64{nan, 1, math.Inf(1), 2, math.Inf(-1)}, q: 1, want: 2},
		{name: "nothing finite", v: []float64{nan}, q: 0.5, want: nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := percentile(tt.v, tt.q)
			if math.IsNaN(tt.want) {
				require.True(t, math.IsNaN(got))
				return
			}
			require.Equal(t, tt.want, got)
		})
	}
}
