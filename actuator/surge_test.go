package actuator

import (
	"math"
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
	ss = AddNeed(ss, w(monday, 5), monday)
	ss = AddNeed(ss, w(monday, 6), monday)                               // the same observation again: kept once
	ss = AddNeed(ss, w(monday.Add(30*time.Second), 0), monday)           // unknown need
	ss = AddNeed(ss, w(monday.Add(30*time.Second), math.Inf(1)), monday) // not a need
	ss = AddNeed(ss, w(monday.Add(time.Minute), 7), monday.Add(time.Minute))
	require.Equal(t, []NeedSample{{monday, 5}, {monday.Add(time.Minute), 7}}, ss)
	ss = AddNeed(ss, Workload{}, monday.Add(needKept+30*time.Second)) // nothing new: the first is too old now
	require.Equal(t, []NeedSample{{monday.Add(time.Minute), 7}}, ss)
}

// TestPlanFloorsSurge: a surge floor acts only where the prediction's calibration asks for
// one, beside (by max with) the prediction's own floor, and goes when the prediction expires.
func TestPlanFloorsSurge(t *testing.T) {
	now := monday
	flat := scaling.Prediction{Service: "web", FittedAt: now.Add(-10 * time.Minute).UnixMilli(), ValidUntil: now.Add(time.Hour).UnixMilli(), StepSeconds: 300}
	for i := range 12 {
		at := now.Add(time.Duration(i-2) * 5 * time.Minute).UnixMilli()
		flat.Points = append(flat.Points, scaling.PredictionPoint{Timestamp: at, ExpectedLoad: 500, UpperLoad: 600, RecommendedMinReplicas: 6})
	}
	calibrated := func(s scaling.FloorSettings) scaling.Prediction {
		p := flat
		p.Calibration = &scaling.Calibration{FloorSettings: s, Reason: "test"}
		return p
	}
	expired := calibrated(scaling.FloorSettings{Off: true, SurgeSeconds: 60})
	expired.ValidUntil = now.Add(-time.Minute).UnixMilli()
	rising := needs(now, 10, 11, 12, 13, 14) // 16 a minute from now; the flat prediction asks for 5 (its expected load)
	for _, tc := range []struct {
		name       string
		pred       scaling.Prediction
		need       []NeedSample
		wantFloor  int32
		wantReason string
	}{
		{name: "no surge settings: the prediction alone", pred: calibrated(scaling.FloorSettings{BoundShare: ratio(1), Interpolate: true}), need: rising, wantFloor: 5, wantReason: SourcePrediction},
		{name: "surge alone", pred: calibrated(scaling.FloorSettings{Off: true, SurgeSeconds: 60}), need: rising, wantFloor: 16, wantReason: SourceSurge},
		{name: "surge beside the prediction, the higher wins", pred: calibrated(scaling.FloorSettings{BoundShare: ratio(1), Interpolate: true, SurgeSeconds: 60}), need: rising, wantFloor: 16, wantReason: SourceSurge},
		{name: "not rising: the prediction", pred: calibrated(scaling.FloorSettings{BoundShare: ratio(1), Interpolate: true, SurgeSeconds: 60}), need: needs(now, 5, 5, 5, 5, 5), wantFloor: 5, wantReason: SourcePrediction},
		{name: "surge alone, not rising: the base", pred: calibrated(scaling.FloorSettings{Off: true, SurgeSeconds: 60}), need: needs(now, 5, 5, 5, 5, 5), wantFloor: 2, wantReason: SourceBase},
		{name: "an expired prediction takes its surge floor with it", pred: expired, need: rising, wantFloor: 2, wantReason: SourceBase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanFloors(PlanInput{Now: now, Services: []ServiceConfig{svc("web", 5*time.Minute)},
				Workloads: []Workload{untouched("web", 2, 50, 10, now)}, Predictions: []scaling.Prediction{tc.pred},
				Need: map[string][]NeedSample{"web": tc.need}, PredictiveEnabled: true})
			require.Len(t, plan.Decisions, 1)
			d := plan.Decisions[0]
			require.Equal(t, tc.wantFloor, d.Floor)
			require.Equal(t, tc.wantReason, d.Reason)
			if tc.wantReason == SourceSurge {
				c := d.Contributions[len(d.Contributions)-1]
				require.Equal(t, SourceSurge, c.Source)
				require.Equal(t, "the HPA's metric asks for 14.0 replicas, up 2.00 a minute over the last 2m0s: 16.0 in 1m0s, when pods asked for now are ready", c.Detail)
			}
		})
	}
}
