package actuator

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

// needs are samples every 30 s ending at end, one per value.
func needs(end time.Time, v ...float64) []NeedSample {
	out := make([]NeedSample, len(v))
	for i, x := range v {
		out[i] = NeedSample{At: end.Add(-time.Duration(len(v)-1-i) * 30 * time.Second), Replicas: x}
	}
	return out
}

func TestSurgeFloor(t *testing.T) {
	now := monday
	for _, tc := range []struct {
		name    string
		samples []NeedSample
		now     time.Time
		horizon time.Duration
		want    int32 // 0: no surge floor
	}{
		// 10 → 14 over 2 min: 2 a minute, carried 1 min on: 16.
		{name: "a rise is carried on for the horizon", samples: needs(now, 10, 11, 12, 13, 14), now: now, horizon: time.Minute, want: 16},
		// Only the last 2 min count: 30 → 10 earlier is not part of the rise's rate.
		{name: "only the window counts", samples: needs(now, 30, 20, 10, 11, 12, 13, 14), now: now, horizon: time.Minute, want: 16},
		// The newest sample is 30 s old: carried 1m30s on, 17.
		{name: "the newest sample's age is added", samples: needs(now.Add(-30*time.Second), 10, 11, 12, 13, 14), now: now, horizon: time.Minute, want: 17},
		{name: "a fall is the HPA's", samples: needs(now, 14, 13, 12, 11, 10), now: now, horizon: time.Minute},
		{name: "flat is the HPA's", samples: needs(now, 12, 12, 12, 12, 12), now: now, horizon: time.Minute},
		{name: "under a minute of samples tells nothing", samples: needs(now, 10, 14), now: now, horizon: time.Minute},
		{name: "no samples", now: now, horizon: time.Minute},
		// 10 and 11 before now, 12 at now: 2 a minute, 14 a minute on.
		{name: "samples after now are not read", samples: needs(now.Add(time.Minute), 10, 11, 12, 13, 14), now: now, horizon: time.Minute, want: 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := SurgeFloor(tc.samples, tc.now, tc.horizon)
			require.Equal(t, tc.want > 0, ok)
			require.Equal(t, tc.want, s.Floor)
		})
	}
}

func TestAddNeed(t *testing.T) {
	w := func(at time.Time, need float64) Workload {
		return Workload{Service: "web", ObservedAt: at, NeededReplicas: need}
	}
	var ss []NeedSample
	ss = AddNeed(ss, w(monday, 5), 12, monday)
	ss = AddNeed(ss, w(monday, 6), 12, monday)                               // the same observation again: kept once
	ss = AddNeed(ss, w(monday.Add(30*time.Second), 0), 12, monday)           // unknown need
	ss = AddNeed(ss, w(monday.Add(30*time.Second), math.Inf(1)), 12, monday) // not a need
	ss = AddNeed(ss, w(monday.Add(time.Minute), 7), 0, monday.Add(time.Minute))
	none := w(monday.Add(90*time.Second), 0)
	none.NeedKnown = true // a metric reporting no load at all: a need of none
	ss = AddNeed(ss, none, 12, monday.Add(90*time.Second))
	nan := w(monday.Add(2*time.Minute), math.NaN())
	nan.NeedKnown = true // not a number is no measurement, whatever the flag says
	ss = AddNeed(ss, nan, 12, monday.Add(2*time.Minute))
	require.Equal(t, []NeedSample{{At: monday, Replicas: 5, Forecast: 12}, {At: monday.Add(time.Minute), Replicas: 7},
		{At: monday.Add(90 * time.Second), Forecast: 12}}, ss)
	ss = AddNeed(ss, Workload{}, 0, monday.Add(needKept+30*time.Second)) // nothing new: the first is too old now
	require.Equal(t, []NeedSample{{At: monday.Add(time.Minute), Replicas: 7}, {At: monday.Add(90 * time.Second), Forecast: 12}}, ss)
}

