package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

const servicesV1 = `services:
  - name: checkout
    namespace: shop
    query: sum(rate(http_requests_total{service="checkout"}[5m]))
    capacityPerReplica: 50
`

const servicesV2 = servicesV1 + `  - name: search
    namespace: shop
    query: sum(rate(http_requests_total{service="search"}[5m]))
    capacityPerReplica: 100
`

func TestServicesFileReload(t *testing.T) {
	tests := []struct {
		name        string
		rewrite     string
		wantApplied bool
		wantErr     string
		wantNames   []string
		wantCounts  [2]float64 // applied, refused
	}{
		{name: "unchanged file", rewrite: servicesV1, wantNames: []string{"checkout"}},
		{name: "valid change applied", rewrite: servicesV2, wantApplied: true, wantNames: []string{"checkout", "search"}, wantCounts: [2]float64{1, 0}},
		{name: "invalid change refused whole", rewrite: servicesV2 + "  - name: Bad_Name\n    namespace: shop\n",
			wantErr: "line 10", wantNames: []string{"checkout"}, wantCounts: [2]float64{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "services.yaml")
			require.NoError(t, os.WriteFile(path, []byte(servicesV1), 0o600))
			reg := prometheus.NewRegistry()
			f, err := openServicesFile(path, slog.New(slog.DiscardHandler), reg)
			require.NoError(t, err)

			require.NoError(t, os.WriteFile(path, []byte(tc.rewrite), 0o600))
			applied, err := f.Reload()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.wantApplied, applied)
			var names []string
			for _, s := range f.Services() {
				names = append(names, s.Name)
			}
			require.Equal(t, tc.wantNames, names)
			require.Equal(t, tc.wantCounts[0], testutil.ToFloat64(f.reloads.WithLabelValues("applied")))
			require.Equal(t, tc.wantCounts[1], testutil.ToFloat64(f.reloads.WithLabelValues("refused")))
		})
	}
}

func TestServicesFileInvalidAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "services.yaml")
	require.NoError(t, os.WriteFile(path, []byte("services:\n  - name: x\n    unknown: 1\n"), 0o600))
	_, err := openServicesFile(path, slog.New(slog.DiscardHandler), nil)
	require.ErrorContains(t, err, "SERVICES_FILE")
	require.ErrorContains(t, err, "line 3")
}
