package live

import (
	"context"
	"github.com/kai-platform/kai-scaler/hpaevents"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kptr "k8s.io/utils/ptr"

	"github.com/kai-platform/kai-scaler/internal/kubetest"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// hpaStatus is the status the HPA controller would write.
func hpaStatus(current, desired int32, cpuPct, httpAvg int32, lastScale time.Time, conds ...autoscalingv2.HorizontalPodAutoscalerCondition) autoscalingv2.HorizontalPodAutoscalerStatus {
	st := autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: current,
		DesiredReplicas: desired,
		CurrentMetrics: []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: kptr.To(cpuPct), AverageValue: resource.NewMilliQuantity(int64(cpuPct)*5, resource.DecimalSI)},
			}},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
				Metric:  autoscalingv2.MetricIdentifier{Name: "http_requests"},
				Current: autoscalingv2.MetricValueStatus{AverageValue: resource.NewQuantity(int64(httpAvg), resource.DecimalSI)},
			}},
		},
	}
	if !lastScale.IsZero() {
		st.LastScaleTime = &metav1.Time{Time: lastScale}
	}
	base := map[autoscalingv2.HorizontalPodAutoscalerConditionType]autoscalingv2.HorizontalPodAutoscalerCondition{
		autoscalingv2.AbleToScale:    {Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale"},
		autoscalingv2.ScalingActive:  {Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound"},
		autoscalingv2.ScalingLimited: {Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionFalse, Reason: "DesiredWithinRange"},
	}
	for _, c := range conds {
		base[c.Type] = c
	}
	for _, typ := range []autoscalingv2.HorizontalPodAutoscalerConditionType{autoscalingv2.AbleToScale, autoscalingv2.ScalingActive, autoscalingv2.ScalingLimited} {
		c := base[typ]
		if c.LastTransitionTime.IsZero() {
			c.LastTransitionTime = metav1.Time{Time: time.Now().Add(-time.Hour).Truncate(time.Second)}
		}
		st.Conditions = append(st.Conditions, c)
	}
	return st
}

func TestLiveSourceAgainstAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	hpas := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns)
	ctx := t.Context()

	_, err := hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout-hpa", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "checkout"},
			MinReplicas:    kptr.To[int32](2),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: kptr.To[int32](70)},
				}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "http_requests"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(100, resource.DecimalSI)},
				}},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	// Another HPA in the namespace that is not a managed service is ignored.
	_, err = hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "unmanaged", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "other"},
			MaxReplicas:    3,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	// writeStatus writes status as the HPA controller does (the status subresource).
	writeStatus := func(st autoscalingv2.HorizontalPodAutoscalerStatus) {
		t.Helper()
		h, err := hpas.Get(ctx, "checkout-hpa", metav1.GetOptions{})
		require.NoError(t, err)
		h.Status = st
		_, err = hpas.UpdateStatus(ctx, h, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	u, err := hpas.Get(ctx, "unmanaged", metav1.GetOptions{})
	require.NoError(t, err)
	u.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 1, DesiredReplicas: 3, LastScaleTime: &metav1.Time{Time: time.Now()}}
	_, err = hpas.UpdateStatus(ctx, u, metav1.UpdateOptions{})
	require.NoError(t, err)

	db := openStore(t)
	services := []scaling.ManagedService{{Name: "checkout", Namespace: ns, HPA: "checkout-hpa"}}
	start := func() (stop func()) { return startSource(t, env, db, ns, services) }
	waitFor := func(n int) []scaling.Event {
		t.Helper()
		var events []scaling.Event
		require.Eventually(t, func() bool {
			events, err = db.ListEvents(ctx, store.EventQuery{})
			require.NoError(t, err)
			return len(events) >= n
		}, 30*time.Second, 50*time.Millisecond)
		return events
	}

	now := time.Now().Truncate(time.Second)
	scaleUp, clamp := now.Add(-20*time.Second), now.Add(-10*time.Second)
	writeStatus(hpaStatus(2, 2, 60, 80, now.Add(-time.Hour)))
	stop := start()
	// cpu asks ceil(2×75/70)=3, http_requests ceil(2×240/100)=5: the second metric drives.
	writeStatus(hpaStatus(2, 5, 75, 240, scaleUp))
	waitFor(1)
	stop()

	// Restarted: the informer's first list shows the same decision again.
	stop = start()
	defer func() { stop() }()
	writeStatus(hpaStatus(5, 5, 50, 90, scaleUp))
	require.Eventually(t, func() bool {
		events := waitFor(1)
		return events[0].ActualReplicas != nil
	}, 30*time.Second, 50*time.Millisecond, "the scale-up settles at 5 replicas")

	limited := autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionTrue, Reason: hpaevents.ReasonTooManyReplicas, LastTransitionTime: metav1.Time{Time: clamp}}
	writeStatus(hpaStatus(5, 10, 60, 500, clamp, limited))
	waitFor(2)
	writeStatus(hpaStatus(10, 10, 60, 130, clamp, limited))
	stabilized := autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: hpaevents.ReasonScaleDownStabilized}
	writeStatus(hpaStatus(10, 10, 30, 40, clamp, stabilized))
	waitFor(3)
	time.Sleep(2 * time.Second) // two resyncs: a steady HPA adds nothing
	events, err := db.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err)

	require.Equal(t, []ev{
		// cpu asks ceil(10×30/70)=5, http_requests ceil(10×40/100)=4: cpu holds the count.
		{Type: scaling.EventNoScale, Current: 10, Desired: 10, Trigger: "resource:cpu", Value: 30, Threshold: 70, Reason: hpaevents.ReasonScaleDownStabilized},
		{Type: scaling.EventLimitedScale, Current: 5, Desired: 10, Trigger: "pods:http_requests", Value: 500, Threshold: 100, Reason: hpaevents.ReasonTooManyReplicas},
		{Type: scaling.EventScaleUp, Current: 2, Desired: 5, Trigger: "pods:http_requests", Value: 240, Threshold: 100},
	}, withoutTimes(summarize(events)))
	require.Equal(t, clamp.UnixMilli(), events[1].Timestamp)
	require.Equal(t, scaleUp.UnixMilli(), events[2].Timestamp)
	require.Equal(t, int32(5), *events[2].ActualReplicas)
	require.Equal(t, int32(10), *events[1].ActualReplicas)
	for _, e := range events {
		require.Equal(t, "checkout", e.Service)
		require.Equal(t, ns, e.Namespace)
	}
}

