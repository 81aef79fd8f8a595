package charttest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kai-platform/kai-scaler/actuator/kube"
	"github.com/kai-platform/kai-scaler/dashboards"
	"github.com/kai-platform/kai-scaler/internal/kubetest"
	"github.com/kai-platform/kai-scaler/scaling"
)

const (
	chartDir  = "../kai-scaler"
	repoRoot  = "../../.."
	releaseNS = "kai-scaler"
	// kubeVersion is envtest's: client-side rendering and lint otherwise assume Kubernetes
	// v1.20.0, which the chart's kubeVersion constraint refuses.
	kubeVersion = "v1.37.2"
)

func kubeVer(t *testing.T) *chartutil.KubeVersion {
	t.Helper()
	v, err := chartutil.ParseKubeVersion(kubeVersion)
	require.NoError(t, err)
	return v
}

// rendered is one release's manifest, indexed by kind/name.
type rendered struct {
	objs []*unstructured.Unstructured
	by   map[string]*unstructured.Unstructured
}

func (r rendered) get(t *testing.T, key string) *unstructured.Unstructured {
	t.Helper()
	o, ok := r.by[key]
	require.True(t, ok, "rendered objects have no %s; they have %v", key, r.keys())
	return o
}

func (r rendered) keys() []string {
	var ks []string
	for k := range r.by {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// values parses a YAML values document (the table cases read like a values file).
func values(t *testing.T, doc string) map[string]any {
	t.Helper()
	v := map[string]any{}
	require.NoError(t, yaml.Unmarshal([]byte(doc), &v))
	return v
}

// renderChart renders the chart as "helm template" does: client-side, so lookup finds nothing
// and the generated Secrets hold new random values.
func renderChart(t *testing.T, release string, vals map[string]any) (rendered, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	require.NoError(t, err, "load chart")
	inst := action.NewInstall(&action.Configuration{Log: t.Logf})
	inst.DryRun, inst.ClientOnly, inst.Replace = true, true, true
	inst.ReleaseName, inst.Namespace = release, releaseNS
	inst.KubeVersion = kubeVer(t)
	rel, err := inst.RunWithContext(t.Context(), chrt, vals)
	if err != nil {
		return rendered{}, err
	}
	// Strict YAML first: a key given twice (two label helpers both setting one) is refused
	// by strict parsers and silently resolved by others.
	for _, doc := range strings.Split(rel.Manifest, "\n---\n") {
		_, err := yaml.YAMLToJSONStrict([]byte(doc))
		require.NoError(t, err, "rendered document is not strict YAML:\n%s", doc)
	}
	objs, err := kubetest.DecodeYAML([]byte(rel.Manifest))
	require.NoError(t, err, "decode manifest")
	r := rendered{objs: objs, by: map[string]*unstructured.Unstructured{}}
	for _, o := range objs {
		key := o.GetKind() + "/" + o.GetName()
		if ns := o.GetNamespace(); ns != "" && ns != releaseNS {
			key += "@" + o.GetNamespace() // the managed Roles: one per namespace
		}
		require.NotContains(t, r.by, key, "duplicate object")
		r.by[key] = o
	}
	return r, nil
}

func mustRender(t *testing.T, release string, vals map[string]any) rendered {
	t.Helper()
	r, err := renderChart(t, release, vals)
	require.NoError(t, err, "render")
	return r
}

func typed[T any](t *testing.T, o *unstructured.Unstructured) T {
	t.Helper()
	var v T
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &v))
	return v
}

// envVar returns the container's variable name, failing the test when it is missing.
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

func hasEnv(c corev1.Container, name string) bool {
	return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
}

func envIndex(c corev1.Container, name string) int {
	return slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
}

// selects reports whether every label of selector is on labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func container(t *testing.T, r rendered) (appsv1.Deployment, corev1.Container) {
	t.Helper()
	d := typed[appsv1.Deployment](t, r.get(t, "Deployment/kai-scaler"))
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	return d, d.Spec.Template.Spec.Containers[0]
}

