package actuator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// steadyNeeds is eight minutes of a need at about 40 replicas, 30 s apart, with the few per
// cent of noise of a steady service: from 37.6 to 41.6, within the HPA's tolerance of 41.6.
func steadyNeeds(now time.Time) []NeedSample {
	return needs(now, 40, 38.5, 41.6, 39, 37.6, 40.2, 41, 38, 39.5, 40, 41.2, 38.3, 39, 40.6, 38.8, 41.5, 39.9)
}

func TestLandingFloor(t *testing.T) {
	now := monday
	dipped := steadyNeeds(now)
	dipped[8].Replicas = 37 // 11 % under 41.6
	for _, tc := range []struct {
		name    string
		samples []NeedSample
		want    int32
	}{
		{name: "a need flat within the tolerance: its most, rounded up", samples: steadyNeeds(now), want: 42},
		{name: "one dip past the tolerance: a need that moves", samples: dipped},
		{name: "a rise past the tolerance: a need that moves", samples: needs(now, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39)},
		{name: "under the HPA's stabilization of samples: too little seen", samples: needs(now, 40, 41, 40, 39, 40, 41, 40, 39)},
		{name: "after now is not read", samples: append(steadyNeeds(now), NeedSample{At: now.Add(time.Second), Replicas: 60}), want: 42},
		{name: "no need: none", samples: needs(now, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)},
		{name: "no samples: none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, LandingFloor(tc.samples, now))
		})
	}
}

func TestLand(t *testing.T) {
	for _, tc := range []struct {
		name                            string
		cur, stepped, replicas, landing int32
		want                            int32
	}{
		{name: "the HPA at the floor: down to the need's top, not past it", cur: 43, stepped: 32, replicas: 43, landing: 42, want: 42},
		{name: "the HPA above the floor: held until the HPA comes down to it", cur: 42, stepped: 31, replicas: 43, landing: 41, want: 42},
		{name: "the HPA above a floor under the need's top: held too", cur: 40, stepped: 30, replicas: 43, landing: 42, want: 40},
		{name: "the HPA has come down to the need's top: on as stepped", cur: 42, stepped: 31, replicas: 42, landing: 42, want: 31},
		{name: "a need that moves: as stepped", cur: 43, stepped: 32, replicas: 43, want: 32},
		{name: "a step that stays above the need's top: as stepped", cur: 43, stepped: 40, replicas: 45, landing: 38, want: 40},
		{name: "the HPA below the floor (its status not yet updated): as stepped", cur: 43, stepped: 32, replicas: 41, landing: 42, want: 32},
		{name: "not lowering: as stepped", cur: 43, stepped: 43, replicas: 45, landing: 42, want: 43},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Land(tc.cur, tc.stepped, tc.replicas, tc.landing))
		})
	}
}

// TestPlanFloorsLandsTheHPA: a raised floor that comes down while the need is flat stops at
// the need's top and holds there until the HPA has come down to it, saying why; where the
// need moves it steps down as before.
func TestPlanFloorsLandsTheHPA(t *testing.T) {
	now := monday
	dipped := steadyNeeds(now)
	dipped[8].Replicas = 30
	changed := now.Add(-10 * time.Minute)
	for _, tc := range []struct {
		name       string
		w          Workload
		need       []NeedSample
		wantFloor  int32
		wantDetail string
	}{
		{name: "the HPA at the raised floor: down to the need's top", w: touched("web", 2, 43, 50, 43, changed, now), need: steadyNeeds(now), wantFloor: 42,
			wantDetail: "lowering from 43 to 42, towards 2: the most the HPA's metric asked for over the last 16m0s, within its tolerance all along, where the HPA stays once the floor goes on down"},
		{name: "the HPA above the floor: held", w: touched("web", 2, 42, 50, 43, changed, now), need: steadyNeeds(now), wantFloor: 42,
			wantDetail: "holding 42 while the HPA is above it at 43: its metric asked for 42 at most over the last 16m0s, within its tolerance all along, and the HPA's own scale-down stops here, not in a dip; then towards 2"},
		{name: "the HPA landed: on down by the policy", w: touched("web", 2, 42, 50, 42, changed, now), need: steadyNeeds(now), wantFloor: 31,
			wantDetail: "lowering from 42 towards 2 by at most max(1, 25%) every 5m0s"},
		{name: "a need that moves: by the policy", w: touched("web", 2, 43, 50, 43, changed, now), need: dipped, wantFloor: 32},
		{name: "no need seen: by the policy", w: touched("web", 2, 43, 50, 43, changed, now), wantFloor: 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanFloors(PlanInput{Now: now, Services: []ServiceConfig{svc("web", 5*time.Minute)}, Workloads: []Workload{tc.w},
				Need: map[string][]NeedSample{"web": tc.need}, PredictiveEnabled: true})
			require.Len(t, plan.Decisions, 1)
			d := plan.Decisions[0]
			require.Equal(t, tc.wantFloor, d.Floor)
			require.Equal(t, SourceStepDown, d.Reason)
			if tc.wantDetail != "" {
				require.Equal(t, tc.wantDetail, d.Contributions[len(d.Contributions)-1].Detail)
			}
		})
	}
}
