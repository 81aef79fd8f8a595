package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kai-platform/kai-scaler/actuator/kube"
	"github.com/kai-platform/kai-scaler/dashboards"
	"github.com/kai-platform/kai-scaler/internal/kubetest"
	"github.com/kai-platform/kai-scaler/scaling"
)

// kustomizations are the deployable roots, relative to this folder.
var kustomizations = []string{"base", filepath.Join("overlays", "redis")}

// render builds a kustomization from disk as "kubectl kustomize" does and returns its YAML.
func render(t *testing.T, dir string) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	out, err := rm.AsYaml()
	require.NoError(t, err)
	return out
}

// objects renders dir and indexes its objects by kind/name.
func objects(t *testing.T, dir string) ([]*unstructured.Unstructured, map[string]*unstructured.Unstructured) {
	t.Helper()
	objs, err := kubetest.DecodeYAML(render(t, dir))
	require.NoError(t, err)
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		key := o.GetKind() + "/" + o.GetName()
		if strings.HasPrefix(key, "ConfigMap/kai-scaler-") {
			// Generated config maps carry a content hash: index them by their base name.
			key = key[:strings.LastIndex(key, "-")]
		}
		require.NotContains(t, byName, key, "duplicate object")
		byName[key] = o
	}
	return objs, byName
}

func typed[T any](t *testing.T, o *unstructured.Unstructured) T {
	t.Helper()
	require.NotNil(t, o)
	var v T
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &v))
	return v
}

func TestRenderBase(t *testing.T) {
	objs, by := objects(t, "base")
	for _, key := range []string{
		"Deployment/kai-scaler", "Service/kai-scaler", "ServiceMonitor/kai-scaler", "PrometheusRule/kai-scaler",
		"ConfigMap/kai-scaler-config", "ConfigMap/kai-scaler-services", "ServiceAccount/kai-scaler",
	} {
		require.Contains(t, by, key)
	}
	for _, o := range objs {
		switch {
		case o.GetKind() == "ClusterRole" || o.GetKind() == "ClusterRoleBinding":
		case o.GetName() == kube.ManagedRoleName:
			require.Equal(t, "kai", o.GetNamespace(), "the managed Roles stay in the services' namespace")
		default:
			require.Equal(t, "kai-scaler", o.GetNamespace(), "%s/%s", o.GetKind(), o.GetName())
		}
	}
	testManagedRBAC(t, objs, by)

	d := typed[appsv1.Deployment](t, by["Deployment/kai-scaler"])
	require.Equal(t, "kai-scaler", d.Spec.Template.Spec.ServiceAccountName)
	psc := d.Spec.Template.Spec.SecurityContext
	require.True(t, *psc.RunAsNonRoot)
	require.NotZero(t, *psc.RunAsUser)
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	c := d.Spec.Template.Spec.Containers[0]
	require.Equal(t, "ghcr.io/kai-platform/kai-scaler:v0.3.0", c.Image, "a pinned version, never :latest")
	require.Equal(t, []string{"serve"}, c.Args)
	require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	require.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	require.False(t, c.Resources.Requests.Cpu().IsZero())
	require.False(t, c.Resources.Limits.Memory().IsZero())

	// The container's environment comes from the generated ConfigMap (its hashed name).
	cfg := typed[corev1.ConfigMap](t, by["ConfigMap/kai-scaler-config"])
	require.Len(t, c.EnvFrom, 1)
	require.Equal(t, cfg.Name, c.EnvFrom[0].ConfigMapRef.Name)
	for _, k := range []string{"ENABLE_PREDICTIVE_SCALING", "ENABLE_SCALING_DEPENDENCIES", "ENABLE_HPA_EVENT_LOGGING",
		"PROMETHEUS_URL", "SERVICES_FILE", "LISTEN_ADDR", "DATA_DIR"} {
		require.NotEmpty(t, cfg.Data[k], k)
	}
	require.Empty(t, cfg.Data["REDIS_URL"], "the base uses the embedded store")
	require.Equal(t, ":8080", cfg.Data["LISTEN_ADDR"])

	// The API token is required, never optional: without it serve would refuse to listen on
	// :8080 anyway, and before it the API was open (issue 11, item 2).
	tok := envVar(t, c, "API_TOKEN")
	require.NotNil(t, tok.ValueFrom.SecretKeyRef)
	require.Equal(t, "kai-scaler-api", tok.ValueFrom.SecretKeyRef.Name)
	require.Equal(t, "token", tok.ValueFrom.SecretKeyRef.Key)
	require.False(t, tok.ValueFrom.SecretKeyRef.Optional != nil && *tok.ValueFrom.SecretKeyRef.Optional, "API token Secret must be required")
	require.Empty(t, cfg.Data["INSECURE_NO_AUTH"])

	// SERVICES_FILE is the services ConfigMap, mounted where the variable says, and valid.
	svcs := typed[corev1.ConfigMap](t, by["ConfigMap/kai-scaler-services"])
	mounted := false
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == svcs.Name {
			for _, m := range c.VolumeMounts {
				if m.Name == v.Name {
					require.Equal(t, cfg.Data["SERVICES_FILE"], filepath.Join(m.MountPath, "services.yaml"))
					mounted = true
				}
			}
		}
	}
	require.True(t, mounted, "services ConfigMap mounted at SERVICES_FILE")
	managed, err := scaling.ParseServices([]byte(svcs.Data["services.yaml"]))
	require.NoError(t, err)
	require.NotEmpty(t, managed)

	// The Service exposes the probes' port, and the ServiceMonitor scrapes it.
	svc := typed[corev1.Service](t, by["Service/kai-scaler"])
	require.Equal(t, d.Spec.Selector.MatchLabels, svc.Spec.Selector)
	sm := by["ServiceMonitor/kai-scaler"]
	port, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	require.Equal(t, "http", port[0].(map[string]any)["port"])
	// Regression test: without honorLabels the operator's service and namespace target labels
	// replaced kai-scaler's own (the managed service's), and every dashboard and alert read one
	// service, kai-scaler.
	require.Equal(t, true, port[0].(map[string]any)["honorLabels"], "the ServiceMonitor keeps kai-scaler's service and namespace labels")
	smSel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, v := range smSel {
		require.Equal(t, v, svc.Labels[k], "ServiceMonitor selects the Service")
	}

	// The PrometheusRule holds the tested rules.
	want, err := dashboards.PrometheusRule()
	require.NoError(t, err)
	wantObjs, err := kubetest.DecodeYAML(want)
	require.NoError(t, err)
	gotGroups, _, _ := unstructured.NestedSlice(by["PrometheusRule/kai-scaler"].Object, "spec", "groups")
	wantGroups, _, _ := unstructured.NestedSlice(wantObjs[0].Object, "spec", "groups")
	require.Equal(t, wantGroups, gotGroups)
}

