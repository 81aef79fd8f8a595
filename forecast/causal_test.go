package forecast

import (
	"cmp"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBacktestIsCausal: whatever happens after a backtest origin, the cleaned history that
// origin's models fit, their forecasts from it, the level shift it found and its bound's
// floor are unchanged. The damage after the origin is the kind cleaning reacts to: spikes,
// gaps, a level shift.
func TestBacktestIsCausal(t *testing.T) {
	base := synthetic(5, 288*28)
	ev, err := evaluate(base, 288, 0.9, 21, nil, nil)
	require.NoError(t, err)
	require.Greater(t, len(ev.origins), 3)
	for _, j := range []int{0, len(ev.origins) / 2, len(ev.origins) - 1} {
		o := ev.origins[j]
		rng := rand.New(rand.NewPCG(uint64(j), 1))
		v := append([]float64(nil), base.Values...)
		for i := o; i < len(v); i++ {
			switch {
			case rng.Float64() < 0.05:
				v[i] = math.NaN()
			case rng.Float64() < 0.05:
				v[i] *= 20
			default:
				v[i] = v[i]*0.3 + 500
			}
		}
		alt, err := evaluate(Series{Start: base.Start, Step: base.Step, Values: v}, 288, 0.9, 21, nil, nil)
		require.NoError(t, err)
		require.Equal(t, ev.origins, alt.origins)
		require.Equal(t, ev.cleaning.fit[:o], alt.cleaning.fit[:o], "history before origin %d", j)
		require.Equal(t, ev.cleaning.adj[:j+1], alt.cleaning.adj[:j+1])
		require.Equal(t, ev.levelEps[:j+1], alt.levelEps[:j+1])
		require.Equal(t, ev.anchor[:j+1], alt.anchor[:j+1])
		require.Len(t, alt.models, len(ev.models))
		for m := range ev.models {
			require.Equal(t, ev.models[m].fc[:j+1], alt.models[m].fc[:j+1], "%s at origin %d", ev.models[m].name, j)
		}
	}
}

// TestShiftedHistoryShortcutsAreExact: the models' shortcuts for a decision whose history
// moves by a level shift (the Holt-Winters snapshot, the harmonic X'y correction) give the
// forecast a pass over the moved history gives.
func TestShiftedHistoryShortcutsAreExact(t *testing.T) {
	s := synthetic(9, 288*21)
	y := sanitize(nil, s.Values)
	interpolate(y)
	p := periodsFor(s.Step)
	origins := []int{288 * 15, 288 * 18, 288 * 19, 288 * 20}
	// Scaled as a shift of users scales the load, and moved; the last inside the first week.
	adj := []levelAdj{{}, {at: 288 * 16, by: 37, scale: 0.4}, {at: 288 * 17, scale: 2.5}, {at: 288 * 3, by: -12}}
	for _, m := range baseModels {
		got := m.run(nil, y, adj, p, origins, 288)
		for i, o := range origins {
			moved := make([]float64, len(y))
			for t := range moved {
				moved[t] = adj[i].value(y, t)
			}
			want := m.run(nil, moved, nil, p, []int{o}, 288)[0]
			require.InDeltaSlice(t, want, got[i], 1e-6*(1+math.Abs(want[0])), "%s from origin %d", m.name, i)
		}
	}
}

// TestCleanCausalFindsShiftsOnlyAfterTheyHappen: a shift is known to the decisions after it
// has held, and moves the history before it as the load moved: a constant added keeps the
// day's swing (the history moves by it), users leaving scale the whole day (the history is
// scaled).
func TestCleanCausalFindsShiftsOnlyAfterTheyHappen(t *testing.T) {
	const n = 24 * 28
	tests := []struct {
		name      string
		shifted   func(v float64) float64
		by, scale float64
		// byTol: the levels are the days' medians less weekday effects measured over both
		// sides of the shift, so a scaled week's levels are not exactly in proportion.
		byTol float64
		// at: where the history brought to the new level ends. A drop's first two days were
		// taken for one-offs and replaced by the usual days (lowDays): they are moved with
		// the history before them.
		at int
	}{
		{"a constant added", func(v float64) float64 { return v + 100 }, 100, 0, 1e-6, 24 * 23},
		{"the load at 30 %", func(v float64) float64 { return 0.3 * v }, 0, 0.3, 15, 24 * 25},
		{"the load doubled", func(v float64) float64 { return 2 * v }, 0, 2, 15, 24 * 23},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := gen(n, time.Hour, func(i int) float64 {
				v := weeklyTemplate(i, 24)
				if i >= 24*23 {
					v = tc.shifted(v)
				}
				return v
			})
			var times []int
			for d := 14; d <= 28; d++ {
				times = append(times, 24*d)
			}
			c := cleanCausal(nil, sanitize(nil, s.Values), periodsFor(time.Hour), 24*14, times)
			require.Zero(t, c.outliers, "an exactly repeating template has no outlier")
			for i, at := range times {
				switch {
				case at <= 24*25:
					// A shift counts once it has held three whole days: one or two days at a
					// new level are more often a dip, a storm or a burst than a new level.
					require.Zero(t, c.adj[i].at, "no shift is known at day %d", at/24)
				default:
					require.Equal(t, tc.at, c.adj[i].at, "day %d", at/24)
					require.InDelta(t, tc.by, c.adj[i].by, tc.byTol, "day %d", at/24)
					require.InDelta(t, tc.scale, c.adj[i].scale, 1e-6, "day %d", at/24)
				}
			}
		})
	}
}

