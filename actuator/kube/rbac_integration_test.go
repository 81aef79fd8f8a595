package kube

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/internal/kubetest"
)

// applyRBAC applies deploy/base/rbac.yaml as if kai-scaler were installed in ns: namespaced
// objects go to ns, the binding subjects point at ns, and the cluster-scoped objects get a
// per-test name (the control plane is shared between tests); and the Roles ManagedRBAC
// generates for the managed namespaces.
func applyRBAC(t *testing.T, env *kubetest.Env, ns string, managed ...string) {
	t.Helper()
	if len(managed) > 0 {
		manifest, err := ManagedRBAC(managed, RBACOptions{Namespace: ns})
		require.NoError(t, err)
		objs, err := kubetest.DecodeYAML(manifest)
		require.NoError(t, err)
		require.Len(t, objs, 2*len(managed))
		env.Apply(t, objs...)
	}
	docs, err := os.ReadFile("../../deploy/base/rbac.yaml")
	require.NoError(t, err)
	objs, err := kubetest.DecodeYAML(docs)
	require.NoError(t, err)
	require.Len(t, objs, 5)
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole":
			o.SetName(o.GetName() + "-" + ns)
		case "ClusterRoleBinding":
			o.SetName(o.GetName() + "-" + ns)
			require.NoError(t, unstructured.SetNestedField(o.Object, "kai-scaler-"+ns, "roleRef", "name"))
		default:
			o.SetNamespace(ns)
		}
		if subjects, ok, _ := unstructured.NestedSlice(o.Object, "subjects"); ok {
			for _, s := range subjects {
				s.(map[string]any)["namespace"] = ns
			}
			require.NoError(t, unstructured.SetNestedSlice(o.Object, subjects, "subjects"))
		}
	}
	env.Apply(t, objs...)
	t.Cleanup(func() {
		ctx := context.Background()
		_ = env.Clientset.RbacV1().ClusterRoleBindings().Delete(ctx, "kai-scaler-"+ns, metav1.DeleteOptions{})
		_ = env.Clientset.RbacV1().ClusterRoles().Delete(ctx, "kai-scaler-"+ns, metav1.DeleteOptions{})
	})
}

