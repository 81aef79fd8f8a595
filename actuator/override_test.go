package actuator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

func fixedOverride(id, service string, start time.Time, d time.Duration, replicas int32) scaling.Override {
	return scaling.Override{ID: id, Service: service, Start: start, End: start.Add(d), MinReplicas: n32(replicas), Reason: "launch"}
}

func loadOverride(id, service string, start time.Time, d time.Duration, load float64) scaling.Override {
	return scaling.Override{ID: id, Service: service, Start: start, End: start.Add(d), ExpectedLoad: &load, Reason: "sale"}
}

func TestPlanFloorsOverrides(t *testing.T) {
	start := monday.Add(30 * time.Minute) // 09:00
	tests := []struct {
		name       string
		now        time.Time
		lead       time.Duration
		w          Workload
		overrides  []scaling.Override
		patterns   []scaling.Pattern
		disabled   bool
		want       want
		wantDetail string // substring of the override contribution's detail; "" when none
	}{
		{name: "before start minus lead: not active", now: start.Add(-11 * time.Minute), lead: 10 * time.Minute,
			w: untouched("api", 2, 20, 3, monday), overrides: []scaling.Override{fixedOverride("o1", "api", start, time.Hour, 8)},
			want: want{2, SourceBase, false}},
		{name: "exactly lead before start: active", now: start.Add(-10 * time.Minute), lead: 10 * time.Minute,
			w: untouched("api", 2, 20, 3, monday), overrides: []scaling.Override{fixedOverride("o1", "api", start, time.Hour, 8)},
			want: want{8, SourceOverride, false}, wantDetail: "o1 (launch) asks 8 replicas from 2025-01-06T09:00:00Z until 2025-01-06T10:00:00Z"},
		{name: "during the event", now: start.Add(30 * time.Minute), lead: 10 * time.Minute,
			w: untouched("api", 2, 20, 3, monday), overrides: []scaling.Override{fixedOverride("o1", "api", start, time.Hour, 8)},
			want: want{8, SourceOverride, false}, wantDetail: "asks 8"},
		{name: "at end: over, the floor steps down", now: start.Add(time.Hour), lead: 10 * time.Minute,
			w: touched("api", 2, 8, 20, 8, start.Add(-10*time.Minute), monday), overrides: []scaling.Override{fixedOverride("o1", "api", start, time.Hour, 8)},
			want: want{6, SourceStepDown, false}},
		{name: "expectedLoad is a share of maxReplicas", now: start, lead: 0,
			w: untouched("api", 2, 20, 3, monday), overrides: []scaling.Override{loadOverride("o2", "api", start, time.Hour, 0.35)},
			want: want{7, SourceOverride, false}, wantDetail: "expects 35% of 20 replicas"},
		{name: "expectedLoad without maxReplicas asks nothing", now: start, lead: 0,
			w: untouched("api", 2, 0, 3, monday), overrides: []scaling.Override{loadOverride("o2", "api", start, time.Hour, 0.35)},
			want: want{2, SourceBase, false}},
		{name: "several active: the highest wins", now: start, lead: 0,
			w: untouched("api", 2, 20, 3, monday), overrides: []scaling.Override{
				fixedOverride("low", "api", start.Add(-time.Hour), 2*time.Hour, 4),
				fixedOverride("high", "api", start, time.Hour, 9),
				loadOverride("mid", "api", start, time.Hour, 0.3),
			},
			want: want{9, SourceOverride, false}, wantDetail: "high (launch) asks 9"},
		{name: "combines by max with a pattern: pattern higher", now: start, lead: 0,
			w: untouched("api", 2, 20, 3, monday), overrides: []scaling.Override{fixedOverride("o1", "api", start, time.Hour, 5)},
			patterns: []scaling.Pattern{daily("api", "", 9, 0.5)},
			want:     want{10, SourcePattern, false}, wantDetail: "asks 5"},
		{name: "combines by max with a pattern: override higher", now: start, lead: 0,
			w: untouched("api", 2, 20, 3, monday), overrides: []scaling.Override{fixedOverride("o1", "api", start, time.Hour, 15)},
			patterns: []scaling.Pattern{daily("api", "", 9, 0.5)},
			want:     want{15, SourceOverride, false}, wantDetail: "asks 15"},
		{name: "clamped to maxReplicas", now: start, lead: 0,
			w: untouched("api", 2, 10, 3, monday), overrides: []scaling.Override{fixedOverride("o1", "api", start, time.Hour, 50)},
			want: want{10, SourceMax, false}, wantDetail: "asks 50"},
		{name: "another service's override does not apply", now: start, lead: 0,
			w: untouched("api", 2, 20, 3, monday), overrides: []scaling.Override{fixedOverride("o1", "web", start, time.Hour, 8)},
			want: want{2, SourceBase, false}},
		{name: "predictive scaling disabled: overrides are off too", now: start, lead: 0, disabled: true,
			w: untouched("api", 2, 20, 3, monday), overrides: []scaling.Override{fixedOverride("o1", "api", start, time.Hour, 8)},
			want: want{2, SourceBase, false}},
		{name: "override below base: base wins", now: start, lead: 0,
			w: untouched("api", 4, 20, 4, monday), overrides: []scaling.Override{fixedOverride("o1", "api", start, time.Hour, 3)},
			want: want{4, SourceBase, false}, wantDetail: "asks 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.w
			w.ObservedAt = tt.now
			plan := PlanFloors(PlanInput{Now: tt.now, Services: []ServiceConfig{svc("api", tt.lead)}, Workloads: []Workload{w},
				Overrides: tt.overrides, Patterns: tt.patterns, PredictiveEnabled: !tt.disabled})
			require.Len(t, plan.Decisions, 1)
			d := plan.Decisions[0]
			require.Equal(t, tt.want, want{d.Floor, d.Reason, d.Restore})
			var detail string
			for _, c := range d.Contributions {
				if c.Source == SourceOverride {
					require.Empty(t, detail, "one override contribution at most")
					detail = c.Detail
				}
			}
			if tt.wantDetail == "" {
				require.Empty(t, detail)
			} else {
				require.Contains(t, detail, tt.wantDetail)
			}
		})
	}
}
