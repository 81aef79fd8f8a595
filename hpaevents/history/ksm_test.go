package history

import (
	"github.com/kai-platform/kai-scaler/hpaevents"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
)

func TestObservationsFromKSM(t *testing.T) {
	ls := func(hpa string, kv ...string) map[string]string {
		l := map[string]string{"namespace": "shop", "horizontalpodautoscaler": hpa}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return l
	}
	ser := func(l map[string]string, vs ...float64) promquery.Series {
		s := promquery.Series{Labels: l}
		for i, v := range vs {
			if v >= 0 {
				s.Samples = append(s.Samples, promquery.Sample{T: at(time.Duration(i) * time.Minute), V: v})
			}
		}
		return s
	}
	in := KSMSeries{
		CurrentReplicas: []promquery.Series{ser(ls("checkout"), 10, 10, 4), ser(ls("other"), 1, 1, 1)},
		// No desired sample at minute 2 for checkout: no observation then.
		DesiredReplicas:  []promquery.Series{ser(ls("checkout"), 10, 10, -1), ser(ls("other"), 1, 1, 1)},
		MinReplicas:      []promquery.Series{ser(ls("checkout"), 2, 2, 2)},
		MaxReplicas:      []promquery.Series{ser(ls("checkout"), 10, 10, 10)},
		SpecTargetMetric: []promquery.Series{ser(ls("checkout", "metric_name", "cpu", "metric_target_type", "utilization"), 70, 70, 70), ser(ls("checkout", "metric_name", "rps", "metric_target_type", "value"), 100, 100, 100)},
		StatusTargetMetric: []promquery.Series{
			ser(ls("checkout", "metric_name", "cpu", "metric_target_type", "utilization"), 140, 30, 30),
			ser(ls("checkout", "metric_name", "rps", "metric_target_type", "value"), 50, 50, 50),
		},
		StatusCondition: []promquery.Series{
			ser(ls("checkout", "condition", "ScalingLimited", "status", "true"), 1, 0, 0),
			ser(ls("checkout", "condition", "ScalingLimited", "status", "false"), 0, 1, 1),
			ser(ls("checkout", "condition", "AbleToScale", "status", "true"), 1, 1, 1),
		},
	}
	got := ObservationsFromKSM(in, KSMOptions{
		Services:    []scaling.ManagedService{{Name: "checkout-svc", Namespace: "shop", HPA: "checkout"}},
		MetricTypes: map[string]hpaevents.MetricType{"rps": hpaevents.MetricObject},
	})
	metrics := func(cpuNow float64) []hpaevents.Metric {
		return []hpaevents.Metric{
			{Type: hpaevents.MetricResource, Name: "cpu", TargetKind: hpaevents.TargetUtilization, Target: 70, Current: cpuNow, HasCurrent: true},
			{Type: hpaevents.MetricObject, Name: "rps", TargetKind: hpaevents.TargetValue, Target: 100, Current: 50, HasCurrent: true},
		}
	}
	require.Equal(t, []hpaevents.Observation{
		{
			Time: at(0), Namespace: "shop", HPA: "checkout", Service: "checkout-svc", MinReplicas: 2, MaxReplicas: 10,
			CurrentReplicas: 10, DesiredReplicas: 10, Metrics: metrics(140),
			// at maxReplicas and cpu asks 20: the reason can only be TooManyReplicas.
			Conditions: []hpaevents.Condition{{Type: hpaevents.CondAbleToScale, Status: "True"}, {Type: hpaevents.CondScalingLimited, Status: "True", Reason: hpaevents.ReasonTooManyReplicas}},
		},
		{
			Time: at(time.Minute), Namespace: "shop", HPA: "checkout", Service: "checkout-svc", MinReplicas: 2, MaxReplicas: 10,
			CurrentReplicas: 10, DesiredReplicas: 10, Metrics: metrics(30),
			// cpu asks 5 and nothing else holds 10: scale-down stabilization.
			Conditions: []hpaevents.Condition{{Type: hpaevents.CondAbleToScale, Status: "True", Reason: hpaevents.ReasonScaleDownStabilized}, {Type: hpaevents.CondScalingLimited, Status: "False"}},
		},
	}, got)
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