// flatCalibrated is a prediction for web of 500 expected and 600 upper load around now, fitted
// 10 minutes ago, valid for an hour, with settings s.
func flatCalibrated(now time.Time, s scaling.FloorSettings) scaling.Prediction {
	p := scaling.Prediction{Service: "web", FittedAt: now.Add(-10 * time.Minute).UnixMilli(), ValidUntil: now.Add(time.Hour).UnixMilli(), StepSeconds: 300,
		Calibration: &scaling.Calibration{FloorSettings: s, Reason: "test"}}
	for i := range 12 {
		at := now.Add(time.Duration(i-2) * 5 * time.Minute).UnixMilli()
		p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: at, ExpectedLoad: 500, UpperLoad: 600, RecommendedMinReplicas: 6})
	}
	return p
}

// surgeAloneAndExpired are flat predictions asking for a surge floor carried a minute on, in
// force at now and expired a minute before it.
func surgeAloneAndExpired(now time.Time) (alone, expired scaling.Prediction) {
	alone = flatCalibrated(now, scaling.FloorSettings{Off: true, SurgeSeconds: 60})
	expired = flatCalibrated(now, scaling.FloorSettings{Off: true, SurgeSeconds: 60})
	expired.ValidUntil = now.Add(-time.Minute).UnixMilli()
	return alone, expired
}

// surgeCase is one planning round of web with a surge floor's inputs.
type surgeCase struct {
	name       string
	pred       scaling.Prediction
	need       []NeedSample
	w          Workload
	wantFloor  int32
	wantReason string
	// wantDetail, when set, is the last contribution's.
	wantDetail string
}

func runSurgeCases(t *testing.T, now time.Time, cases []surgeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanFloors(PlanInput{Now: now, Services: []ServiceConfig{svc("web", 5*time.Minute)},
				Workloads: []Workload{tc.w}, Predictions: []scaling.Prediction{tc.pred},
				Need: map[string][]NeedSample{"web": tc.need}, PredictiveEnabled: true})
			require.Len(t, plan.Decisions, 1)
			d := plan.Decisions[0]
			require.Equal(t, tc.wantFloor, d.Floor)
			require.Equal(t, tc.wantReason, d.Reason)
			if tc.wantDetail != "" {
				require.Equal(t, tc.wantDetail, d.Contributions[len(d.Contributions)-1].Detail)
			}
		})
	}
}