func TestShiftBetween(t *testing.T) {
	tests := []struct {
		name                 string
		before, after, swing float64
		want                 levelAdj
	}{
		{"the swing kept: a constant added", 100, 150, 1, levelAdj{at: 9, by: 50}},
		{"the swing scaled with the level", 100, 30, 0.3, levelAdj{at: 9, scale: 0.3}},
		{"in between", 100, 200, 1.5, levelAdj{at: 9, scale: 1.5, by: 50}},
		{"a swing wider than the level's ratio counts as the ratio", 100, 200, 3, levelAdj{at: 9, scale: 2}},
		{"a swing narrower when the level rose counts as a constant", 100, 200, 0.8, levelAdj{at: 9, by: 100}},
		{"an unknown swing: the load scaled", 100, 300, math.NaN(), levelAdj{at: 9, scale: 3}},
		{"an unknown swing: scaled by at most 4, the rest added", 10, 500, math.NaN(), levelAdj{at: 9, scale: 4, by: 460}},
		{"no level before: moved", 0, 40, math.NaN(), levelAdj{at: 9, by: 40}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := shiftBetween(9, tc.before, tc.after, tc.swing)
			require.Equal(t, tc.want.at, got.at)
			require.InDelta(t, tc.want.by, got.by, 1e-9)
			require.InDelta(t, tc.want.scale, got.scale, 1e-9)
		})
	}
}

