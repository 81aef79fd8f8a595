package hpaevents

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

func TestSettle(t *testing.T) {
	const m = time.Minute
	up := scaling.Event{
		ID: "up", Service: "checkout", Namespace: "shop", EventType: scaling.EventScaleUp,
		CurrentReplicas: 2, DesiredReplicas: 4, TriggerMetric: "resource:cpu", TriggerValue: 90, TriggerThreshold: 70,
		Timestamp: at(m).UnixMilli(),
	}
	down := scaling.Event{
		ID: "down", Service: "checkout", Namespace: "shop", EventType: scaling.EventScaleDown,
		CurrentReplicas: 4, DesiredReplicas: 2, TriggerMetric: "resource:cpu", TriggerValue: 30, TriggerThreshold: 70,
		Timestamp: at(5 * m).UnixMilli(),
	}
	other := down
	other.ID, other.Service = "other", "search"
	limited := scaling.Event{
		ID: "lim", Service: "checkout", Namespace: "shop", EventType: scaling.EventLimitedScale,
		CurrentReplicas: 10, DesiredReplicas: 14, TriggerMetric: "resource:cpu", TriggerValue: 95, TriggerThreshold: 70,
		Reason: ReasonTooManyReplicas, Timestamp: at(m).UnixMilli(),
	}
	noTrigger := up
	noTrigger.TriggerMetric = ""
	tests := []struct {
		name        string
		event       scaling.Event
		later       []Observation
		laterEvents []scaling.Event
		now         time.Duration
		wantActual  *int32
		wantOutcome scaling.EventOutcome
	}{
		{
			name:  "too early: nothing known",
			event: up, later: []Observation{obs(m, 2, 4, cpu(90, 70))}, now: 2 * m,
		},
		{
			name:  "replicas reached but window still open: actual only",
			event: up, later: []Observation{obs(m, 2, 4, cpu(90, 70)), obs(2*m, 4, 4, cpu(60, 70))}, now: 3 * m,
			wantActual: ptr[int32](4),
		},
		{
			name:  "metric back within threshold at the window's end: effective",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(80, 70)), obs(8*m, 4, 4, cpu(75, 70)), obs(12*m, 4, 4, cpu(90, 70))}, now: 12 * m,
			wantActual: ptr[int32](4), wantOutcome: scaling.OutcomeEffective,
		},
		{
			name:  "metric still above threshold: ineffective",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(95, 70)), obs(10*m, 4, 4, cpu(90, 70))}, now: 11 * m,
			wantActual: ptr[int32](4), wantOutcome: scaling.OutcomeIneffective,
		},
		{
			name:  "opposite scaling soon after: ineffective at once",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(40, 70))}, laterEvents: []scaling.Event{up, other, down}, now: 5 * m,
			wantActual: ptr[int32](4), wantOutcome: scaling.OutcomeIneffective,
		},
		{
			name:  "opposite scaling of another service does not count",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(40, 70))}, laterEvents: []scaling.Event{other}, now: 5 * m,
			wantActual: ptr[int32](4),
		},
		{
			name:  "next decision before replicas were reached: actual is the count then",
			event: up, later: []Observation{obs(2*m, 3, 4, cpu(95, 70))},
			laterEvents: []scaling.Event{{ID: "up2", Service: "checkout", Namespace: "shop", EventType: scaling.EventScaleUp, CurrentReplicas: 3, DesiredReplicas: 6, Timestamp: at(3 * m).UnixMilli()}},
			now:         4 * m, wantActual: ptr[int32](3),
		},
		{
			name:  "window over without reaching desired: actual is the last count",
			event: limited, later: []Observation{obs(2*m, 10, 10, cpu(95, 70)), obs(9*m, 10, 10, cpu(99, 70))}, now: 20 * m,
			wantActual: ptr[int32](10), wantOutcome: scaling.OutcomeIneffective,
		},
		{
			name:  "default tolerance: 1.05 at the window's end is within the threshold, effective",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(1.05*70, 70))}, now: 11 * m,
			wantActual: ptr[int32](4), wantOutcome: scaling.OutcomeEffective,
		},
		{
			name:  "the HPA's scale-up tolerance of 0.02: 1.05 is above the threshold, ineffective",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(1.05*70, 70)).tolerances(0.02, 0)}, now: 11 * m,
			wantActual: ptr[int32](4), wantOutcome: scaling.OutcomeIneffective,
		},
		{
			name:  "the HPA's scale-up tolerance of 0.2: 1.15 is within, effective",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(1.15*70, 70)).tolerances(0.2, 0)}, now: 11 * m,
			wantActual: ptr[int32](4), wantOutcome: scaling.OutcomeEffective,
		},
		{
			name:  "the HPA's scale-down tolerance does not widen the threshold: 1.15, ineffective",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(1.15*70, 70)).tolerances(0, 0.3)}, now: 11 * m,
			wantActual: ptr[int32](4), wantOutcome: scaling.OutcomeIneffective,
		},
		{
			name:  "the HPA sets no scale-up tolerance: only at or under target is within",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(71, 70)).tolerances(-1, 0), obs(9*m, 4, 4, cpu(70, 70)).tolerances(-1, 0)}, now: 11 * m,
			wantActual: ptr[int32](4), wantOutcome: scaling.OutcomeEffective,
		},
		{
			name:  "the HPA sets no scale-up tolerance: 1.01 is above, ineffective",
			event: up, later: []Observation{obs(2*m, 4, 4, cpu(70.7, 70)).tolerances(-1, 0)}, now: 11 * m,
			wantActual: ptr[int32](4), wantOutcome: scaling.OutcomeIneffective,
		},
		{
			name:  "no observation of the trigger metric in the window: pending",
			event: up, later: []Observation{obs(2*m, 4, 4)}, now: 20 * m,
			wantActual: ptr[int32](4),
		},
		{
			name:  "no trigger metric: outcome unknowable",
			event: noTrigger, later: []Observation{obs(2*m, 4, 4, cpu(50, 70))}, now: 20 * m,
			wantActual: ptr[int32](4),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Settle(tt.event, tt.later, tt.laterEvents, at(tt.now), SettleOptions{})
			require.Equal(t, tt.wantActual, got.ActualReplicas)
			require.Equal(t, tt.wantOutcome, got.Outcome)
			// Settling again with the same facts changes nothing.
			require.Equal(t, got, Settle(got, tt.later, tt.laterEvents, at(tt.now), SettleOptions{}))
		})
	}
}

func TestSettleNoScale(t *testing.T) {
	e := scaling.Event{ID: "n", Service: "checkout", EventType: scaling.EventNoScale, CurrentReplicas: 6, DesiredReplicas: 6, TriggerMetric: "resource:cpu"}
	got := Settle(e, nil, nil, t0, SettleOptions{})
	require.Equal(t, ptr[int32](6), got.ActualReplicas)
	require.True(t, Settled(got))
	require.Equal(t, scaling.OutcomePending, got.Outcome)
}