// Every dashboard of the catalog ships as a ConfigMap for Grafana's sidecar, holding exactly
// the committed JSON.
func TestRenderDashboardConfigMaps(t *testing.T) {
	objs, _ := objects(t, "base")
	got := map[string]string{}
	for _, o := range objs {
		if o.GetKind() != "ConfigMap" || o.GetLabels()["grafana_dashboard"] != "1" {
			continue
		}
		cm := typed[corev1.ConfigMap](t, o)
		require.Len(t, cm.Data, 1, cm.Name)
		for k, v := range cm.Data {
			got[k] = v
		}
	}
	require.Len(t, got, len(dashboards.Catalog()))
	for _, e := range dashboards.Catalog() {
		want, err := os.ReadFile(filepath.Join("..", "dashboards", "json", e.File()))
		require.NoError(t, err)
		require.Equal(t, string(want), got[e.File()], e.UID)
	}
}

func TestRenderRedisOverlay(t *testing.T) {
	_, by := objects(t, filepath.Join("overlays", "redis"))
	cfg := typed[corev1.ConfigMap](t, by["ConfigMap/kai-scaler-config"])
	require.Empty(t, cfg.Data["REDIS_URL"], "REDIS_URL carries the password: it comes from the Secret, not the ConfigMap")
	require.Equal(t, "true", cfg.Data["ENABLE_PREDICTIVE_SCALING"])

	d := typed[appsv1.Deployment](t, by["Deployment/kai-scaler"])
	require.Equal(t, int32(2), *d.Spec.Replicas)
	c := d.Spec.Template.Spec.Containers[0]
	require.Equal(t, cfg.Name, c.EnvFrom[0].ConfigMapRef.Name)

	// Regression test for issue 11, item 2: Redis had no password and any pod could reach it.
	// kai-scaler's REDIS_URL expands the password from Secret kai-scaler-redis, declared
	// before it (Kubernetes expands $(VAR) from earlier variables only).
	names := make([]string, len(c.Env))
	for i, e := range c.Env {
		names[i] = e.Name
	}
	pw := envVar(t, c, "REDIS_PASSWORD")
	require.Equal(t, "kai-scaler-redis", pw.ValueFrom.SecretKeyRef.Name)
	require.Equal(t, "password", pw.ValueFrom.SecretKeyRef.Key)
	require.Less(t, slices.Index(names, "REDIS_PASSWORD"), slices.Index(names, "REDIS_URL"))
	require.Equal(t, "redis://:$(REDIS_PASSWORD)@kai-scaler-redis:6379/0", envVar(t, c, "REDIS_URL").Value)
	require.NotNil(t, envVar(t, c, "API_TOKEN").ValueFrom.SecretKeyRef, "the base's token is kept")

	// REDIS_URL names the Redis Service, which selects the Redis pods (and not kai-scaler's).
	rsvc := typed[corev1.Service](t, by["Service/kai-scaler-redis"])
	sts := typed[appsv1.StatefulSet](t, by["StatefulSet/kai-scaler-redis"])
	require.Equal(t, sts.Spec.Template.Labels, rsvc.Spec.Selector)
	require.NotEqual(t, d.Spec.Template.Labels, sts.Spec.Template.Labels)
	require.Equal(t, int32(6379), rsvc.Spec.Ports[0].Port)
	require.True(t, *sts.Spec.Template.Spec.SecurityContext.RunAsNonRoot)
	require.Contains(t, by, "PodDisruptionBudget/kai-scaler")

	rc := sts.Spec.Template.Spec.Containers[0]
	i := slices.Index(rc.Args, "--requirepass")
	require.GreaterOrEqual(t, i, 0, "redis args: %v", rc.Args)
	require.Equal(t, "$(REDIS_PASSWORD)", rc.Args[i+1])
	require.Equal(t, "kai-scaler-redis", envVar(t, rc, "REDIS_PASSWORD").ValueFrom.SecretKeyRef.Name)
	require.Equal(t, "kai-scaler-redis", envVar(t, rc, "REDISCLI_AUTH").ValueFrom.SecretKeyRef.Name, "the redis-cli probe authenticates")

	// Only kai-scaler's pods may reach Redis.
	np := typed[networkingv1.NetworkPolicy](t, by["NetworkPolicy/kai-scaler-redis"])
	require.Equal(t, sts.Spec.Template.Labels, np.Spec.PodSelector.MatchLabels)
	require.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, np.Spec.PolicyTypes)
	require.Len(t, np.Spec.Ingress, 1)
	require.Len(t, np.Spec.Ingress[0].From, 1)
	require.Nil(t, np.Spec.Ingress[0].From[0].NamespaceSelector)
	require.Equal(t, d.Spec.Template.Labels, np.Spec.Ingress[0].From[0].PodSelector.MatchLabels)
	require.Len(t, np.Spec.Ingress[0].Ports, 1)
	require.Equal(t, "redis", np.Spec.Ingress[0].Ports[0].Port.String())
}

