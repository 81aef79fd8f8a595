package kube

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	autoscalingv2client "k8s.io/client-go/kubernetes/typed/autoscaling/v2"
	"k8s.io/utils/ptr"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/internal/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// clock is a settable clock shared by the actuator and the cluster adapter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func createDeployment(t *testing.T, cs kubernetes.Interface, ns, name string, replicas int32, annotations map[string]string) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{"app": name}
	d, err := cs.AppsV1().Deployments(ns).Create(t.Context(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return d
}

// createStatefulSet creates a StatefulSet whose pods are labelled app=name.
func createStatefulSet(t *testing.T, cs kubernetes.Interface, ns, name string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	_, err := cs.AppsV1().StatefulSets(ns).Create(t.Context(), &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "registry.invalid/" + name + ":1"}}}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

func createHPA(t *testing.T, cs kubernetes.Interface, ns, name string, minR, maxR int32) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	createDeployment(t, cs, ns, name, minR, nil)
	h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(t.Context(), &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To(minR),
			MaxReplicas:    maxR,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}},
			}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return h
}

func getHPA(t *testing.T, cs kubernetes.Interface, ns, name string) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return h
}

// startCluster builds and starts an adapter on ns; it stops with the test.
func startCluster(t *testing.T, cs kubernetes.Interface, ns string, now func() time.Time, dryRun bool) (*Cluster, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	c, err := New(Options{Client: cs, Namespaces: []string{ns}, Now: now, DryRun: dryRun, Registerer: reg, Logger: testLogger(t)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, c.Start(ctx))
	return c, reg
}

// waitFor polls Workloads until ok accepts the observation of ref (informers are asynchronous).
func waitFor(t *testing.T, c *Cluster, ref actuator.ServiceRef, ok func(actuator.Workload) bool) actuator.Workload {
	t.Helper()
	var last actuator.Workload
	require.Eventually(t, func() bool {
		ws, err := c.Workloads(context.Background(), []actuator.ServiceRef{ref})
		if err != nil || len(ws) != 1 {
			return false
		}
		last = ws[0]
		return ok(last)
	}, 20*time.Second, 20*time.Millisecond, "observation of %s never matched; last %+v", ref.Service, last)
	return last
}

func eventReasons(t *testing.T, cs kubernetes.Interface, ns, object string) []string {
	t.Helper()
	evs, err := cs.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	var reasons []string
	for _, e := range evs.Items {
		if e.Regarding.Name == object && e.ReportingController == ReportingController {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// hookClient runs before() ahead of every HPA patch: a concurrent writer acting between our
// read and our write.
type hookClient struct {
	kubernetes.Interface
	before func()
}

func (h hookClient) AutoscalingV2() autoscalingv2client.AutoscalingV2Interface {
	return hookAutoscaling{h.Interface.AutoscalingV2(), h.before}
}

type hookAutoscaling struct {
	autoscalingv2client.AutoscalingV2Interface
	before func()
}

func (a hookAutoscaling) HorizontalPodAutoscalers(ns string) autoscalingv2client.HorizontalPodAutoscalerInterface {
	return hookHPAs{a.AutoscalingV2Interface.HorizontalPodAutoscalers(ns), a.before}
}

type hookHPAs struct {
	autoscalingv2client.HorizontalPodAutoscalerInterface
	before func()
}

func (h hookHPAs) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	h.before()
	return h.HorizontalPodAutoscalerInterface.Patch(ctx, name, pt, data, opts, sub...)
}
