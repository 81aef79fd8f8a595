package hpaevents

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/eventtest"
	"github.com/kai-platform/kai-scaler/scaling"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// obs is an observation of checkout's HPA (min 2, max 10) at t0+d.
func obs(d time.Duration, current, desired int32, metrics ...Metric) Observation {
	return Observation{
		Time: at(d), Namespace: "shop", HPA: "checkout", Service: "checkout",
		MinReplicas: 2, MaxReplicas: 10, CurrentReplicas: current, DesiredReplicas: desired,
		Metrics: metrics,
		Conditions: []Condition{
			{Type: CondAbleToScale, Status: "True", Reason: "ReadyForNewScale"},
			{Type: CondScalingActive, Status: "True", Reason: "ValidMetricFound"},
			{Type: CondScalingLimited, Status: "False", Reason: "DesiredWithinRange"},
		},
	}
}

func (o Observation) scaledAt(d time.Duration) Observation { o.LastScaleTime = at(d); return o }

func (o Observation) bounds(min, max int32) Observation {
	o.MinReplicas, o.MaxReplicas = min, max
	return o
}

func (o Observation) cond(typ, status, reason string, since time.Duration) Observation {
	cs := make([]Condition, 0, len(o.Conditions))
	for _, c := range o.Conditions {
		if c.Type != typ {
			cs = append(cs, c)
		}
	}
	o.Conditions = append(cs, Condition{Type: typ, Status: status, Reason: reason, LastTransitionTime: at(since)})
	return o
}

// tolerances sets the HPA's own tolerances each way (0 unknown, negative none).
func (o Observation) tolerances(up, down float64) Observation {
	o.ScaleUpTolerance, o.ScaleDownTolerance = up, down
	return o
}

func metric(typ MetricType, name string, kind TargetKind, current, target float64) Metric {
	return Metric{Type: typ, Name: name, TargetKind: kind, Target: target, Current: current, HasCurrent: true}
}

func cpu(current, target float64) Metric {
	return metric(MetricResource, "cpu", TargetUtilization, current, target)
}

// ev is the part of an event the table checks (ID and timestamp are checked separately).
type ev = eventtest.Event

func summarize(events []scaling.Event) []ev { return summarizeFrom(t0, events) }

func summarizeFrom(base time.Time, events []scaling.Event) []ev {
	return eventtest.Summarize(base, events)
}