// TestRBACIsEnoughAndNoMore runs the adapter and leader election as the kai-scaler
// ServiceAccount bound by deploy/base/rbac.yaml: everything they do works, and a
// SubjectAccessReview per verb shows nothing wider is granted.
func TestRBACIsEnoughAndNoMore(t *testing.T) {
	env := kubetest.Start(t)
	home := env.NewNamespace(t)  // where kai-scaler runs
	work := env.NewNamespace(t)  // a managed namespace
	other := env.NewNamespace(t) // not managed
	applyRBAC(t, env, home, work)
	createHPA(t, env.Clientset, work, "web", 2, 10)
	createDeployment(t, env.Clientset, work, "cache", 1, nil)

	sa, err := kubernetes.NewForConfig(env.ImpersonateServiceAccount(home, "kai-scaler"))
	require.NoError(t, err)

	c, _ := startCluster(t, sa, work, time.Now, false)
	for _, name := range []string{"web", "cache"} {
		ref := actuator.ServiceRef{Service: name, Namespace: work}
		w := waitFor(t, c, ref, func(actuator.Workload) bool { return true })
		require.NoError(t, c.SetFloor(t.Context(), actuator.FloorChange{Workload: w, Floor: 5, Reason: "pattern"}))
		require.Equal(t, int32(5), currentFloor(t, env, work, name))
		require.NoError(t, c.Restore(t.Context(), w))
		require.Equal(t, w.MinReplicas, currentFloor(t, env, work, name))
		require.Equal(t, []string{ReasonRaised, ReasonRestored}, eventReasons(t, env.Clientset, work, name), "events recorded as the service account")
		// Listing the target's pods is allowed (none here to measure; forbidden would say so).
		_, err := c.PodStartup(t.Context(), ref)
		require.ErrorContains(t, err, "0 of 0 pods ready since their start")
	}
	require.Zero(t, testutil.ToFloat64(c.metrics.Patches.WithLabelValues(resultError)))

	// Leader election on a Lease in its own namespace.
	ctx, cancel := context.WithCancel(t.Context())
	var led atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- RunWithLeaderElection(ctx, LeaderOptions{Client: sa, Namespace: home, Name: "kai-scaler", Identity: "pod-a",
			LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond},
			func(ctx context.Context) error { led.Store(true); <-ctx.Done(); return nil })
	}()
	require.Eventually(t, led.Load, 20*time.Second, 20*time.Millisecond, "the service account never acquired the lease")
	cancel()
	require.NoError(t, <-done)

	user := "system:serviceaccount:" + home + ":kai-scaler"
	type access struct{ ns, verb, group, resource, sub string }
	allowed := []access{
		// The HPA event watch reads HPAs in every namespace.
		{"", "list", "autoscaling", "horizontalpodautoscalers", ""},
		{"", "watch", "autoscaling", "horizontalpodautoscalers", ""},
		{"kube-system", "get", "autoscaling", "horizontalpodautoscalers", ""},
		{work, "get", "autoscaling", "horizontalpodautoscalers", ""},
		{work, "list", "autoscaling", "horizontalpodautoscalers", ""},
		{work, "watch", "autoscaling", "horizontalpodautoscalers", ""},
		{work, "patch", "autoscaling", "horizontalpodautoscalers", ""},
		{work, "list", "apps", "deployments", ""},
		{work, "watch", "apps", "statefulsets", ""},
		{work, "patch", "apps", "deployments", ""},
		{work, "get", "apps", "deployments", "scale"},
		{work, "update", "apps", "deployments", "scale"},
		{work, "update", "apps", "statefulsets", "scale"},
		{work, "create", "events.k8s.io", "events", ""},
		{work, "list", "", "pods", ""}, // pod start-up, measured for calibration
		{home, "get", "coordination.k8s.io", "leases", ""},
		{home, "create", "coordination.k8s.io", "leases", ""},
		{home, "update", "coordination.k8s.io", "leases", ""},
	}
	denied := []access{
		{work, "delete", "autoscaling", "horizontalpodautoscalers", ""},
		{work, "update", "autoscaling", "horizontalpodautoscalers", ""},
		{work, "create", "autoscaling", "horizontalpodautoscalers", ""},
		{work, "update", "autoscaling", "horizontalpodautoscalers", "status"},
		{work, "update", "apps", "deployments", ""},
		{work, "delete", "apps", "deployments", ""},
		{work, "create", "apps", "deployments", ""},
		{work, "get", "", "secrets", ""},
		{home, "list", "", "secrets", ""},
		{work, "get", "", "pods", ""},
		{work, "watch", "", "pods", ""},
		{work, "delete", "", "pods", ""},
		{work, "create", "", "pods", ""},
		{work, "get", "", "pods", "log"},
		{other, "list", "", "pods", ""},
		{"", "list", "", "pods", ""},
		{home, "get", "", "configmaps", ""},
		{work, "update", "coordination.k8s.io", "leases", ""},
		{home, "delete", "coordination.k8s.io", "leases", ""},
		{work, "create", "", "events", ""},
		{work, "delete", "events.k8s.io", "events", ""},
		{"", "list", "", "namespaces", ""},
		// Writes only in the managed namespaces (issue 11, item 12).
		{"kube-system", "patch", "apps", "deployments", ""},
		{"kube-system", "patch", "apps", "statefulsets", ""},
		{"kube-system", "update", "apps", "deployments", "scale"},
		{"kube-system", "patch", "autoscaling", "horizontalpodautoscalers", ""},
		{"kube-system", "create", "events.k8s.io", "events", ""},
		{"kube-system", "get", "apps", "deployments", ""},
		{other, "patch", "apps", "deployments", ""},
		{other, "update", "apps", "statefulsets", "scale"},
		{other, "patch", "autoscaling", "horizontalpodautoscalers", ""},
		{"", "patch", "apps", "deployments", ""},
		{"", "create", "rbac.authorization.k8s.io", "clusterrolebindings", ""},
	}
	check := func(a access) bool {
		r, err := env.Clientset.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   user,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + home, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: a.ns, Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.sub,
				},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		return r.Status.Allowed
	}
	for _, a := range allowed {
		require.True(t, check(a), "should be allowed: %+v", a)
	}
	for _, a := range denied {
		require.False(t, check(a), "should be denied: %+v", a)
	}
}

