package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
)

// hpaYAML is an autoscaling/v2 HPA manifest with spec's lines (two-space indented) after the
// header.
func hpaYAML(spec ...string) string {
	return "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: api\nspec:\n" + strings.Join(spec, "\n") + "\n"
}

// kubectlHPA is an HPA as `kubectl get hpa api -o yaml` prints it, status and managed fields
// included: every field of it is known.
const kubectlHPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"api"}}
  creationTimestamp: "2025-01-06T10:00:00Z"
  labels:
    app: api
  managedFields:
  - apiVersion: autoscaling/v2
    fieldsType: FieldsV1
    fieldsV1:
      f:spec:
        f:maxReplicas: {}
    manager: kubectl-client-side-apply
    operation: Update
    time: "2025-01-06T10:00:00Z"
  name: api
  namespace: shop
  resourceVersion: "123456"
  uid: 0b6b8f8e-0000-4000-8000-000000000000
spec:
  behavior:
    scaleDown:
      policies:
      - periodSeconds: 60
        type: Pods
        value: 1
      selectPolicy: Max
      stabilizationWindowSeconds: 0
    scaleUp:
      policies:
      - periodSeconds: 15
        type: Percent
        value: 100
      - periodSeconds: 15
        type: Pods
        value: 4
      selectPolicy: Max
      stabilizationWindowSeconds: 0
  maxReplicas: 10
  metrics:
  - resource:
      name: cpu
      target:
        averageUtilization: 70
        type: Utilization
    type: Resource
  minReplicas: 2
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: api
status:
  conditions:
  - lastTransitionTime: "2025-01-06T10:00:00Z"
    message: recommended size matches current size
    reason: ReadyForNewScale
    status: "True"
    type: AbleToScale
  currentMetrics:
  - resource:
      current:
        averageUtilization: 12
        averageValue: 12m
      name: cpu
    type: Resource
  currentReplicas: 2
  desiredReplicas: 2
  lastScaleTime: 2025-01-06T10:00:00Z