func TestDerive(t *testing.T) {
	const m = time.Minute
	tests := []struct {
		name string
		obs  []Observation
		want []ev
	}{
		{
			name: "steady HPA observed many times yields nothing",
			obs: []Observation{
				obs(0, 3, 3, cpu(65, 70)), obs(15*time.Second, 3, 3, cpu(72, 70)),
				obs(30*time.Second, 3, 3, cpu(68, 70)), obs(10*m, 3, 3, cpu(70, 70)),
			},
			want: []ev{},
		},
		{
			name: "scale-up on cpu utilization, then settling and resyncs add nothing",
			obs: []Observation{
				obs(0, 2, 2, cpu(60, 70)),
				obs(1*m, 2, 4, cpu(85, 70)).scaledAt(1 * m),
				obs(1*m+15*time.Second, 2, 4, cpu(85, 70)).scaledAt(1 * m),
				obs(2*m, 4, 4, cpu(62, 70)).scaledAt(1 * m),
				obs(3*m, 4, 4, cpu(64, 70)).scaledAt(1 * m),
			},
			want: []ev{{Type: scaling.EventScaleUp, Current: 2, Desired: 4, Trigger: "resource:cpu", Value: 85, Threshold: 70, At: 1 * m}},
		},
		{
			name: "scale-down on a pods metric (average value)",
			obs: []Observation{
				obs(0, 6, 6, metric(MetricPods, "http_requests", TargetAverageValue, 100, 100)).scaledAt(-time.Hour),
				obs(5*m, 6, 3, metric(MetricPods, "http_requests", TargetAverageValue, 40, 100)).scaledAt(5 * m),
			},
			want: []ev{{Type: scaling.EventScaleDown, Current: 6, Desired: 3, Trigger: "pods:http_requests", Value: 40, Threshold: 100, At: 5 * m}},
		},
		{
			name: "scale-up on an object metric (value)",
			obs: []Observation{
				obs(0, 2, 2, metric(MetricObject, "requests-per-second", TargetValue, 900, 1000)),
				obs(m, 2, 3, metric(MetricObject, "requests-per-second", TargetValue, 1400, 1000)).scaledAt(m),
			},
			want: []ev{{Type: scaling.EventScaleUp, Current: 2, Desired: 3, Trigger: "object:requests-per-second", Value: 1400, Threshold: 1000, At: m}},
		},
		{
			name: "scale-up on an external metric (average value)",
			obs: []Observation{
				obs(0, 2, 2, metric(MetricExternal, "queue_depth", TargetAverageValue, 30, 30)),
				obs(m, 2, 5, metric(MetricExternal, "queue_depth", TargetAverageValue, 75, 30)).scaledAt(m),
			},
			want: []ev{{Type: scaling.EventScaleUp, Current: 2, Desired: 5, Trigger: "external:queue_depth", Value: 75, Threshold: 30, At: m}},
		},
		{
			name: "scale-up on a container resource metric",
			obs: []Observation{
				obs(0, 2, 2, metric(MetricContainerResource, "memory", TargetUtilization, 60, 80)),
				obs(m, 2, 3, metric(MetricContainerResource, "memory", TargetUtilization, 110, 80)).scaledAt(m),
			},
			want: []ev{{Type: scaling.EventScaleUp, Current: 2, Desired: 3, Trigger: "containerresource:memory", Value: 110, Threshold: 80, At: m}},
		},
		{
			name: "several metrics: the second one drives the decision",
			obs: []Observation{
				obs(0, 4, 4, cpu(60, 70), metric(MetricPods, "http_requests", TargetAverageValue, 95, 100)),
				// cpu asks ceil(4×75/70)=5, http_requests ceil(4×180/100)=8: the HPA takes 8.
				obs(m, 4, 8, cpu(75, 70), metric(MetricPods, "http_requests", TargetAverageValue, 180, 100)).scaledAt(m),
			},
			want: []ev{{Type: scaling.EventScaleUp, Current: 4, Desired: 8, Trigger: "pods:http_requests", Value: 180, Threshold: 100, At: m}},
		},
		{
			name: "several metrics: a scale-down is driven by the metric asking for the most",
			obs: []Observation{
				obs(0, 8, 8, cpu(70, 70), metric(MetricPods, "http_requests", TargetAverageValue, 100, 100)).scaledAt(-time.Hour),
				// cpu asks ceil(8×20/70)=3, http_requests ceil(8×50/100)=4: the HPA keeps 4.
				obs(10*m, 8, 4, cpu(20, 70), metric(MetricPods, "http_requests", TargetAverageValue, 50, 100)).scaledAt(10 * m),
			},
			want: []ev{{Type: scaling.EventScaleDown, Current: 8, Desired: 4, Trigger: "pods:http_requests", Value: 50, Threshold: 100, At: 10 * m}},
		},
		{
			name: "scale clamped by maxReplicas is limited-scale with its reason",
			obs: []Observation{
				obs(0, 6, 6, cpu(70, 70)).scaledAt(-time.Hour),
				// cpu asks ceil(6×150/70)=13; max is 10.
				obs(m, 6, 10, cpu(150, 70)).scaledAt(m).cond(CondScalingLimited, "True", ReasonTooManyReplicas, m),
				obs(2*m, 10, 10, cpu(120, 70)).scaledAt(m).cond(CondScalingLimited, "True", ReasonTooManyReplicas, m),
				obs(3*m, 10, 10, cpu(110, 70)).scaledAt(m).cond(CondScalingLimited, "True", ReasonTooManyReplicas, m),
			},
			want: []ev{{Type: scaling.EventLimitedScale, Current: 6, Desired: 10, Trigger: "resource:cpu", Value: 150, Threshold: 70, Reason: ReasonTooManyReplicas, At: m}},
		},
		{
			name: "at maxReplicas under rising load: one limited-scale with the count it wanted",
			obs: []Observation{
				obs(0, 10, 10, cpu(75, 70)).scaledAt(-time.Hour),
				obs(m, 10, 10, cpu(95, 70)).scaledAt(-time.Hour).cond(CondScalingLimited, "True", ReasonTooManyReplicas, m),
				obs(2*m, 10, 10, cpu(99, 70)).scaledAt(-time.Hour).cond(CondScalingLimited, "True", ReasonTooManyReplicas, m),
			},
			want: []ev{{Type: scaling.EventLimitedScale, Current: 10, Desired: 14, Trigger: "resource:cpu", Value: 95, Threshold: 70, Reason: ReasonTooManyReplicas, At: m}},
		},
		{
			name: "behavior policy holds a scale-up back: limited-scale ScaleUpLimit",
			obs: []Observation{
				obs(0, 2, 2, cpu(70, 70)).scaledAt(-time.Hour),
				obs(m, 2, 4, cpu(250, 70)).scaledAt(m).cond(CondScalingLimited, "True", ReasonScaleUpLimit, m),
			},
			want: []ev{{Type: scaling.EventLimitedScale, Current: 2, Desired: 4, Trigger: "resource:cpu", Value: 250, Threshold: 70, Reason: ReasonScaleUpLimit, At: m}},
		},
		{
			name: "stabilized scale-down: one no-scale with the reason, then the scale-down",
			obs: []Observation{
				obs(0, 6, 6, cpu(70, 70)).scaledAt(-time.Hour),
				obs(m, 6, 6, cpu(30, 70)).scaledAt(-time.Hour).cond(CondAbleToScale, "True", ReasonScaleDownStabilized, -time.Hour),
				obs(m+15*time.Second, 6, 6, cpu(29, 70)).scaledAt(-time.Hour).cond(CondAbleToScale, "True", ReasonScaleDownStabilized, -time.Hour),
				obs(3*m, 6, 6, cpu(31, 70)).scaledAt(-time.Hour).cond(CondAbleToScale, "True", ReasonScaleDownStabilized, -time.Hour),
				obs(6*m, 6, 3, cpu(30, 70)).scaledAt(6*m).cond(CondAbleToScale, "True", "SucceededRescale", -time.Hour),
			},
			want: []ev{
				{Type: scaling.EventNoScale, Current: 6, Desired: 6, Trigger: "resource:cpu", Value: 30, Threshold: 70, Reason: ReasonScaleDownStabilized, At: m},
				{Type: scaling.EventScaleDown, Current: 6, Desired: 3, Trigger: "resource:cpu", Value: 30, Threshold: 70, At: 6 * m},
			},
		},
		{
			name: "no-scale in backoff (cooldown) carries the condition reason",
			obs: []Observation{
				obs(0, 4, 4, cpu(70, 70)).scaledAt(-time.Hour),
				obs(m, 4, 4, cpu(120, 70)).scaledAt(-time.Hour).cond(CondAbleToScale, "False", "BackoffBoth", m),
			},
			want: []ev{{Type: scaling.EventNoScale, Current: 4, Desired: 4, Trigger: "resource:cpu", Value: 120, Threshold: 70, Reason: "BackoffBoth", At: m}},
		},
		{
			name: "within tolerance is not a no-scale; leaving it without scaling is",
			obs: []Observation{
				obs(0, 4, 4, cpu(76, 70)).scaledAt(-time.Hour), // ratio 1.086
				obs(m, 4, 4, cpu(60, 70)).scaledAt(-time.Hour), // ratio 0.857, asks 4: no change
				obs(2*m, 4, 4, cpu(50, 70)).scaledAt(-time.Hour),
			},
			want: []ev{{Type: scaling.EventNoScale, Current: 4, Desired: 4, Trigger: "resource:cpu", Value: 50, Threshold: 70, Reason: ReasonTolerance, At: 2 * m}},
		},
		{
			name: "no no-scale right after a scale-up while new pods start",
			obs: []Observation{
				obs(0, 2, 4, cpu(90, 70)).scaledAt(0),
				obs(m, 4, 4, cpu(95, 70)).scaledAt(0),
				obs(2*m, 4, 4, cpu(60, 70)).scaledAt(0),
			},
			want: []ev{{Type: scaling.EventScaleUp, Current: 2, Desired: 4, Trigger: "resource:cpu", Value: 90, Threshold: 70}},
		},
		{
			name: "history samples (no lastScaleTime): divergence, settling, and a jump the samples missed",
			obs: []Observation{
				obs(0, 2, 2, cpu(60, 70)),
				obs(m, 2, 4, cpu(90, 70)),
				obs(2*m, 3, 4, cpu(80, 70)),
				obs(3*m, 4, 4, cpu(65, 70)),
				obs(30*m, 6, 6, cpu(68, 70)),
			},
			want: []ev{
				{Type: scaling.EventScaleUp, Current: 2, Desired: 4, Trigger: "resource:cpu", Value: 90, Threshold: 70, At: m},
				{Type: scaling.EventScaleUp, Current: 4, Desired: 6, Trigger: "resource:cpu", Value: 68, Threshold: 70, At: 30 * m},
			},
		},
		{
			name: "a metric the HPA could not read is skipped when choosing the trigger",
			obs: []Observation{
				obs(0, 2, 2),
				obs(m, 2, 3, Metric{Type: MetricExternal, Name: "queue_depth", TargetKind: TargetValue, Target: 10}, cpu(100, 70)).scaledAt(m),
			},
			want: []ev{{Type: scaling.EventScaleUp, Current: 2, Desired: 3, Trigger: "resource:cpu", Value: 100, Threshold: 70, At: m}},
		},
		{
			// Issue 12: kai-scaler's floor raise showed up as the HPA's own limited-scale decision.
			name: "a scale-up held at a raised minReplicas is the floor's raise",
			obs: []Observation{
				obs(0, 3, 3, cpu(50, 70)),
				obs(m, 3, 6, cpu(50, 70)).bounds(6, 10).scaledAt(m).cond(CondScalingLimited, "True", ReasonTooFewReplicas, m),
			},
			want: []ev{{Type: scaling.EventLimitedScale, Current: 3, Desired: 6, Trigger: "resource:cpu", Value: 50, Threshold: 70, Reason: ReasonFloorRaised, At: m}},
		},
		{
			name: "a scale-down held at minReplicas stays the HPA's decision",
			obs: []Observation{
				obs(0, 6, 6, cpu(68, 70)),
				obs(m, 6, 4, cpu(20, 70)).bounds(4, 10).scaledAt(m).cond(CondScalingLimited, "True", ReasonTooFewReplicas, m),
			},
			want: []ev{{Type: scaling.EventLimitedScale, Current: 6, Desired: 4, Trigger: "resource:cpu", Value: 20, Threshold: 70, Reason: ReasonTooFewReplicas, At: m}},
		},
		{
			name: "observations out of order are ignored",
			obs: []Observation{
				obs(2*m, 4, 4, cpu(70, 70)).scaledAt(m),
				obs(m, 2, 4, cpu(90, 70)).scaledAt(m),
			},
			want: []ev{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := derive(tt.obs, DeriverOptions{})
			require.Equal(t, tt.want, summarize(got))
			for _, e := range got {
				require.Equal(t, "checkout", e.Service)
				require.Equal(t, "shop", e.Namespace)
				require.Len(t, e.ID, 24)
				require.Nil(t, e.ActualReplicas)
			}
		})
	}
}

