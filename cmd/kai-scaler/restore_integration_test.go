package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/actuator/kube"
	"github.com/kai-platform/kai-scaler/internal/kubetest"
)

// TestMain stops the shared envtest control plane that the restore tests start.
func TestMain(m *testing.M) { kubetest.Main(m) }

func TestRestoreCommand(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	other := env.NewNamespace(t)
	cs := env.Clientset
	ctx := t.Context()
	labels := map[string]string{"app": "x"}
	newDeployment := func(ns, name string) {
		_, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/x:1"}}}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	newHPA := func(ns, name string) {
		newDeployment(ns, name)
		_, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 10,
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	newHPA(ns, "web")
	newHPA(ns, "untouched")
	newDeployment(ns, "cache")
	newHPA(other, "web")

	// Raise three floors as the actuator would.
	cluster, err := kube.New(kube.Options{Client: cs, Now: time.Now})
	require.NoError(t, err)
	for _, w := range []actuator.Workload{
		{Service: "web", Namespace: ns, HPAName: "web", MinReplicas: 2},
		{Service: "cache", Namespace: ns, Target: "deployments/cache", MinReplicas: 2},
		{Service: "web", Namespace: other, HPAName: "web", MinReplicas: 2},
	} {
		require.NoError(t, cluster.SetFloor(ctx, actuator.FloorChange{Workload: w, Floor: 7, Reason: "pattern"}))
	}
	kubeconfig := env.WriteKubeconfig(t)
	restore := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }},
			append([]string{"restore", "--kubeconfig", kubeconfig}, args...))
		return code, out.String(), errOut.String()
	}
	hpaMin := func(ns, name string) int32 {
		h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		return *h.Spec.MinReplicas
	}
	webRV := func() string {
		h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
		require.NoError(t, err)
		return h.ResourceVersion
	}

	rv := webRV()
	code, out, errOut := restore("--namespace", ns, "--dry-run")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "would restore HorizontalPodAutoscaler "+ns+"/web: floor 7 -> 2")
	require.Contains(t, out, "would restore Deployment "+ns+"/cache: floor 7 -> 2")
	require.NotContains(t, out, "untouched")
	require.Equal(t, rv, webRV(), "dry-run writes nothing")

	code, out, errOut = restore("--namespace", ns)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "restored HorizontalPodAutoscaler "+ns+"/web: floor 7 -> 2")
	require.Contains(t, out, "restored Deployment "+ns+"/cache: floor 7 -> 2")
	require.Equal(t, int32(2), hpaMin(ns, "web"))
	scale, err := cs.AppsV1().Deployments(ns).GetScale(ctx, "cache", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(2), scale.Spec.Replicas)
	require.Equal(t, int32(7), hpaMin(other, "web"), "another namespace is left alone")

	code, out, _ = restore("--namespace", ns)
	require.Equal(t, 0, code)
	require.Contains(t, out, "nothing to restore")

	code, _, _ = restore("--bogus")
	require.Equal(t, 2, code)
}
