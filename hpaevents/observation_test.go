package hpaevents

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestObservationNeededReplicas(t *testing.T) {
	cpu := Metric{Type: MetricResource, Name: "cpu", TargetKind: TargetUtilization, Target: 70, Current: 84, HasCurrent: true} // 1.2
	rps := Metric{Type: MetricPods, Name: "rps", TargetKind: TargetAverageValue, Target: 100, Current: 135, HasCurrent: true}  // 1.35
	for _, tc := range []struct {
		name    string
		metrics []Metric
		ready   int32
		want    float64
	}{
		{name: "the highest ratio times the ready replicas", metrics: []Metric{cpu, rps}, ready: 4, want: 5.4},
		{name: "a metric without a current value is skipped", metrics: []Metric{cpu, {Type: MetricPods, Name: "rps", Target: 100}}, ready: 4, want: 4.8},
		{name: "a NaN current value is skipped", metrics: []Metric{cpu, {Type: MetricPods, Name: "rps", Target: 100, Current: math.NaN(), HasCurrent: true}}, ready: 4, want: 4.8},
		{name: "no metrics yet: unknown", ready: 4},
		{name: "no ready replica: unknown", metrics: []Metric{cpu}, ready: 0},
		{name: "a negative count is no count", metrics: []Metric{cpu}, ready: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, Observation{Metrics: tc.metrics}.NeededReplicas(tc.ready), 1e-9)
		})
	}
}
