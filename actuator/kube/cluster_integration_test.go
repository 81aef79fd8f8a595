package kube

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/internal/kubetest"
	"github.com/kai-platform/kai-scaler/scaling"
)

// testLogger writes to the test log until the test ends (informer goroutines may outlive it).
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

var (
	peak   = time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC) // Monday 09:00 UTC
	window = scaling.Pattern{Service: "web", PatternType: scaling.PatternDaily,
		TimeWindows: []scaling.TimeWindow{{HourOfDay: 9, ExpectedLoad: 0.6}}}
)

type memStore struct {
	patterns []scaling.Pattern
	deps     []scaling.Dependency
}

func (s *memStore) ListPatterns(context.Context) ([]scaling.Pattern, error) { return s.patterns, nil }
func (s *memStore) ListPredictions(context.Context, string, int) ([]scaling.Prediction, error) {
	return nil, nil
}
func (s *memStore) ListDependencies(context.Context) ([]scaling.Dependency, error) {
	return s.deps, nil
}

func newActuator(c actuator.Cluster, st *memStore, clk *clock, services ...actuator.ServiceConfig) *actuator.Actuator {
	return actuator.New(actuator.Options{
		Cluster: c, Patterns: st, Predictions: st, Dependencies: st,
		Services:          func() []actuator.ServiceConfig { return services },
		PredictiveEnabled: true, DependenciesEnabled: true,
		MaxObservationAge: time.Hour, Now: clk.Now,
	})
}