// The default install is the kustomize base's: the same image, settings, security context and
// least-privilege RBAC, a required API token from a generated Secret, and nothing optional.
func TestRenderDefaults(t *testing.T) {
	r := mustRender(t, "kai-scaler", nil)
	require.Equal(t, []string{
		"ClusterRole/kai-scaler", "ClusterRoleBinding/kai-scaler",
		"ConfigMap/kai-scaler-config",
		"ConfigMap/kai-scaler-dashboard-coordinator", "ConfigMap/kai-scaler-dashboard-hpa-metrics",
		"ConfigMap/kai-scaler-dashboard-predictive-scaling", "ConfigMap/kai-scaler-dashboard-supabase-pool",
		"ConfigMap/kai-scaler-services",
		"Deployment/kai-scaler", "Role/kai-scaler-leader-election", "RoleBinding/kai-scaler-leader-election",
		"Secret/kai-scaler-api", "Service/kai-scaler", "ServiceAccount/kai-scaler",
	}, r.keys(), "no ServiceMonitor, PrometheusRule, Redis, PDB or managed Roles by default")
	for _, o := range r.objs {
		switch o.GetKind() {
		case "ClusterRole", "ClusterRoleBinding":
			require.Empty(t, o.GetNamespace())
		default:
			require.Equal(t, releaseNS, o.GetNamespace(), "%s/%s", o.GetKind(), o.GetName())
		}
		require.Equal(t, "kai", o.GetLabels()["app.kubernetes.io/part-of"], "%s/%s", o.GetKind(), o.GetName())
	}

	d, c := container(t, r)
	require.Equal(t, int32(1), *d.Spec.Replicas)
	require.Equal(t, "ghcr.io/kai-platform/kai-scaler:"+baseImageTag(t), c.Image, "the tag the base pins (the chart's appVersion)")
	require.Equal(t, corev1.PullIfNotPresent, c.ImagePullPolicy)
	require.Equal(t, []string{"serve"}, c.Args)
	require.Equal(t, "kai-scaler", d.Spec.Template.Spec.ServiceAccountName)
	require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	require.False(t, c.Resources.Requests.Cpu().IsZero())
	require.False(t, c.Resources.Limits.Memory().IsZero())
	require.True(t, c.Resources.Limits.Cpu().IsZero(), "no CPU limit: it would throttle the forecast run")

	// Non-root 65532, read-only root filesystem, no capabilities.
	psc := d.Spec.Template.Spec.SecurityContext
	require.True(t, *psc.RunAsNonRoot)
	require.Equal(t, int64(65532), *psc.RunAsUser)
	require.Equal(t, int64(65532), *psc.RunAsGroup)
	require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
	require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	require.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)

	// The environment: every setting of the base's ConfigMap, with the base's values.
	cfg := typed[corev1.ConfigMap](t, r.get(t, "ConfigMap/kai-scaler-config"))
	require.Len(t, c.EnvFrom, 1)
	require.Equal(t, cfg.Name, c.EnvFrom[0].ConfigMapRef.Name)
	for k, v := range baseConfig(t) {
		require.Equal(t, v, cfg.Data[k], "%s: the chart's default differs from deploy/base's", k)
	}
	require.Empty(t, cfg.Data["REDIS_URL"])
	require.False(t, hasEnv(c, "REDIS_URL"), "embedded store by default")
	require.Empty(t, cfg.Data["INSECURE_NO_AUTH"])
	require.Equal(t, "256Mi", dataVolume(t, d).EmptyDir.SizeLimit.String())

	// The API token: required, from the generated Secret, random.
	tok := envVar(t, c, "API_TOKEN").ValueFrom.SecretKeyRef
	require.NotNil(t, tok)
	require.Equal(t, "kai-scaler-api", tok.Name)
	require.Equal(t, "token", tok.Key)
	require.False(t, *tok.Optional)
	token := secretValue(t, r, "Secret/kai-scaler-api", "token")
	require.Regexp(t, regexp.MustCompile(`^[A-Za-z0-9]{48}$`), token)
	again := secretValue(t, mustRender(t, "kai-scaler", nil), "Secret/kai-scaler-api", "token")
	require.NotEqual(t, token, again, "a new install gets a new random token, never a fixed one")

	// The services file: the ConfigMap, valid, mounted where SERVICES_FILE says.
	svcs := typed[corev1.ConfigMap](t, r.get(t, "ConfigMap/kai-scaler-services"))
	managed, err := scaling.ParseServices([]byte(svcs.Data["services.yaml"]))
	require.NoError(t, err, "services file:\n%s", svcs.Data["services.yaml"])
	require.Empty(t, managed)
	require.Equal(t, cfg.Data["SERVICES_FILE"], filepath.Join(mountOf(t, d, svcs.Name), "services.yaml"))
	require.NotEmpty(t, d.Spec.Template.Annotations["checksum/config"], "a changed config rolls the pods")

	// The Service selects the pods on the probes' port.
	svc := typed[corev1.Service](t, r.get(t, "Service/kai-scaler"))
	require.True(t, selects(svc.Spec.Selector, d.Spec.Template.Labels))
	require.Equal(t, d.Spec.Selector.MatchLabels, svc.Spec.Selector)
	require.Equal(t, "http", svc.Spec.Ports[0].TargetPort.String())
	require.Equal(t, ":8080", cfg.Data["LISTEN_ADDR"])

	// RBAC: cluster-wide HPA reads (the base's ClusterRole) and the Lease; no writes anywhere
	// without managed services.
	cr := typed[rbacv1.ClusterRole](t, r.get(t, "ClusterRole/kai-scaler"))
	require.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"},
		Verbs: []string{"get", "list", "watch"}}}, cr.Rules)
	crb := typed[rbacv1.ClusterRoleBinding](t, r.get(t, "ClusterRoleBinding/kai-scaler"))
	require.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "kai-scaler", Namespace: releaseNS}}, crb.Subjects)
	lease := typed[rbacv1.Role](t, r.get(t, "Role/kai-scaler-leader-election"))
	require.Equal(t, []string{"coordination.k8s.io"}, lease.Rules[0].APIGroups)
}

