package deploy

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/kai-platform/kai-scaler/internal/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// dryRunApply server-side applies every object with dryRun=All: the API server runs defaulting,
// schema validation (including the CRDs' OpenAPI schemas) and admission, and stores nothing.
func dryRunApply(t *testing.T, env *kubetest.Env, objs []*unstructured.Unstructured) {
	t.Helper()
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.Clientset.Discovery()))
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		require.NoError(t, err, "map %s", gvk)
		ri := env.Dynamic.Resource(m.Resource)
		opts := metav1.ApplyOptions{FieldManager: "kai-deploy-test", Force: true, DryRun: []string{metav1.DryRunAll}}
		var applyErr error
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			_, applyErr = ri.Namespace(o.GetNamespace()).Apply(t.Context(), o.GetName(), o, opts)
		} else {
			_, applyErr = ri.Apply(t.Context(), o.GetName(), o, opts)
		}
		require.NoError(t, applyErr, "dry-run apply %s %s/%s", gvk.Kind, o.GetNamespace(), o.GetName())
	}
}

func TestManifestsApplyToKubeAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	env.InstallOperatorCRDs(t)
	// The manifests' namespaces (kai-scaler's, and the example services' "kai" where the
	// managed Roles go) must exist for namespaced dry-runs; nothing else is created.
	for _, ns := range []string{"kai-scaler", "kai"} {
		_, err := env.Clientset.CoreV1().Namespaces().Create(t.Context(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			objs, _ := objects(t, dir)
			require.NotEmpty(t, objs)
			dryRunApply(t, env, objs)
		})
	}

	// The check can fail: the API server refuses a ServiceMonitor that breaks the CRD schema.
	objs, by := objects(t, "base")
	require.NotEmpty(t, objs)
	bad := by["ServiceMonitor/kai-scaler"].DeepCopy()
	eps, _, _ := unstructured.NestedSlice(bad.Object, "spec", "endpoints")
	eps[0].(map[string]any)["interval"] = "every thirty seconds" // the CRD's pattern refuses it
	require.NoError(t, unstructured.SetNestedSlice(bad.Object, eps, "spec", "endpoints"))
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.Clientset.Discovery()))
	m, err := mapper.RESTMapping(bad.GroupVersionKind().GroupKind(), bad.GroupVersionKind().Version)
	require.NoError(t, err)
	_, err = env.Dynamic.Resource(m.Resource).Namespace(bad.GetNamespace()).Apply(t.Context(), bad.GetName(), bad,
		metav1.ApplyOptions{FieldManager: "kai-deploy-test", Force: true, DryRun: []string{metav1.DryRunAll}})
	var status apierrors.APIStatus
	require.True(t, errors.As(err, &status), "want an API error, got %v", err)
	require.True(t, apierrors.IsInvalid(err), "got %v", err)
	require.Contains(t, err.Error(), "interval")
}