// envVar returns the container's variable name; the test fails when it is missing.
func envVar(t *testing.T, c corev1.Container, name string) corev1.EnvVar {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("container %s has no variable %s", c.Name, name)
	return corev1.EnvVar{}
}

// testManagedRBAC: the cluster-wide role only reads HPAs; writes are granted by the Roles of
// managed-rbac.yaml, which is what `kai-scaler rbac` generates from base/services.yaml.
// Regression test for issue 11, item 12 (the ClusterRole could patch every Deployment).
func testManagedRBAC(t *testing.T, objs []*unstructured.Unstructured, by map[string]*unstructured.Unstructured) {
	cr := typed[rbacv1.ClusterRole](t, by["ClusterRole/kai-scaler"])
	require.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"},
		Verbs: []string{"get", "list", "watch"}}}, cr.Rules)

	data, err := os.ReadFile("base/services.yaml")
	require.NoError(t, err)
	svcs, err := scaling.ParseServices(data)
	require.NoError(t, err)
	var namespaces []string
	for _, s := range svcs {
		namespaces = append(namespaces, s.Namespace)
	}
	want, err := kube.ManagedRBAC(namespaces, kube.RBACOptions{})
	require.NoError(t, err)
	got, err := os.ReadFile("base/managed-rbac.yaml")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "regenerate: go run ./cmd/kai-scaler rbac --services deploy/base/services.yaml --out deploy/base/managed-rbac.yaml")

	roles := 0
	for _, o := range objs {
		if o.GetKind() == "Role" && o.GetName() == kube.ManagedRoleName {
			roles++
			require.Equal(t, kube.ManagedRules(), typed[rbacv1.Role](t, o).Rules)
		}
	}
	require.Equal(t, 1, roles, "one Role per managed namespace")
}