// TestRenderToggles renders the main combinations of values and checks what each adds.
func TestRenderToggles(t *testing.T) {
	tests := []struct {
		name, release, values string
		check                 func(t *testing.T, r rendered)
	}{
		{
			name: "managed services get namespaced Roles like kai-scaler rbac",
			values: `
services:
  - {name: web, namespace: shop, query: "sum(rate(x[5m]))", capacityPerReplica: 10, leadTimeSeconds: 60}
  - {name: api, namespace: auth, query: "sum(rate(y[5m]))", capacityPerReplica: 5, leadTimeSeconds: 60}
  - {name: cart, namespace: shop, query: "sum(rate(z[5m]))", capacityPerReplica: 5, leadTimeSeconds: 60}`,
			check: func(t *testing.T, r rendered) {
				svcs := typed[corev1.ConfigMap](t, r.get(t, "ConfigMap/kai-scaler-services"))
				managed, err := scaling.ParseServices([]byte(svcs.Data["services.yaml"]))
				require.NoError(t, err)
				require.Len(t, managed, 3)
				require.Equal(t, "web", managed[0].Name)
				require.Equal(t, "shop", managed[0].Namespace)
				checkManagedRBAC(t, r, []string{"shop", "auth", "shop"})
			},
		},
		{
			name: "cluster-wide RBAC",
			values: `
rbac: {clusterWide: true}
services:
  - {name: web, namespace: shop, query: "sum(rate(x[5m]))", capacityPerReplica: 10, leadTimeSeconds: 60}`,
			check: func(t *testing.T, r rendered) {
				for _, o := range r.objs {
					require.NotEqual(t, "Role/kai-scaler-managed", o.GetKind()+"/"+o.GetName(), "no per-namespace Roles")
				}
				cr := typed[rbacv1.ClusterRole](t, r.get(t, "ClusterRole/kai-scaler-managed"))
				require.Equal(t, kube.ManagedRules(), cr.Rules)
				crb := typed[rbacv1.ClusterRoleBinding](t, r.get(t, "ClusterRoleBinding/kai-scaler-managed"))
				require.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "kai-scaler-managed"}, crb.RoleRef)
				require.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "kai-scaler", Namespace: releaseNS}}, crb.Subjects)
			},
		},
		{
			name:   "bundled Redis with a generated password",
			values: `{replicaCount: 2, redis: {bundled: {enabled: true}}}`,
			check: func(t *testing.T, r rendered) {
				checkBundledRedis(t, r, "kai-scaler-redis")
				pw := secretValue(t, r, "Secret/kai-scaler-redis", "password")
				require.Regexp(t, regexp.MustCompile(`^[A-Za-z0-9]{40}$`), pw, "URL-safe: it goes into redis://")
				d, _ := container(t, r)
				require.Equal(t, int32(2), *d.Spec.Replicas)
				pdb := typed[policyv1.PodDisruptionBudget](t, r.get(t, "PodDisruptionBudget/kai-scaler"))
				require.Equal(t, 1, pdb.Spec.MinAvailable.IntValue())
				require.True(t, selects(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels))
			},
		},
		{
			name:   "bundled Redis with an existing password Secret",
			values: `{redis: {bundled: {enabled: true, passwordSecret: {name: my-redis, key: pw}, networkPolicy: {enabled: true}}}}`,
			check: func(t *testing.T, r rendered) {
				checkBundledRedis(t, r, "my-redis")
				require.NotContains(t, r.by, "Secret/kai-scaler-redis", "the chart does not make a Secret it was given")
				require.NotContains(t, r.by, "PodDisruptionBudget/kai-scaler", "one replica: no PDB")
			},
		},
		{
			name:   "external Redis with a password Secret",
			values: `{replicaCount: 2, redis: {prefix: "prod:", external: {url: "rediss://redis.example:6380/1", passwordSecret: {name: redis-auth}}}}`,
			check: func(t *testing.T, r rendered) {
				_, c := container(t, r)
				pw := envVar(t, c, "REDIS_PASSWORD").ValueFrom.SecretKeyRef
				require.Equal(t, "redis-auth", pw.Name)
				require.Equal(t, "password", pw.Key)
				require.Less(t, envIndex(c, "REDIS_PASSWORD"), envIndex(c, "REDIS_URL"), "$(REDIS_PASSWORD) expands from earlier variables only")
				require.Equal(t, "rediss://:$(REDIS_PASSWORD)@redis.example:6380/1", envVar(t, c, "REDIS_URL").Value)
				cfg := typed[corev1.ConfigMap](t, r.get(t, "ConfigMap/kai-scaler-config"))
				require.Equal(t, "prod:", cfg.Data["REDIS_PREFIX"])
				for _, k := range r.keys() {
					require.NotContains(t, k, "kai-scaler-redis", "no bundled Redis")
				}
			},
		},
		{
			name:   "external Sentinel without a password",
			values: `{redis: {external: {url: "s1:26379,s2:26379", masterName: mymaster}}}`,
			check: func(t *testing.T, r rendered) {
				d, c := container(t, r)
				require.Equal(t, "s1:26379,s2:26379", envVar(t, c, "REDIS_URL").Value)
				require.False(t, hasEnv(c, "REDIS_PASSWORD"))
				cfg := typed[corev1.ConfigMap](t, r.get(t, "ConfigMap/kai-scaler-config"))
				require.Equal(t, "mymaster", cfg.Data["REDIS_MASTER_NAME"])
				require.Equal(t, "16Mi", dataVolume(t, d).EmptyDir.SizeLimit.String(), "the embedded store's volume is unused")
			},
		},
		{
			name:    "ServiceMonitor and PrometheusRule under another release name",
			release: "prod",
			values: `
serviceMonitor: {enabled: true, labels: {release: kps}}
prometheusRule: {enabled: true, labels: {release: kps}}`,
			check: func(t *testing.T, r rendered) {
				svc := typed[corev1.Service](t, r.get(t, "Service/prod-kai-scaler"))
				sm := r.get(t, "ServiceMonitor/prod-kai-scaler")
				require.Equal(t, "kps", sm.GetLabels()["release"])
				sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
				require.True(t, selects(sel, svc.Labels), "the ServiceMonitor selects the Service")
				// The alert rules select job="kai-scaler": the job comes from the Service's label
				// named by jobLabel, not from the Service's name (prod-kai-scaler).
				jobLabel, _, _ := unstructured.NestedString(sm.Object, "spec", "jobLabel")
				require.Equal(t, "kai-scaler", svc.Labels[jobLabel])
				eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
				require.Len(t, eps, 1)
				require.Equal(t, "http", eps[0].(map[string]any)["port"])
				require.Equal(t, "/metrics", eps[0].(map[string]any)["path"])
				// kai-scaler's service and namespace labels name the managed service: the
				// operator's target labels must not replace them (see deploy/base).
				require.Equal(t, true, eps[0].(map[string]any)["honorLabels"])

				pr := r.get(t, "PrometheusRule/prod-kai-scaler")
				require.Equal(t, "kps", pr.GetLabels()["release"])
				require.Equal(t, wantRuleGroups(t), ruleGroups(t, pr), "the chart's rules are deploy/base's")
			},
		},
		{
			name: "existing token Secret, dry run, image and env overrides",
			values: `
apiToken: {existingSecret: my-token, secretKey: api}
image: {repository: registry.example/kai, tag: v9.9.9, pullPolicy: Always}
config: {dryRun: true, forecastSchedule: "@every 30m", prometheusURL: "http://thanos:9090", logLevel: debug}
extraEnv: [{name: PROMETHEUS_HEADERS, valueFrom: {secretKeyRef: {name: prom, key: headers}}}]
resources: {requests: {cpu: 1, memory: 1Gi}}`,
			check: func(t *testing.T, r rendered) {
				require.NotContains(t, r.by, "Secret/kai-scaler-api")
				_, c := container(t, r)
				tok := envVar(t, c, "API_TOKEN").ValueFrom.SecretKeyRef
				require.Equal(t, "my-token", tok.Name)
				require.Equal(t, "api", tok.Key)
				require.Equal(t, "registry.example/kai:v9.9.9", c.Image)
				require.Equal(t, corev1.PullAlways, c.ImagePullPolicy)
				cfg := typed[corev1.ConfigMap](t, r.get(t, "ConfigMap/kai-scaler-config"))
				require.Equal(t, "true", cfg.Data["DRY_RUN"])
				require.Equal(t, "@every 30m", cfg.Data["FORECAST_SCHEDULE"])
				require.Equal(t, "http://thanos:9090", cfg.Data["PROMETHEUS_URL"])
				require.Equal(t, "debug", cfg.Data["LOG_LEVEL"])
				require.Equal(t, "prom", envVar(t, c, "PROMETHEUS_HEADERS").ValueFrom.SecretKeyRef.Name)
				require.Equal(t, "1", c.Resources.Requests.Cpu().String())
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release := tc.release
			if release == "" {
				release = "kai-scaler"
			}
			tc.check(t, mustRender(t, release, values(t, tc.values)))
		})
	}
}

