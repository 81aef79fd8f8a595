package scaling

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzParseServices checks the services-file parser (SERVICES_FILE, issue 11): it never
// panics, refuses with a message that says it is the services file, and every service it
// accepts is one the actuator can use, with its defaults filled in, on an HPA of its own.
// Its seeds are the fixtures of testdata/services plus testdata/fuzz/FuzzParseServices.
func FuzzParseServices(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "services", "*.yaml"))
	require.NoError(f, err)
	require.NotEmpty(f, files)
	for _, name := range files {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseServices(data)
		if err != nil {
			require.Nil(t, got)
			require.True(t, strings.HasPrefix(err.Error(), "invalid services file"), "%v", err)
			var se *ServicesError
			if errors.As(err, &se) {
				require.NotEmpty(t, se.Unwrap())
			}
			return
		}
		require.NotNil(t, got)
		names, hpas := map[string]bool{}, map[string]bool{}
		for _, s := range got {
			require.NoError(t, ValidateServiceName("name", s.Name))
			require.False(t, names[s.Name], "duplicate service %q accepted", s.Name)
			names[s.Name] = true
			hpa := s.Namespace + "/" + s.HPAName()
			require.False(t, hpas[hpa], "two services on HPA %s accepted", hpa)
			hpas[hpa] = true
			require.NotEmpty(t, s.Namespace)
			require.NotEmpty(t, strings.TrimSpace(s.Query))
			require.False(t, math.IsNaN(s.CapacityPerReplica) || math.IsInf(s.CapacityPerReplica, 0))
			require.Greater(t, s.CapacityPerReplica, 0.0)
			require.GreaterOrEqual(t, s.LeadTimeSeconds, int64(0))
			require.LessOrEqual(t, s.LeadTimeSeconds, int64(MaxLeadTime/time.Second))
			require.Greater(t, s.Quantile, 0.0)
			require.Less(t, s.Quantile, 1.0)
		}
	})
}
