package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/kai-platform/kai-scaler/actuator/kube"
	"github.com/kai-platform/kai-scaler/internal/kubetest"
	"github.com/kai-platform/kai-scaler/internal/promtest"
	"github.com/kai-platform/kai-scaler/scaling"
)

// TestServeCluster runs "kai-scaler serve" in cluster mode, in-process, against a real
// kube-apiserver (envtest), a real Prometheus holding four weeks of synthetic load and the
// embedded store, and drives every feature through the HTTP API: a forecast run, a manual
// pattern raising an HPA floor (and its removal stepping it down), a dependency scaling a
// Deployment without HPA, and an HPA status change recorded as a scale-up event.
func TestServeCluster(t *testing.T) {
	began := time.Now()
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	ctx := t.Context()

	// Four weeks of 5-minute load (the forecaster reads 28 days) ending now. Capacity per
	// replica is far above the load, so predictions and derived patterns ask for no more than
	// the base floor and every floor change below comes from the API calls.
	step := 5 * time.Minute
	end := time.Now().UTC().Truncate(step)
	n := 29 * 24 * 12
	start := end.Add(-time.Duration(n-1) * step)
	loads := map[string]promtest.Load{
		"cache":    {Base: 50, DailyAmp: 20, WeeklyAmp: 5, PeakHour: 12, Noise: 0.05, Seed: 1},
		"checkout": {Base: 200, DailyAmp: 120, WeeklyAmp: 60, PeakHour: 14, Noise: 0.05, Seed: 2},
		"search":   {Base: 500, DailyAmp: 300, WeeklyAmp: 100, PeakHour: 20, Noise: 0.05, Seed: 3},
	}
	var om bytes.Buffer
	w := promtest.NewWriter(&om)
	for _, name := range []string{"cache", "checkout", "search"} {
		w.Gauge("app_load", map[string]string{"service": name}, start, step, loads[name].Values(start, step, n))
	}
	require.NoError(t, w.Close())
	prom := promtest.Start(t, &om)
	t.Logf("prometheus backfilled with %d days of load in %s", n/288, time.Since(began).Round(time.Millisecond))

	// checkout and search have HPAs; cache has none and is scaled through its scale subresource.
	newDeployment := func(name string, replicas int32) {
		labels := map[string]string{"app": name}
		_, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/" + name + ":1"}}}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	hpas := cs.AutoscalingV2().HorizontalPodAutoscalers(ns)
	for _, name := range []string{"checkout", "search"} {
		newDeployment(name, 2)
		_, err := hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
				MinReplicas:    ptr.To[int32](2),
				MaxReplicas:    10,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)},
				}}},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	newDeployment("cache", 1)
	// checkout's pods, ready 40 s after they were created (no kubelet here: the status is
	// written as one would), which calibration measures its pod start-up on.
	_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	for i := range 3 {
		p, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("checkout-%d", i), Labels: map[string]string{"app": "checkout"}},
			Spec: corev1.PodSpec{AutomountServiceAccountToken: ptr.To(false),
				Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/checkout:1"}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(p.CreationTimestamp.Add(40 * time.Second))}}
		_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}

	var services strings.Builder
	services.WriteString("services:\n")
	for _, name := range []string{"checkout", "search", "cache"} {
		fmt.Fprintf(&services, "  - name: %s\n    namespace: %s\n    query: app_load{service=%q}\n    capacityPerReplica: 5000\n", name, ns, name)
	}
	servicesFile := filepath.Join(t.TempDir(), "services.yaml")
	require.NoError(t, os.WriteFile(servicesFile, []byte(services.String()), 0o600))

	base, sink, stop := startServe(t, map[string]string{
		"ENABLE_PREDICTIVE_SCALING":   "true",
		"ENABLE_SCALING_DEPENDENCIES": "true",
		"ENABLE_HPA_EVENT_LOGGING":    "true",
		"PROMETHEUS_URL":              prom.URL,
		"KUBECONFIG":                  env.WriteKubeconfig(t),
		"SERVICES_FILE":               servicesFile,
		"DATA_DIR":                    t.TempDir(),
		"POD_NAME":                    "kai-scaler-test-0",
		"POD_NAMESPACE":               ns,
		"FORECAST_SCHEDULE":           "@every 1h",
	})
	defer func() {
		if t.Failed() {
			t.Logf("serve log:\n%s", sink.String())
		}
	}()
	served := time.Now()
	getJSON := func(path string, into any) int {
		t.Helper()
		code, body := httpDo(t, "GET", base+path, "", nil)
		if code == 200 && into != nil {
			require.NoError(t, json.Unmarshal([]byte(body), into), body)
		}
		return code
	}
	hpa := func(name string) *autoscalingv2.HorizontalPodAutoscaler {
		t.Helper()
		h, err := hpas.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		return h
	}

	// 1. A forecast run over Prometheus history, its predictions and the predicted-load metric.
	// Right after start the forecaster holds the run lock for a moment while it marks runs a
	// previous process left running as abandoned: a trigger then gets 409 and tries again, as
	// a user would.
	var code int
	var body string
	require.Eventually(t, func() bool {
		code, body = httpDo(t, "POST", base+"/api/predictive-scaling/forecast", "", nil)
		return code != 409
	}, 15*time.Second, 200*time.Millisecond, "forecast trigger still busy: %s", body)
	require.Equal(t, 202, code, body)
	var accepted struct {
		RunID string `json:"runId"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &accepted))
	require.NotEmpty(t, accepted.RunID)
	var run scaling.ForecastRun
	require.Eventually(t, func() bool {
		require.Equal(t, 200, getJSON("/api/predictive-scaling/runs/"+accepted.RunID, &run))
		return run.State != scaling.RunQueued && run.State != scaling.RunRunning
	}, 4*time.Minute, time.Second)
	require.Equal(t, scaling.RunSucceeded, run.State, "%+v", run)
	require.Len(t, run.Results, 3)
	for _, r := range run.Results {
		require.Equal(t, scaling.RunSucceeded, r.State, "%+v", r)
	}
	t.Logf("forecast run of 3 services took %s", time.Duration(run.FinishedAt-run.StartedAt)*time.Millisecond)
	var preds struct {
		Predictions []scaling.Prediction `json:"predictions"`
	}
	require.Equal(t, 200, getJSON("/api/predictive-scaling/predictions?service=checkout", &preds))
	require.Len(t, preds.Predictions, 1)
	require.Equal(t, "checkout", preds.Predictions[0].Service)
	require.NotEmpty(t, preds.Predictions[0].Points)
	for _, p := range preds.Predictions[0].Points {
		require.LessOrEqual(t, p.RecommendedMinReplicas, int32(2), "capacity is far above the load")
	}
	cal := preds.Predictions[0].Calibration
	require.NotNil(t, cal)
	t.Logf("checkout's calibration: %s", cal.Reason)
	require.Equal(t, scaling.PodStartupMeasured, cal.PodStartupSource, "the pods' start-up, measured: %s", cal.Reason)
	require.Equal(t, int64(40), cal.PodStartupSeconds)
	// The forecast-metrics loop refreshes the predicted load every minute.
	require.Eventually(t, func() bool {
		_, m := httpDo(t, "GET", base+"/metrics", "", nil)
		return strings.Contains(m, `kai_forecast_predicted_load{quantile="0.5",service="checkout"}`)
	}, 3*time.Minute, 2*time.Second)

	// 2. A manual pattern whose window covers now raises checkout's floor to ceil(0.8×10)=8.
	// The next hour is in it too, in case the test crosses the hour.
	now := time.Now().UTC()
	next := now.Add(time.Hour)
	pattern := fmt.Sprintf(`{"patternType":"weekly","timeWindows":[{"dayOfWeek":%d,"hourOfDay":%d,"expectedLoad":0.8},{"dayOfWeek":%d,"hourOfDay":%d,"expectedLoad":0.8}]}`,
		int(now.Weekday()), now.Hour(), int(next.Weekday()), next.Hour())
	code, body = httpDo(t, "POST", base+"/api/predictive-scaling/patterns/checkout", pattern, nil)
	require.Equal(t, 200, code, body)
	// 3. A dependency on cache (no HPA) sets its replicas through the scale subresource.
	code, body = httpDo(t, "POST", base+"/api/scaling-dependencies/checkout/cache", `{"dependencyType":"minimum","minReplicas":3}`, nil)
	require.Equal(t, 200, code, body)
	posted := time.Now()

	require.Eventually(t, func() bool { return *hpa("checkout").Spec.MinReplicas == 8 }, 90*time.Second, time.Second)
	t.Logf("checkout floor raised to 8 %s after the pattern was posted", time.Since(posted).Round(time.Second))
	raised := hpa("checkout")
	require.Equal(t, "2", raised.Annotations[kube.AnnotationBase])
	require.Equal(t, "8", raised.Annotations[kube.AnnotationApplied])
	require.Equal(t, int32(2), *hpa("search").Spec.MinReplicas, "search has no pattern")

	require.Eventually(t, func() bool {
		s, err := cs.AppsV1().Deployments(ns).GetScale(ctx, "cache", metav1.GetOptions{})
		require.NoError(t, err)
		return s.Spec.Replicas == 3
	}, 90*time.Second, time.Second)
	cache, err := cs.AppsV1().Deployments(ns).Get(ctx, "cache", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "1", cache.Annotations[kube.AnnotationBase])

	// Removing the pattern lowers the floor step by step, at most 25% every 5 minutes after
	// the last change. Rather than wait 5 minutes, date the last change 6 minutes back (the
	// annotation the actuator reads it from): the next round must take the first step 8 -> 6.
	code, body = httpDo(t, "DELETE", base+"/api/predictive-scaling/patterns/checkout", "", nil)
	require.Equal(t, 204, code, body)
	backdated := time.Now().Add(-6 * time.Minute).UTC().Format(time.RFC3339)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, kube.AnnotationChangedAt, backdated)
	_, err = hpas.Patch(ctx, "checkout", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return *hpa("checkout").Spec.MinReplicas < 8 }, 90*time.Second, time.Second)
	require.Equal(t, int32(6), *hpa("checkout").Spec.MinReplicas, "one step of max(1, 25%% of 8)")

	// 4. The HPA controller's status write of a scale-up is recorded as an event.
	lastScale := time.Now().Truncate(time.Second)
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		h := hpa("checkout")
		h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: 2,
			DesiredReplicas: 4,
			LastScaleTime:   &metav1.Time{Time: lastScale},
			CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](90)},
			}}},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
				{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "SucceededRescale", LastTransitionTime: metav1.Time{Time: lastScale}},
				{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound", LastTransitionTime: metav1.Time{Time: lastScale.Add(-time.Hour)}},
				{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionFalse, Reason: "DesiredWithinRange", LastTransitionTime: metav1.Time{Time: lastScale.Add(-time.Hour)}},
			},
		}
		_, err := hpas.UpdateStatus(ctx, h, metav1.UpdateOptions{})
		return err
	}))
	var events struct {
		Events []scaling.Event `json:"events"`
	}
	require.Eventually(t, func() bool {
		require.Equal(t, 200, getJSON("/api/hpa-events/checkout", &events))
		return len(events.Events) > 0
	}, 60*time.Second, time.Second)
	require.Len(t, events.Events, 1, "%+v", events.Events)
	e := events.Events[0]
	require.Equal(t, scaling.EventScaleUp, e.EventType)
	require.Equal(t, "checkout", e.Service)
	require.Equal(t, ns, e.Namespace)
	require.Equal(t, int32(2), e.CurrentReplicas)
	require.Equal(t, int32(4), e.DesiredReplicas)
	require.Equal(t, "resource:cpu", e.TriggerMetric)
	require.Equal(t, 90.0, e.TriggerValue)
	require.Equal(t, 70.0, e.TriggerThreshold)
	require.Equal(t, lastScale.UnixMilli(), e.Timestamp)

	_, m := httpDo(t, "GET", base+"/metrics", "", nil)
	require.Contains(t, m, `kai_hpa_events_total{event_type="scale-up",service="checkout"} 1`)

	// 5. Cancelling the context shuts serve down cleanly.
	require.Equal(t, 0, stop())
	require.Contains(t, sink.String(), `"msg":"stopped"`)
	t.Logf("serve ran %s; whole test %s", time.Since(served).Round(time.Second), time.Since(began).Round(time.Second))
}

// TestServeClusterDependenciesOnlyRefusesUnmanaged: with scaling dependencies on and
// predictive scaling off there is no forecaster, but the actuator plans for the services
// file's list all the same, so the API checks writes against it. Regression: the check asked
// the forecaster only, and a dependency on a service outside the file (one that could never
// act, or, as a source, would hold its target's floor up for good) was stored.
func TestServeClusterDependenciesOnlyRefusesUnmanaged(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	services := fmt.Sprintf("services:\n  - name: checkout\n    namespace: %s\n    query: up\n    capacityPerReplica: 50\n"+
		"  - name: cache\n    namespace: %s\n    query: up\n    capacityPerReplica: 50\n", ns, ns)
	servicesFile := filepath.Join(t.TempDir(), "services.yaml")
	require.NoError(t, os.WriteFile(servicesFile, []byte(services), 0o600))
	base, sink, stop := startServe(t, map[string]string{
		"ENABLE_PREDICTIVE_SCALING":   "false",
		"ENABLE_SCALING_DEPENDENCIES": "true",
		"KUBECONFIG":                  env.WriteKubeconfig(t),
		"SERVICES_FILE":               servicesFile,
		"DATA_DIR":                    t.TempDir(),
		"POD_NAME":                    "kai-scaler-test-0",
		"POD_NAMESPACE":               ns,
	})
	defer func() {
		if t.Failed() {
			t.Logf("serve log:\n%s", sink.String())
		}
	}()
	const dep = `{"dependencyType":"minimum","minReplicas":3}`
	code, body := httpDo(t, "POST", base+"/api/scaling-dependencies/checkout/cahce", dep, nil)
	require.Equal(t, 404, code, body)
	require.Contains(t, body, `"field":"targetService"`)
	code, body = httpDo(t, "GET", base+"/api/scaling-dependencies/checkout/cahce", "", nil)
	require.Equal(t, 404, code, "nothing stored: %s", body)
	code, body = httpDo(t, "POST", base+"/api/scaling-dependencies/checkout/cache", dep, nil)
	require.Equal(t, 200, code, body)
	require.Equal(t, 0, stop())
}
