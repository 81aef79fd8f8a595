package readmecheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReverseTraceRunsTheValuesBackwards: hack/reverse-trace.sh, which REVERSED=1 of
// hack/accuracy.sh and hack/replay.sh replay the traces through, keeps the header and every
// timestamp where it was and puts the values in reverse order, as the README says: a trace's
// last point is its reversed first, and its timestamps still run forwards at the trace's step.
func TestReverseTraceRunsTheValuesBackwards(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.csv")
	in := "timestamp,value\n" +
		"2025-01-06T00:00:00Z,1\n" +
		"2025-01-06T00:05:00Z,2.5\n" +
		"2025-01-06T00:10:00Z,0\n" +
		"2025-01-06T00:15:00Z,7\n"
	require.NoError(t, os.WriteFile(trace, []byte(in), 0o600))

	out, err := exec.Command("bash", filepath.Join("..", "..", "hack", "reverse-trace.sh"), trace).Output()
	require.NoError(t, err)

	want := "timestamp,value\n" +
		"2025-01-06T00:00:00Z,7\n" +
		"2025-01-06T00:05:00Z,0\n" +
		"2025-01-06T00:10:00Z,2.5\n" +
		"2025-01-06T00:15:00Z,1\n"
	require.Equal(t, want, string(out))

	// Twice reversed is the trace again.
	again := filepath.Join(t.TempDir(), "reversed.csv")
	require.NoError(t, os.WriteFile(again, out, 0o600))
	back, err := exec.Command("bash", filepath.Join("..", "..", "hack", "reverse-trace.sh"), again).Output()
	require.NoError(t, err)
	require.Equal(t, in, string(back))
}
