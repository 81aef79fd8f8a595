package kube

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/internal/kubetest"
)

// createPod creates a pod with labels and, with a start-up, marks it ready that long after
// the API server created it (no kubelet runs here: the status is written as one would).
func createPod(t *testing.T, cs kubernetes.Interface, ns, name string, labels map[string]string, startup time.Duration, restarts int32) {
	t.Helper()
	ctx := t.Context()
	_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	p, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	if startup < 0 {
		return // never ready
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
		LastTransitionTime: metav1.NewTime(p.CreationTimestamp.Add(startup))}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "registry.invalid/app:1", Ready: true, RestartCount: restarts}}
	_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// TestPodStartup measures pod start-up on a real API server: the pods of an HPA's target and
// of a StatefulSet without HPA, found by their selectors, and what it cannot measure.
func TestPodStartup(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	cs := env.Clientset
	createHPA(t, cs, ns, "web", 2, 10)
	web := map[string]string{"app": "web"}
	for i, s := range []time.Duration{40 * time.Second, 50 * time.Second, 45 * time.Second, 5 * time.Minute} {
		createPod(t, cs, ns, "web-"+string(rune('a'+i)), web, s, 0)
	}
	createPod(t, cs, ns, "web-restarted", web, 10*time.Second, 2)
	createPod(t, cs, ns, "web-pending", web, -1, 0)
	// Another workload's pods in the same namespace are not the target's.
	for i := range 3 {
		createPod(t, cs, ns, "other-"+string(rune('a'+i)), map[string]string{"app": "other"}, time.Second, 0)
	}

	createStatefulSet(t, cs, ns, "db", 3)
	for i := range 3 {
		createPod(t, cs, ns, "db-"+string(rune('0'+i)), map[string]string{"app": "db"}, 2*time.Minute, 0)
	}
	createDeployment(t, cs, ns, "cache", 1, nil)
	createPod(t, cs, ns, "cache-a", map[string]string{"app": "cache"}, 3*time.Second, 0)

	c, _ := startCluster(t, cs, ns, time.Now, false)
	waitFor(t, c, actuator.ServiceRef{Service: "web", Namespace: ns}, func(w actuator.Workload) bool { return w.HPAName == "web" })
	waitFor(t, c, actuator.ServiceRef{Service: "database", Namespace: ns, Target: "statefulsets/db"}, func(actuator.Workload) bool { return true })
	waitFor(t, c, actuator.ServiceRef{Service: "cache", Namespace: ns}, func(actuator.Workload) bool { return true })

	tests := []struct {
		name    string
		ref     actuator.ServiceRef
		want    actuator.PodStartup
		wantErr string
		tooFew  bool
	}{
		{
			name: "an HPA's deployment: the median of its four pods ready since they started",
			ref:  actuator.ServiceRef{Service: "web", Namespace: ns},
			want: actuator.PodStartup{Startup: 48 * time.Second, Pods: 4},
		},
		{
			name: "a statefulset without HPA",
			ref:  actuator.ServiceRef{Service: "database", Namespace: ns, Target: "statefulsets/db"},
			want: actuator.PodStartup{Startup: 2 * time.Minute, Pods: 3},
		},
		{
			name:    "too few pods",
			ref:     actuator.ServiceRef{Service: "cache", Namespace: ns},
			wantErr: "Deployment " + ns + "/cache: too few pods: 1 of 1 pods ready since their start, need 3",
			tooFew:  true,
		},
		{
			name:    "no such target",
			ref:     actuator.ServiceRef{Service: "ghost", Namespace: ns},
			wantErr: `read deployment ` + ns + `/ghost from cache: deployment.apps "ghost" not found`,
		},
		{
			name:    "a namespace not managed",
			ref:     actuator.ServiceRef{Service: "web", Namespace: "elsewhere"},
			wantErr: `namespace "elsewhere" is not managed`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.PodStartup(t.Context(), tt.ref)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				require.Equal(t, tt.tooFew, errors.Is(err, actuator.ErrTooFewPods))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	t.Run("a Role without pods list: forbidden, and says so", func(t *testing.T) {
		nobody, err := kubernetes.NewForConfig(env.ImpersonateServiceAccount(ns, "nobody"))
		require.NoError(t, err)
		// The same caches, and a client the API server grants nothing.
		denied := &Cluster{client: nobody, started: c.started, views: c.views}
		_, err = denied.PodStartup(t.Context(), actuator.ServiceRef{Service: "web", Namespace: ns})
		require.ErrorContains(t, err, "list pods of Deployment "+ns+"/web: forbidden (the managed namespace's Role grants no pods list)")
		require.True(t, apierrors.IsForbidden(err), "the API server's error is wrapped: %v", err)
	})
}