// TestPlanFloorsSurge: a surge floor acts only where the prediction's calibration asks for
// one, beside (by max with) the prediction's own floor, at most once every SurgeInterval, and
// goes when the prediction expires.
func TestPlanFloorsSurge(t *testing.T) {
	now := monday
	calibrated := func(s scaling.FloorSettings) scaling.Prediction { return flatCalibrated(now, s) }
	surgeAlone, expired := surgeAloneAndExpired(now)
	rising := needs(now, 10, 11, 12, 13, 14) // 16 a minute from now; the flat prediction asks for 5 (its expected load)
	carried := "the HPA's metric asks for 14.0 replicas, up 2.00 a minute over the last 2m0s: 16.0 in 1m0s, when pods asked for now are ready"
	fresh := untouched("web", 2, 50, 10, now)
	pastTolerance := flatCalibrated(now, scaling.FloorSettings{Off: true, SurgeSeconds: 60, SurgeTolerance: 0.1})
	runSurgeCases(t, now, []surgeCase{
		{name: "no surge settings: the prediction alone", pred: calibrated(scaling.FloorSettings{BoundShare: ratio(1), Interpolate: true}), need: rising, w: fresh, wantFloor: 5, wantReason: SourcePrediction},
		{name: "surge alone", pred: surgeAlone, need: rising, w: fresh, wantFloor: 16, wantReason: SourceSurge, wantDetail: carried},
		{name: "surge beside the prediction, the higher wins", pred: calibrated(scaling.FloorSettings{BoundShare: ratio(1), Interpolate: true, SurgeSeconds: 60}), need: rising, w: fresh,
			wantFloor: 16, wantReason: SourceSurge, wantDetail: carried},
		{name: "not rising: the prediction", pred: calibrated(scaling.FloorSettings{BoundShare: ratio(1), Interpolate: true, SurgeSeconds: 60}), need: needs(now, 5, 5, 5, 5, 5), w: fresh,
			wantFloor: 5, wantReason: SourcePrediction},
		{name: "surge alone, not rising: the base", pred: surgeAlone, need: needs(now, 5, 5, 5, 5, 5), w: fresh, wantFloor: 2, wantReason: SourceBase},
		{name: "an expired prediction takes its surge floor with it", pred: expired, need: rising, w: fresh, wantFloor: 2, wantReason: SourceBase},
		{name: "the floor changed under SurgeInterval ago: held where it is", pred: surgeAlone, need: rising,
			w: touched("web", 2, 12, 50, 10, now.Add(-30*time.Second), now), wantFloor: 12, wantReason: SourceSurge,
			wantDetail: "the HPA's metric asks for 14.0 replicas, up 2.00 a minute: held at 12, as the floor changed under 1m0s ago"},
		{name: "the floor changed SurgeInterval ago: raised", pred: surgeAlone, need: rising,
			w: touched("web", 2, 12, 50, 10, now.Add(-SurgeInterval), now), wantFloor: 16, wantReason: SourceSurge, wantDetail: carried},
		{name: "past the HPA's tolerance of the replicas running: raised", pred: pastTolerance, need: rising, w: fresh,
			wantFloor: 16, wantReason: SourceSurge, wantDetail: carried},
		{name: "within the HPA's tolerance of the replicas running: held where it is", pred: pastTolerance, need: rising,
			w: touched("web", 2, 12, 50, 15, now.Add(-SurgeInterval), now), wantFloor: 12, wantReason: SourceSurge,
			wantDetail: "the HPA's metric asks for 14.0 replicas, up 2.00 a minute: held at 12, as 16 is within the HPA's 0.1 tolerance of the 15 running"},
		{name: "within the tolerance of a floor above the replicas: held where it is", pred: pastTolerance, need: rising,
			w: touched("web", 2, 15, 50, 12, now.Add(-SurgeInterval), now), wantFloor: 15, wantReason: SourceSurge,
			wantDetail: "the HPA's metric asks for 14.0 replicas, up 2.00 a minute: held at 15, as 16 is within the HPA's 0.1 tolerance of the 15 running"},
	})
}