// The HPA's own tolerances (spec.behavior.scaleUp/scaleDown.tolerance), where the observation
// carries them, decide whether a ratio left unscaled is within tolerance (no event) or a
// no-scale; the deriver's tolerance applies where it does not.
func TestDeriveHPATolerances(t *testing.T) {
	const m = time.Minute
	// steady then one look at ratio r (cpu r×70 against 70) with 4 replicas kept.
	steady := func(r float64, up, down float64) []Observation {
		return []Observation{
			obs(0, 4, 4, cpu(70, 70)).scaledAt(-time.Hour).tolerances(up, down),
			obs(m, 4, 4, cpu(r*70, 70)).scaledAt(-time.Hour).tolerances(up, down),
		}
	}
	noScale := func(r float64, reason string) []ev {
		return []ev{{Type: scaling.EventNoScale, Current: 4, Desired: 4, Trigger: "resource:cpu", Value: r * 70, Threshold: 70, Reason: reason, At: m}}
	}
	tests := []struct {
		name string
		opts DeriverOptions
		obs  []Observation
		want []ev
	}{
		{
			name: "default tolerance: a ratio of 1.05 is within it, no event",
			obs:  steady(1.05, 0, 0),
			want: []ev{},
		},
		{
			// ceil(4×1.05)=5: the HPA should have scaled. No condition explains why it did not,
			// so the reason is the fallback: the controller's ratio over ready pods was within.
			name: "scale-up tolerance 0.02: a ratio of 1.05 is outside it, a no-scale",
			obs:  steady(1.05, 0.02, 0),
			want: noScale(1.05, ReasonTolerance),
		},
		{
			name: "scale-up tolerance 0.02 with a condition: the condition's reason",
			obs: []Observation{
				obs(0, 4, 4, cpu(70, 70)).scaledAt(-time.Hour).tolerances(0.02, 0),
				obs(m, 4, 4, cpu(1.05*70, 70)).scaledAt(-time.Hour).tolerances(0.02, 0).cond(CondAbleToScale, "True", ReasonScaleUpStabilized, m),
			},
			want: noScale(1.05, ReasonScaleUpStabilized),
		},
		{
			name: "scale-up tolerance 0.02 leaves scale-down at the default: 0.95 is within",
			obs:  steady(0.95, 0.02, 0),
			want: []ev{},
		},
		{
			name: "the HPA's tolerance wins over the deriver's",
			opts: DeriverOptions{Tolerance: 0.2},
			obs:  steady(1.05, 0.02, 0),
			want: noScale(1.05, ReasonTolerance),
		},
		{
			name: "the deriver's tolerance where the HPA's is unknown",
			opts: DeriverOptions{Tolerance: 0.2},
			obs:  steady(1.15, 0, 0),
			want: []ev{},
		},
		{
			name: "default tolerance: a ratio of 0.75 is outside it, a no-scale",
			obs:  steady(0.75, 0, 0),
			want: noScale(0.75, ReasonTolerance),
		},
		{
			name: "scale-down tolerance 0.3: a ratio of 0.75 is within it, no event",
			obs:  steady(0.75, 0, 0.3),
			want: []ev{},
		},
		{
			name: "scale-down tolerance 0.3 leaves scale-up at the default: 1.15 is outside",
			obs:  steady(1.15, 0, 0.3),
			want: noScale(1.15, ReasonTolerance),
		},
		{
			name: "the HPA sets no scale-up tolerance (negative): 1.01 is outside",
			obs:  steady(1.01, -1, 0),
			want: noScale(1.01, ReasonTolerance),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, summarize(derive(tt.obs, tt.opts)))
		})
	}
}

