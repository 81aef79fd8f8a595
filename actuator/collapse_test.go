package actuator

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

// needsEvery are needs of replicas each, against expected, observed every step over the span
// before now (now included).
func needsEvery(now time.Time, span, step time.Duration, replicas, expected float64) []NeedSample {
	var out []NeedSample
	for at := now.Add(-span); !at.After(now); at = at.Add(step) {
		out = append(out, NeedSample{At: at, Replicas: replicas, Forecast: expected})
	}
	return out
}

func TestLoadCollapsed(t *testing.T) {
	now := monday
	const expected = 30.0
	cases := []struct {
		name      string
		samples   []NeedSample
		want      bool
		wantFloor int32
	}{
		{name: "no load at all for the whole window", samples: needsEvery(now, 16*time.Minute, 30*time.Second, 0, expected), want: true, wantFloor: 1},
		{name: "a little load, under a third", samples: needsEvery(now, CollapseWindow, 15*time.Second, 9.5, expected), want: true, wantFloor: 10},
		{name: "a third of the forecast is no collapse", samples: needsEvery(now, CollapseWindow, 30*time.Second, 10, expected)},
		{name: "one need above a third within the window", samples: func() []NeedSample {
			s := needsEvery(now, CollapseWindow, 30*time.Second, 2, expected)
			s[len(s)/2].Replicas = 11
			return s
		}()},
		{name: "a need above a third just before the window does not count", samples: func() []NeedSample {
			s := needsEvery(now, 16*time.Minute, 30*time.Second, 2, expected)
			s[0].Replicas = 25 // 16 minutes ago
			return s
		}(), want: true, wantFloor: 2},
		{name: "only ten minutes known: the window's start is not seen", samples: needsEvery(now, 10*time.Minute, 30*time.Second, 0, expected)},
		{name: "a gap of two minutes within the window", samples: func() []NeedSample {
			s := needsEvery(now, CollapseWindow, 30*time.Second, 0, expected)
			return append(s[:10:10], s[14:]...)
		}()},
		{name: "the newest need is over a minute old", samples: needsEvery(now.Add(-90*time.Second), CollapseWindow, 30*time.Second, 0, expected)},
		{name: "no forecast when the needs were observed", samples: needsEvery(now, CollapseWindow, 30*time.Second, 0, 0)},
		{name: "a forecast under two replicas tells no collapse", samples: needsEvery(now, CollapseWindow, 30*time.Second, 0, 1.9)},
		{
			// The night's need against the night's forecast, though the forecast expects the
			// morning's ramp now: held against now, the floor meant for the ramp went.
			name: "the night before a forecast ramp", samples: needsEvery(now, CollapseWindow, 30*time.Second, 3, 4),
		},
		{name: "no samples", samples: nil},
		{name: "samples after now are not read", samples: append(needsEvery(now, CollapseWindow, 30*time.Second, 0, expected),
			NeedSample{At: now.Add(time.Second), Replicas: 29, Forecast: expected}), want: true, wantFloor: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := LoadCollapsed(tc.samples, now)
			require.Equal(t, tc.want, ok)
			if tc.want {
				require.Equal(t, tc.wantFloor, c.Floor())
			}
		})
	}
}

// TestCollapseSweepIsLoadCollapsed keeps random needs (gaps, unknown and repeated ones among
// them, some above a third of their forecast) both ways, AddNeed's samples and a CollapseSweep,
// and asks both whether the load collapsed at every round.
func TestCollapseSweepIsLoadCollapsed(t *testing.T) {
	epoch := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 17))
		step := time.Duration(10+rng.IntN(20)) * time.Second
		var samples []NeedSample
		var sweep CollapseSweep
		collapsed := 0
		for i := range 3000 {
			now := int64(i) * int64(step)
			expected := 20.0
			if rng.IntN(400) == 0 {
				expected = 0 // no forecast in force
			}
			need := 0.0
			switch rng.IntN(400) {
			case 0:
				need = 8 // above a third
			case 1:
				need = math.NaN() // unknown
			case 2:
				need = 5
			}
			if rng.IntN(200) < 1 { // the metric missing for a while: a gap
				continue
			}
			observed := now
			if rng.IntN(10) == 0 {
				observed -= int64(step) // at times a round's observation again
			}
			samples = AddNeed(samples, Workload{NeededReplicas: need, NeedKnown: true, ObservedAt: epoch.Add(time.Duration(observed))}, expected, epoch.Add(time.Duration(now)))
			sweep.Add(observed, need, expected)
			c, want := LoadCollapsed(samples, epoch.Add(time.Duration(now)))
			floor, got := sweep.Collapsed(now)
			require.Equal(t, want, got, "seed %d, round %d", seed, i)
			if want {
				require.Equal(t, c.Floor(), floor, "seed %d, round %d", seed, i)
				collapsed++
			}
		}
		require.Positive(t, collapsed, "seed %d: some rounds collapsed", seed)
	}
}