// TestCleanKeepsANewLevel: a run of points far above the usual load that reaches the end of
// the history and has lasted newLevelRun is a new level: it is forecast, and keeps being
// forecast the next day. So is a run at a steady multiple over twice the usual load that a
// peak nearby keeps inside the band. Shorter, over before the end, or swinging as a burst of
// news does, it is a burst: cut, and the usual day is forecast.
func TestCleanKeepsANewLevel(t *testing.T) {
	const perDay = 288
	// A database's CPU: a mild daily swing, a new level at a few times it.
	cpu := func(i int) float64 { return 100 + 20*math.Sin(2*math.Pi*float64(i%perDay)/perDay) }
	// A service busiest at 20:00: a step at 19:00 to 2.6 times the load stays within twice the
	// peak (the band) for most of its points.
	evening := func(i int) float64 {
		h := float64(i%perDay) / 12
		return 100 + 150*math.Exp(-(h-20)*(h-20)/(2*1.5*1.5))
	}
	weekends := func(i int) float64 { return weeklyTemplate(i, perDay) }
	tests := []struct {
		name      string
		usual     func(i int) float64 // nil: cpu
		from, to  int                 // points before the end the load is multiplied over
		by, noise float64             // the multiple, and the noise's standard deviation
		swing     float64             // the multiple varies point by point up to this much more
		wantLevel bool                // taken for a new level (the history before brought to it)
		// wantRatio is the next 6 h's forecast over the usual load; 0 for a burst still going
		// at the end, which the models' local level follows for some hours.
		wantRatio float64
		days      int // of history; 0: three weeks
	}{
		{"a new level for 7 h", nil, 84, 0, 3, 0.05, 0, true, 3, 0},
		{"a new level for a day and 7 h", nil, perDay + 84, 0, 3, 0.05, 0, true, 3, 0},
		// Over half the day's points, the day's median offset from the usual load is mostly
		// the new level's own: measured against it, the level hardly rose (runLift).
		{"a new level for 13 h", nil, 156, 0, 3, 0.05, 0, true, 3, 0},
		{"a new level for 20 h", nil, 240, 0, 3, 0.05, 0, true, 3, 0},
		// With nine days of history the same slots a week before are the dip's, and the last
		// 13 h, back at the usual load, stand over them as a new level would; they do not
		// stand over yesterday's. Its forecast is not checked: the weekly profile, from its one
		// week, reads the dip as the weekday's and the last hours as a level three times it.
		{"a day back at its level after a 13 h dip a week before, nine days of history", nil, 7*perDay + 156, 7 * perDay, 0.1, 0.05, 0, false, 0, 9},
		// With 10 % noise one point in seven of the new level is inside the band: a run
		// that broke there was cut away (cutRun).
		{"a noisy new level for 7 h", nil, 84, 0, 3, 0.1, 0, true, 3, 0},
		{"a burst for 2 h", nil, 24, 0, 3, 0.05, 0, false, 1, 0},
		{"a burst for 7 h that ended 2 h ago", nil, 108, 24, 3, 0.05, 0, false, 1, 0},
		{"a new level for 5 h beside the day's peak", evening, 60, 0, 2.6, 0.05, 0, true, 2.6, 0},
		{"a burst of news for 5 h", evening, 60, 0, 2, 0.05, 6, false, 0, 0},
		// Two weeks of a service quiet at weekends, a new level on the second Saturday: measured
		// against the weekdays' load it was not twice the usual (issue 9's step family with a
		// short history).
		{"a new level for 7 h on a quiet Saturday, two weeks of history", weekends, 84, 0, 2.7, 0.05, 0, true, 2.7, 14},
		// Bursts there are still not levels. The 2 h burst's forecast is not checked: under two
		// weeks only the daily models run, and they forecast Sunday at the weekdays' level.
		{"a burst for 2 h on a quiet Saturday, two weeks of history", weekends, 24, 0, 3, 0.05, 0, false, 0, 14},
		{"a burst of news for 5 h on a quiet Saturday, two weeks of history", weekends, 60, 0, 2, 0.05, 6, false, 0, 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usual := tt.usual
			if usual == nil {
				usual = cpu
			}
			n := perDay * cmp.Or(tt.days, 21)
			rng := rand.New(rand.NewPCG(7, 7))
			s := gen(n, 5*time.Minute, func(i int) float64 {
				v := usual(i) * (1 + tt.noise*rng.NormFloat64())
				if i >= n-tt.from && i < n-tt.to {
					v *= tt.by + tt.swing*rng.Float64()
				}
				return v
			})
			r, err := Forecast(s, Options{Horizon: perDay}) // a day, as the forecaster's
			require.NoError(t, err)
			require.Equal(t, tt.wantLevel, strings.Contains(r.Reason, "level shift"), r.Reason)
			if tt.wantRatio == 0 {
				return
			}
			var got, want float64
			for k, v := range r.Mean[:72] {
				got += v
				want += usual(n + k)
			}
			require.InDelta(t, tt.wantRatio, got/want, 0.25*tt.wantRatio, "the next 6 h against the usual load (%s: %s)", r.Model, r.Reason)
		})
	}
}