// Every dashboard of the catalog ships as a ConfigMap for Grafana's sidecar holding exactly
// the committed JSON, as deploy/base ships them; none when turned off.
func TestRenderDashboards(t *testing.T) {
	r := mustRender(t, "kai-scaler", nil)
	got := map[string]string{}
	for _, o := range r.objs {
		if o.GetKind() != "ConfigMap" || o.GetLabels()["grafana_dashboard"] != "1" {
			continue
		}
		cm := typed[corev1.ConfigMap](t, o)
		require.Len(t, cm.Data, 1, cm.Name)
		require.Equal(t, "KAI", cm.Annotations["grafana_folder"])
		for k, v := range cm.Data {
			got[k] = v
		}
	}
	require.Len(t, got, len(dashboards.Catalog()))
	for _, e := range dashboards.Catalog() {
		want, err := os.ReadFile(filepath.Join(repoRoot, "dashboards", "json", e.File()))
		require.NoError(t, err)
		require.Equal(t, string(want), got[e.File()], "%s: run make dashboards", e.UID)
	}

	off := mustRender(t, "kai-scaler", values(t, `{grafanaDashboards: {enabled: false}}`))
	for _, k := range off.keys() {
		require.NotContains(t, k, "dashboard")
	}
}

// Values that cannot work fail the install with a message instead of rendering a broken
// release.
func TestRenderRefuses(t *testing.T) {
	tests := []struct{ name, values, wantErr string }{
		{"several replicas on the embedded store", `{replicaCount: 3}`, "replicaCount > 1 needs redis"},
		{"both Redis kinds", `{redis: {bundled: {enabled: true}, external: {url: "redis://r:6379"}}}`, "not both"},
		{"a password Secret and a password in the URL", `{redis: {external: {url: "redis://:secret@r:6379", passwordSecret: {name: s}}}}`, "without a password"},
		{"a password Secret with several addresses", `{redis: {external: {url: "redis://a:6379,redis://b:6379", passwordSecret: {name: s}}}}`, "one redis://"},
		{"a service without a namespace", `{services: [{name: web, query: q, capacityPerReplica: 1, leadTimeSeconds: 60}]}`, "missing property 'namespace'"},
		{"no service account to run as", `{serviceAccount: {create: false}}`, "serviceAccount.name is required"},
		// values.schema.json: a misspelt key would otherwise install without what it meant.
		{"a misspelt value", `{redis: {bundeld: {enabled: true}}}`, "bundeld"},
		{"a wrong type", `{config: {dryRun: "yes"}}`, "dryRun"},
		{"an unknown log level", `{config: {logLevel: verbose}}`, "logLevel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChart(t, "kai-scaler", values(t, tc.values))
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// The chart's alert rules and dashboards are copies of dashboards/alerts.yaml and
// dashboards/json ("make dashboards" copies them): the chart renders from them, so they must
// stay equal to the tested originals.
func TestChartCopiesMatchDashboards(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(repoRoot, "dashboards", "alerts.yaml"))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(chartDir, "files", "alerts.yaml"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "run make dashboards (it copies dashboards/alerts.yaml into the chart)")

	// And the dashboards: the same files (none left behind when one is removed).
	want2, err := filepath.Glob(filepath.Join(repoRoot, "dashboards", "json", "*.json"))
	require.NoError(t, err)
	got2, err := filepath.Glob(filepath.Join(chartDir, "files", "dashboards", "*.json"))
	require.NoError(t, err)
	require.Len(t, got2, len(want2), "run make dashboards")
	for _, w := range want2 {
		a, err := os.ReadFile(w)
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(chartDir, "files", "dashboards", filepath.Base(w)))
		require.NoError(t, err, "run make dashboards")
		require.Equal(t, string(a), string(b), "%s: run make dashboards", filepath.Base(w))
	}
}

// TestLint runs helm lint (strict: no warnings) on the default values and the toggles.
func TestLint(t *testing.T) {
	for _, doc := range []string{
		``,
		`{serviceMonitor: {enabled: true}, prometheusRule: {enabled: true}}`,
		`{replicaCount: 2, redis: {bundled: {enabled: true}}}`,
		`{rbac: {clusterWide: true}, redis: {external: {url: "redis://r:6379/0", passwordSecret: {name: s}}}}`,
	} {
		t.Run(doc, func(t *testing.T) {
			res := lint.AllWithKubeVersion(chartDir, values(t, doc), releaseNS, kubeVer(t))
			for _, m := range res.Messages {
				t.Log(m)
				// The icon is the one recommendation left: the project has no logo to point at.
				if m.Severity == support.InfoSev && strings.Contains(m.Err.Error(), "icon is recommended") {
					continue
				}
				require.Less(t, m.Severity, support.InfoSev, "lint: %s", m)
			}
			require.Less(t, res.HighestSeverity, support.WarningSev)
		})
	}
}

// checkManagedRBAC: the Roles and RoleBindings are what "kai-scaler rbac --services FILE"
// generates for these namespaces (kube.ManagedRBAC), apart from the chart's labels.
func checkManagedRBAC(t *testing.T, r rendered, namespaces []string) {
	t.Helper()
	manifest, err := kube.ManagedRBAC(namespaces, kube.RBACOptions{Namespace: releaseNS})
	require.NoError(t, err)
	want, err := kubetest.DecodeYAML(manifest)
	require.NoError(t, err)
	require.Len(t, want, 4, "two namespaces")
	for _, w := range want {
		got := r.get(t, w.GetKind()+"/"+w.GetName()+"@"+w.GetNamespace())
		switch w.GetKind() {
		case "Role":
			require.Equal(t, typed[rbacv1.Role](t, w).Rules, typed[rbacv1.Role](t, got).Rules)
		case "RoleBinding":
			wb, gb := typed[rbacv1.RoleBinding](t, w), typed[rbacv1.RoleBinding](t, got)
			require.Equal(t, wb.RoleRef, gb.RoleRef)
			require.Equal(t, wb.Subjects, gb.Subjects)
		default:
			t.Fatalf("unexpected %s", w.GetKind())
		}
	}
	managed := 0
	for _, o := range r.objs {
		if o.GetName() == kube.ManagedRoleName {
			managed++
		}
	}
	require.Equal(t, len(want), managed, "nothing more than kai-scaler rbac generates")
}

// checkBundledRedis: kai-scaler's REDIS_URL holds the password of the Secret Redis requires,
// names the Redis Service, which selects the Redis pods only; only kai-scaler's pods reach
// them. Regression guard for issue 11, item 2 (Redis without a password, open to every pod).
func checkBundledRedis(t *testing.T, r rendered, secret string) {
	t.Helper()
	d, c := container(t, r)
	require.Less(t, envIndex(c, "REDIS_PASSWORD"), envIndex(c, "REDIS_URL"))
	require.Equal(t, secret, envVar(t, c, "REDIS_PASSWORD").ValueFrom.SecretKeyRef.Name)
	require.Equal(t, "redis://:$(REDIS_PASSWORD)@kai-scaler-redis:6379/0", envVar(t, c, "REDIS_URL").Value)
	require.Equal(t, "16Mi", dataVolume(t, d).EmptyDir.SizeLimit.String())

	rsvc := typed[corev1.Service](t, r.get(t, "Service/kai-scaler-redis"))
	sts := typed[appsv1.StatefulSet](t, r.get(t, "StatefulSet/kai-scaler-redis"))
	require.True(t, selects(rsvc.Spec.Selector, sts.Spec.Template.Labels))
	require.False(t, selects(rsvc.Spec.Selector, d.Spec.Template.Labels))
	require.False(t, selects(d.Spec.Selector.MatchLabels, sts.Spec.Template.Labels), "kai-scaler's Deployment must not own Redis' pods")
	require.Equal(t, int32(6379), rsvc.Spec.Ports[0].Port)
	require.True(t, *sts.Spec.Template.Spec.SecurityContext.RunAsNonRoot)

	rc := sts.Spec.Template.Spec.Containers[0]
	i := slices.Index(rc.Args, "--requirepass")
	require.GreaterOrEqual(t, i, 0, "redis args: %v", rc.Args)
	require.Equal(t, "$(REDIS_PASSWORD)", rc.Args[i+1])
	require.Equal(t, secret, envVar(t, rc, "REDIS_PASSWORD").ValueFrom.SecretKeyRef.Name)
	require.Equal(t, secret, envVar(t, rc, "REDISCLI_AUTH").ValueFrom.SecretKeyRef.Name, "the redis-cli probe authenticates")
	require.Equal(t, envVar(t, c, "REDIS_PASSWORD").ValueFrom.SecretKeyRef.Key, envVar(t, rc, "REDIS_PASSWORD").ValueFrom.SecretKeyRef.Key)

	np := typed[networkingv1.NetworkPolicy](t, r.get(t, "NetworkPolicy/kai-scaler-redis"))
	require.True(t, selects(np.Spec.PodSelector.MatchLabels, sts.Spec.Template.Labels))
	require.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, np.Spec.PolicyTypes)
	require.Len(t, np.Spec.Ingress, 1)
	require.Len(t, np.Spec.Ingress[0].From, 1)
	require.Nil(t, np.Spec.Ingress[0].From[0].NamespaceSelector)
	require.True(t, selects(np.Spec.Ingress[0].From[0].PodSelector.MatchLabels, d.Spec.Template.Labels))
	require.False(t, selects(np.Spec.Ingress[0].From[0].PodSelector.MatchLabels, sts.Spec.Template.Labels))
	require.Equal(t, "redis", np.Spec.Ingress[0].Ports[0].Port.String())
}