// TestForecastReplicas: what the prediction holds the load to, read as the planner reads its
// points: the expected load, or a third of the upper bound where that is more (a forecast that
// followed a collapse down, beside a bound that still holds what comes back).
func TestForecastReplicas(t *testing.T) {
	now := monday
	p := scaling.Prediction{FittedAt: now.Add(-time.Minute).UnixMilli(), ValidUntil: now.Add(time.Hour).UnixMilli(), StepSeconds: 300}
	for i, v := range []struct{ expected, upper float64 }{{100, 150}, {200, 300}, {300, 450}, {10, 900}} {
		p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: now.Add(time.Duration(i+1) * 5 * time.Minute).UnixMilli(),
			ExpectedLoad: v.expected, UpperLoad: v.upper})
	}
	cases := []struct {
		name string
		at   time.Time
		want float64
	}{
		{name: "within a step before the first point: the first point's", at: now, want: 2},
		{name: "more than a step before the first point: none", at: now.Add(-time.Minute)},
		{name: "on a point", at: now.Add(10 * time.Minute), want: 4},
		{name: "between points, linearly", at: now.Add(12*time.Minute + 30*time.Second), want: 5},
		{name: "a third of the bound where the expected load is less", at: now.Add(20 * time.Minute), want: 6},
		{name: "within a step after the last point", at: now.Add(24 * time.Minute), want: 6},
		{name: "more than a step after the last point: none", at: now.Add(26 * time.Minute)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, ForecastReplicas(p, 50, tc.at), 1e-9)
		})
	}
	expired := p
	expired.ValidUntil = now.Add(-time.Second).UnixMilli()
	require.Zero(t, ForecastReplicas(expired, 50, now), "never act on a stale forecast")
	require.Zero(t, ForecastReplicas(p, 0, now.Add(10*time.Minute)), "no capacity, no replicas")
	odd := p
	odd.Points = []scaling.PredictionPoint{{Timestamp: now.UnixMilli(), ExpectedLoad: math.NaN(), UpperLoad: math.Inf(1)}}
	require.Zero(t, ForecastReplicas(odd, 50, now), "no load known")
}

// TestPlanFloorsCollapse: while every need of the last CollapseWindow stayed under a third of
// what the forecasts expected, the prediction's floor is set aside and the floor comes down at
// once; it applies again at the first need above, and never where the need was not seen.
func TestPlanFloorsCollapse(t *testing.T) {
	now := monday
	raised := Workload{Service: "web", Namespace: "default", HPAName: "web", MinReplicas: 6, MaxReplicas: 20, BaseMinReplicas: 2,
		Touched: true, FloorChangedAt: now.Add(-time.Hour), CurrentReplicas: 6, DesiredReplicas: 6, ObservedAt: now}
	whole := 1.0
	pred := flatCalibrated(now, scaling.FloorSettings{BoundShare: &whole, SmoothingPoints: 1, NoiseMarginReplicas: 1})
	changedLately := raised
	changedLately.FloorChangedAt = now.Add(-time.Minute)
	idle := needsEvery(now, 16*time.Minute, 30*time.Second, 0.4, 5) // the forecast: 500 expected ÷ 100 per replica
	returned := needsEvery(now, 16*time.Minute, 30*time.Second, 0.4, 5)
	returned[len(returned)-1].Replicas = 4
	runSurgeCases(t, now, []surgeCase{
		{name: "collapsed: at once to the base", pred: pred, need: idle, w: raised, wantFloor: 2, wantReason: SourceStepDown,
			wantDetail: "lowering from 6 to 2 at once: the load collapsed under the forecast, and the HPA's metric asked for no more over the last 15m0s"},
		{name: "the load is back: the prediction's floor", pred: pred, need: returned, w: raised, wantFloor: 5, wantReason: SourcePrediction},
		{name: "the need not seen for the window: the prediction's floor", pred: pred, need: idle[len(idle)-10:], w: raised, wantFloor: 5, wantReason: SourcePrediction},
		{
			// Collapsed, the floor would come down at once; a surge floor's is held after a change.
			name: "a surge floor alone has no prediction floor to set aside", need: idle, w: changedLately,
			pred: flatCalibrated(now, scaling.FloorSettings{Off: true, SurgeSeconds: 60}), wantFloor: 6, wantReason: SourceStepDown,
		},
	})
	plan := PlanFloors(PlanInput{Now: now, Services: []ServiceConfig{svc("web", 5*time.Minute)}, Workloads: []Workload{raised},
		Predictions: []scaling.Prediction{pred}, Need: map[string][]NeedSample{"web": idle}, PredictiveEnabled: true})
	d := plan.Decisions[0]
	require.Equal(t, []Contribution{
		{Source: SourceBase, Floor: 2, Detail: "floor before kai-scaler"},
		{Source: SourcePrediction, Floor: 1, Detail: "prediction set aside: the HPA's metric asked for at most 0.4 replicas over the last 15m0s, under a third of what the forecasts held the load to then (at least 5.0): the load collapsed (an outage, or traffic moved elsewhere); the prediction applies again at the first need above a third of its forecast"},
		{Source: SourceStepDown, Floor: 2, Detail: "lowering from 6 to 2 at once: the load collapsed under the forecast, and the HPA's metric asked for no more over the last 15m0s"},
	}, d.Contributions)
}