// TestKeepNewLevelMeasuresTheSwing: a new level seen for hours moves the history before it as
// the load moved over the span: scaled where users scaled it, moved where a job added to it,
// and scaled by the levels' ratio where the usual load was too flat to tell.
func TestKeepNewLevelMeasuresTheSwing(t *testing.T) {
	const n, span = 48, 36
	shaped := func(i int) float64 { return 100 + 50*math.Sin(2*math.Pi*float64(i)/n) }
	flat := func(int) float64 { return 100 }
	tests := []struct {
		name      string
		usual     func(i int) float64
		now       func(v float64) float64
		scale, by float64
	}{
		{"users scaled by 2.5", shaped, func(v float64) float64 { return 2.5 * v }, 2.5, 0},
		{"a job adds 300", shaped, func(v float64) float64 { return v + 300 }, 0, 300},
		{"a flat day scaled", flat, func(v float64) float64 { return 2.5 * v }, 2.5, 0},
		{"a flat day: the added 300 taken for users scaled by the levels' ratio", flat, func(v float64) float64 { return v + 300 }, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, expect, blk := make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range raw {
				expect[i] = tt.usual(i)
				raw[i] = expect[i]
				if i >= n-span {
					raw[i] = tt.now(expect[i])
				}
				blk[i] = raw[i] - expect[i]
			}
			adj, _, restored, ok := keepNewLevel(blk, raw, expect, 1000, span, 0)
			require.True(t, ok)
			require.Zero(t, restored, "nothing was cut")
			require.Equal(t, 1000+n-span, adj.at)
			require.InDelta(t, tt.scale, adj.scale, 1e-6)
			require.InDelta(t, tt.by, adj.by, 1e-6)
		})
	}
}

func TestSteadyLevel(t *testing.T) {
	usual := []float64{50, 80, 120, 160, 120, 80, 50, 40}
	tests := []struct {
		name string
		now  func(i int, v float64) float64
		want bool
	}{
		{"users tripled", func(_ int, v float64) float64 { return 3 * v }, true},
		{"a job adds 300", func(_ int, v float64) float64 { return v + 300 }, true},
		{"a burst swinging between 2 and 8 times", func(i int, v float64) float64 { return v * float64(2+(i*5)%7) }, false},
		{"load gone (nothing over the usual)", func(int, float64) float64 { return 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := make([]float64, len(usual))
			for i, v := range usual {
				raw[i] = tt.now(i, v)
			}
			require.Equal(t, tt.want, steadyLevel(raw, usual, 5, len(raw)))
		})
	}
}

// TestSteadyLevelOnAShortRun: three hourly points measure a spread poorly, so a short run
// must hold its level more tightly: KO's burst of news summed to the hour (4.4, 6.8 and 7.4
// times its usual load, a spread of 0.088) is not a new level, a step at 3 times with a few
// percent of noise still is, and over five points the usual limit applies.
func TestSteadyLevelOnAShortRun(t *testing.T) {
	tests := []struct {
		name   string
		ratios []float64 // load ÷ its usual 100, the run's last points
		want   bool
	}{
		{"a burst of news over three hours", []float64{4.4, 6.8, 7.4}, false},
		{"a step with 3 % noise over three hours", []float64{2.95, 3.08, 3.0}, true},
		{"a step with 3 % noise over four hours", []float64{3.06, 2.95, 3.08, 3.0}, true},
		{"the burst's spread over five points", []float64{6.2, 6.8, 7.4, 6.8, 6.2}, true},
		{"a burst swinging twice as wide over five points", []float64{5.6, 6.8, 8.0, 6.8, 5.6}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := make([]float64, len(tt.ratios))
			usual := make([]float64, len(tt.ratios))
			for i, r := range tt.ratios {
				usual[i] = 100
				raw[i] = 100 * r
			}
			require.Equal(t, tt.want, steadyLevel(raw, usual, 0, len(raw)))
		})
	}
}

