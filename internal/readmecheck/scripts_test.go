package readmecheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReverseTraceRunsTheValuesBackwards: hack/reverse-trace.sh, with which REVERSED=1 of
// hack/accuracy.sh and hack/replay.sh reverses the traces, keeps the header and the rest of
// every line where it was and puts the values (the last column) in reverse order, as the
// README says: a trace's last value is its reversed first, and its timestamps still run
// forwards at the trace's step. Reversed twice, the trace is itself again.
func TestReverseTraceRunsTheValuesBackwards(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "timestamp,value",
			in: "timestamp,value\n" +
				"2025-01-06T00:00:00Z,1\n" +
				"2025-01-06T00:05:00Z,2.5\n" +
				"2025-01-06T00:10:00Z,0\n" +
				"2025-01-06T00:15:00Z,7\n",
			want: "timestamp,value\n" +
				"2025-01-06T00:00:00Z,7\n" +
				"2025-01-06T00:05:00Z,0\n" +
				"2025-01-06T00:10:00Z,2.5\n" +
				"2025-01-06T00:15:00Z,1\n",
		},
		{
			name: "series,timestamp,value",
			in: "series,timestamp,value\n" +
				"checkout,2025-01-06T00:00:00Z,3\n" +
				"checkout,2025-01-06T01:00:00Z,40\n" +
				"checkout,2025-01-06T02:00:00Z,12\n",
			want: "series,timestamp,value\n" +
				"checkout,2025-01-06T00:00:00Z,12\n" +
				"checkout,2025-01-06T01:00:00Z,40\n" +
				"checkout,2025-01-06T02:00:00Z,3\n",
		},
	}
	reverse := func(t *testing.T, trace string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "trace.csv")
		require.NoError(t, os.WriteFile(path, []byte(trace), 0o600))
		out, err := exec.Command("bash", filepath.Join(root, "hack", "reverse-trace.sh"), path).Output()
		require.NoError(t, err)
		return string(out)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reversed := reverse(t, tc.in)
			require.Equal(t, tc.want, reversed)
			require.Equal(t, tc.in, reverse(t, reversed))
		})
	}
}
