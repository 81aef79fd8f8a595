package kubetest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery/cached/memory"
)

// OperatorModule holds the prometheus-operator CRDs (example/prometheus-operator-crd). The
// module proxy serves the main module up to v0.85.0 only (later versions: 403), so the CRDs
// come from that release; ServiceMonitor and PrometheusRule are monitoring.coreos.com/v1 in
// both it and the v0.95.2 API types the project requires.
const OperatorModule = "github.com/prometheus-operator/prometheus-operator@v0.85.0"

// OperatorCRDs downloads the operator module through the Go module proxy (or finds it in the
// module cache) and returns the ServiceMonitor and PrometheusRule CRD manifests.
func OperatorCRDs(t testing.TB) [][]byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "mod", "download", "-json", OperatorModule)
	cmd.Dir = t.TempDir() // outside the project: nothing is added to its go.mod or go.sum
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var mod struct{ Dir, Error string }
	require.NoError(t, json.Unmarshal(out, &mod), "go mod download: %v %s", err, out)
	require.Empty(t, mod.Error)
	require.NoError(t, err)
	var crds [][]byte
	for _, name := range []string{"monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"} {
		b, err := os.ReadFile(filepath.Join(mod.Dir, "example", "prometheus-operator-crd", name))
		require.NoError(t, err)
		crds = append(crds, b)
	}
	return crds
}

// InstallOperatorCRDs applies OperatorCRDs and waits until the API server serves both kinds.
func (e *Env) InstallOperatorCRDs(t testing.TB) {
	t.Helper()
	for _, crd := range OperatorCRDs(t) {
		e.ApplyYAML(t, crd)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	disc := memory.NewMemCacheClient(e.Clientset.Discovery())
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		disc.Invalidate()
		rl, err := disc.ServerResourcesForGroupVersion("monitoring.coreos.com/v1")
		if err != nil {
			return false, nil
		}
		found := map[string]bool{}
		for _, r := range rl.APIResources {
			found[r.Kind] = true
		}
		return found["ServiceMonitor"] && found["PrometheusRule"], nil
	})
	require.NoError(t, err, "prometheus-operator CRDs not served")
}
