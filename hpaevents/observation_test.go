package hpaevents

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestObservationNeededReplicas(t *testing.T) {
	cpu := Metric{Type: MetricResource, Name: "cpu", TargetKind: TargetUtilization, Target: 70, Current: 84, HasCurrent: true} // 1.2
	rps := Metric{Type: MetricPods, Name: "rps", TargetKind: TargetAverageValue, Target: 100, Current: 135, HasCurrent: true}  // 1.35
	idle := Metric{Type: MetricPods, Name: "rps", TargetKind: TargetAverageValue, Target: 100, HasCurrent: true}               // no requests at all
	for _, tc := range []struct {
		name    string
		metrics []Metric
		ready   int32
		want    float64
		known   bool
	}{
		{name: "the highest ratio times the ready replicas", metrics: []Metric{cpu, rps}, ready: 4, want: 5.4, known: true},
		{name: "a metric without a current value is skipped", metrics: []Metric{cpu, {Type: MetricPods, Name: "rps", Target: 100}}, ready: 4, want: 4.8, known: true},
		{name: "a NaN current value is skipped", metrics: []Metric{cpu, {Type: MetricPods, Name: "rps", Target: 100, Current: math.NaN(), HasCurrent: true}}, ready: 4, want: 4.8, known: true},
		{name: "a metric reporting no load asks for none: known", metrics: []Metric{idle}, ready: 4, want: 0, known: true},
		{name: "no metrics yet: unknown", ready: 4},
		{name: "no ready replica: unknown", metrics: []Metric{cpu}, ready: 0},
		{name: "a negative count is no count", metrics: []Metric{cpu}, ready: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Observation{Metrics: tc.metrics}
			require.InDelta(t, tc.want, o.NeededReplicas(tc.ready), 1e-9)
			need, known := o.Need(tc.ready)
			require.Equal(t, tc.known, known)
			require.InDelta(t, tc.want, need, 1e-9)
		})
	}
}

func TestObservationTolerances(t *testing.T) {
	for _, tc := range []struct {
		name         string
		up, down     float64
		wantUp, want float64
	}{
		{name: "unknown: the default each way", wantUp: 0.1, want: 0.1},
		{name: "the HPA's own each way", up: 0.02, down: 0.3, wantUp: 0.02, want: 0.3},
		{name: "negative: the HPA sets none", up: -1, down: 0.05, wantUp: 0, want: 0.05},
		{name: "NaN is unknown", up: math.NaN(), down: -1, wantUp: 0.1, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, down := Observation{ScaleUpTolerance: tc.up, ScaleDownTolerance: tc.down}.Tolerances(DefaultTolerance)
			require.Equal(t, tc.wantUp, up)
			require.Equal(t, tc.want, down)
		})
	}
}

// InferReasons reads the metrics with the HPA's tolerances where the observation carries them:
// a metric within the HPA's scale-down tolerance asks for no fewer replicas, so nothing is
// stabilizing a scale-down.
func TestInferReasonsTolerances(t *testing.T) {
	for _, tc := range []struct {
		name     string
		up, down float64
		ratio    float64
		want     string
	}{
		{name: "default tolerance: 0.75 asks for fewer, held by stabilization", ratio: 0.75, want: ReasonScaleDownStabilized},
		{name: "scale-down tolerance 0.3: 0.75 is within it", down: 0.3, ratio: 0.75},
		{name: "scale-up tolerance does not widen the scale-down side", up: 0.3, ratio: 0.75, want: ReasonScaleDownStabilized},
		{name: "no scale-down tolerance: 0.95 asks for fewer", down: -1, ratio: 0.95, want: ReasonScaleDownStabilized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 20 replicas, so ceil(20×ratio) is below 20 for any ratio under 0.95.
			o := Observation{
				MinReplicas: 1, MaxReplicas: 30, CurrentReplicas: 20, DesiredReplicas: 20,
				Metrics:            []Metric{{Type: MetricResource, Name: "cpu", TargetKind: TargetUtilization, Target: 100, Current: tc.ratio * 100, HasCurrent: true}},
				Conditions:         []Condition{{Type: CondAbleToScale, Status: "True"}, {Type: CondScalingLimited, Status: "False"}},
				ScaleUpTolerance:   tc.up,
				ScaleDownTolerance: tc.down,
			}
			InferReasons(&o)
			c, ok := o.Condition(CondAbleToScale)
			require.True(t, ok)
			require.Equal(t, tc.want, c.Reason)
		})
	}
}