// A restart (a fresh Deriver) in the middle of a decision or an episode gives the same IDs,
// so the store keeps one event per decision.
func TestDeriveRestartKeepsIDs(t *testing.T) {
	const m = time.Minute
	scenario := []Observation{
		obs(0, 2, 2, cpu(60, 70)).scaledAt(-time.Hour),
		obs(m, 2, 4, cpu(90, 70)).scaledAt(m),
		obs(m+15*time.Second, 2, 4, cpu(90, 70)).scaledAt(m),
		obs(10*m, 4, 4, cpu(30, 70)).scaledAt(m).cond(CondAbleToScale, "True", ReasonScaleDownStabilized, 0),
		obs(11*m, 4, 4, cpu(30, 70)).scaledAt(m).cond(CondAbleToScale, "True", ReasonScaleDownStabilized, 0),
		obs(12*m, 4, 4, cpu(200, 70)).scaledAt(m).cond(CondScalingLimited, "True", ReasonScaleUpLimit, 12*m),
		obs(13*m, 4, 4, cpu(200, 70)).scaledAt(m).cond(CondScalingLimited, "True", ReasonScaleUpLimit, 12*m),
	}
	whole := derive(scenario, DeriverOptions{})
	require.Len(t, whole, 3)
	ids := map[string]bool{}
	for _, e := range whole {
		ids[e.ID] = true
	}
	for cut := 1; cut < len(scenario); cut++ {
		before := derive(scenario[:cut], DeriverOptions{})
		after := derive(scenario[cut:], DeriverOptions{})
		seen := map[string]bool{}
		for _, e := range append(before, after...) {
			require.True(t, ids[e.ID], "cut %d: unknown event %+v", cut, e)
			seen[e.ID] = true
		}
		require.Len(t, seen, len(ids), "cut %d: an event was lost", cut)
	}
}

func TestDeriveSeparatesHPAs(t *testing.T) {
	a := obs(0, 2, 4, cpu(90, 70)).scaledAt(0)
	b := a
	b.HPA, b.Service = "search", "search"
	got := derive([]Observation{a, b}, DeriverOptions{})
	require.Len(t, got, 2)
	require.NotEqual(t, got[0].ID, got[1].ID)
	require.Equal(t, "search", got[1].Service)
}

func BenchmarkDeriverObserve(b *testing.B) {
	scenario := liveScenario()
	d := NewDeriver(DeriverOptions{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		o := scenario[i%len(scenario)]
		o.Time = o.Time.Add(time.Duration(i/len(scenario)) * time.Hour)
		if !o.LastScaleTime.IsZero() {
			o.LastScaleTime = o.LastScaleTime.Add(time.Duration(i/len(scenario)) * time.Hour)
		}
		d.Observe(o)
	}
}

// derive runs a fresh Deriver over observations (of one or several HPAs, in time order per
// HPA) and returns every event, in order.
func derive(observations []Observation, opts DeriverOptions) []scaling.Event {
	d := NewDeriver(opts)
	var out []scaling.Event
	for _, o := range observations {
		out = append(out, d.Observe(o)...)
	}
	return out
}
