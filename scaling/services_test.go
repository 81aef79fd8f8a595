package scaling

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseServicesGood(t *testing.T) {
	tests := []struct {
		file string
		want []ManagedService
	}{
		{
			file: "full.good.yaml",
			want: []ManagedService{
				{Name: "checkout", Namespace: "shop", HPA: "checkout-hpa.v2", Query: `sum(rate(http_requests_total{service="checkout"}[5m]))`, CapacityPerReplica: 50, LeadTimeSeconds: 300, PodStartupSeconds: 90, Quantile: 0.95, Budget: 0.2},
				{Name: "search", Namespace: "shop", Query: "sum(rate(http_requests_total{service=\"search\"}[5m]))\n", CapacityPerReplica: 120.5, LeadTimeSeconds: 90, Quantile: DefaultQuantile, AvailabilityTarget: 0.999},
				{Name: "auth", Namespace: "identity", Query: "sum(auth_logins_per_second)", CapacityPerReplica: 10, LeadTimeSeconds: DefaultLeadTimeSeconds, Quantile: DefaultQuantile},
			},
		},
		{file: "empty-list.good.yaml", want: []ManagedService{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "services", tt.file))
			require.NoError(t, err)
			got, err := ParseServices(data)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseServicesBad(t *testing.T) {
	tests := map[string]string{
		"bad-name.bad.yaml":        `invalid services file: line 2: services[0].name: must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit), got "Checkout_1"`,
		"duplicate.bad.yaml":       `invalid services file: line 10: services[2].name: duplicate service "checkout" (first defined at line 2)`,
		"missing-query.bad.yaml":   `invalid services file: line 2: services[0].query: is required (a PromQL expression returning one series)`,
		"capacity.bad.yaml":        `invalid services file: line 5: services[0].capacityPerReplica: must be greater than 0, got 0`,
		"quantile.bad.yaml":        `invalid services file: line 6: services[0].quantile: must be between 0 and 1 (exclusive), got 1`,
		"unknown-field.bad.yaml":   `invalid services file: line 6: services[0].capacity: unknown field (known: name, namespace, hpa, query, capacityPerReplica, leadTimeSeconds, leadTime, podStartup, quantile, budget, availabilityTarget)`,
		"lead-time.bad.yaml":       `invalid services file: line 6: services[0].leadTime: must be a non-negative whole-second duration such as "5m", got "5 minutes"`,
		"both-lead-times.bad.yaml": `invalid services file: line 7: services[0].leadTime: set leadTime or leadTimeSeconds, not both`,
		"pod-startup.bad.yaml":     `invalid services file: line 6: services[0].podStartup: must be a positive whole-second duration such as "90s", got "0s"`,
		"wrong-type.bad.yaml":      `invalid services file: line 5: services[0].capacityPerReplica: must be a number`,
		"several.bad.yaml": `invalid services file: line 2: services[0].namespace: is required; ` +
			`line 3: services[0].query: is required (a PromQL expression returning one series); ` +
			`line 4: services[0].capacityPerReplica: must be greater than 0, got -1; ` +
			`line 5: services[0].quantile: must be between 0 and 1 (exclusive), got 0`,
		"not-a-list.bad.yaml":      `invalid services file: line 2: services: must be a list`,
		"top-level.bad.yaml":       `invalid services file: line 1: service: unknown field (the file holds only "services"); line 1: missing "services" list`,
		"syntax.bad.yaml":          `invalid services file: yaml: line 4: found unexpected end of stream`,
		"empty.bad.yaml":           `invalid services file: line 1: missing "services" list`,
		"budget.bad.yaml":          `invalid services file: line 6: services[0].budget: must be greater than 0 (a share of replica-hours: 0.1 is 10 %), got 0`,
		"availability.bad.yaml":    `invalid services file: line 6: services[0].availabilityTarget: must be between 0 and 1 (exclusive), got 1.5`,
		"both-budgets.bad.yaml":    `invalid services file: line 7: services[0].availabilityTarget: set budget or availabilityTarget, not both`,
		"duplicate-field.bad.yaml": `invalid services file: line 5: services[0].query: duplicate field (first at line 4)`,
	}
	files, err := filepath.Glob(filepath.Join("testdata", "services", "*.bad.yaml"))
	require.NoError(t, err)
	require.Len(t, files, len(tests), "every bad fixture has an expected message")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			require.True(t, ok, "no expected message for %s", name)
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			got, err := ParseServices(data)
			require.Nil(t, got)
			require.EqualError(t, err, want)
			if !strings.Contains(want, "yaml:") {
				var le *LineError
				require.ErrorAs(t, err, &le)
				require.Positive(t, le.Line)
			}
		})
	}
}