func TestCleanCausalTakesADayFarBelowItsUsualForAOneOff(t *testing.T) {
	// Four weeks of a weekly template at 1 h with 3 % noise; some days from day 17 on at a
	// share of it. Decisions every day from day 14: a day far below its usual (a holiday, an
	// outage) is the usual day in the history the later decisions fit, but for its last
	// three hours (the level the decision at its end sees); a day a little low is load; a
	// drop that lasts keeps its days from the third on, and the shift moves the two before.
	const perDay, days = 24, 28
	const recent = 3 // persistenceLag at 1 h
	tests := []struct {
		name     string
		factor   map[int]float64 // day → share of the usual load
		replaced []int           // the days replaced, in order
	}{
		{"a holiday", map[int]float64{17: 0.4}, []int{17}},
		{"an empty day", map[int]float64{17: 0}, []int{17}},
		{"a quiet day at 85 %", map[int]float64{17: 0.85}, nil},
		{"two days of a storm", map[int]float64{17: 0.3, 18: 0.5}, []int{17, 18}},
		{"a drop that lasts", map[int]float64{20: 0.3, 21: 0.3, 22: 0.3, 23: 0.3, 24: 0.3, 25: 0.3, 26: 0.3, 27: 0.3}, []int{20, 21}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			usual := func(i int) float64 { return weeklyTemplate(i, perDay) }
			s := gen(perDay*days, time.Hour, func(i int) float64 {
				v := usual(i) * (1 + 0.03*rng.NormFloat64())
				if f, ok := tc.factor[i/perDay]; ok {
					v *= f
				}
				return v
			})
			raw := sanitize(nil, s.Values)
			var times []int
			for d := 14; d <= days; d++ {
				times = append(times, perDay*d)
			}
			c := cleanCausal(nil, raw, periodsFor(time.Hour), perDay*14, times)
			require.Equal(t, len(tc.replaced), c.lowDays)
			for _, d := range tc.replaced {
				a := d * perDay
				b := a + perDay - recent
				require.InDelta(t, 1, meanRatio(c.fit[a:b], func(k int) float64 { return usual(a + k) }, 0, b-a), 0.1, "day %d replaced", d)
				require.Equal(t, raw[b:a+perDay], c.fit[b:a+perDay], "day %d: its last hours kept", d)
			}
			if _, ok := tc.factor[27]; ok {
				// The decision after the third day at the new level sees the drop as a shift
				// (judged on the days as they were), and moves the history up to the first
				// day it kept: the two replaced days with it.
				third := c.adj[23-14]
				require.Equal(t, 22*perDay, third.at)
				require.Less(t, third.factor(), 0.6)
			}
		})
	}
}

func TestCleanCausalLeavesTheDaysOfABurstySeries(t *testing.T) {
	// A weekly template whose days scatter as news does (each day's load times e^N(0, 0.3)):
	// a day at half its usual load is one of many, not a one-off to forget.
	const perDay, days = 24, 28
	rng := rand.New(rand.NewPCG(7, 8))
	dayFactor := make([]float64, days)
	for d := range dayFactor {
		dayFactor[d] = math.Exp(0.3 * rng.NormFloat64())
	}
	dayFactor[20] = 0.5 * math.Exp(mean(logs(dayFactor[:20])))
	s := gen(perDay*days, time.Hour, func(i int) float64 {
		return weeklyTemplate(i, perDay) * dayFactor[i/perDay] * (1 + 0.03*rng.NormFloat64())
	})
	var times []int
	for d := 14; d <= days; d++ {
		times = append(times, perDay*d)
	}
	c := cleanCausal(nil, sanitize(nil, s.Values), periodsFor(time.Hour), perDay*14, times)
	require.Zero(t, c.lowDays)
}

func logs(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Log(x)
	}
	return out
}
