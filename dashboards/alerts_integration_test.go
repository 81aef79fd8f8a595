package dashboards

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/kai-platform/kai-scaler/internal/testenv"
)

// promtool runs promtool in dir and fails the test with its output unless it succeeds.
func promtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), testenv.PromtoolBin(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %v:\n%s", args, out)
	return string(out)
}

func TestAlertRulesPromtool(t *testing.T) {
	promtool(t, ".", "check", "rules", "alerts.yaml")
	out := promtool(t, ".", "test", "rules", "alerts_test.yaml")
	require.Contains(t, out, "SUCCESS")
}

// The rules deployed through the PrometheusRule are the ones the unit tests cover.
func TestPrometheusRulePassesTheSameTests(t *testing.T) {
	var pr struct {
		Spec yaml.Node `yaml:"spec"`
	}
	b, err := os.ReadFile(filepath.Join("..", "deploy", "base", "prometheusrule.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &pr))
	rules, err := yaml.Marshal(&pr.Spec)
	require.NoError(t, err)
	tests, err := os.ReadFile("alerts_test.yaml")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts.yaml"), rules, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), tests, 0o644))
	promtool(t, dir, "check", "rules", "alerts.yaml")
	promtool(t, dir, "test", "rules", "alerts_test.yaml")
}

// A broken rule test must fail promtool, or the tests above prove nothing.
func TestPromtoolCatchesAWrongExpectation(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts.yaml"), alertRules, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(`rule_files: [alerts.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="kai-scaler", instance="a"}'
        values: '1x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: KaiScalerDown
        exp_alerts:
          - exp_labels: {severity: critical}
`), 0o644))
	cmd := exec.CommandContext(t.Context(), testenv.PromtoolBin(t), "test", "rules", "t.yaml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "promtool accepted an alert that cannot fire:\n%s", out)
	require.Contains(t, string(out), "FAILED")
}