// TestParseServicesProblems covers problems the fixtures do not: each file is refused with
// every problem it holds, by line and field.
func TestParseServicesProblems(t *testing.T) {
	const svc = "    query: up\n    capacityPerReplica: 1\n"
	tests := []struct {
		name, file, want string
	}{
		{
			name: "services key twice",
			file: "services:\n  - name: a\n    namespace: kai\n" + svc + "services:\n  - name: b\n    namespace: kai\n" + svc,
			want: `invalid services file: line 6: services: duplicate field (first at line 1)`,
		},
		{
			name: "services key twice, the second empty",
			file: "services:\n  - name: a\n    namespace: kai\n" + svc + "services:\n",
			want: `invalid services file: line 6: services: duplicate field (first at line 1)`,
		},
		{
			name: "a second document",
			file: "services:\n  - name: a\n    namespace: kai\n" + svc + "---\nservices:\n  - name: b\n    namespace: other\n" + svc,
			want: `invalid services file: line 6: a second YAML document ("---"): the file holds one services list`,
		},
		{
			name: "a broken second document",
			file: "services:\n  - name: a\n    namespace: kai\n" + svc + "---\ngarbage: [\n",
			want: `invalid services file: yaml: line 7: did not find expected node content`,
		},
		{
			name: "an alias of a namespace",
			file: "services:\n  - name: a\n    namespace: &ns kai\n" + svc + "  - name: b\n    namespace: *ns\n" + svc,
			want: `invalid services file: line 3: YAML anchors, aliases and merge keys (&, *, <<) are not supported: write each value out`,
		},
		{
			name: "a merge key",
			file: "services:\n  - name: a\n    <<: {namespace: kai}\n" + svc,
			want: `invalid services file: line 3: YAML anchors, aliases and merge keys (&, *, <<) are not supported: write each value out`,
		},
		{
			name: "three services on one HPA",
			file: "services:\n" +
				"  - name: a\n    namespace: kai\n    hpa: web\n" + svc +
				"  - name: b\n    namespace: kai\n    hpa: web\n" + svc +
				"  - name: web\n    namespace: kai\n" + svc,
			want: `invalid services file: ` +
				`line 9: services[1].hpa: HPA kai/web is already the target of service "a" (services[0], line 2); an HPA takes its floor from one service; ` +
				`line 12: services[2].hpa: HPA kai/web (the default: the service's name) is already the target of service "a" (services[0], line 2); an HPA takes its floor from one service`,
		},
		{
			name: "duplicate name with another error",
			file: "services:\n  - name: a\n    namespace: kai\n" + svc +
				"  - name: a\n    namespace: other\n    budget: \"NaN\"\n" + svc,
			want: `invalid services file: line 6: services[1].name: duplicate service "a" (first defined at line 2); ` +
				`line 8: services[1].budget: must be a number`,
		},
		{
			name: "duplicate of an entry with an error",
			file: "services:\n  - name: a\n    namespace: kai\n" +
				"  - name: a\n    namespace: kai\n" + svc,
			want: `invalid services file: line 2: services[0].query: is required (a PromQL expression returning one series); ` +
				`line 2: services[0].capacityPerReplica: is required (load one replica carries at its HPA target); ` +
				`line 4: services[1].name: duplicate service "a" (first defined at line 2)`,
		},
		{
			name: "leadTimeSeconds that would overflow a duration",
			file: "services:\n  - name: a\n    namespace: kai\n    leadTimeSeconds: 10000000000\n" + svc,
			want: `invalid services file: line 4: services[0].leadTimeSeconds: must be between 0 and 86400 (24h, a prediction's horizon), got 10000000000`,
		},
		{
			name: "leadTime beyond the horizon",
			file: "services:\n  - name: a\n    namespace: kai\n    leadTime: 2000000h\n" + svc,
			want: `invalid services file: line 4: services[0].leadTime: must be at most 24h (a prediction's horizon), got "2000000h"`,
		},
		{
			name: "leadTime just beyond the horizon",
			file: "services:\n  - name: a\n    namespace: kai\n    leadTime: 24h1s\n" + svc,
			want: `invalid services file: line 4: services[0].leadTime: must be at most 24h (a prediction's horizon), got "24h1s"`,
		},
		{
			name: "podStartup beyond a day",
			file: "services:\n  - name: a\n    namespace: kai\n    podStartup: 25h\n" + svc,
			want: `invalid services file: line 4: services[0].podStartup: must be at most 24h, got "25h"`,
		},
		{
			name: "podStartup not in whole seconds, not a duration, negative",
			file: "services:\n  - name: a\n    namespace: kai\n    podStartup: 1.5s\n" + svc +
				"  - name: b\n    namespace: kai\n    podStartup: 90\n" + svc +
				"  - name: c\n    namespace: kai\n    podStartup: -1m\n" + svc,
			want: `invalid services file: line 4: services[0].podStartup: must be a positive whole-second duration such as "90s", got "1.5s"; ` +
				`line 9: services[1].podStartup: must be a positive whole-second duration such as "90s", got "90"; ` +
				`line 14: services[2].podStartup: must be a positive whole-second duration such as "90s", got "-1m"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseServices([]byte(tt.file))
			require.Nil(t, got)
			require.EqualError(t, err, tt.want)
		})
	}
}

func TestParseServicesDistinctHPAs(t *testing.T) {
	const svc = "    query: up\n    capacityPerReplica: 1\n"
	// The same HPA name in two namespaces is two HPAs; a lead of the whole horizon is accepted.
	got, err := ParseServices([]byte("services:\n" +
		"  - name: a\n    namespace: kai\n    hpa: web\n    leadTime: 24h\n" + svc +
		"  - name: b\n    namespace: other\n    hpa: web\n    leadTimeSeconds: 86400\n" + svc +
		"  - name: web\n    namespace: other-too\n" + svc))
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, int64(86400), got[0].LeadTimeSeconds)
	require.Equal(t, int64(86400), got[1].LeadTimeSeconds)
}

func TestLeadTime(t *testing.T) {
	tests := []struct {
		seconds int64
		want    time.Duration
	}{
		{seconds: 0, want: 0},
		{seconds: 300, want: 5 * time.Minute},
		{seconds: -1, want: 0},
		{seconds: 86400, want: MaxLeadTime},
		{seconds: 10000000000, want: MaxLeadTime}, // * time.Second overflows int64 nanoseconds
		{seconds: math.MaxInt64, want: MaxLeadTime},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, LeadTime(tt.seconds), "LeadTime(%d)", tt.seconds)
	}
}

func TestPodStartup(t *testing.T) {
	tests := []struct {
		name string
		svc  ManagedService
		want time.Duration
	}{
		{name: "its own", svc: ManagedService{PodStartupSeconds: 90, LeadTimeSeconds: 300}, want: 90 * time.Second},
		{name: "its own, longer than the lead time", svc: ManagedService{PodStartupSeconds: 600, LeadTimeSeconds: 300}, want: 10 * time.Minute},
		{name: "the default lead time's", svc: ManagedService{LeadTimeSeconds: DefaultLeadTimeSeconds}, want: DefaultPodStartup},
		{name: "the same share of a longer lead time", svc: ManagedService{LeadTimeSeconds: 600}, want: 4 * time.Minute},
		{name: "of a shorter one, in whole seconds", svc: ManagedService{LeadTimeSeconds: 61}, want: 24 * time.Second},
		{name: "no lead time", svc: ManagedService{}, want: 0},
		{name: "of the longest lead time", svc: ManagedService{LeadTimeSeconds: math.MaxInt64}, want: MaxLeadTime * 2 / 5},
		{name: "held within the lead time's bound", svc: ManagedService{PodStartupSeconds: math.MaxInt64}, want: MaxLeadTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.svc.PodStartup())
		})
	}
}