func withoutTimes(evs []ev) []ev {
	for i := range evs {
		evs[i].At = 0
	}
	return evs
}

// An HPA's spec.behavior tolerances reach the deriver through the informer: with the replicas
// kept, cpu at 73/70 (1.04) is outside a scale-up tolerance of 0.02 but within the default 0.1,
// and cpu at 53/70 (0.76) within a scale-down tolerance of 0.3 but outside the default.
func TestLiveSourceHPATolerances(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	hpas := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns)
	ctx := t.Context()

	tol := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	create := func(name string, behavior *autoscalingv2.HorizontalPodAutoscalerBehavior) {
		t.Helper()
		_, err := hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
				MinReplicas:    kptr.To[int32](2),
				MaxReplicas:    20,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: kptr.To[int32](70)},
				}}},
				Behavior: behavior,
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	create("checkout-hpa", &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp:   &autoscalingv2.HPAScalingRules{Tolerance: tol("0.02")},
		ScaleDown: &autoscalingv2.HPAScalingRules{Tolerance: tol("0.3")},
	})
	create("search-hpa", nil)
	h, err := hpas.Get(ctx, "checkout-hpa", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, h.Spec.Behavior.ScaleUp.Tolerance, "the API server keeps spec.behavior.scaleUp.tolerance")

	lastScale := time.Now().Add(-time.Hour).Truncate(time.Second)
	// writeStatus writes both HPAs' status as the HPA controller does: 10 replicas kept.
	writeStatus := func(cpuPct int32) {
		t.Helper()
		for _, name := range []string{"checkout-hpa", "search-hpa"} {
			h, err := hpas.Get(ctx, name, metav1.GetOptions{})
			require.NoError(t, err)
			h.Status = hpaStatus(10, 10, cpuPct, 100, lastScale)
			_, err = hpas.UpdateStatus(ctx, h, metav1.UpdateOptions{})
			require.NoError(t, err)
		}
	}
	writeStatus(70)

	db := openStore(t)
	services := []scaling.ManagedService{{Name: "checkout", Namespace: ns, HPA: "checkout-hpa"}, {Name: "search", Namespace: ns, HPA: "search-hpa"}}
	defer startSource(t, env, db, ns, services)()
	waitFor := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool {
			events, err := db.ListEvents(ctx, store.EventQuery{})
			require.NoError(t, err)
			return len(events) >= n
		}, 30*time.Second, 50*time.Millisecond)
	}

	time.Sleep(1500 * time.Millisecond) // the steady state is seen first
	writeStatus(73)                     // checkout asks ceil(10×73/70)=11 past its 0.02; search is within 0.1
	waitFor(1)
	writeStatus(53) // search asks ceil(10×53/70)=8 past 0.1; checkout is within its 0.3
	waitFor(2)
	time.Sleep(2 * time.Second) // two resyncs: nothing more
	events, err := db.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err)
	got := map[string][]ev{}
	for _, e := range events {
		got[e.Service] = append(got[e.Service], withoutTimes(summarize([]scaling.Event{e}))...)
	}
	require.Equal(t, map[string][]ev{
		"checkout": {{Type: scaling.EventNoScale, Current: 10, Desired: 10, Trigger: "resource:cpu", Value: 73, Threshold: 70, Reason: hpaevents.ReasonTolerance}},
		"search":   {{Type: scaling.EventNoScale, Current: 10, Desired: 10, Trigger: "resource:cpu", Value: 53, Threshold: 70, Reason: hpaevents.ReasonTolerance}},
	}, got)
}

// openStore opens an embedded store in the test's folder, closed when the test ends.
func openStore(t *testing.T) *store.Bolt {
	t.Helper()
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai.db"), store.BoltOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// startSource runs a Recorder into db and a Source over services, as the serve command does,
// until the returned stop is called.
func startSource(t *testing.T, env *kubetest.Env, db *store.Bolt, ns string, services []scaling.ManagedService) (stop func()) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec, err := hpaevents.NewRecorder(hpaevents.RecorderOptions{Store: db, Logger: logger})
	require.NoError(t, err)
	src, err := New(Options{Client: env.Clientset.AutoscalingV2(), Sink: rec, Namespace: ns, Services: services, Resync: time.Second, Logger: logger})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- src.Run(runCtx) }()
	return func() {
		cancel()
		require.NoError(t, <-done)
	}
}