func TestFloorRaisedBeforePeakAndRestoredAfter(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	createHPA(t, cs, ns, "web", 2, 10)
	clk := &clock{t: peak.Add(-20 * time.Minute)}
	c, reg := startCluster(t, cs, ns, clk.Now, false)
	ref := actuator.ServiceRef{Service: "web", Namespace: ns}
	a := newActuator(c, &memStore{patterns: []scaling.Pattern{window}}, clk, actuator.ServiceConfig{Ref: ref, LeadTime: 30 * time.Minute})

	waitFor(t, c, ref, func(w actuator.Workload) bool { return w.MinReplicas == 2 })
	plan, err := a.Reconcile(t.Context())
	require.NoError(t, err)
	require.Len(t, plan.Decisions, 1)
	require.Equal(t, int32(6), plan.Decisions[0].Floor)

	h := getHPA(t, cs, ns, "web")
	require.Equal(t, int32(6), *h.Spec.MinReplicas, "ceil(0.6 × 10) before the 09:00 window")
	require.Equal(t, "2", h.Annotations[AnnotationBase])
	require.Equal(t, "2025-01-06T08:40:00Z", h.Annotations[AnnotationChangedAt])
	require.Equal(t, int32(10), h.Spec.MaxReplicas)
	require.Equal(t, []string{ReasonRaised}, eventReasons(t, cs, ns, "web"))
	require.Equal(t, 6.0, testutil.ToFloat64(c.metrics.Floor.WithLabelValues("web", "pattern")))

	// After the window, the floor steps down (5 min apart) and the base comes back.
	clk.Set(peak.Add(2 * time.Hour))
	for i := 0; ; i++ {
		require.Less(t, i, 10, "floor never restored")
		cur := getHPA(t, cs, ns, "web")
		w := waitFor(t, c, ref, func(w actuator.Workload) bool {
			return w.MinReplicas == *cur.Spec.MinReplicas && w.Touched == (cur.Annotations[AnnotationBase] != "")
		})
		if !w.Touched {
			break
		}
		_, err := a.Reconcile(t.Context())
		require.NoError(t, err)
		clk.Set(clk.Now().Add(6 * time.Minute))
	}
	h = getHPA(t, cs, ns, "web")
	require.Equal(t, int32(2), *h.Spec.MinReplicas)
	require.NotContains(t, h.Annotations, AnnotationBase)
	require.NotContains(t, h.Annotations, AnnotationApplied)
	require.NotContains(t, h.Annotations, AnnotationChangedAt)
	reasons := eventReasons(t, cs, ns, "web")
	require.Contains(t, reasons, ReasonLowered)
	require.Equal(t, ReasonRestored, reasons[len(reasons)-1])
	require.Equal(t, 2.0, testutil.ToFloat64(c.metrics.Floor.WithLabelValues("web", "base")))
	require.Zero(t, testutil.ToFloat64(c.metrics.Patches.WithLabelValues(resultError)))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP kai_actuator_min_replicas Floor (HPA minReplicas, or replicas without HPA) kai-scaler last set per service, by the reason that won (in dry-run: would set).
# TYPE kai_actuator_min_replicas gauge
kai_actuator_min_replicas{reason="base",service="web"} 2
`), "kai_actuator_min_replicas"))
}

func TestBaseKeptAcrossRestart(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	createHPA(t, cs, ns, "web", 3, 10)
	ref := actuator.ServiceRef{Service: "web", Namespace: ns}

	first, _ := startCluster(t, cs, ns, time.Now, false)
	w := waitFor(t, first, ref, func(actuator.Workload) bool { return true })
	require.NoError(t, first.SetFloor(t.Context(), actuator.FloorChange{Workload: w, Floor: 7, Reason: "pattern"}))
	require.NoError(t, first.SetFloor(t.Context(), actuator.FloorChange{Workload: w, Floor: 8, Reason: "pattern"}))

	// A new process: nothing in memory, the base comes from the annotation.
	second, _ := startCluster(t, cs, ns, time.Now, false)
	w = waitFor(t, second, ref, func(w actuator.Workload) bool { return w.MinReplicas == 8 })
	require.True(t, w.Touched)
	require.Equal(t, int32(3), w.BaseMinReplicas)
	require.False(t, w.FloorChangedAt.IsZero())

	require.NoError(t, second.Restore(t.Context(), w))
	h := getHPA(t, cs, ns, "web")
	require.Equal(t, int32(3), *h.Spec.MinReplicas)
	require.NotContains(t, h.Annotations, AnnotationBase)
	// Restoring again is a no-op.
	require.NoError(t, second.Restore(t.Context(), w))
	require.Equal(t, h.ResourceVersion, getHPA(t, cs, ns, "web").ResourceVersion)
}

func TestConcurrentEdit(t *testing.T) {
	env := kubetest.Start(t)
	cs := env.Clientset

	t.Run("other fields survive and the conflict is retried", func(t *testing.T) {
		ns := env.NewNamespace(t)
		createHPA(t, cs, ns, "web", 2, 10)
		var fired atomic.Bool
		hooked := hookClient{Interface: cs, before: func() {
			if fired.Swap(true) {
				return
			}
			// Another writer changes maxReplicas and the metrics between our read and write.
			h := getHPA(t, cs, ns, "web")
			h.Spec.MaxReplicas = 12
			h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}},
			})
			_, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(context.Background(), h, metav1.UpdateOptions{})
			require.NoError(t, err)
		}}
		c, _ := startCluster(t, hooked, ns, time.Now, false)
		ref := actuator.ServiceRef{Service: "web", Namespace: ns}
		w := waitFor(t, c, ref, func(actuator.Workload) bool { return true })
		require.NoError(t, c.SetFloor(t.Context(), actuator.FloorChange{Workload: w, Floor: 6, Reason: "pattern"}))

		h := getHPA(t, cs, ns, "web")
		require.Equal(t, int32(6), *h.Spec.MinReplicas)
		require.Equal(t, int32(12), h.Spec.MaxReplicas, "the other writer's maxReplicas is kept")
		require.Len(t, h.Spec.Metrics, 2, "the other writer's metric is kept")
		require.Equal(t, "2", h.Annotations[AnnotationBase])
		require.Equal(t, 1.0, testutil.ToFloat64(c.metrics.Patches.WithLabelValues(resultConflict)))
		require.Equal(t, 1.0, testutil.ToFloat64(c.metrics.Patches.WithLabelValues(resultSuccess)))
	})

	t.Run("a human's higher floor is never lowered", func(t *testing.T) {
		ns := env.NewNamespace(t)
		createHPA(t, cs, ns, "web", 2, 20)
		c, _ := startCluster(t, cs, ns, time.Now, false)
		ref := actuator.ServiceRef{Service: "web", Namespace: ns}
		w := waitFor(t, c, ref, func(actuator.Workload) bool { return true })
		require.NoError(t, c.SetFloor(t.Context(), actuator.FloorChange{Workload: w, Floor: 6, Reason: "pattern"}))

		// A human raises the floor to 10 after our write.
		h := getHPA(t, cs, ns, "web")
		h.Spec.MinReplicas = ptr.To[int32](10)
		_, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(t.Context(), h, metav1.UpdateOptions{})
		require.NoError(t, err)
		w = waitFor(t, c, ref, func(w actuator.Workload) bool { return w.MinReplicas == 10 })
		require.Equal(t, int32(10), w.BaseMinReplicas, "their value is the base now")

		// The planner (seeing a stale 6) asks to step down to 4: the floor stays 10.
		stale := w
		stale.MinReplicas, stale.BaseMinReplicas = 6, 2
		require.NoError(t, c.SetFloor(t.Context(), actuator.FloorChange{Workload: stale, Floor: 4, Reason: "step-down"}))
		h = getHPA(t, cs, ns, "web")
		require.Equal(t, int32(10), *h.Spec.MinReplicas)
		require.Equal(t, "10", h.Annotations[AnnotationBase])

		// Restore keeps it too.
		require.NoError(t, c.Restore(t.Context(), stale))
		h = getHPA(t, cs, ns, "web")
		require.Equal(t, int32(10), *h.Spec.MinReplicas)
		require.NotContains(t, h.Annotations, AnnotationBase)
	})
}

func TestDependencyChainAcrossThreeDeployments(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	createHPA(t, cs, ns, "web", 2, 10)
	createHPA(t, cs, ns, "api", 1, 20)
	createDeployment(t, cs, ns, "cache", 1, map[string]string{AnnotationMaxReplicas: "10"}) // no HPA
	clk := &clock{t: peak.Add(-20 * time.Minute)}
	c, _ := startCluster(t, cs, ns, clk.Now, false)
	two, half := 2.0, 0.5
	// web's window lasts the whole test (08:00–14:00), so only the dependants move later.
	long := scaling.Pattern{Service: "web", PatternType: scaling.PatternDaily}
	for h := 8; h < 14; h++ {
		long.TimeWindows = append(long.TimeWindows, scaling.TimeWindow{HourOfDay: h, ExpectedLoad: 0.6})
	}
	st := &memStore{
		patterns: []scaling.Pattern{long},
		deps: []scaling.Dependency{
			{SourceService: "web", TargetService: "api", DependencyType: scaling.DependencyProportional, Ratio: &two, Enabled: true},
			{SourceService: "api", TargetService: "cache", DependencyType: scaling.DependencyProportional, Ratio: &half, Enabled: true},
		},
	}
	svc := func(name string) actuator.ServiceConfig {
		return actuator.ServiceConfig{Ref: actuator.ServiceRef{Service: name, Namespace: ns}, LeadTime: 30 * time.Minute}
	}
	a := newActuator(c, st, clk, svc("cache"), svc("api"), svc("web"))
	w := waitFor(t, c, svc("cache").Ref, func(actuator.Workload) bool { return true })
	require.Empty(t, w.HPAName)
	require.Equal(t, "deployments/cache", w.Target)
	require.Equal(t, int32(10), w.MaxReplicas)

	_, err := a.Reconcile(t.Context())
	require.NoError(t, err)

	require.Equal(t, int32(6), *getHPA(t, cs, ns, "web").Spec.MinReplicas)
	require.Equal(t, int32(12), *getHPA(t, cs, ns, "api").Spec.MinReplicas, "ceil(6 × 2)")
	scale, err := cs.AppsV1().Deployments(ns).GetScale(t.Context(), "cache", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(6), scale.Spec.Replicas, "ceil(12 × 0.5), through the scale subresource")
	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), "cache", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "1", d.Annotations[AnnotationBase])
	require.Equal(t, []string{ReasonRaised}, eventReasons(t, cs, ns, "cache"))

	// Disabling the dependencies restores both dependants, the one without HPA included.
	st.deps[0].Enabled, st.deps[1].Enabled = false, false
	waitFor(t, c, svc("cache").Ref, func(w actuator.Workload) bool { return w.MinReplicas == 6 })
	waitFor(t, c, svc("api").Ref, func(w actuator.Workload) bool { return w.MinReplicas == 12 })
	for i := 0; i < 20; i++ { // step-down 5 minutes apart, then restore
		clk.Set(clk.Now().Add(6 * time.Minute))
		plan, err := a.Reconcile(t.Context())
		require.NoError(t, err)
		changed := false
		for _, d := range plan.Decisions {
			changed = changed || d.Changed()
		}
		if !changed {
			break
		}
		for _, s := range []string{"api", "cache"} {
			waitFor(t, c, svc(s).Ref, func(w actuator.Workload) bool {
				return w.MinReplicas == currentFloor(t, env, ns, s)
			})
		}
	}
	require.Equal(t, int32(1), *getHPA(t, cs, ns, "api").Spec.MinReplicas)
	scale, err = cs.AppsV1().Deployments(ns).GetScale(t.Context(), "cache", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(1), scale.Spec.Replicas)
	d, err = cs.AppsV1().Deployments(ns).Get(t.Context(), "cache", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotContains(t, d.Annotations, AnnotationBase)
	require.Equal(t, int32(6), *getHPA(t, cs, ns, "web").Spec.MinReplicas, "web's own pattern still holds")
}

func currentFloor(t *testing.T, env *kubetest.Env, ns, name string) int32 {
	if h, err := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), name, metav1.GetOptions{}); err == nil {
		return *h.Spec.MinReplicas
	}
	s, err := env.Clientset.AppsV1().Deployments(ns).GetScale(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return s.Spec.Replicas
}

func TestDryRunWritesNothing(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	before := createHPA(t, cs, ns, "web", 2, 10)
	dep := createDeployment(t, cs, ns, "cache", 1, nil)
	clk := &clock{t: peak.Add(-20 * time.Minute)}
	c, _ := startCluster(t, cs, ns, clk.Now, true)
	min3 := int32(3)
	st := &memStore{patterns: []scaling.Pattern{window}, deps: []scaling.Dependency{
		{SourceService: "web", TargetService: "cache", DependencyType: scaling.DependencyMinimum, MinReplicas: &min3, Enabled: true},
	}}
	svc := func(name string) actuator.ServiceConfig {
		return actuator.ServiceConfig{Ref: actuator.ServiceRef{Service: name, Namespace: ns}, LeadTime: 30 * time.Minute}
	}
	a := newActuator(c, st, clk, svc("web"), svc("cache"))
	waitFor(t, c, svc("cache").Ref, func(actuator.Workload) bool { return true })
	waitFor(t, c, svc("web").Ref, func(actuator.Workload) bool { return true })

	plan, err := a.Reconcile(t.Context())
	require.NoError(t, err)
	require.Len(t, plan.Decisions, 2)
	require.Equal(t, before.ResourceVersion, getHPA(t, cs, ns, "web").ResourceVersion)
	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), "cache", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, dep.ResourceVersion, d.ResourceVersion)
	evs, err := cs.EventsV1().Events(ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, evs.Items)
	require.Equal(t, 2.0, testutil.ToFloat64(c.metrics.Patches.WithLabelValues(resultDryRun)))
	require.Zero(t, testutil.ToFloat64(c.metrics.Patches.WithLabelValues(resultSuccess)))
	require.Equal(t, 6.0, testutil.ToFloat64(c.metrics.Floor.WithLabelValues("web", "pattern")))
}

func TestWorkloadsAbsentAndStatefulSet(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	createStatefulSet(t, cs, ns, "db", 2)
	c, _ := startCluster(t, cs, ns, time.Now, false)

	ws, err := c.Workloads(t.Context(), []actuator.ServiceRef{
		{Service: "ghost", Namespace: ns},
		{Service: "elsewhere", Namespace: "not-managed"},
		{Service: "bad", Namespace: ns, Target: "cronjobs/x"},
	})
	require.NoError(t, err)
	require.Empty(t, ws, "absent, not an error")

	ref := actuator.ServiceRef{Service: "database", Namespace: ns, Target: "statefulsets/db"}
	w := waitFor(t, c, ref, func(actuator.Workload) bool { return true })
	require.Equal(t, actuator.Workload{Service: "database", Namespace: ns, Target: "statefulsets/db", MinReplicas: 2,
		BaseMinReplicas: 2, DesiredReplicas: 2, ObservedAt: w.ObservedAt}, w)
	require.NoError(t, c.SetFloor(t.Context(), actuator.FloorChange{Workload: w, Floor: 4, Reason: "dependency:web"}))
	scale, err := cs.AppsV1().StatefulSets(ns).GetScale(t.Context(), "db", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(4), scale.Spec.Replicas)
	w = waitFor(t, c, ref, func(w actuator.Workload) bool { return w.MinReplicas == 4 })
	require.True(t, w.Touched)
	require.Equal(t, int32(2), w.BaseMinReplicas)
	require.NoError(t, c.Restore(t.Context(), w))
	scale, err = cs.AppsV1().StatefulSets(ns).GetScale(t.Context(), "db", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(2), scale.Spec.Replicas)
	require.Equal(t, []string{ReasonRaised, ReasonRestored}, eventReasons(t, cs, ns, "db"))
}

// TestSetFloorCapsTargetWithoutMax: regression test for issue 11, item 1. A floor for a
// target with no HPA and no max annotation went to the scale subresource unbounded
// (2,147,483,647); the adapter caps it at the ceiling whatever the planner asked for.
func TestSetFloorCapsTargetWithoutMax(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	createDeployment(t, cs, ns, "cache", 1, nil)
	c, _ := startCluster(t, cs, ns, time.Now, false)
	ref := actuator.ServiceRef{Service: "cache", Namespace: ns}
	w := waitFor(t, c, ref, func(actuator.Workload) bool { return true })
	require.Zero(t, w.MaxReplicas, "no HPA, no max annotation")

	require.NoError(t, c.SetFloor(t.Context(), actuator.FloorChange{Workload: w, Floor: 2147483647, Reason: "dependency:api"}))
	scale, err := cs.AppsV1().Deployments(ns).GetScale(t.Context(), "cache", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(actuator.DefaultMaxReplicasWithoutMax), scale.Spec.Replicas)
	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), "cache", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "100", d.Annotations[AnnotationApplied])
}

// TestNeededReplicasFromHPAStatus: the surge floor reads what the HPA's metrics ask for from
// its status, written here as the controller writes it (the status subresource): the highest
// usage ratio among its metrics × the target's ready replicas (not all of them: pods still
// starting report no usage, and counting them would inflate the need in every scale-up).
func TestNeededReplicasFromHPAStatus(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	h := createHPA(t, cs, ns, "web", 2, 20)
	h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{
		Type: autoscalingv2.PodsMetricSourceType,
		Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "requests_per_second"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("100"))}},
	})
	h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(t.Context(), h, metav1.UpdateOptions{})
	require.NoError(t, err)
	c, _ := startCluster(t, cs, ns, time.Now, false)
	ref := actuator.ServiceRef{Service: "web", Namespace: ns}
	require.Zero(t, waitFor(t, c, ref, func(actuator.Workload) bool { return true }).NeededReplicas, "no metrics reported yet")

	// Six replicas, two of them still starting; the ready four run at 84 % CPU of a 70 % target
	// (ratio 1.2) and 135 requests per second of a 100 target (1.35, the highest).
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 6, DesiredReplicas: 6, CurrentMetrics: []autoscalingv2.MetricStatus{
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](84)}}},
		{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{Metric: autoscalingv2.MetricIdentifier{Name: "requests_per_second"},
			Current: autoscalingv2.MetricValueStatus{AverageValue: ptr.To(resource.MustParse("135"))}}},
	}}
	_, err = cs.AutoscalingV2().HorizontalPodAutoscalers(ns).UpdateStatus(t.Context(), h, metav1.UpdateOptions{})
	require.NoError(t, err)
	w := waitFor(t, c, ref, func(w actuator.Workload) bool { return w.CurrentReplicas == 6 })
	require.Zero(t, w.NeededReplicas, "no ready replica known yet: unknown, not a guess")
	require.False(t, w.NeedKnown)

	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	d.Status.Replicas, d.Status.ReadyReplicas = 6, 4
	_, err = cs.AppsV1().Deployments(ns).UpdateStatus(t.Context(), d, metav1.UpdateOptions{})
	require.NoError(t, err)
	w = waitFor(t, c, ref, func(w actuator.Workload) bool { return w.NeededReplicas > 0 })
	require.InDelta(t, 1.35*4, w.NeededReplicas, 1e-9)
	require.True(t, w.NeedKnown)
	require.Equal(t, int32(4), w.ReadyReplicas, "the shadow counterfactual sets the need against the ready pods")

	// No traffic at all (an outage upstream): both metrics report none, a need of none, known,
	// which the planner holds against its forecast (actuator.LoadCollapsed).
	h, err = cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(t.Context(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization = ptr.To[int32](0)
	h.Status.CurrentMetrics[1].Pods.Current.AverageValue = ptr.To(resource.MustParse("0"))
	_, err = cs.AutoscalingV2().HorizontalPodAutoscalers(ns).UpdateStatus(t.Context(), h, metav1.UpdateOptions{})
	require.NoError(t, err)
	w = waitFor(t, c, ref, func(w actuator.Workload) bool { return w.NeededReplicas == 0 })
	require.True(t, w.NeedKnown, "a measured zero is a need of none, not an unknown one")
}

// TestWorkloadsReportHPABehavior: calibration replays the HPA with the behavior Workloads
// reports, so it must be what the API server serves, defaults filled in, not what was sent.
func TestWorkloadsReportHPABehavior(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	createHPA(t, cs, ns, "batch", 1, 5)
	createDeployment(t, cs, ns, "web", 2, nil)
	_, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(t.Context(), &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    20,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptr.To[int32](60),
					SelectPolicy:               ptr.To(autoscalingv2.MinChangePolicySelect),
					Policies: []autoscalingv2.HPAScalingPolicy{
						{Type: autoscalingv2.PodsScalingPolicy, Value: 2, PeriodSeconds: 60},
						{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60},
					},
					Tolerance: ptr.To(resource.MustParse("0.05")),
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{
					Policies:  []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 120}},
					Tolerance: ptr.To(resource.MustParse("0.2")),
				},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	c, _ := startCluster(t, cs, ns, time.Now, false)

	tests := []struct {
		service string
		want    actuator.Behavior
	}{
		{
			service: "web",
			want: actuator.Behavior{
				ScaleUp: actuator.ScalingRules{StabilizationWindow: time.Minute, Select: actuator.SelectMin, Policies: []actuator.ScalingPolicy{
					{Value: 2, Period: time.Minute}, {Percent: true, Value: 50, Period: time.Minute},
				}, Tolerance: 0.05},
				// The API server fills selectPolicy but leaves the scale-down window unset: the
				// controller takes it from its --horizontal-pod-autoscaler-downscale-stabilization
				// flag, whose default is what 0 stands for here.
				ScaleDown: actuator.ScalingRules{Select: actuator.SelectMax, Policies: []actuator.ScalingPolicy{
					{Value: 1, Period: 2 * time.Minute},
				}, Tolerance: 0.2},
			},
		},
		// No behavior stays nil on the server (defaults are filled only into one that is
		// present), and the controller takes its older path for it.
		{service: "batch", want: actuator.Behavior{Unset: true}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			w := waitFor(t, c, actuator.ServiceRef{Service: tt.service, Namespace: ns}, func(actuator.Workload) bool { return true })
			require.Equal(t, tt.want, w.Behavior)
		})
	}

	// Should the API server start defaulting the scale-down window, the failure above would
	// show only 5m0s against 0; this says why.
	served := getHPA(t, cs, ns, "web").Spec.Behavior
	require.Nil(t, served.ScaleDown.StabilizationWindowSeconds)
	require.Equal(t, ptr.To(autoscalingv2.MaxChangePolicySelect), served.ScaleDown.SelectPolicy)
}
