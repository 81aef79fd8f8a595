package hpaevents

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

// Regression test for issue 12: the floor's own raises were scored among the HPA's decisions.
func TestEffectivenessScoresFloorRaisesApart(t *testing.T) {
	now := t0.Add(time.Hour)
	e := func(typ scaling.EventType, reason string, outcome scaling.EventOutcome) scaling.Event {
		return scaling.Event{Service: "checkout", EventType: typ, Reason: reason, Outcome: outcome, Timestamp: t0.UnixMilli()}
	}
	events := []scaling.Event{
		e(scaling.EventScaleUp, "", scaling.OutcomeEffective),
		e(scaling.EventLimitedScale, ReasonTooManyReplicas, scaling.OutcomeIneffective),
		e(scaling.EventLimitedScale, ReasonFloorRaised, scaling.OutcomeIneffective),
		e(scaling.EventLimitedScale, ReasonFloorRaised, scaling.OutcomeEffective),
		e(scaling.EventLimitedScale, ReasonFloorRaised, scaling.OutcomePending),
		e(scaling.EventNoScale, ReasonScaleDownStabilized, scaling.OutcomePending),
	}
	tests := []struct {
		name        string
		score       func(string, []scaling.Event, time.Time, time.Duration) scaling.EffectivenessReport
		want        float64
		events      int
		effective   int
		ineffective int
		pending     int
	}{
		{name: "the HPA's decisions", score: Effectiveness, want: 0.5, events: 2, effective: 1, ineffective: 1},
		{name: "the floor's raises", score: FloorRaiseEffectiveness, want: 0.5, events: 3, effective: 1, ineffective: 1, pending: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.score("checkout", events, now, 24*time.Hour)
			require.NotNil(t, r.Effectiveness)
			require.InDelta(t, tt.want, *r.Effectiveness, 1e-9)
			require.Equal(t, tt.events, r.ScalingEvents)
			require.Equal(t, tt.effective, r.Effective)
			require.Equal(t, tt.ineffective, r.Ineffective)
			require.Equal(t, tt.pending, r.Pending)
		})
	}
}