func secretValue(t *testing.T, r rendered, key, field string) string {
	t.Helper()
	s := typed[corev1.Secret](t, r.get(t, key))
	if v, ok := s.StringData[field]; ok {
		return v
	}
	require.Contains(t, s.Data, field)
	return string(s.Data[field])
}

func dataVolume(t *testing.T, d appsv1.Deployment) corev1.Volume {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "data" {
			require.NotNil(t, v.EmptyDir)
			require.NotNil(t, v.EmptyDir.SizeLimit)
			return v
		}
	}
	t.Fatal("no data volume")
	return corev1.Volume{}
}

// mountOf returns where the ConfigMap name is mounted in the kai-scaler container.
func mountOf(t *testing.T, d appsv1.Deployment, configMap string) string {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == configMap {
			for _, m := range c.VolumeMounts {
				if m.Name == v.Name {
					require.True(t, m.ReadOnly)
					return m.MountPath
				}
			}
		}
	}
	t.Fatalf("ConfigMap %s is not mounted", configMap)
	return ""
}

// kustomization is the part of deploy/base/kustomization.yaml the chart's defaults follow.
type kustomization struct {
	Images []struct {
		Name, NewName, NewTag string
	} `json:"images"`
	ConfigMapGenerator []struct {
		Name     string   `json:"name"`
		Literals []string `json:"literals"`
	} `json:"configMapGenerator"`
}