`

func TestReadHPAManifest(t *testing.T) {
	onePodPerMinute := actuator.ScalingRules{StabilizationWindow: -1, Policies: []actuator.ScalingPolicy{{Value: 1, Period: time.Minute}}}
	tests := []struct {
		name    string
		data    string
		want    hpaManifest
		wantErr string
	}{
		{name: "kubectl get -o yaml", data: kubectlHPA, want: hpaManifest{Name: "api", MinReplicas: 2, MaxReplicas: 10, Metrics: 1, Behavior: actuator.Behavior{
			ScaleUp: actuator.ScalingRules{StabilizationWindow: -1, Policies: []actuator.ScalingPolicy{
				{Percent: true, Value: 100, Period: 15 * time.Second}, {Value: 4, Period: 15 * time.Second}}},
			ScaleDown: onePodPerMinute}}},
		{name: "minReplicas left out is 1, no behavior the controller's older path", data: hpaYAML("  maxReplicas: 5"),
			want: hpaManifest{Name: "api", MinReplicas: 1, MaxReplicas: 5, Behavior: actuator.Behavior{Unset: true}}},
		{name: "behavior: {} the defaults", data: hpaYAML("  maxReplicas: 5", "  behavior: {}"),
			want: hpaManifest{Name: "api", MinReplicas: 1, MaxReplicas: 5}},
		{name: "JSON", data: `{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "spec": {"minReplicas": 3, "maxReplicas": 8,
			"behavior": {"scaleDown": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}}}`,
			want: hpaManifest{MinReplicas: 3, MaxReplicas: 8, Behavior: actuator.Behavior{ScaleDown: onePodPerMinute}}},
		{name: "a leading document separator and comments", data: "# the api's HPA\n---\n" + hpaYAML("  maxReplicas: 5") + "---\n# end\n",
			want: hpaManifest{Name: "api", MinReplicas: 1, MaxReplicas: 5, Behavior: actuator.Behavior{Unset: true}}},
		{name: "tolerance, a quantity", data: hpaYAML("  maxReplicas: 5", "  behavior:", "    scaleUp:", "      tolerance: 0.05"),
			want: hpaManifest{Name: "api", MinReplicas: 1, MaxReplicas: 5, Behavior: actuator.Behavior{ScaleUp: actuator.ScalingRules{Tolerance: 0.05}}}},

		// Kind and version.
		{name: "v2beta2", data: strings.Replace(hpaYAML("  maxReplicas: 5"), "autoscaling/v2", "autoscaling/v2beta2", 1),
			wantErr: `apiVersion: "autoscaling/v2beta2" must be autoscaling/v2 (v2beta2 was removed in Kubernetes 1.26): convert it; v2 has the same fields, so setting apiVersion: autoscaling/v2 does, ` +
				"or read it from the cluster as v2: kubectl get horizontalpodautoscalers.v2.autoscaling NAME -o yaml"},
		{name: "v2beta1", data: strings.Replace(hpaYAML("  maxReplicas: 5"), "autoscaling/v2", "autoscaling/v2beta1", 1),
			wantErr: `apiVersion: "autoscaling/v2beta1" must be autoscaling/v2 (v2beta1 was removed in Kubernetes 1.25): convert it, or read it from the cluster as v2`},
		{name: "v1, whose fields v2 does not know", data: strings.Replace(hpaYAML("  maxReplicas: 5", "  targetCPUUtilizationPercentage: 70"), "autoscaling/v2", "autoscaling/v1", 1),
			wantErr: `apiVersion: "autoscaling/v1" has no behavior (the scaling policies and stabilization windows simulate replays): give the HPA as autoscaling/v2, ` +
				"e.g. read it from the cluster as v2: kubectl get horizontalpodautoscalers.v2.autoscaling NAME -o yaml"},
		{name: "no apiVersion", data: "kind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 5\n", wantErr: "apiVersion: missing, must be autoscaling/v2"},
		{name: "another API group", data: strings.Replace(hpaYAML("  maxReplicas: 5"), "autoscaling/v2", "keda.sh/v1alpha1", 1),
			wantErr: `apiVersion: "keda.sh/v1alpha1" must be autoscaling/v2`},
		{name: "a Deployment", data: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n", wantErr: `kind: "Deployment" must be HorizontalPodAutoscaler`},
		{name: "no kind", data: "apiVersion: autoscaling/v2\nspec:\n  maxReplicas: 5\n", wantErr: "kind: missing, must be HorizontalPodAutoscaler"},
		{name: "a list", data: "apiVersion: v1\nkind: List\nitems: []\n",
			wantErr: `kind: "List" must be HorizontalPodAutoscaler: a list, as kubectl get hpa prints without a name; give one HPA (kubectl get hpa NAME -o yaml)`},

		// Replicas.
		{name: "no maxReplicas", data: hpaYAML("  minReplicas: 2"), wantErr: "spec.maxReplicas: must be set, 1 or more"},
		{name: "no spec", data: "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n", wantErr: "spec.maxReplicas: must be set, 1 or more"},
		{name: "negative maxReplicas", data: hpaYAML("  maxReplicas: -3"), wantErr: "spec.maxReplicas: -3 must be 1 or more"},
		{name: "minReplicas 0", data: hpaYAML("  minReplicas: 0", "  maxReplicas: 5"), wantErr: "spec.minReplicas: 0 must be 1 or more (scaling to zero is not simulated)"},
		{name: "minReplicas above maxReplicas", data: hpaYAML("  minReplicas: 6", "  maxReplicas: 5"), wantErr: "spec.minReplicas: 6 must be at most spec.maxReplicas, 5"},

		// Behavior, as kube.BehaviorOf validates it, under spec.
		{name: "a policy period of 0", data: hpaYAML("  maxReplicas: 5", "  behavior:", "    scaleDown:", "      policies:", "      - type: Pods", "        value: 1", "        periodSeconds: 0"),
			wantErr: "spec.behavior.scaleDown.policies[0].periodSeconds: 0 must be 1 to 1800"},
		{name: "a window of two hours", data: hpaYAML("  maxReplicas: 5", "  behavior:", "    scaleUp:", "      stabilizationWindowSeconds: 7200"),
			wantErr: "spec.behavior.scaleUp.stabilizationWindowSeconds: 7200 must be 0 to 3600"},
		{name: "an unknown select policy", data: hpaYAML("  maxReplicas: 5", "  behavior:", "    scaleDown:", "      selectPolicy: Maximum"),
			wantErr: `spec.behavior.scaleDown.selectPolicy: "Maximum" must be Max, Min or Disabled`},
		{name: "a policy of an unknown type", data: hpaYAML("  maxReplicas: 5", "  behavior:", "    scaleDown:", "      policies:", "      - type: Replicas", "        value: 1", "        periodSeconds: 60"),
			wantErr: `spec.behavior.scaleDown.policies[0].type: "Replicas" must be Pods or Percent`},
		{name: "a tolerance that is no quantity", data: hpaYAML("  maxReplicas: 5", "  behavior:", "    scaleDown:", "      tolerance: five"),
			wantErr: `spec.behavior.scaleDown.tolerance: "five" is no quantity (e.g. 0.05, 500m, 2Gi): quantities must match the regular expression`},
		{name: "a metric's target that is no quantity", data: hpaYAML("  maxReplicas: 5", "  metrics:", "  - type: Pods", "    pods:",
			"      metric: {name: rps}", "      target: {type: AverageValue, averageValue: 100 rps}"),
			wantErr: `spec.metrics[0].pods.target.averageValue: "100 rps" is no quantity (e.g. 0.05, 500m, 2Gi): quantities must match`},
		{name: "a current value in the status that is no quantity", data: hpaYAML("  maxReplicas: 5", "status:", "  currentMetrics:", "  - type: External",
			"    external:", "      metric: {name: queue}", "      current: {value: lots}"),
			wantErr: `status.currentMetrics[0].external.current.value: "lots" is no quantity`},

		// Strictness: what the replay would skip is an error, with its path.
		{name: "a misspelt field", data: hpaYAML("  maxReplicas: 5", "  behavior:", "    scaleDown:", "      stabilisationWindowSeconds: 0"),
			wantErr: `unknown field "spec.behavior.scaleDown.stabilisationWindowSeconds"`},
		{name: "an unknown field in a list", data: hpaYAML("  maxReplicas: 5", "  behavior:", "    scaleDown:", "      policies:", "      - type: Pods", "        value: 1", "        period: 60"),
			wantErr: `unknown field "spec.behavior.scaleDown.policies[0].period"`},
		{name: "an unknown top-level field", data: hpaYAML("  maxReplicas: 5") + "extra: 1\n", wantErr: `unknown field "extra"`},
		{name: "a field in the wrong case", data: hpaYAML("  maxReplicas: 5", "  MinReplicas: 2"),
			wantErr: `unknown field "spec.MinReplicas"`},
		{name: "a duplicated key", data: hpaYAML("  maxReplicas: 5", "  maxReplicas: 6"), wantErr: `yaml: unmarshal errors: line 7: key "maxReplicas" already set in map`},
		{name: "a string for an integer", data: hpaYAML("  maxReplicas: ten"), wantErr: "spec.maxReplicas: string, want an integer"},
		{name: "a fraction for an integer", data: hpaYAML("  maxReplicas: 2.5"), wantErr: "spec.maxReplicas: number 2.5, want an integer"},
		{name: "a list for a mapping", data: "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec: [5]\n", wantErr: "spec: array, want a mapping"},

		// Not a manifest.
		{name: "YAML that does not parse", data: hpaYAML("  maxReplicas: 5", "   minReplicas: 2"), wantErr: "yaml: line 7: mapping values are not allowed in this context"},
		{name: "JSON that does not parse", data: "{\"apiVersion\": \"autoscaling/v2\",\n \"kind\": \"HorizontalPodAutoscaler\"\n", wantErr: "yaml: line 2: did not find expected ',' or '}'"},
		{name: "a trace CSV", data: "timestamp,value\n2025-01-06T00:00:00Z,3\n", wantErr: "the manifest: string, want a mapping"},
		{name: "empty", data: "", wantErr: "empty: want an autoscaling/v2 HorizontalPodAutoscaler manifest"},
		{name: "comments only", data: "# nothing\n---\n", wantErr: "empty: want an autoscaling/v2 HorizontalPodAutoscaler manifest"},
		{name: "two documents", data: "apiVersion: apps/v1\nkind: Deployment\n---\n" + hpaYAML("  maxReplicas: 5"),
			wantErr: "holds 2 YAML documents: give the HorizontalPodAutoscaler alone (kubectl get hpa NAME -o yaml)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readHPAManifest([]byte(tt.data))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "\n")
				require.NotContains(t, err.Error(), "error converting YAML to JSON", "the parser's layers are not the reader's business")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLoadHPAManifest(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "hpa.yaml")
	require.NoError(t, os.WriteFile(good, []byte(hpaYAML("  maxReplicas: 5")), 0o644))
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(hpaYAML("  maxReplicas: 0")), 0o644))

	m, err := loadHPAManifest(good, "hpa.yaml")
	require.NoError(t, err)
	require.Equal(t, int32(5), m.MaxReplicas)

	_, err = loadHPAManifest(bad, "bad.yaml")
	require.EqualError(t, err, `--hpa "bad.yaml": spec.maxReplicas: must be set, 1 or more`)
	_, err = loadHPAManifest(filepath.Join(dir, "nope.yaml"), "nope.yaml")
	require.EqualError(t, err, `--hpa "nope.yaml": cannot be read: no such file or directory`)
	_, err = loadHPAManifest(dir, "dir")
	require.EqualError(t, err, `--hpa "dir": cannot be read: is a directory`)
}

func TestHPAManifestReplicaBounds(t *testing.T) {
	m := hpaManifest{MinReplicas: 2, MaxReplicas: 10}
	given := func(flags map[string]string) func(string) string {
		return func(name string) string {
			if name == "hpa" {
				return "hpa.yaml"
			}
			return flags[name]
		}
	}
	tests := []struct {
		name             string
		m                hpaManifest
		min, max         int
		minSet, maxSet   bool
		wantMin, wantMax int
		wantErr          string
	}{
		{name: "the manifest's", m: m, min: 1, max: 20, wantMin: 2, wantMax: 10},
		{name: "--min wins", m: m, min: 4, max: 20, minSet: true, wantMin: 4, wantMax: 10},
		{name: "--max wins", m: m, min: 1, max: 30, maxSet: true, wantMin: 2, wantMax: 30},
		{name: "both win", m: m, min: 1, max: 1, minSet: true, maxSet: true, wantMin: 1, wantMax: 1},
		{name: "--min above the manifest's max", m: m, min: 12, max: 20, minSet: true, wantMin: 12, wantMax: 10,
			wantErr: `--min "12": must be at most --hpa "hpa.yaml"'s spec.maxReplicas, 10: give a --max too, or a lower --min`},
		{name: "--max below the manifest's min", m: m, min: 1, max: 1, maxSet: true, wantMin: 2, wantMax: 1,
			wantErr: `--max "1": must be at least --hpa "hpa.yaml"'s spec.minReplicas, 2: give a --min too, or a higher --max`},
		{name: "--min above --max", m: m, min: 5, max: 3, minSet: true, maxSet: true, wantMin: 5, wantMax: 3,
			wantErr: "want 1 <= --min <= --max, got 5 and 3"},
		{name: "a flag out of range is checkSimFlags'", m: m, min: 0, max: 20, minSet: true, wantMin: 0, wantMax: 10},
		{name: "more replicas than simulate replays", m: hpaManifest{MinReplicas: 1, MaxReplicas: 200_000}, min: 1, max: 20, wantMin: 1, wantMax: 200_000,
			wantErr: `--hpa "hpa.yaml": spec.maxReplicas: 200000 is more than simulate replays, 150000 (the pods of Kubernetes' largest supported cluster): give a --max`},
		{name: "more replicas than simulate replays, --max given", m: hpaManifest{MinReplicas: 1, MaxReplicas: 200_000}, min: 1, max: 20, maxSet: true, wantMin: 1, wantMax: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, err := tt.m.replicaBounds(tt.min, tt.max, tt.minSet, tt.maxSet, given(map[string]string{"min": strconv.Itoa(tt.min), "max": strconv.Itoa(tt.max)}))
			require.Equal(t, tt.wantMin, lo)
			require.Equal(t, tt.wantMax, hi)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestReportBehavior(t *testing.T) {
	got := reportBehavior(actuator.Behavior{})
	require.Equal(t, actuator.ScalingRules{}.ScaleUpDefaults().String(), got.ScaleUp)
	require.Equal(t, actuator.ScalingRules{}.ScaleDownDefaults().String(), got.ScaleDown)
	require.Contains(t, got.ScaleDown, "window 5m0s", "the default behavior, resolved")

	got = reportBehavior(actuator.Behavior{Unset: true})
	require.Equal(t, behaviorReport{ScaleUp: "unset, to at most 2× or 4 replicas a sync, tolerance 0.1", ScaleDown: "unset, window 5m0s, tolerance 0.1"}, got)
}
