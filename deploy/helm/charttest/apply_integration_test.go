package charttest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/kai-platform/kai-scaler/internal/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// dryRunApply server-side applies o with dryRun=All and strict field validation: the API
// server runs defaulting, schema validation (the CRDs' OpenAPI schemas too), refuses unknown
// fields (a misindented template) and admission, and stores nothing.
func dryRunApply(t *testing.T, env *kubetest.Env, o *unstructured.Unstructured) error {
	t.Helper()
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.Clientset.Discovery()))
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	require.NoError(t, err, "map %s", gvk)
	body, err := json.Marshal(o.Object)
	require.NoError(t, err)
	opts := metav1.PatchOptions{FieldManager: "kai-chart-test", Force: new(true), DryRun: []string{metav1.DryRunAll},
		FieldValidation: metav1.FieldValidationStrict}
	ri := env.Dynamic.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		_, err = ri.Namespace(o.GetNamespace()).Patch(t.Context(), o.GetName(), types.ApplyPatchType, body, opts)
	} else {
		_, err = ri.Patch(t.Context(), o.GetName(), types.ApplyPatchType, body, opts)
	}
	return err
}

func createNamespaces(t *testing.T, env *kubetest.Env, names ...string) {
	t.Helper()
	for _, ns := range names {
		_, err := env.Clientset.CoreV1().Namespaces().Create(t.Context(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}
}

// The chart's objects, for the default values and the main toggles, are accepted by a real
// kube-apiserver (server-side dry-run), as deploy/'s test does for the kustomize base.
func TestChartAppliesToKubeAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	env.InstallOperatorCRDs(t)
	// The release's namespace and the managed services' namespaces (where the Roles go).
	createNamespaces(t, env, releaseNS, "shop", "auth")
	services := `
services:
  - {name: web, namespace: shop, query: "sum(rate(x[5m]))", capacityPerReplica: 10, leadTimeSeconds: 60}
  - {name: api, namespace: auth, query: "sum(rate(y[5m]))", capacityPerReplica: 5, leadTimeSeconds: 60}
`
	for _, tc := range []struct{ name, values string }{
		{"defaults", ``},
		{"bundled redis and monitoring", services + `
replicaCount: 2
redis: {bundled: {enabled: true}}
serviceMonitor: {enabled: true, labels: {release: kps}}
prometheusRule: {enabled: true}`},
		{"external redis and cluster-wide rbac", services + `
rbac: {clusterWide: true}
redis: {external: {url: "redis://redis.example:6379/0", passwordSecret: {name: redis-auth}}}
apiToken: {existingSecret: my-token}
config: {dryRun: true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRender(t, "kai-scaler", values(t, tc.values))
			require.NotEmpty(t, r.objs)
			for _, o := range r.objs {
				require.NoError(t, dryRunApply(t, env, o), "dry-run apply %s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
			}
		})
	}

	// The check can fail: the API server refuses a misplaced field and a ServiceMonitor that
	// breaks the CRD's schema.
	r := mustRender(t, "kai-scaler", values(t, `{serviceMonitor: {enabled: true}}`))
	d := r.get(t, "Deployment/kai-scaler").DeepCopy()
	require.NoError(t, unstructured.SetNestedField(d.Object, int64(3), "spec", "template", "spec", "replicas"))
	err := dryRunApply(t, env, d)
	require.Error(t, err)
	require.Contains(t, err.Error(), "replicas")
	sm := r.get(t, "ServiceMonitor/kai-scaler").DeepCopy()
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	eps[0].(map[string]any)["interval"] = "every thirty seconds" // the CRD's pattern refuses it
	require.NoError(t, unstructured.SetNestedSlice(sm.Object, eps, "spec", "endpoints"))
	err = dryRunApply(t, env, sm)
	require.True(t, apierrors.IsInvalid(err), "got %v", err)
}

// helmConfig is a Helm action configuration for namespace ns of the envtest API server.
func helmConfig(t *testing.T, env *kubetest.Env, ns string) *action.Configuration {
	t.Helper()
	kubeconfig, cache := env.WriteKubeconfig(t), t.TempDir()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace, flags.CacheDir = &kubeconfig, &ns, &cache
	cfg := new(action.Configuration)
	require.NoError(t, cfg.Init(flags, ns, "secret", t.Logf))
	return cfg
}

func liveSecret(t *testing.T, env *kubetest.Env, ns, name, key string) string {
	t.Helper()
	s, err := env.Clientset.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, s.Data[key])
	return string(s.Data[key])
}

// The generated API token and Redis password survive "helm upgrade" (read back with lookup):
// a new random token on every upgrade would lock every API client out. Installed for real
// (not a dry run) with Helm's install and upgrade actions.
func TestGeneratedSecretsPersistAcrossUpgrade(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.NewNamespace(t)
	chrt, err := loader.Load(chartDir)
	require.NoError(t, err)
	vals := values(t, `{redis: {bundled: {enabled: true}}}`)

	install := action.NewInstall(helmConfig(t, env, ns))
	install.ReleaseName, install.Namespace = "kai-scaler", ns
	install.Timeout = time.Minute
	_, err = install.RunWithContext(t.Context(), chrt, vals)
	require.NoError(t, err, "helm install")
	token := liveSecret(t, env, ns, "kai-scaler-api", "token")
	password := liveSecret(t, env, ns, "kai-scaler-redis", "password")

	upgrade := action.NewUpgrade(helmConfig(t, env, ns))
	upgrade.Namespace = ns
	upgrade.Timeout = time.Minute
	vals["config"] = map[string]any{"dryRun": true} // a real change, so the upgrade rewrites objects
	rel, err := upgrade.RunWithContext(t.Context(), "kai-scaler", chrt, vals)
	require.NoError(t, err, "helm upgrade")
	require.Equal(t, 2, rel.Version)
	require.Equal(t, token, liveSecret(t, env, ns, "kai-scaler-api", "token"), "the API token changed on upgrade")
	require.Equal(t, password, liveSecret(t, env, ns, "kai-scaler-redis", "password"), "the Redis password changed on upgrade")
	cm, err := env.Clientset.CoreV1().ConfigMaps(ns).Get(t.Context(), "kai-scaler-config", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "true", cm.Data["DRY_RUN"], "the upgrade was applied")

	// Without lookup (a client-side render) the token would be new: the check above can fail.
	fresh := secretValue(t, mustRender(t, "kai-scaler", vals), "Secret/kai-scaler-api", "token")
	require.NotEqual(t, token, fresh)

	uninstall := action.NewUninstall(helmConfig(t, env, ns))
	uninstall.Timeout = time.Minute
	_, err = uninstall.Run("kai-scaler")
	require.NoError(t, err, "helm uninstall")
}