// TestPlanFloorsSurgeRelease: a service with a surge floor comes down at once to what its HPA's
// metric asked for over the last minutes, never below its plan, once its floor has held for
// SurgeHold and the need no longer rises; every other floor, and one whose need is unknown or
// whose prediction expired, comes down by the step-down policy.
func TestPlanFloorsSurgeRelease(t *testing.T) {
	now := monday
	calibrated := func(s scaling.FloorSettings) scaling.Prediction { return flatCalibrated(now, s) }
	surgeAlone, expired := surgeAloneAndExpired(now)
	fell := needs(now, 13.5, 12, 11, 10, 9) // the surge is over: the HPA's stabilization holds 14
	// raised to 20 three minutes ago: past SurgeHold, within the step-down interval
	raised := touched("web", 2, 20, 50, 20, now.Add(-3*time.Minute), now)
	runSurgeCases(t, now, []surgeCase{
		{name: "surge floor: down at once to the need's recent most", pred: surgeAlone, need: fell, w: raised, wantFloor: 14, wantReason: SourceStepDown,
			wantDetail: "lowering from 20 to 14 at once, towards 2: the most the HPA's metric asked for over the last 4m0s, which its own scale-down stabilization keeps"},
		{name: "surge floor beside the prediction: never below the plan", pred: calibrated(scaling.FloorSettings{BoundShare: ratio(0), Interpolate: true, SurgeSeconds: 60}),
			need: needs(now, 4, 3, 3, 3, 3), w: raised, wantFloor: 5, wantReason: SourcePrediction},
		{name: "no surge settings: the step-down policy holds", pred: calibrated(scaling.FloorSettings{BoundShare: ratio(0), Interpolate: true}), need: fell, w: raised,
			wantFloor: 20, wantReason: SourceStepDown},
		{name: "need unknown: the step-down policy holds", pred: surgeAlone, w: raised, wantFloor: 20, wantReason: SourceStepDown},
		{name: "an expired prediction: the step-down policy holds", pred: expired, need: fell, w: raised, wantFloor: 20, wantReason: SourceStepDown},
		{name: "need unknown, under SurgeHold: the step-down policy's hold", pred: surgeAlone,
			w: touched("web", 2, 20, 50, 20, now.Add(-90*time.Second), now), wantFloor: 20, wantReason: SourceStepDown,
			wantDetail: "holding 20 until " + now.Add(210*time.Second).UTC().Format(time.RFC3339) + " (floor last changed " +
				now.Add(-90*time.Second).UTC().Format(time.RFC3339) + "); then towards 2"},
		{name: "still rising, slower: held where it is", pred: surgeAlone, need: needs(now, 12, 12.5, 13, 13.5, 14), w: raised, wantFloor: 20, wantReason: SourceSurge,
			wantDetail: "the HPA's metric asks for 14.0 replicas, up 1.00 a minute: held at 20 while it rises"},
		{name: "the floor changed under SurgeHold ago: it holds", pred: surgeAlone, need: fell,
			w: touched("web", 2, 20, 50, 20, now.Add(-90*time.Second), now), wantFloor: 20, wantReason: SourceStepDown,
			wantDetail: "holding 20 until " + now.Add(30*time.Second).UTC().Format(time.RFC3339) + ", 2m0s after its last change, in case the surge goes on; then towards 2"},
	})
}

func TestSurgeMay(t *testing.T) {
	now := monday
	for _, tc := range []struct {
		name                   string
		changedAt              time.Time
		wantRaise, wantRelease bool
	}{
		{name: "never changed by kai-scaler", wantRaise: true, wantRelease: true},
		{name: "changed under SurgeInterval ago", changedAt: now.Add(-30 * time.Second)},
		{name: "past SurgeInterval, within SurgeHold: raised, not released", changedAt: now.Add(-90 * time.Second), wantRaise: true},
		{name: "past SurgeHold", changedAt: now.Add(-SurgeHold), wantRaise: true, wantRelease: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raise, release := SurgeMay(tc.changedAt, now)
			require.Equal(t, tc.wantRaise, raise)
			require.Equal(t, tc.wantRelease, release)
		})
	}
}

func TestHeldSurge(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		surge, current, want int32
		mayRaise             bool
	}{
		{name: "may raise: the surge floor", surge: 16, current: 12, mayRaise: true, want: 16},
		{name: "may raise, below current: held at current while the need rises", surge: 9, current: 12, mayRaise: true, want: 12},
		{name: "may not raise: held at current", surge: 16, current: 12, want: 12},
		{name: "may not raise, below current: held at current", surge: 9, current: 12, want: 12},
		{name: "not rising: nothing to hold", surge: 0, current: 12, mayRaise: true, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, HeldSurge(tc.surge, tc.current, tc.mayRaise))
		})
	}
}

func TestSurgeRaises(t *testing.T) {
	for _, tc := range []struct {
		name            string
		surge, replicas int32
		tolerance       float64
		want            bool
	}{
		{name: "no tolerance: every rise", surge: 11, replicas: 10, want: true},
		{name: "within the tolerance: not raised", surge: 11, replicas: 10, tolerance: 0.1},
		{name: "past the tolerance: raised", surge: 12, replicas: 10, tolerance: 0.1, want: true},
		{name: "one replica of three is past a tenth", surge: 4, replicas: 3, tolerance: 0.1, want: true},
		{name: "below the replicas running: not raised", surge: 8, replicas: 10, tolerance: 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, SurgeRaises(tc.surge, tc.replicas, tc.tolerance))
		})
	}
}

