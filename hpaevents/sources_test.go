package hpaevents

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
)

func TestFromHPA(t *testing.T) {
	q := resource.MustParse
	qp := func(s string) *resource.Quantity { v := q(s); return &v }
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MaxReplicas: 10, // minReplicas unset: the API default is 1
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qp("500m")}}},
				{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: corev1.ResourceMemory, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr[int32](80)}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "rps"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qp("2k")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qp("30")}}},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: 3, DesiredReplicas: 5,
			LastScaleTime: &metav1.Time{Time: t0},
			CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"}, Current: autoscalingv2.MetricValueStatus{AverageValue: qp("45")}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageValue: qp("750m"), AverageUtilization: ptr[int32](150)}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "rps"}, Current: autoscalingv2.MetricValueStatus{Value: qp("1500")}}},
				// memory could not be read: no status entry.
			},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
				{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionTrue, Reason: ReasonScaleUpLimit, LastTransitionTime: metav1.Time{Time: t0}},
			},
		},
	}
	got := FromHPA(h, "checkout-svc", at(time.Minute))
	require.Equal(t, Observation{
		Time: at(time.Minute), Namespace: "shop", HPA: "checkout", Service: "checkout-svc",
		MinReplicas: 1, MaxReplicas: 10, CurrentReplicas: 3, DesiredReplicas: 5, LastScaleTime: t0,
		Metrics: []Metric{
			{Type: MetricResource, Name: "cpu", TargetKind: TargetAverageValue, Target: 0.5, Current: 0.75, HasCurrent: true},
			{Type: MetricContainerResource, Name: "memory", TargetKind: TargetUtilization, Target: 80},
			{Type: MetricObject, Name: "rps", TargetKind: TargetValue, Target: 2000, Current: 1500, HasCurrent: true},
			{Type: MetricExternal, Name: "queue_depth", TargetKind: TargetAverageValue, Target: 30, Current: 45, HasCurrent: true},
		},
		Conditions: []Condition{{Type: CondScalingLimited, Status: "True", Reason: ReasonScaleUpLimit, LastTransitionTime: t0}},
	}, got)
	// external queue_depth asks ceil(3×1.5)=5, cpu ceil(3×1.5)=5 too: the tie goes to the
	// higher ratio, then the first listed.
	e := Derive([]Observation{got}, DeriverOptions{})
	require.Len(t, e, 1)
	require.Equal(t, scaling.EventLimitedScale, e[0].EventType)
	require.Equal(t, "resource:cpu", e[0].TriggerMetric)
}

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
		MetricTypes: map[string]MetricType{"rps": MetricObject},
	})
	metrics := func(cpuNow float64) []Metric {
		return []Metric{
			{Type: MetricResource, Name: "cpu", TargetKind: TargetUtilization, Target: 70, Current: cpuNow, HasCurrent: true},
			{Type: MetricObject, Name: "rps", TargetKind: TargetValue, Target: 100, Current: 50, HasCurrent: true},
		}
	}
	require.Equal(t, []Observation{
		{
			Time: at(0), Namespace: "shop", HPA: "checkout", Service: "checkout-svc", MinReplicas: 2, MaxReplicas: 10,
			CurrentReplicas: 10, DesiredReplicas: 10, Metrics: metrics(140),
			// at maxReplicas and cpu asks 20: the reason can only be TooManyReplicas.
			Conditions: []Condition{{Type: CondAbleToScale, Status: "True"}, {Type: CondScalingLimited, Status: "True", Reason: ReasonTooManyReplicas}},
		},
		{
			Time: at(time.Minute), Namespace: "shop", HPA: "checkout", Service: "checkout-svc", MinReplicas: 2, MaxReplicas: 10,
			CurrentReplicas: 10, DesiredReplicas: 10, Metrics: metrics(30),
			// cpu asks 5 and nothing else holds 10: scale-down stabilization.
			Conditions: []Condition{{Type: CondAbleToScale, Status: "True", Reason: ReasonScaleDownStabilized}, {Type: CondScalingLimited, Status: "False"}},
		},
	}, got)
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
