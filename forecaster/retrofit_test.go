package forecaster

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/hpasim"
	"github.com/kai-platform/kai-scaler/internal/promtest"
	"github.com/kai-platform/kai-scaler/scaling"
)

// TestFirstRunCalibratesOnRetroFits checks a service with weeks of history and no stored
// prediction calibrates on its first run, on forecasts fitted afterwards (none of them
// stored), and that the next runs fit further back only until the window is covered.
func TestFirstRunCalibratesOnRetroFits(t *testing.T) {
	fx := newFixture(t, func(o *Options) { o.RetroFits = 0 }) // the default
	ctx := t.Context()
	svc := testServices[0]
	run := func() *scaling.Calibration {
		t.Helper()
		_, err := fx.f.RunOnce(ctx, "manual", svc.Name)
		require.NoError(t, err)
		preds, err := fx.st.ListPredictions(ctx, svc.Name, 0)
		require.NoError(t, err)
		require.NotNil(t, preds[0].Calibration)
		return preds[0].Calibration
	}

	first := run()
	require.Contains(t, first.Reason, "replayed 2.0 days of history")
	require.Contains(t, first.Reason, "48 of the 48 forecasts replayed were fitted afterwards")
	require.Equal(t, float64(2*24*60), first.WindowMinutes)
	stored, err := fx.st.ListPredictions(ctx, svc.Name, 0)
	require.NoError(t, err)
	require.Len(t, stored, 1, "forecasts fitted afterwards are not stored")

	retro := func() int {
		fx.f.mu.Lock()
		defer fx.f.mu.Unlock()
		return len(fx.f.retro[svc.Name])
	}
	// Hourly runs: 48 fits further back each, until the oldest is in force at the window's start.
	for _, want := range []int{96, 144, 165, 165} {
		fx.clock.Add(time.Hour)
		cal := run()
		require.Equal(t, want, retro())
		require.Contains(t, cal.Reason, "were fitted afterwards")
	}
	require.Contains(t, run().Reason, "replayed 7.0 days of history")
}

// TestRetroFitsSeeOnlyTheirPast checks each forecast fitted afterwards depends on the history
// up to its fit time only: changing the load after one leaves it and every earlier one as
// they were, and changes a later one.
func TestRetroFitsSeeOnlyTheirPast(t *testing.T) {
	const fits = 30
	f := New(Options{Logger: testLogger(t), Validity: 2 * time.Hour, RetroFits: fits})
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	series := weeksOfLoad(now, 0)
	lead := 5 * time.Minute
	before := f.retroFits(t.Context(), testServices[0], series, nil, now, lead)
	require.Len(t, before, fits)

	cut := now.Add(-20 * time.Hour) // the 11th fit's time
	changed := forecast.Series{Start: series.Start, Step: series.Step, Values: append([]float64(nil), series.Values...)}
	for i := range changed.Values {
		if series.Start.Add(time.Duration(i) * series.Step).After(cut) {
			changed.Values[i] *= 3
		}
	}
	after := f.retroFits(t.Context(), testServices[0], changed, nil, now, lead)
	require.Len(t, after, len(before))
	for i := range before {
		if before[i].FittedAt <= cut.UnixMilli() {
			require.Equal(t, before[i], after[i], "fitted at %s, before the change", time.UnixMilli(before[i].FittedAt))
		} else {
			require.NotEqual(t, before[i].Points, after[i].Points, "fitted at %s, after the change", time.UnixMilli(before[i].FittedAt))
		}
	}
}

func TestRetroFits(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	known := func(ago time.Duration) []scaling.Prediction {
		return []scaling.Prediction{{FittedAt: now.Add(-ago).UnixMilli(), ValidUntil: now.Add(-ago + 2*time.Hour).UnixMilli()}}
	}
	tests := []struct {
		name     string
		validity time.Duration
		limit    int
		history  time.Duration // how far back the load has samples (0: all four weeks)
		known    []scaling.Prediction
		// want: how many, the newest's age and their spacing and validity; toStart: the
		// oldest is in force at the window's start (no limit or lack of history stopped them).
		want                      int
		newest, spacing, validFor time.Duration
		toStart                   bool
	}{
		{name: "hourly schedule", validity: 2 * time.Hour, want: DefaultRetroFits, newest: time.Hour, spacing: time.Hour, validFor: 2 * time.Hour},
		{name: "none asked for", validity: 2 * time.Hour, limit: -1},
		{name: "a limit of its own", validity: 2 * time.Hour, limit: 5, want: 5, newest: time.Hour, spacing: time.Hour, validFor: 2 * time.Hour},
		{name: "before the oldest prediction kept", validity: 2 * time.Hour, known: known(10 * time.Hour), limit: 3,
			want: 3, newest: 11 * time.Hour, spacing: time.Hour, validFor: 2 * time.Hour},
		{name: "as far as the window's start", validity: 2 * time.Hour, known: known(150 * time.Hour),
			want: 18, newest: 151 * time.Hour, spacing: time.Hour, validFor: 2 * time.Hour, toStart: true},
		{name: "the last hours before the window's start", validity: 2 * time.Hour, known: known(166 * time.Hour),
			want: 2, newest: 167 * time.Hour, spacing: time.Hour, validFor: 2 * time.Hour, toStart: true},
		{name: "window covered", validity: 2 * time.Hour, known: known(168 * time.Hour)},
		{name: "six-hourly schedule", validity: 12 * time.Hour, want: 28, newest: 6 * time.Hour, spacing: 6 * time.Hour, validFor: 12 * time.Hour, toStart: true},
		{name: "a schedule faster than hourly is fitted hourly", validity: 10 * time.Minute, limit: 3,
			want: 3, newest: time.Hour, spacing: time.Hour, validFor: 2 * time.Hour},
		{name: "only where two days of history lie behind", validity: 2 * time.Hour, history: 3 * 24 * time.Hour,
			want: 24, newest: time.Hour, spacing: time.Hour, validFor: 2 * time.Hour},
		{name: "history of less than two days", validity: 2 * time.Hour, history: 36 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(Options{Logger: testLogger(t), Validity: tt.validity, RetroFits: tt.limit})
			got := f.retroFits(t.Context(), testServices[0], weeksOfLoad(now, tt.history), tt.known, now, 5*time.Minute)
			require.Len(t, got, tt.want)
			for i, p := range got {
				fitted := now.Add(-tt.newest - time.Duration(len(got)-1-i)*tt.spacing)
				require.Equal(t, fitted.UnixMilli(), p.FittedAt, "fit %d", i)
				require.Equal(t, fitted.Add(tt.validFor).UnixMilli(), p.ValidUntil, "fit %d", i)
				require.NotEmpty(t, p.Points)
			}
			if start := now.Add(-hpasim.DefaultCalibrationWindow).UnixMilli(); tt.toStart {
				require.LessOrEqual(t, got[0].FittedAt, start, "the oldest is in force at the window's start")
				require.Greater(t, got[1].FittedAt, start, "and only the oldest")
			}
		})
	}
}