func TestReleaseFloor(t *testing.T) {
	now := monday
	for _, tc := range []struct {
		name    string
		samples []NeedSample
		want    int32
	}{
		{name: "the most of the kept minutes, rounded up", samples: needs(now, 9, 14.2, 12, 11, 10), want: 15},
		{name: "older than the kept minutes is not read", samples: append([]NeedSample{{At: now.Add(-needKept - time.Second), Replicas: 40}}, needs(now, 10, 11)...), want: 11},
		{name: "after now is not read", samples: append(needs(now, 10, 11), NeedSample{At: now.Add(time.Second), Replicas: 40}), want: 11},
		{name: "no samples: nothing to come down to", want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ReleaseFloor(tc.samples, now))
		})
	}
}

func TestLowerFloor(t *testing.T) {
	now := monday
	for _, tc := range []struct {
		name         string
		changedAgo   time.Duration
		release      int32
		want         int32
		wantReleased bool
	}{
		{name: "within the interval: held", changedAgo: time.Minute, want: 20},
		{name: "past the interval: a quarter off", changedAgo: 5 * time.Minute, want: 15},
		{name: "released below the step", changedAgo: time.Minute, release: 9, want: 9, wantReleased: true},
		{name: "never below the wanted floor", changedAgo: time.Minute, release: 1, want: 4, wantReleased: true},
		{name: "a release above the step changes nothing", changedAgo: 5 * time.Minute, release: 18, want: 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, released := LowerFloor(20, 4, now.Add(-tc.changedAgo), StepDownPolicy{}, now, tc.release)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.wantReleased, released)
		})
	}
}

// TestNeedSweepIsAddNeed keeps random needs (unknown, repeated and late ones among them) both
// ways, AddNeed's samples and a NeedSweep, and asks both for the surge floor at several
// horizons and the release floor at every round: the same, to the bit.
func TestNeedSweepIsAddNeed(t *testing.T) {
	epoch := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	horizons := []time.Duration{0, 30 * time.Second, 2 * time.Minute, 7 * time.Minute}
	for seed := range uint64(100) {
		rng := rand.New(rand.NewPCG(seed, 13))
		step := time.Duration(1+rng.IntN(90)) * time.Second
		var samples []NeedSample
		var sweep NeedSweep
		level, surged := 10.0, 0
		for i := range 2000 {
			now := int64(i) * int64(step)
			observed := now - int64(rng.IntN(3))*int64(step) // late, and at times repeated
			level = max(0, level+rng.NormFloat64())
			need := level
			switch rng.IntN(30) {
			case 0:
				need = math.NaN()
			case 1:
				need = math.Inf(1)
			case 2:
				need = 0
			}
			samples = AddNeed(samples, Workload{NeededReplicas: need, NeedKnown: !math.IsNaN(need), ObservedAt: epoch.Add(time.Duration(observed))}, 0, epoch.Add(time.Duration(now)))
			sweep.Add(observed, need, now)
			at := now + int64(rng.IntN(2))*int64(step)/2
			require.Equal(t, ReleaseFloor(samples, epoch.Add(time.Duration(at))), sweep.Release(at), "seed %d, round %d", seed, i)
			for _, h := range horizons {
				want, wantOK := SurgeFloor(samples, epoch.Add(time.Duration(at)), h)
				got, ok := sweep.Surge(at, h)
				require.Equal(t, wantOK, ok, "seed %d, round %d, horizon %s", seed, i, h)
				require.Equal(t, want, got, "seed %d, round %d, horizon %s", seed, i, h)
				if ok {
					surged++
				}
			}
		}
		require.Positive(t, surged, "seed %d: some rounds have a surge floor", seed)
	}
}