func TestLeaderElectionFailover(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	opts := func(id string) LeaderOptions {
		return LeaderOptions{Client: env.Clientset, Namespace: ns, Name: "kai-scaler", Identity: id,
			LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
	}
	var leading atomic.Int32
	var maxLeading atomic.Int32
	started := make(chan string, 4)
	lead := func(id string) func(context.Context) error {
		return func(ctx context.Context) error {
			n := leading.Add(1)
			for m := maxLeading.Load(); n > m && !maxLeading.CompareAndSwap(m, n); m = maxLeading.Load() {
			}
			started <- id
			<-ctx.Done()
			leading.Add(-1)
			return nil
		}
	}
	run := func(id string) (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- RunWithLeaderElection(ctx, opts(id), lead(id)) }()
		return cancel, done
	}
	cancelA, doneA := run("a")
	cancelB, doneB := run("b")
	t.Cleanup(func() { cancelA(); cancelB() })

	var first string
	select {
	case first = <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("nobody became leader")
	}
	// The other one stays a follower while the leader runs.
	select {
	case id := <-started:
		t.Fatalf("%s led while %s held the lease", id, first)
	case <-time.After(3 * time.Second):
	}
	stop, stopDone := cancelA, doneA
	if first == "b" {
		stop, stopDone = cancelB, doneB
	}
	t0 := time.Now()
	stop()
	require.NoError(t, <-stopDone)
	select {
	case second := <-started:
		require.NotEqual(t, first, second)
		t.Logf("failover from %s to %s in %s", first, second, time.Since(t0))
	case <-time.After(30 * time.Second):
		t.Fatal("the follower never took over")
	}
	require.Equal(t, int32(1), maxLeading.Load(), "never two leaders at once")
}

type cutTransport struct {
	rt  http.RoundTripper
	cut *atomic.Bool
}

func (c cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() {
		return nil, errors.New("network partition (test)")
	}
	return c.rt.RoundTrip(r)
}

// TestLeaderElectionCrashedLeader: a leader cut off from the API server cannot release the
// Lease; it stops leading by itself after RenewDeadline, and the follower takes over once the
// Lease expires, never both at once.
func TestLeaderElectionCrashedLeader(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	var cut atomic.Bool
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return cutTransport{rt, &cut} })
	partitioned, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)

	var leading, overlap atomic.Int32
	events := make(chan string, 8)
	lead := func(id string) func(context.Context) error {
		return func(ctx context.Context) error {
			if leading.Add(1) > 1 {
				overlap.Add(1)
			}
			events <- id + " started"
			<-ctx.Done()
			leading.Add(-1)
			events <- id + " stopped"
			return nil
		}
	}
	opts := LeaderOptions{Namespace: ns, Name: "kai-scaler",
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a, b := opts, opts
	a.Client, a.Identity = partitioned, "a"
	b.Client, b.Identity = env.Clientset, "b"
	go func() { _ = RunWithLeaderElection(ctx, a, lead("a")) }()
	require.Equal(t, "a started", <-events)
	go func() { _ = RunWithLeaderElection(ctx, b, lead("b")) }()

	t0 := time.Now()
	cut.Store(true)
	for _, want := range []string{"a stopped", "b started"} {
		select {
		case got := <-events:
			require.Equal(t, want, got)
		case <-time.After(30 * time.Second):
			t.Fatalf("waiting for %q", want)
		}
	}
	t.Logf("takeover after the leader was cut off: %s", time.Since(t0))
	require.Zero(t, overlap.Load(), "never two leaders at once")
}
