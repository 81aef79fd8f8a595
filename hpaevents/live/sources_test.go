package live

import (
	"github.com/kai-platform/kai-scaler/hpaevents"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
				{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionTrue, Reason: hpaevents.ReasonScaleUpLimit, LastTransitionTime: metav1.Time{Time: t0}},
			},
		},
	}
	got := FromHPA(h, "checkout-svc", at(time.Minute))
	require.Equal(t, hpaevents.Observation{
		Time: at(time.Minute), Namespace: "shop", HPA: "checkout", Service: "checkout-svc",
		MinReplicas: 1, MaxReplicas: 10, CurrentReplicas: 3, DesiredReplicas: 5, LastScaleTime: t0,
		Metrics: []hpaevents.Metric{
			{Type: hpaevents.MetricResource, Name: "cpu", TargetKind: hpaevents.TargetAverageValue, Target: 0.5, Current: 0.75, HasCurrent: true},
			{Type: hpaevents.MetricContainerResource, Name: "memory", TargetKind: hpaevents.TargetUtilization, Target: 80},
			{Type: hpaevents.MetricObject, Name: "rps", TargetKind: hpaevents.TargetValue, Target: 2000, Current: 1500, HasCurrent: true},
			{Type: hpaevents.MetricExternal, Name: "queue_depth", TargetKind: hpaevents.TargetAverageValue, Target: 30, Current: 45, HasCurrent: true},
		},
		Conditions: []hpaevents.Condition{{Type: hpaevents.CondScalingLimited, Status: "True", Reason: hpaevents.ReasonScaleUpLimit, LastTransitionTime: t0}},
	}, got)
	// external queue_depth asks ceil(3×1.5)=5, cpu ceil(3×1.5)=5 too: the tie goes to the
	// higher ratio, then the first listed.
	e := hpaevents.NewDeriver(hpaevents.DeriverOptions{}).Observe(got)
	require.Len(t, e, 1)
	require.Equal(t, scaling.EventLimitedScale, e[0].EventType)
	require.Equal(t, "resource:cpu", e[0].TriggerMetric)
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func TestFromHPATolerances(t *testing.T) {
	tol := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	tests := []struct {
		name     string
		behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
		up, down float64
	}{
		{name: "no behavior: unknown each way (the default applies)"},
		{
			name: "both tolerances",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp:   &autoscalingv2.HPAScalingRules{Tolerance: tol("0.02")},
				ScaleDown: &autoscalingv2.HPAScalingRules{Tolerance: tol("300m")},
			},
			up: 0.02, down: 0.3,
		},
		{
			name:     "one direction without rules, the other without a tolerance",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr[int32](60)}},
		},
		{
			name:     "an explicit 0 is none (negative)",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{Tolerance: tol("0")}},
			up:       -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout"},
				Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 10, Behavior: tt.behavior},
			}
			got := FromHPA(h, "checkout", t0)
			require.Equal(t, tt.up, got.ScaleUpTolerance)
			require.Equal(t, tt.down, got.ScaleDownTolerance)
		})
	}
}

// An HPA's tolerances from its spec decide what the deriver reports: cpu at 1.05 of its target
// and the replicas kept is within the default tolerance, but not within a scale-up tolerance
// of 0.02; cpu at 0.75 is within a scale-down tolerance of 0.3, but not the default.
func TestFromHPATolerancesDerive(t *testing.T) {
	tol := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	hpa := func(cpuPct int32, behavior *autoscalingv2.HorizontalPodAutoscalerBehavior) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				MinReplicas: ptr[int32](2), MaxReplicas: 10, Behavior: behavior,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr[int32](100)}}}},
			},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{
				CurrentReplicas: 20, DesiredReplicas: 20, LastScaleTime: &metav1.Time{Time: at(-time.Hour)},
				CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr(cpuPct)}}}},
			},
		}
	}
	up := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{Tolerance: tol("0.02")}}
	down := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{Tolerance: tol("0.3")}}
	noScale := func(cpuPct float64) []ev {
		return []ev{{Type: scaling.EventNoScale, Current: 20, Desired: 20, Trigger: "resource:cpu", Value: cpuPct, Threshold: 100, Reason: hpaevents.ReasonTolerance, At: time.Minute}}
	}
	tests := []struct {
		name     string
		cpuPct   int32
		behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
		want     []ev
	}{
		{name: "default: 1.05 within", cpuPct: 105, want: []ev{}},
		{name: "scale-up tolerance 0.02: 1.05 outside", cpuPct: 105, behavior: up, want: noScale(105)},
		{name: "default: 0.75 outside", cpuPct: 75, want: noScale(75)},
		{name: "scale-down tolerance 0.3: 0.75 within", cpuPct: 75, behavior: down, want: []ev{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := hpaevents.NewDeriver(hpaevents.DeriverOptions{})
			got := d.Observe(FromHPA(hpa(100, tt.behavior), "checkout", t0))
			got = append(got, d.Observe(FromHPA(hpa(tt.cpuPct, tt.behavior), "checkout", at(time.Minute)))...)
			require.Equal(t, tt.want, summarize(got))
		})
	}
}