// weeksOfLoad is four weeks of daily and weekly load at 5 min up to now, as the forecaster
// reads it; with history > 0, gaps before that.
func weeksOfLoad(now time.Time, history time.Duration) forecast.Series {
	step := 5 * time.Minute
	n := int(DefaultHistoryWindow / step)
	start := now.Add(-time.Duration(n-1) * step)
	l := promtest.Load{Base: 200, DailyAmp: 120, WeeklyAmp: 60, PeakHour: 14, Noise: 0.03, Seed: 2}
	s := forecast.Series{Start: start, Step: step, Values: l.Values(start, step, n)}
	if history > 0 {
		for i := range s.Values {
			if start.Add(time.Duration(i) * step).Before(now.Add(-history)) {
				s.Values[i] = math.NaN()
			}
		}
	}
	return s
}

// TestRetroFitsCalibrateAsLiveForecasts checks a first run's calibration on forecasts fitted
// afterwards chooses what calibration on the forecasts of two days of hourly runs chose, and
// scores it within a point: they differ only in reading three weeks of history, not four.
// It replays search: in both replays its winner lies at least 0.26 points of the shortfall
// inside the tie (reductionTie: 0.5 points below the setting removing the most). On checkout
// the margin was 0.0002: with the forecaster's combination pooled, the live replay's best
// setting removed 99.58 % and a held floor at half the bound's distance 99.10 %, inside the tie
// and cheapest, while the forecasts fitted afterwards, 0.5 % apart in their bounds, had one
// setting remove all of it and the held floor fell outside; two settings that both remove
// 99 % swapped.
func TestRetroFitsCalibrateAsLiveForecasts(t *testing.T) {
	svc := testServices[1].Name
	latest := func(fx fixture) *scaling.Calibration {
		t.Helper()
		_, err := fx.f.RunOnce(t.Context(), "manual", svc)
		require.NoError(t, err)
		preds, err := fx.st.ListPredictions(t.Context(), svc, 1)
		require.NoError(t, err)
		return preds[0].Calibration
	}
	live := newFixture(t, nil) // no retro-fits: its runs' own forecasts only
	live.clock.Add(-48 * time.Hour)
	for range 48 {
		latest(live)
		live.clock.Add(time.Hour)
	}
	want := latest(live)
	require.NotContains(t, want.Reason, "fitted afterwards")
	require.Equal(t, float64(2*24*60), want.WindowMinutes)

	got := latest(newFixture(t, func(o *Options) { o.RetroFits = 0 }))
	require.Contains(t, got.Reason, "48 of the 48 forecasts replayed were fitted afterwards")
	require.Equal(t, want.WindowMinutes, got.WindowMinutes)
	require.Equal(t, hpasim.SettingsString(want.FloorSettings), hpasim.SettingsString(got.FloorSettings))
	require.InDelta(t, want.UnderProvisionedReduction, got.UnderProvisionedReduction, 0.01)
	require.InDelta(t, want.ReplicaHoursIncrease, got.ReplicaHoursIncrease, 0.01)
}

// TestRemovedServiceIsForgotten checks a service taken out of the services file loses what
// was kept in memory for its calibration (its predictions and which were fitted afterwards)
// at the next run, while the services still managed keep theirs.
func TestRemovedServiceIsForgotten(t *testing.T) {
	managed := testServices[:2]
	fx := newFixture(t, func(o *Options) {
		o.RetroFits = 0
		o.Services = func() []scaling.ManagedService { return managed }
	})
	ctx := t.Context()
	_, err := fx.f.RunOnce(ctx, "manual", "")
	require.NoError(t, err)
	kept := func() (recent, retro map[string]int) {
		fx.f.mu.Lock()
		defer fx.f.mu.Unlock()
		recent, retro = map[string]int{}, map[string]int{}
		for name, ps := range fx.f.recent {
			recent[name] = len(ps)
		}
		for name, fits := range fx.f.retro {
			retro[name] = len(fits)
		}
		return recent, retro
	}
	recent, retro := kept()
	require.Positive(t, recent["checkout"])
	require.Positive(t, recent["search"])
	require.Positive(t, retro["search"])

	managed = testServices[:1] // search removed
	fx.clock.Add(time.Hour)
	_, err = fx.f.RunOnce(ctx, "manual", "")
	require.NoError(t, err)
	recent, retro = kept()
	require.NotContains(t, recent, "search")
	require.NotContains(t, retro, "search")
	require.Positive(t, recent["checkout"])
	require.Positive(t, retro["checkout"])
}
