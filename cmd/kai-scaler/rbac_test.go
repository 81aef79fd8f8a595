package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRBACCommand(t *testing.T) {
	dir := t.TempDir()
	svcs := filepath.Join(dir, "services.yaml")
	require.NoError(t, os.WriteFile(svcs, []byte(`services:
  - {name: web, namespace: shop, query: "up", capacityPerReplica: 10}
  - {name: api, namespace: shop, query: "up", capacityPerReplica: 10}
  - {name: search, namespace: find, query: "up", capacityPerReplica: 10}
`), 0o600))
	var out, errOut bytes.Buffer
	code := run(t.Context(), cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }},
		[]string{"rbac", "--services", svcs, "--namespace", "ops"})
	require.Equal(t, 0, code, errOut.String())
	require.Equal(t, 4, strings.Count(out.String(), "name: kai-scaler-managed\n  namespace: "), out.String())
	require.Contains(t, out.String(), "namespace: find\n")
	require.Contains(t, out.String(), "namespace: shop\n")
	require.Contains(t, out.String(), "  name: kai-scaler\n  namespace: ops\n")
	require.NotContains(t, out.String(), "kube-system")

	code = run(t.Context(), cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }},
		[]string{"rbac", "--services", filepath.Join(dir, "missing.yaml")})
	require.Equal(t, 1, code)
	code = run(t.Context(), cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}, []string{"rbac"})
	require.Equal(t, 2, code)
}
