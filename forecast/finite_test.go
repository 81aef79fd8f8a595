package forecast

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// nastySeries are the inputs of issue 9 that made some models forecast NaN: gaps where
// cleaning had nothing to fill from, histories too short for a backtest, values near the
// float64 limit.
func nastySeries() []struct {
	name   string
	s      Series
	wantOK bool  // must forecast; otherwise a finite forecast or wantErr
	err    error // the error when it cannot
} {
	const D = 288 // 5-minute steps
	n := 15 * D
	day := func(i int) float64 { return 100 + 60*math.Sin(2*math.Pi*float64(i%D)/D) }
	mk := func(n int, f func(i int) float64) Series { return gen(n, 5*time.Minute, f) }
	nan := math.NaN()
	return []struct {
		name   string
		s      Series
		wantOK bool
		err    error
	}{
		{name: "clean", s: mk(n, day), wantOK: true},
		{name: "leading gaps", s: mk(n, func(i int) float64 { return ifElse(i < 3*D+7, nan, day(i)) }), wantOK: true},
		{name: "leading gaps up to the last day", s: mk(n, func(i int) float64 { return ifElse(i < n-D-5, nan, day(i)) }), wantOK: true},
		{name: "last day missing", s: mk(n, func(i int) float64 { return ifElse(i >= n-D, nan, day(i)) }), wantOK: true},
		{name: "last day missing but its last point", s: mk(n, func(i int) float64 {
			if i == n-1 {
				return 50
			}
			return ifElse(i >= n-D-3, nan, day(i))
		}), wantOK: true},
		{name: "last week missing", s: mk(n, func(i int) float64 { return ifElse(i >= n-8*D, nan, day(i)) }), wantOK: true},
		{name: "one point at the end", s: mk(n, func(i int) float64 { return ifElse(i == n-1, 42, nan) }), wantOK: true},
		{name: "every fifth point NaN, every seventh +Inf", s: mk(n, func(i int) float64 {
			switch {
			case i%5 == 0:
				return nan
			case i%7 == 0:
				return math.Inf(1)
			}
			return day(i)
		}), wantOK: true},
		{name: "two points", s: mk(2, func(i int) float64 { return float64(i + 1) }), wantOK: true},
		{name: "three points, middle gap", s: mk(3, func(i int) float64 { return []float64{5, nan, 7}[i] }), wantOK: true},
		{name: "zeros", s: mk(n, func(int) float64 { return 0 }), wantOK: true},
		{name: "negative", s: mk(n, func(int) float64 { return -5 }), wantOK: true},
		{name: "all gaps", s: mk(50, func(int) float64 { return nan }), err: ErrNoData},
		{name: "huge", s: mk(n, func(i int) float64 { return 1e308 * (0.5 + 0.5*math.Sin(float64(i)/10)) }), err: ErrNotFinite},
		{name: "huge constant", s: mk(n, func(int) float64 { return 1e308 }), err: ErrNotFinite},
		{name: "large", s: mk(n, func(i int) float64 { return 1e150 * day(i) }), err: ErrNotFinite},
	}
}

func ifElse(c bool, a, b float64) float64 {
	if c {
		return a
	}
	return b
}

// Regression test for issue 9: no model returns a NaN or Inf; a series that cannot be
// forecast says so with an error.
func TestForecastIsFiniteOrFails(t *testing.T) {
	models := append([]string{ModelAuto}, Models()...)
	for _, tc := range nastySeries() {
		for _, m := range models {
			t.Run(tc.name+"/"+m, func(t *testing.T) {
				r, err := Forecast(tc.s, Options{Horizon: 288, Model: m})
				if tc.wantOK {
					require.NoError(t, err)
				}
				if err != nil {
					require.ErrorIs(t, err, tc.err)
					require.Empty(t, r.Mean)
					return
				}
				require.Len(t, r.Mean, 288)
				require.Len(t, r.Upper, 288)
				for k := range r.Mean {
					require.True(t, finite(r.Mean[k]) && finite(r.Upper[k]), "point %d: mean %v upper %v (%s)", k, r.Mean[k], r.Upper[k], r.Reason)
					require.GreaterOrEqual(t, r.Upper[k], r.Mean[k], "point %d", k)
				}
			})
		}
	}
}

// Regression test for issue 9: a day of gaps at the end of history was left NaN by causal
// cleaning (interpolate leaves an all-gap slice alone), and every lag model repeated it.
func TestCleanCausalFillsADayOfGaps(t *testing.T) {
	p := periodsFor(5 * time.Minute)
	day := func(i int) float64 { return 100 + 60*math.Sin(2*math.Pi*float64(i%p.D)/float64(p.D)) }
	raw := gen(15*p.D, 5*time.Minute, func(i int) float64 { return ifElse(i >= 14*p.D, math.NaN(), day(i)) }).Values
	c := cleanCausal(nil, raw, p, p.D, []int{13 * p.D, 15 * p.D})
	require.True(t, allFinite(c.fit))
	// Filled from the profile (the same slots in earlier weeks, at the last offset): the
	// day keeps its shape, it is not a flat line.
	a, b := 14*p.D+p.D/4, 14*p.D+3*p.D/4
	require.InDelta(t, day(a)-day(b), c.fit[a]-c.fit[b], 1e-6)
}

// Regression test: Evaluate refused a series only when every model overflowed, and seasonal
// naive does not, so a series of 1e308 was scored as a perfect MASE 0 with NaN bounds.
func TestEvaluateRefusesOverflowingValues(t *testing.T) {
	huge := gen(30*288, 5*time.Minute, func(int) float64 { return 1e308 })
	_, err := Evaluate(huge, Options{Horizon: 288}, 3)
	require.ErrorIs(t, err, ErrNotFinite)
	require.ErrorContains(t, err, "arithmetic overflows")

	require.ErrorIs(t, checkMagnitude([]float64{1e308, 1e308, math.NaN(), math.Inf(1)}), ErrNotFinite)
	require.NoError(t, checkMagnitude([]float64{1e300, math.Inf(1), math.NaN()}), "gaps and ±Inf are not summed")
}

func TestCheckFinite(t *testing.T) {
	tests := []struct {
		name    string
		mean    []float64
		upper   []float64
		wantErr error
		msg     string
	}{
		{name: "finite", mean: []float64{1, 2}, upper: []float64{1, 3}},
		{name: "NaN mean", mean: []float64{1, math.NaN()}, upper: []float64{1, 3}, wantErr: ErrNotFinite, msg: "point 1"},
		{name: "Inf upper", mean: []float64{1, 2}, upper: []float64{math.Inf(1), 3}, wantErr: ErrNotFinite, msg: "point 0"},
		{name: "upper below mean", mean: []float64{1, 2}, upper: []float64{1, 1.5}, msg: "below mean"},
		{name: "lengths differ", mean: []float64{1, 2}, upper: []float64{1}, msg: "2 mean and 1 upper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFinite(Result{Model: "m", Mean: tc.mean, Upper: tc.upper})
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.msg)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			}
		})
	}
}