func readKustomization(t *testing.T) kustomization {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "base", "kustomization.yaml"))
	require.NoError(t, err)
	var k kustomization
	require.NoError(t, yaml.Unmarshal(b, &k))
	return k
}

// baseImageTag is the version deploy/base pins.
func baseImageTag(t *testing.T) string {
	t.Helper()
	for _, img := range readKustomization(t).Images {
		if img.Name == "kai-scaler" {
			require.NotEmpty(t, img.NewTag)
			return img.NewTag
		}
	}
	t.Fatal("deploy/base pins no kai-scaler image")
	return ""
}

// baseConfig is the environment deploy/base gives kai-scaler (ConfigMap kai-scaler-config).
func baseConfig(t *testing.T) map[string]string {
	t.Helper()
	for _, g := range readKustomization(t).ConfigMapGenerator {
		if g.Name != "kai-scaler-config" {
			continue
		}
		out := map[string]string{}
		for _, l := range g.Literals {
			k, v, ok := strings.Cut(l, "=")
			require.True(t, ok, l)
			out[k] = v
		}
		require.Contains(t, out, "DRY_RUN")
		return out
	}
	t.Fatal("deploy/base has no kai-scaler-config")
	return nil
}

func ruleGroups(t *testing.T, pr *unstructured.Unstructured) []any {
	t.Helper()
	groups, ok, err := unstructured.NestedSlice(pr.Object, "spec", "groups")
	require.NoError(t, err)
	require.True(t, ok, "PrometheusRule without spec.groups")
	return groups
}

// wantRuleGroups are the groups of the generated deploy/base/prometheusrule.yaml.
func wantRuleGroups(t *testing.T) []any {
	t.Helper()
	want, err := dashboards.PrometheusRule()
	require.NoError(t, err)
	objs, err := kubetest.DecodeYAML(want)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	groups := ruleGroups(t, objs[0])
	require.NotEmpty(t, groups)
	return groups
}
