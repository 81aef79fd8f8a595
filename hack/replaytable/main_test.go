package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeReport writes a simulate report of the fields the table reads.
func writeReport(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name+".json")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestPrintTable(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		writeReport(t, dir, "nab_twitter_volume_AAPL_5min", `{"parameters":{"budget":0.1},
			"reactive":{"underProvisionedReplicaMinutes":100,"scaleUps":10,"scaleDowns":10,"podsStarted":40},
			"predictive":{"underProvisionedReplicaMinutes":80,"scaleUps":12,"scaleDowns":12,"podsStarted":50},
			"underProvisionedReduction":0.2,"replicaHoursIncrease":0.05,"provisionableUnderProvisionedReduction":0.5,
			"calibration":{"mostFrequent":"surge=1m0s alone"}}`),
		writeReport(t, dir, "taxi", `{"parameters":{"budget":0.1},
			"reactive":{"underProvisionedReplicaMinutes":100,"scaleUps":5,"scaleDowns":5,"podsStarted":20},
			"predictive":{"underProvisionedReplicaMinutes":120,"scaleUps":5,"scaleDowns":5,"podsStarted":60},
			"underProvisionedReduction":-0.2,"replicaHoursIncrease":0.15,"provisionableUnderProvisionedReduction":-0.2}`),
		writeReport(t, dir, "idle", `{"parameters":{"budget":0.1},"reactive":{},"predictive":{},
			"calibration":{"mostFrequent":"off"}}`),
	}
	var out bytes.Buffer
	require.NoError(t, printTable(&out, files, "twitter"))
	got := out.String()
	for _, want := range []string{
		"| nab_twitter_volume_AAPL_5min | -20.0 % (-50.0 %) | +5.00 % | 1.20 | 1.25 | surge=1m0s alone |",
		"| taxi | +20.0 % (+20.0 %) | +15.00 % | 1.00 | 3.00 | (planner defaults) |",
		"| idle | 0 (0) | +0.00 % | 1.00 | 1.00 | off |",
		"median over all traces (3): shortfall 0 (within max 0), replica-hours +5.00 %, events / reactive 1.00, pods started / reactive 1.25; highest replica-hours +15.00 %, pods started / reactive 3.00",
		"median over twitter (1): shortfall -20.0 % (within max -50.0 %), replica-hours +5.00 %, events / reactive 1.20, pods started / reactive 1.25",
		"over the budget: taxi\n",
		"short more than the reactive HPA: taxi\n",
	} {
		require.Contains(t, got, want)
	}
}

func TestPrintTableErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, want string
	}{
		{"missing report", filepath.Join(dir, "none.json"), "none.json"},
		{"not JSON", writeReport(t, dir, "bad", "kai-scaler simulate: cannot derive capacity"), "bad.json: invalid character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := printTable(&bytes.Buffer{}, []string{tc.file}, "")
			require.ErrorContains(t, err, tc.want)
		})
	}
}
